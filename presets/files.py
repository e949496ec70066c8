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

Files come from other people: reading one
never raises anything but `PresetError`, whose message names the file, the line where it can be
found, the key, the closest valid key and the allowed range. Names and descriptions are kept as
data; `display_safe` makes them safe to show in Rich/Textual (no markup, no terminal escapes).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import sys
import tempfile
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from llmscope.engine.errors import EngineInputError, describe_validation_error
from llmscope.engine.scenario import SECTIONS, Scenario
from llmscope.presets.errors import PresetError, PresetExistsError
from llmscope.presets.safe_text import plain_safe
from llmscope.presets.settings import _field_kind, unknown_key_message

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SCHEMA_VERSION = 1
MAX_PRESET_BYTES = 1024 * 1024  # a preset is a few kB; anything over 1 MiB is not one

ORIGIN_USER = "user"

META_KEYS = ("name", "description", "author", "created", "tags")
TOP_LEVEL_KEYS = ("schema", "meta", "published", *SECTIONS)
_MAX_TEXT = {"name": 200, "description": 2000, "author": 200, "created": 40}
_MAX_TAGS = 50


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
                    unknown_key_message(key, TOP_LEVEL_KEYS, "section" if table else "key"),
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
        # A published run's accelerator-hours give the MFU it implies beside the predicted one
        # (training.reference_accelerator_hours), unless the preset sets its own figure.
        hours = published.get("training_gpu_hours")
        training = data.get("training", {})
        if (
            isinstance(hours, (int, float))
            and not isinstance(hours, bool)
            and hours > 0
            and isinstance(training, dict)
            and "reference_accelerator_hours" not in training
        ):
            scenario = scenario.with_value("training.reference_accelerator_hours", float(hours))
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
                    unknown_key_message(f"meta.{key}", [f"meta.{k}" for k in META_KEYS], "key"),
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
                        unknown_key_message(
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


# --- writing --------------------------------------------------------------------------------------


def slugify(name: str) -> str:
    """File-name stem for a preset name: lower case letters, digits, '.', '_' and '-'."""
    if not isinstance(name, str) or not name.strip():
        raise PresetError("a preset name must not be empty")
    if len(name) > _MAX_TEXT["name"]:  # what meta.name may hold when the file is read back
        raise PresetError(
            f"a preset name is at most {_MAX_TEXT['name']} characters (got {len(name)})"
        )
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
