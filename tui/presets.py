"""Presets: a Scenario saved as TOML, with who wrote it and the model's published figures.

A preset file looks like this (every section optional; a missing field keeps its default)::

    schema = 1

    [meta]
    name = "Llama 3.1 70B"
    description = "..."
    author = "..."
    created = "2024-07-23"
    tags = ["dense", "gqa"]

    [published]            # published figures, kept as data, shown beside the computed ones
    params_total = 70_553_706_496
    source = "https://..."

    [model]                # same field names as the Scenario's dotted keys (model.hidden_size)
    hidden_size = 8192
    [cluster]
    [training]
    [serving]
    [scaling]

Presets are read from several directories (`search_path`); a name found in more than one is taken
from the first, and `list_presets` shows all of them. Files come from other people: reading one
never raises anything but `PresetError`, whose message names the file, the line where it can be
found, the key, the closest valid key and the allowed range. Names and descriptions are kept as
data; `display_safe` makes them safe to show in Rich/Textual (no markup, no terminal escapes).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import os
import re
import sys
import tempfile
import types
import typing
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from engine.errors import EngineInputError, describe_validation_error
from engine.scenario import SECTIONS, Scenario, all_keys
from tui import paths
from tui.numbers import format_field_value, parse_quantity, parse_whole_number

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SCHEMA_VERSION = 1
MAX_PRESET_BYTES = 1024 * 1024  # a preset is a few kB; anything over 1 MiB is not one
PRESET_PATH_ENV = "LLMSCOPE_PRESET_PATH"
SESSION_FILE_NAME = "session.toml"

ORIGIN_FLAG = "--presets"
ORIGIN_ENV = PRESET_PATH_ENV
ORIGIN_USER = "user"
ORIGIN_BUNDLED = "bundled"
ORIGIN_PATH = "path"  # a file named on the command line, outside every search-path directory

META_KEYS = ("name", "description", "author", "created", "tags")
TOP_LEVEL_KEYS = ("schema", "meta", "published", *SECTIONS)
_MAX_TEXT = {"name": 200, "description": 2000, "author": 200, "created": 40}
_MAX_TAGS = 50


class PresetError(ValueError):
    """A preset that cannot be read or written; the message is one line, meant for the user.

    Messages quote keys and values from files, so control characters (a newline in a quoted
    key, a terminal escape) are written out visibly: the message stays one safe line."""

    def __init__(self, message: object = "") -> None:
        super().__init__(plain_safe(message))


class PresetExistsError(PresetError):
    """Saving would replace an existing preset and overwrite was not asked for."""


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    author: str
    created: str
    tags: tuple[str, ...]
    published: dict[str, Any]
    scenario: Scenario
    path: Path | None = None
    origin: str = ORIGIN_USER

    def meta(self) -> dict[str, Any]:
        """The [meta] table of this preset."""
        return {
            "name": self.name,
            "description": self.description,
            "author": self.author,
            "created": self.created,
            "tags": list(self.tags),
        }


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


# --- showing text from files ----------------------------------------------------------------------

_CONTROL_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def plain_safe(text: object) -> str:
    """Text with every control or format character (escape, bidi override, newline) written out
    as a visible escape such as `\\x1b`, so that it cannot move the cursor, retitle the terminal or
    reorder what is shown. For plain-text output."""
    out = []
    for ch in str(text):
        if unicodedata.category(ch) in _CONTROL_CATEGORIES:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def display_safe(text: object) -> str:
    """`plain_safe`, then every `[` escaped as `\\[`: safe as Rich markup and as Textual content
    markup, which read `[bold]`, `[@click=...]` and `[$var]` as styles, actions and variables.

    Rich and Textual disagree on a backslash that stands right before an escaped bracket, so a
    zero-width space (ZERO_WIDTH) goes between the two: both then show the text exactly, with
    that invisible character added."""
    return _MARKUP_OPEN.sub(_escape_bracket, plain_safe(text))


ZERO_WIDTH = "\u200b"
_MARKUP_OPEN = re.compile(r"(\\?)\[")


def _escape_bracket(match: re.Match[str]) -> str:
    return (match.group(1) + ZERO_WIDTH if match.group(1) else "") + "\\["


# --- keys and values ------------------------------------------------------------------------------


def closest_key(key: str, candidates: Sequence[str]) -> str | None:
    matches = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.5)
    return matches[0] if matches else None


def _unknown_key_message(key: str, candidates: Sequence[str], what: str) -> str:
    guess = closest_key(key, candidates)
    hint = f"; did you mean {guess}?" if guess else f"; valid keys: {', '.join(candidates)}"
    return f"{key}: not a known {what}{hint}"


def check_key(dotted_key: str) -> tuple[str, str]:
    """Split `section.field`; raise PresetError naming the closest valid key if there is none."""
    section, _, name = dotted_key.partition(".")
    if section in SECTIONS and name in SECTIONS[section].model_fields:
        return section, name
    raise PresetError(_unknown_key_message(dotted_key, all_keys(), "setting"))


def _field_kind(annotation: Any) -> tuple[str, tuple[Any, ...], bool]:
    """('int'|'float'|'bool'|'str'|'literal'|'int_tuple', literal choices, nullable)."""
    nullable = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        annotation = args[0] if len(args) == 1 else annotation
        origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "literal", typing.get_args(annotation), nullable
    if origin is tuple:
        return "int_tuple", (), nullable
    names = {int: "int", float: "float", bool: "bool", str: "str"}
    return names.get(annotation, "str"), (), nullable


def setting_kind(dotted_key: str) -> tuple[str, tuple[Any, ...], bool]:
    """The kind of a setting for editors: ('int'|'float'|'bool'|'str'|'literal'|'int_tuple',
    literal choices, nullable). Raises PresetError for an unknown key."""
    section, name = check_key(dotted_key)
    return _field_kind(SECTIONS[section].model_fields[name].annotation)


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


# Lengths in tokens, where "128k" means 131,072 (the field's convention for context sizes).
LENGTH_KEYS = frozenset(
    {
        "model.max_position_embeddings",
        "model.sliding_window",
        "training.sequence_length",
        "serving.prompt_tokens",
        "serving.output_tokens",
    }
)


def parse_setting(dotted_key: str, text: str) -> Any:
    """`--set key=value` and the app's fields: the value as the field's type (numbers in human
    forms such as 70B, 15.6T, 128k or 2e12, bools, choices, `none` for an optional field,
    comma-separated ints for a list, `none` or nothing for an empty one). Raises PresetError."""
    section, name = check_key(dotted_key)
    kind, choices, nullable = _field_kind(SECTIONS[section].model_fields[name].annotation)
    raw = text.strip()
    if nullable and raw.lower() in ("none", "null", "auto", ""):
        return None
    try:
        if kind == "int":
            return parse_whole_number(raw, binary_k=dotted_key in LENGTH_KEYS)
        if kind == "float":
            return parse_quantity(raw)
        if kind == "bool":
            if raw.lower() in _TRUE:
                return True
            if raw.lower() in _FALSE:
                return False
            raise ValueError(raw)
        if kind == "literal":
            for choice in choices:
                if raw == str(choice):
                    return choice
            wanted = ", ".join(str(c) for c in choices)
            raise PresetError(f"{dotted_key}: must be one of {wanted} (got {raw!r})")
        if kind == "int_tuple":
            if raw.lower() == "none":
                return ()
            return tuple(parse_whole_number(part) for part in raw.split(",") if part.strip())
    except PresetError:
        raise
    except (ValueError, OverflowError):
        expected = {
            "int": "a whole number such as 4096, 128k or 70B",
            "float": "a number such as 0.4, 2e12 or 15.6T",
            "bool": "true or false",
            "int_tuple": "comma-separated whole numbers",
        }[kind]
        raise PresetError(f"{dotted_key}: expected {expected} (got {raw!r})") from None
    return text


def format_setting(value: Any) -> str:
    """A setting's value as `--set` writes it, exactly (the editor's human form rounds floats);
    `parse_setting` reads it back."""
    return repr(value) if isinstance(value, float) else format_field_value(value)


# --- reading --------------------------------------------------------------------------------------


def _line_of(text: str, section: str | None, key: str | None) -> int | None:
    """Best-effort line number of `key` (in `[section]`, or of the header when key is None)."""
    current: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\s*([^\]\s]+)\s*\]", stripped)
        if header:
            current = header.group(1).strip("\"'")
            if key is None and current == section:
                return number
            continue
        if key is not None and current == section:
            if re.match(rf"^[\"']?{re.escape(key)}[\"']?\s*=", stripped):
                return number
    return None


class _Reader:
    """Validates one parsed preset file; errors carry `file:line:`."""

    def __init__(self, path: Path | str, text: str) -> None:
        self.path = path
        self.text = text

    def fail(self, message: str, section: str | None = None, key: str | None = None) -> PresetError:
        line = _line_of(self.text, section, key) if (section or key) else None
        where = f"{self.path}:{line}" if line else f"{self.path}"
        return PresetError(f"{where}: {message}")

    def read(self, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], Scenario]:
        for key in data:
            if key not in TOP_LEVEL_KEYS:
                table = isinstance(data[key], dict)
                raise self.fail(
                    _unknown_key_message(key, TOP_LEVEL_KEYS, "section" if table else "key"),
                    key if table else None,
                    None if table else key,
                )
        schema = data.get("schema", SCHEMA_VERSION)
        if isinstance(schema, bool) or not isinstance(schema, int) or schema < 1:
            raise self.fail(
                f"schema: must be a whole number such as 1 (got {schema!r})", None, "schema"
            )
        if schema > SCHEMA_VERSION:
            raise self.fail(
                f"written by a newer llmscope (schema {schema}); this version reads schema "
                f"{SCHEMA_VERSION}"
            )
        meta = self._meta(data.get("meta", {}))
        published = self._published(data.get("published", {}))
        scenario = self._scenario(data)
        return meta, published, scenario

    def _table(self, value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(
                f"{name}: must be a table [{name}] (got {type(value).__name__})", None, name
            )
        return value

    def _meta(self, value: Any) -> dict[str, Any]:
        table = self._table(value, "meta")
        meta: dict[str, Any] = {}
        for key, item in table.items():
            if key not in META_KEYS:
                raise self.fail(
                    _unknown_key_message(f"meta.{key}", [f"meta.{k}" for k in META_KEYS], "key"),
                    "meta",
                    key,
                )
            if key == "tags":
                if not isinstance(item, list) or not all(isinstance(t, str) for t in item):
                    raise self.fail("meta.tags: must be a list of strings", "meta", key)
                if len(item) > _MAX_TAGS or any(len(t) > 100 for t in item):
                    raise self.fail(
                        f"meta.tags: at most {_MAX_TAGS} tags of 100 characters", "meta", key
                    )
                meta["tags"] = tuple(item)
                continue
            if key == "created" and isinstance(item, (_dt.date, _dt.datetime)):
                item = item.isoformat()
            if not isinstance(item, str):
                raise self.fail(
                    f"meta.{key}: must be a string (got {type(item).__name__})", "meta", key
                )
            if len(item) > _MAX_TEXT[key]:
                raise self.fail(
                    f"meta.{key}: at most {_MAX_TEXT[key]} characters (got {len(item)})",
                    "meta",
                    key,
                )
            meta[key] = item
        return meta

    def _published(self, value: Any) -> dict[str, Any]:
        table = self._table(value, "published")
        out: dict[str, Any] = {}
        for key, item in table.items():
            if isinstance(item, (_dt.date, _dt.datetime, _dt.time)):
                item = item.isoformat()
            ok = isinstance(item, (str, int, float, bool)) or (
                isinstance(item, list) and all(isinstance(v, (str, int, float, bool)) for v in item)
            )
            if not ok:
                raise self.fail(
                    f"published.{key}: must be a number, string, boolean or list of them",
                    "published",
                    key,
                )
            out[key] = item
        return out

    def _scenario(self, data: dict[str, Any]) -> Scenario:
        sections: dict[str, dict[str, Any]] = {}
        for section, model in SECTIONS.items():
            if section not in data:
                continue
            table = self._table(data[section], section)
            values: dict[str, Any] = {}
            for key, item in table.items():
                if key not in model.model_fields:
                    raise self.fail(
                        _unknown_key_message(
                            f"{section}.{key}",
                            [f"{section}.{k}" for k in model.model_fields],
                            "setting",
                        ),
                        section,
                        key,
                    )
                kind, _, _ = _field_kind(model.model_fields[key].annotation)
                if kind == "int_tuple" and isinstance(item, list):
                    item = tuple(item)
                elif kind == "str" and not isinstance(item, str):
                    raise self.fail(
                        f"{section}.{key}: must be a string (got {item!r})", section, key
                    )
                values[key] = item
            sections[section] = values
        try:
            return Scenario.model_validate(sections, strict=True)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            loc = [str(part) for part in first.get("loc", ())]
            section = loc[0] if loc else None
            key = loc[1] if len(loc) > 1 else None
            raise self.fail(_describe(exc), section, key) from None
        except (EngineInputError, ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise self.fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


_TYPE_WORDS = {
    "int_type": "must be a whole number such as 4096",
    "int_from_float": "must be a whole number such as 4096",
    "float_type": "must be a number such as 0.4 or 2e12",
    "bool_type": "must be true or false",
    "string_type": "must be a string in quotes",
    "tuple_type": "must be a list such as [0, 1]",
}


def _describe(exc: ValidationError) -> str:
    """Pydantic's errors in the field's words; type errors say what the field takes."""
    problems = []
    for err in exc.errors(include_url=False):
        kind = err.get("type", "")
        if kind in _TYPE_WORDS:
            where = ".".join(str(part) for part in err.get("loc", ()))
            got = err.get("input")
            problems.append(f"{where}: {_TYPE_WORDS[kind]} (got {got!r})")
        else:
            try:
                single = ValidationError.from_exception_data(exc.title, [_line_error(err)])
            except Exception:  # an error kind that cannot be rebuilt: describe them all as is
                return describe_validation_error(exc)
            problems.append(describe_validation_error(single))
    return "; ".join(problems)


def _line_error(err: dict[str, Any]) -> Any:
    return {
        "type": err["type"],
        "loc": err["loc"],
        "input": err.get("input"),
        **({"ctx": err["ctx"]} if "ctx" in err else {}),
    }


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PresetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if size > MAX_PRESET_BYTES:
        raise PresetError(
            f"{path}: {size} bytes is too large for a preset (at most {MAX_PRESET_BYTES} bytes)"
        )
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_PRESET_BYTES + 1)
    except OSError as exc:
        raise PresetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_PRESET_BYTES:
        raise PresetError(f"{path}: too large for a preset (at most {MAX_PRESET_BYTES} bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PresetError(f"{path}:{line}: not UTF-8 text (byte {exc.start})") from None


def preset_from_text(text: str, path: Path | str = "<preset>", origin: str = ORIGIN_USER) -> Preset:
    """Parse and validate preset TOML; raises PresetError only."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"{path}: TOML syntax error: {str(exc).splitlines()[0]}") from None
    except (ValueError, RecursionError, OverflowError) as exc:  # e.g. absurdly nested arrays
        raise PresetError(f"{path}: cannot parse as TOML ({type(exc).__name__})") from None
    meta, published, scenario = _Reader(path, text).read(data)
    stem = Path(str(path)).stem if path != "<preset>" else "preset"
    return Preset(
        name=meta.get("name") or stem,
        description=meta.get("description", ""),
        author=meta.get("author", ""),
        created=meta.get("created", ""),
        tags=tuple(meta.get("tags", ())),
        published=published,
        scenario=scenario,
        path=Path(path) if path != "<preset>" else None,
        origin=origin,
    )


