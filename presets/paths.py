"""Where llmscope keeps its files: presets, settings, the autosaved session.

`$LLMSCOPE_CONFIG_DIR` moves everything (tests and portable installs use it); otherwise the
platform's conventional places from platformdirs (XDG on Linux). Nothing here creates a
directory: whoever writes a file creates its directory then, so merely running the program
leaves no trace on disk.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "llmscope"
CONFIG_DIR_ENV = "LLMSCOPE_CONFIG_DIR"


def _override() -> Path | None:
    value = os.environ.get(CONFIG_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """`$LLMSCOPE_CONFIG_DIR` if set, else the platform's user config directory for llmscope."""
    override = _override()
    if override is not None:
        return override
    return Path(platformdirs.user_config_dir(APP_NAME))


def user_preset_dir() -> Path:
    """Presets the user saved; searched after `--presets` and `$LLMSCOPE_PRESET_PATH`."""
    return config_dir() / "presets"


def state_dir() -> Path:
    """Machine-written state (the autosaved session): `$LLMSCOPE_CONFIG_DIR/state` if set."""
    override = _override()
    if override is not None:
        return override / "state"
    return Path(platformdirs.user_state_dir(APP_NAME))


def settings_file() -> Path:
    """User settings such as the theme choice."""
    return config_dir() / "settings.toml"


def user_accelerators_file() -> Path:
    """Accelerators the user adds to (or overrides in) the bundled catalog."""
    return config_dir() / "accelerators.toml"
