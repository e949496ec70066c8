"""Human number forms in and out (tui/numbers.py)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmscope.presets.numbers import (
    format_bytes,
    format_count,
    format_seconds,
    format_usd,
    parse_quantity,
    parse_whole_number,
    step_value,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("4096", 4096),
        ("4,096", 4096),
        ("4_096", 4096),
        ("128k", 128_000),
        ("128Ki", 131_072),
        ("70B", 70e9),
        ("70b", 70e9),
        ("15.6T", 15.6e12),
        ("1e24", 1e24),
        ("2^20", 2**20),
        ("2**10", 1024),
        (" 0.4 ", 0.4),
        (".5", 0.5),
        ("1.5M", 1.5e6),
    ],
)
def test_human_forms(text, value):
    assert parse_quantity(text) == pytest.approx(value, rel=1e-12)


def test_context_lengths_read_k_as_1024():
    # Llama 3.1's "128K context" is max_position_embeddings = 131072.
    assert parse_quantity("128k", binary_k=True) == 131_072
    assert parse_whole_number("8k", binary_k=True) == 8192
    assert parse_quantity("128k") == 128_000


@pytest.mark.parametrize("text", ["", "abc", "12x", "1..2", "k", "1e", "--3", "9^999"])
def test_bad_text_says_what_is_expected(text):
    with pytest.raises(ValueError) as excinfo:
        parse_quantity(text)
    assert "number" in str(excinfo.value) or "too large" in str(excinfo.value)


def test_whole_numbers_refuse_fractions():
    assert parse_whole_number("1.5k") == 1500
    with pytest.raises(ValueError, match="whole"):
        parse_whole_number("1.5")


@given(st.integers(min_value=1, max_value=10**12), st.booleans(), st.booleans())
def test_integer_steps_move_in_the_asked_direction_and_stay_positive(value, up, double):
    stepped = step_value(float(value), up, double)
    assert stepped >= 1 and stepped == int(stepped)
    if up:
        assert stepped > value
    elif value > 1:
        assert stepped < value


@given(st.floats(min_value=1e-6, max_value=1e6), st.booleans())
def test_fraction_steps_follow_the_1_2_5_series(value, up):
    stepped = step_value(value, up, whole=False)
    assert (stepped > value) if up else (stepped < value)
    mantissa = stepped / 10 ** math.floor(math.log10(stepped) + 1e-12)
    assert min(abs(mantissa - m) for m in (1, 2, 5)) < 1e-9


def test_widths_step_by_gpu_friendly_multiples():
    assert step_value(4096, up=True) == 4608  # next multiple of 512
    assert step_value(14336, up=False) == 13312  # Llama 3 8B's FFN width, minus 1024
    assert step_value(4096, up=True, double=True) == 8192


def test_formats_scale_their_units():
    assert format_count(8_030_261_248) == "8.03B"
    assert format_bytes(80 * 2**30) == "80.0 GiB"
    assert format_bytes(3 * 2**40) == "3.00 TiB"
    assert format_seconds(90) == "90.0 s"
    assert format_seconds(3 * 86400) == "3.00 days"
    assert format_seconds(2 * 365.25 * 86400) == "2.00 years"
    assert format_usd(1_234_567) == "$1.23M"
    assert format_usd(840_000) == "$840k"


def test_rounding_at_a_unit_boundary_keeps_three_significant_digits():
    assert format_count(999.6e6) == "1.00B"
    assert format_count(99.96e6) == "100M"
    assert format_usd(0.9996) == "$1.00"
