"""Dotted settings (`model.hidden_size`, `cluster.count`, ...): the keys and values shared by preset
files, the command line's `--set key=value` and the app's editor. A value is read with its
field's type (human numbers such as 70B, 15.6T, 128k; booleans; choices; `none`)."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

from llmscope.engine.scenario import SECTIONS, all_keys
from llmscope.presets.errors import PresetError
from llmscope.presets.numbers import format_field_value, parse_quantity, parse_whole_number


def closest_key(key: str, candidates: Sequence[str]) -> str | None:
    matches = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.5)
    return matches[0] if matches else None


def unknown_key_message(key: str, candidates: Sequence[str], what: str) -> str:
    guess = closest_key(key, candidates)
    hint = f"; did you mean {guess}?" if guess else f"; valid keys: {', '.join(candidates)}"
    return f"{key}: not a known {what}{hint}"


def check_key(dotted_key: str) -> tuple[str, str]:
    """Split `section.field`; raise PresetError naming the closest valid key if there is none."""
    section, _, name = dotted_key.partition(".")
    if section in SECTIONS and name in SECTIONS[section].model_fields:
        return section, name
    raise PresetError(unknown_key_message(dotted_key, all_keys(), "setting"))


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
        if kind == "literal":  # "FP8" is fp8: the choices differ in more than case
            for choice in choices:
                if raw.casefold() == str(choice).casefold():
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