def load_preset(path: Path, origin: str = ORIGIN_USER) -> Preset:
    """Read one preset file; raises PresetError (never anything else) when it is unusable."""
    path = Path(path)
    return preset_from_text(_read_text(path), path, origin)


# --- finding --------------------------------------------------------------------------------------


def bundled_dir() -> Path:
    """The presets shipped with llmscope (the `presets` package directory)."""
    import presets as _bundled

    return Path(_bundled.__file__).resolve().parent


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
                entries.append(PresetEntry(file.stem, file, origin, error=str(exc)))
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


# --- writing --------------------------------------------------------------------------------------


def slugify(name: str) -> str:
    """File-name stem for a preset name: lower case letters, digits, '.', '_' and '-'."""
    if not isinstance(name, str) or not name.strip():
        raise PresetError("a preset name must not be empty")
    if "/" in name or "\\" in name or os.sep in name or (os.altsep and os.altsep in name):
        raise PresetError(f"{plain_safe(name)}: a preset name must not contain a path separator")
    if ".." in name or Path(name).is_absolute() or "\x00" in name:
        raise PresetError(f"{plain_safe(name)}: a preset name must not contain '..'")
    normal = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9._-]+", "-", normal.lower()).strip("-.")
    slug = re.sub(r"-{2,}", "-", slug)[:80].strip("-.")
    if not slug:
        raise PresetError(f"{plain_safe(name)}: a preset name needs at least one letter or digit")
    return slug


