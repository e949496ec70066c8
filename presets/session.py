"""The autosaved session: the scenario being explored, kept in the state directory."""

from __future__ import annotations

import sys
from pathlib import Path

from llmscope.engine.scenario import Scenario
from llmscope.presets import paths
from llmscope.presets.errors import PresetError
from llmscope.presets.files import _read_text, preset_from_text, scenario_to_toml, write_atomic

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SESSION_FILE_NAME = "session.toml"


def session_file() -> Path:
    return paths.state_dir() / SESSION_FILE_NAME


def save_session(scenario: Scenario, preset_name: str | None) -> Path:
    """Autosave the scenario being explored (and which preset it started from)."""
    meta = {"name": preset_name} if preset_name else {}
    text = scenario_to_toml(scenario, meta)
    target = session_file()
    write_atomic(target, text, overwrite=True)
    return target


def load_session() -> tuple[Scenario, str | None] | None:
    """The autosaved scenario and preset name, or None when there is none or it is unusable."""
    target = session_file()
    if not target.is_file():
        return None
    try:
        text = _read_text(target)
        preset = preset_from_text(text, target)
        named = isinstance(tomllib.loads(text).get("meta", {}).get("name"), str)
    except (PresetError, tomllib.TOMLDecodeError, AttributeError):
        return None
    return preset.scenario, (preset.name if named else None)
