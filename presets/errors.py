"""The one error that reading or writing presets and settings raises: a line meant for the user."""

from __future__ import annotations

from llmscope.presets.safe_text import plain_safe


class PresetError(ValueError):
    """A preset that cannot be read or written; the message is one line, meant for the user.

    Messages quote keys and values from files, so control characters (a newline in a quoted
    key, a terminal escape) are written out visibly: the message stays one safe line."""

    def __init__(self, message: object = "") -> None:
        super().__init__(plain_safe(message))


class PresetExistsError(PresetError):
    """Saving would replace an existing preset and overwrite was not asked for."""