def _ignored(scenario: Scenario, section: str, name: str) -> bool:
    """A model setting the design does not read: left out of a full [model] section when it
    holds its default (a DeepSeek rank in a Llama preset is noise)."""
    return section == "model" and name in scenario.model.ignored_fields


def _non_default(
    scenario: Scenario, full_sections: Collection[str] = ()
) -> dict[str, dict[str, Any]]:
    """Fields that differ from a default Scenario, section by section (None is always default);
    in the sections named in `full_sections`, every field the design uses as well."""
    defaults = Scenario()
    out: dict[str, dict[str, Any]] = {}
    for section, model in SECTIONS.items():
        table: dict[str, Any] = {}
        for name in model.model_fields:
            value = getattr(getattr(scenario, section), name)
            is_default = value == getattr(getattr(defaults, section), name)
            if value is None or (
                is_default
                and (section not in full_sections or _ignored(scenario, section, name))
            ):
                continue
            table[name] = list(value) if isinstance(value, tuple) else value
        if table:
            out[section] = table
    return out


def scenario_to_toml(
    scenario: Scenario,
    meta: Mapping[str, Any] | None = None,
    published: Mapping[str, Any] | None = None,
    *,
    full_sections: Collection[str] = (),
) -> str:
    """Preset TOML: schema, [meta], [published], then the fields that differ from the defaults
    (all fields of the sections named in `full_sections`, e.g. ("model",) for an import, so the
    file reads as the model's whole architecture). TOML has no null: a field left out is None,
    which is the default of every optional field."""
    meta = dict(meta or {})
    meta_table: dict[str, Any] = {}
    for key in META_KEYS:
        if key in meta and meta[key] is not None:
            meta_table[key] = list(meta[key]) if key == "tags" else str(meta[key])
    document: dict[str, Any] = {"schema": SCHEMA_VERSION}
    if meta_table:
        document["meta"] = meta_table
    published_table = {k: v for k, v in dict(published or {}).items() if v is not None}
    if published_table:
        document["published"] = published_table
    document.update(_non_default(scenario, full_sections))
    header = "# llmscope preset. Fields left out keep their defaults; see `llmscope show`.\n"
    return header + tomli_w.dumps(document)


