"""Shared fixtures: the checked reference facts in tests/data (each entry with its source)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# The facts live in the repository, so that a fresh clone tests itself (tests/data/README.md).
REFERENCE_DIR = Path(__file__).resolve().parent / "data"
HF_CONFIGS_DIR = Path(__file__).resolve().parent / "fixtures" / "hf_configs"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The folder of reference facts; a clear failure (not a skip) when it is missing."""
    if not (REFERENCE_DIR / "models.json").is_file():
        pytest.fail(
            f"reference facts not found at {REFERENCE_DIR}: tests/data is part of the repository "
            "(tests/data/models.json)"
        )
    return REFERENCE_DIR


@pytest.fixture(scope="session")
def reference_models(reference_dir: Path) -> list[dict[str, Any]]:
    """The model entries of tests/data/models.json."""
    return json.loads((reference_dir / "models.json").read_text(encoding="utf-8"))["models"]


@pytest.fixture(scope="session")
def transformers_counts() -> dict[str, dict[str, int]]:
    """The counts transformers gave for each fixture config, as recorded in the fixtures' README.

    The table there is printed by scripts/check_params_against_transformers.py --table (a run of
    transformers on the meta device); file name -> {"total": ..., "embedding": ..., ...}."""
    lines = (HF_CONFIGS_DIR / "README.md").read_text(encoding="utf-8").splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("| file | total |"))
    keys = [cell.strip() for cell in lines[header_at].strip("|").split("|")][1:]
    counts: dict[str, dict[str, int]] = {}
    for line in lines[header_at + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        counts[cells[0]] = {k: int(v.replace(",", "")) for k, v in zip(keys, cells[1:])}
    return counts
