"""Numbers as people type and read them: "70B", "15.6T", "128k", "1e24" in; "8.03B", "15.0 GiB",
"3.2 days", "$1.2M" out. The one place for number text in the app, the CLI and reports.
"""

from __future__ import annotations

import math
import re

# Suffixes people type for counts (tokens, parameters, FLOPs) and sizes: k/M/B/T/P as powers of
# 1000 (G as a synonym of B), and Ki/Mi/Gi/Ti as powers of 1024 for sizes such as 128Ki.
_SUFFIX_FACTORS: dict[str, float] = {
    "": 1.0,
    "k": 1e3,
    "m": 1e6,
    "b": 1e9,
    "g": 1e9,
    "t": 1e12,
    "p": 1e15,
    "ki": 2.0**10,
    "mi": 2.0**20,
    "gi": 2.0**30,
    "ti": 2.0**40,
}
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?)\s*(?P<suffix>[kmbgtp]i?)?$", re.IGNORECASE
)
_POWER = re.compile(r"^(?P<base>\d+)\s*(\^|\*\*)\s*(?P<exponent>\d+)$")


def parse_quantity(text: str, binary_k: bool = False) -> float:
    """A number as people write it: "4096", "4,096", "4_096", "128k" (128,000), "128Ki" (131,072),
    "70B", "15.6T", "1e24", "2^20". Raises ValueError saying what was expected.

    `binary_k` is for context and sequence lengths, where "128k" means 131,072 tokens by the
    field's own convention (Llama 3.1's "128K context" is max_position_embeddings = 131072)."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    power = _POWER.match(cleaned)
    if power:
        exponent = int(power["exponent"])
        if exponent > 200:
            raise ValueError(f"{text.strip()!r} is too large")
        return float(int(power["base"]) ** exponent)
    match = _QUANTITY.match(cleaned)
    if not match:
        raise ValueError(
            f"{text.strip()!r} is not a number; write e.g. 4096, 128k, 70B, 15.6T, 1e24 or 2^20"
        )
    suffix = (match["suffix"] or "").lower()
    if binary_k and suffix in ("k", "m"):
        suffix += "i"
    value = float(match["number"]) * _SUFFIX_FACTORS[suffix]
    if not math.isfinite(value):
        raise ValueError(f"{text.strip()!r} is too large")
    return value


def parse_whole_number(text: str, binary_k: bool = False) -> int:
    """parse_quantity for counts that must be whole: "128k" -> 128000; "1.5" is refused."""
    value = parse_quantity(text, binary_k)
    if value != math.floor(value):
        raise ValueError(f"{text.strip()!r} is not a whole number")
    return int(value)


def step_value(value: float, up: bool, double: bool = False, whole: bool = True) -> float:
    """The next sensible value above or below `value`: x2 or /2 with `double`; otherwise the next
    step of the 1-2-5 series for numbers that are not powers of two, and the next multiple of
    the largest power of two (at most 1/8 of the value) that divides sizes such as 4096 or
    14336, so widths stay GPU-friendly. Never returns the same value; stays positive."""
    if double:
        result = value * 2 if up else value / 2
    elif whole and 8 <= value < 2**24 and value == int(value) and int(value) % 8 == 0:
        unit = 1 << max(0, (int(value) // 8).bit_length() - 1)
        while int(value) % unit:
            unit //= 2
        result = value + unit if up else value - unit
    else:
        result = _next_125(value, up)
    if whole:
        result = float(max(1, round(result)))
        if result == value:
            result = value + 1 if up else max(1.0, value - 1)
    return result


def _next_125(value: float, up: bool) -> float:
    """The next number of the 1-2-5 series (…, 0.5, 1, 2, 5, 10, 20, …) above or below value."""
    if value <= 0:
        return 1.0 if up else value
    decade = 10.0 ** math.floor(math.log10(value))
    series = [m * decade for m in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20)]
    if up:
        return next(s for s in series if s > value * (1 + 1e-9))
    return next(s for s in reversed(series) if s < value * (1 - 1e-9))

def format_quantity(value: float) -> str:
    """The shortest human form that `parse_quantity` reads back as the same float: 2e12 -> "2T",
    15.6e12 -> "15.6T", 0.4 -> "0.4", 1e24 -> "1e24", 50.0 -> "50"."""
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if 1e4 <= magnitude < 1e15:
        for factor, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
            if magnitude >= factor:
                mantissa = f"{value / factor:.12g}"
                if "e" not in mantissa and float(mantissa) * factor == value:
                    return mantissa + suffix
                break
    text = repr(float(value))  # Python's repr is the shortest text that round-trips
    if magnitude >= 1e15:
        text = next(t for t in (f"{value:.{d}e}" for d in range(17)) if float(t) == value)
    mantissa, _, exponent = text.partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


def format_field_value(value: object) -> str:
    """A setting as the editor shows it and `llmscope.presets.settings.parse_setting` reads it back: numbers in
    human form, `none` for an unset optional or an empty list, `true`/`false`, lists
    comma-separated."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) if value else "none"  # not a blank field
    if isinstance(value, float):
        return format_quantity(value)
    return str(value)


