"""Text that came from files (names, descriptions, keys quoted in messages), made safe to show:
one plain line for a terminal, or Rich/Textual text with no markup and no terminal escapes."""

from __future__ import annotations

import re
import unicodedata

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
