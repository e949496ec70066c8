"""Where a scenario comes from: a preset name, a preset file, a Hugging Face config.json (or a
directory holding one), then `--set key=value` settings on top. The command line and the app's
open screen both load through here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmscope.engine.architecture import Architecture
from llmscope.engine.errors import EngineInputError
from llmscope.engine.hf_import import architecture_from_hf_config
from llmscope.engine.scenario import Scenario
from llmscope.presets.errors import PresetError
from llmscope.presets.files import Preset
from llmscope.presets.library import find_preset
from llmscope.presets.settings import parse_setting

MAX_CONFIG_BYTES = 16 * 1024 * 1024  # real config.json files are a few kB


def read_hf_config(path: Path) -> dict[str, Any]:
    """A config.json (or a directory holding one) parsed; errors name the file and line."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / "config.json"
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PresetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if size > MAX_CONFIG_BYTES:
        raise PresetError(f"{path}: {size} bytes is too large for a config.json")
    try:
        # A byte-order mark (Windows editors write one) is allowed.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise PresetError(f"{path}: not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PresetError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise PresetError(f"{path}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise PresetError(f"{path}: a config.json must hold a JSON object")
    return data


def architecture_from_path(path: Path) -> Architecture:
    """The architecture of a config.json (or a directory holding one); errors name the file."""
    config = read_hf_config(path)
    try:
        return architecture_from_hf_config(config)
    except EngineInputError as exc:
        raise EngineInputError(f"{path}: {exc}") from None


def _looks_like_json(path: Path) -> bool:
    if path.suffix.lower() == ".json":
        return True
    try:
        with path.open("rb") as handle:
            return handle.read(64).lstrip().startswith(b"{")
    except OSError:
        return False


def load_source(
    source: str | None, extra_dirs: Sequence[Path] = (), hf_config: str | None = None
) -> tuple[Scenario, Preset | None, str]:
    """(scenario, preset or None, display name) from a preset name, a preset TOML, a config.json
    or a directory holding one; `hf_config` then replaces the model with that config's."""
    preset: Preset | None = None
    if source is None:
        scenario, name = Scenario(), "default"
    else:
        path = Path(source).expanduser()
        if path.is_dir() or (path.is_file() and _looks_like_json(path)):
            arch = architecture_from_path(path)
            scenario, name = Scenario(model=arch), arch.name
        else:
            preset = find_preset(source, extra_dirs)
            scenario, name = preset.scenario, preset.name
    if hf_config is not None:
        arch = architecture_from_path(Path(hf_config))
        scenario = Scenario(
            model=arch,
            cluster=scenario.cluster,
            training=scenario.training,
            serving=scenario.serving,
            scaling=scenario.scaling,
        )
        if source is None:
            name = arch.name
    return scenario, preset, name


def apply_settings(scenario: Scenario, settings: Sequence[str]) -> Scenario:
    """`--set key=value` pairs, parsed with each field's type, applied together; a key given
    twice is an error naming both (which one was meant is not for us to guess)."""
    updates: dict[str, Any] = {}
    given: dict[str, str] = {}
    for item in settings:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise PresetError(f"--set {item!r}: expected key=value, e.g. cluster.count=64")
        if key in given:
            raise PresetError(
                f"--set {given[key]!r} and --set {item!r}: {key} is set twice; give it once"
            )
        given[key] = item
        updates[key] = parse_setting(key, text)
    return scenario.with_values(updates) if updates else scenario
