"""The accelerator catalog as the user sees it: the built-in one with `accelerators.toml` from the
config directory laid over it. The app and every command read it through here, so a price or an
accelerator added there is the same everywhere, and a bad entry is reported by both."""

from __future__ import annotations

from llmscope.engine.hardware import CatalogLoad, load_catalog
from llmscope.presets import paths


def user_catalog() -> CatalogLoad:
    """The catalog with the user's overrides, and one line per problem in their file (each
    naming the file, the accelerator and the field; the bad entry is skipped)."""
    return load_catalog(paths.user_accelerators_file())