def format_significant(value: float, digits: int = 3) -> str:
    """`digits` significant digits, fixed-point: 0.0156 -> "0.0156", 2.0213 -> "2.02"."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    exponent = math.floor(math.log10(abs(value)))
    if abs(round(value, digits - 1 - exponent)) >= 10 ** (exponent + 1):
        exponent += 1  # 0.9996 rounds to 1.00, not 1.000
    decimals = max(0, digits - 1 - exponent)
    return f"{value:.{decimals}f}"


def _scaled(value: float, steps: tuple[tuple[float, str], ...], sep: str = "") -> str:
    magnitude = abs(value)
    for factor, suffix in steps:
        if magnitude >= factor * 0.9995:
            return f"{format_significant(value / factor)}{sep}{suffix}"
    return format_significant(value)


def format_count(value: float) -> str:
    """8,030,261,248 -> "8.03B"; SI-style thousands (k, M, B, T), three significant digits."""
    if abs(value) < 1000:
        return f"{value:.0f}" if float(value).is_integer() else format_significant(value)
    return _scaled(value, ((1e15, "Q"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")))


def format_bytes(value: float) -> str:
    """Binary units: 16,060,522,496 -> "15.0 GiB"."""
    steps = tuple(
        (1024.0**p, unit)
        for p, unit in reversed(list(enumerate(("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"))))
    )
    if abs(value) < 1024:
        return f"{value:.0f} B"
    return _scaled(value, steps[:-1], sep=" ")


def format_seconds(value: float, short: bool = False) -> str:
    """µs / ms / s / min / h / days / years, whichever reads best; `short` writes days and years
    as d and y ("41.3y") for the narrowest lines."""
    if not math.isfinite(value):
        return "∞"
    magnitude = abs(value)
    if magnitude < 1e-3:
        return f"{format_significant(value * 1e6)} µs"
    if magnitude < 1:
        return f"{format_significant(value * 1e3)} ms"
    if magnitude < 120:
        return f"{format_significant(value)} s"
    if magnitude < 2 * 3600:
        return f"{format_significant(value / 60)} min"
    if magnitude < 48 * 3600:
        return f"{format_significant(value / 3600)} h"
    if magnitude < 365.25 * 86400:
        return format_significant(value / 86400) + ("d" if short else " days")
    return format_significant(value / (365.25 * 86400)) + ("y" if short else " years")


def format_usd(value: float) -> str:
    """$0.123, $12.3, $840k, $5.12M, $1.23B."""
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if magnitude < 1000:
        return (
            f"{sign}${magnitude:.2f}"
            if magnitude >= 1
            else f"{sign}${format_significant(magnitude)}"
        )
    return sign + "$" + _scaled(magnitude, ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")))


def format_flops(value: float) -> str:
    """Scientific notation, as papers quote training compute: "9.61e+22" -> "9.61e22"."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def percent_change(new: float, old: float) -> str:
    """Relative change from `old` to `new` with a sign; "new" when `old` is 0."""
    if old == 0:
        return "±0%" if new == 0 else "new"
    change = (new - old) / abs(old) * 100
    if abs(change) < 0.05:
        return "±0%"
    return f"{change:+.1f}%" if abs(change) < 100 else f"{change:+.0f}%"
