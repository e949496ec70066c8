"""The preset search path and finding a preset by name: `--presets` directories, then
`$LLMSCOPE_PRESET_PATH`, then the user's presets, then the ones bundled with llmscope. A name found in
more than one directory is taken from the first; `list_presets` shows all of them."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from llmscope.presets import paths
from llmscope.presets.errors import PresetError
from llmscope.presets.files import ORIGIN_USER, Preset, load_preset
from llmscope.presets.settings import closest_key

PRESET_PATH_ENV = "LLMSCOPE_PRESET_PATH"
ORIGIN_FLAG = "--presets"
ORIGIN_ENV = PRESET_PATH_ENV
ORIGIN_BUNDLED = "bundled"
ORIGIN_PATH = "path"  # a file named on the command line, outside every search-path directory


@dataclass(frozen=True)
class PresetEntry:
    """One preset file found on the search path; `error` says why a broken one cannot load."""

    name: str
    path: Path
    origin: str
    author: str = ""
    tags: tuple[str, ...] = ()
    description: str = ""
    error: str | None = None
    shadowed: bool = False  # a preset of the same name comes earlier on the search path


# --- finding --------------------------------------------------------------------------------------


def bundled_dir() -> Path:
    """The presets shipped with llmscope: the TOML files beside this module."""
    return Path(__file__).resolve().parent


def search_path(extra_dirs: Sequence[Path] = ()) -> list[tuple[str, Path]]:
    """(origin, directory) in precedence order: `--presets` directories, then
    `$LLMSCOPE_PRESET_PATH` (os.pathsep-separated), then the user's presets, then the bundled ones.
    Directories are listed whether they exist or not."""
    found: list[tuple[str, Path]] = [(ORIGIN_FLAG, Path(d).expanduser()) for d in extra_dirs]
    env = os.environ.get(PRESET_PATH_ENV, "")
    found += [
        (ORIGIN_ENV, Path(part).expanduser()) for part in env.split(os.pathsep) if part.strip()
    ]
    found.append((ORIGIN_USER, paths.user_preset_dir()))
    found.append((ORIGIN_BUNDLED, bundled_dir()))
    return found


def _preset_files(directory: Path) -> list[Path]:
    try:
        return sorted(
            p
            for p in directory.iterdir()
            if p.suffix == ".toml" and not p.name.startswith(".") and p.is_file()
        )
    except OSError:  # missing or unreadable directory: nothing from here
        return []


def list_presets(extra_dirs: Sequence[Path] = ()) -> list[PresetEntry]:
    """Every preset file on the search path in precedence order, broken ones with the reason.
    A name that an earlier directory already provided is listed with shadowed=True."""
    entries: list[PresetEntry] = []
    seen: set[str] = set()
    for origin, directory in search_path(extra_dirs):
        for file in _preset_files(directory):
            try:
                preset = load_preset(file, origin)
            except PresetError as exc:
                name = _name_in_head(file) or file.stem
                entries.append(PresetEntry(name, file, origin, error=str(exc)))
                continue
            keys = {preset.name.casefold(), file.stem.casefold()}
            entries.append(
                PresetEntry(
                    name=preset.name,
                    path=file,
                    origin=origin,
                    author=preset.author,
                    tags=preset.tags,
                    description=preset.description,
                    shadowed=bool(keys & seen),
                )
            )
            seen |= keys
    return entries


_HEAD_BYTES = 8192  # [meta] comes first in a preset (files.py writes it so)
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$")
_NAME_LINE = re.compile(r"^\s*name\s*=")


def _name_in_head(file: Path) -> str | None:
    """The `name` of a preset that cannot load (too large, a bad value further down), read from
    its [meta] table in the first 8 kB, so `list` names it as its author did; None when there is
    none to read."""
    try:
        with file.open("rb") as handle:
            head = handle.read(_HEAD_BYTES).decode("utf-8-sig", errors="replace")
    except OSError:
        return None
    table = ""
    for line in head.splitlines():
        header = _TABLE.match(line)
        if header:
            table = header[1]
        elif table == "meta" and _NAME_LINE.match(line):
            try:
                name = tomllib.loads(line).get("name")
            except tomllib.TOMLDecodeError:
                return None
            return name if isinstance(name, str) and 0 < len(name) <= 200 else None
    return None


def _origin_of(path: Path, extra_dirs: Sequence[Path]) -> str:
    """The search-path origin of the directory holding `path`, else "path"."""
    try:
        parent = path.resolve().parent
        for origin, directory in search_path(extra_dirs):
            if directory.expanduser().resolve() == parent:
                return origin
    except (OSError, RuntimeError):
        pass
    return ORIGIN_PATH


def find_preset(name_or_path: str | Path, extra_dirs: Sequence[Path] = ()) -> Preset:
    """A preset by path (if such a file exists) or by name (file stem or meta name, any case),
    taking the first match on the search path. Raises PresetError naming the closest name."""
    candidate = Path(name_or_path).expanduser()
    if candidate.is_file():
        return load_preset(candidate, _origin_of(candidate, extra_dirs))
    if candidate.is_dir():
        raise PresetError(f"{candidate}: is a directory, not a preset file")
    wanted = str(name_or_path).casefold()
    names: list[str] = []
    for origin, directory in search_path(extra_dirs):
        for file in _preset_files(directory):
            if file.stem.casefold() == wanted:
                return load_preset(file, origin)
            names.append(file.stem)
    # No file stem matched: try display names (loading every file only on this slower path).
    for entry in list_presets(extra_dirs):
        if entry.error is None and entry.name.casefold() == wanted:
            return load_preset(entry.path, entry.origin)
    guess = closest_key(str(name_or_path), names)
    hint = f"; did you mean {guess}?" if guess else " (see `llmscope list`)"
    raise PresetError(f"{name_or_path}: no such preset file or preset name{hint}")