def write_atomic(target: Path, text: str, *, overwrite: bool) -> None:
    """Write `text` to `target` atomically: a temp file in the same directory, fsync, then
    os.replace, so a crash never leaves half a file."""
    directory = target.parent
    directory.mkdir(parents=True, exist_ok=True)
    if target.exists() and not overwrite:
        raise PresetExistsError(f"{target}: already exists (overwrite it explicitly)")
    fd, temp_name = tempfile.mkstemp(dir=directory, prefix=f".{target.stem}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if not overwrite and target.exists():  # appeared while we wrote
            raise PresetExistsError(f"{target}: already exists (overwrite it explicitly)")
        os.replace(temp, target)
    except BaseException:
        try:
            temp.unlink()
        except OSError:
            pass
        raise
    try:  # make the rename itself durable (POSIX); not possible everywhere
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def save_preset(
    source: Preset | Scenario,
    directory: Path,
    name: str,
    *,
    meta: Mapping[str, Any] | None = None,
    published: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    full_sections: Collection[str] = (),
) -> Path:
    """Write `source` as `<slug of name>.toml` in `directory` (never anywhere else) and return the
    path. Refuses to replace an existing file unless overwrite=True (PresetExistsError)."""
    slug = slugify(name)
    directory = Path(directory)
    target = directory / f"{slug}.toml"
    if target.resolve().parent != directory.resolve():
        raise PresetError(f"{plain_safe(name)}: would be written outside {directory}")
    if isinstance(source, Preset):
        scenario = source.scenario
        full_meta = source.meta() | dict(meta or {})
        full_published = dict(source.published) | dict(published or {})
    else:
        scenario = source
        full_meta = dict(meta or {})
        full_published = dict(published or {})
    full_meta["name"] = name
    full_meta.setdefault("created", _dt.date.today().isoformat())
    text = scenario_to_toml(scenario, full_meta, full_published, full_sections=full_sections)
    preset_from_text(text, target)  # never write what could not be read back
    write_atomic(target, text, overwrite=overwrite)
    return target


# --- the autosaved session ------------------------------------------------------------------------


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
