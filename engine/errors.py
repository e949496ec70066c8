"""Errors the engine reports to people: one line each, naming the field and the allowed range."""

from __future__ import annotations

from pydantic import ValidationError


class EngineInputError(ValueError):
    """Input the engine cannot use; the message is meant for the user as it is."""


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line per problem, e.g. `model.hidden_size: must be at least 1 (got 0)`."""
    lines = []
    for err in exc.errors(include_url=False):
        location = ".".join(str(part) for part in err.get("loc", ()) if part != "__root__")
        if prefix:
            location = f"{prefix}.{location}" if location else prefix
        message = _human_message(err)
        lines.append(f"{location}: {message}" if location else message)
    return "; ".join(lines)


def _human_message(err: dict) -> str:
    ctx = err.get("ctx") or {}
    kind = err.get("type", "")
    got = err.get("input")
    got_text = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}{got_text}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}{got_text}"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}{got_text}"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}{got_text}"
    if kind == "extra_forbidden":
        return "is not a known setting"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}{got_text}"
    if kind == "value_error":
        return str(ctx.get("error", err.get("msg", "")))
    return f"{err.get('msg', 'invalid value')}{got_text}"
