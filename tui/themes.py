"""Colour themes: TOML files in the `themes` package, registered as Textual themes.

A theme file holds the fields of `textual.theme.Theme` (name, primary, secondary, ...) and a
`[variables]` table. Besides Textual's own variables, the panes use the app variables in
`APP_VARIABLES` (memory-fit colours, curve colours); `THEME_VARIABLE_DEFAULTS` gives them values
for themes that do not set them (Textual's built-in themes), so the stylesheet parses under every
theme. Widgets take colours only from these variables, never hard-coded.

The chosen theme persists under the key `theme` in the settings file (`llmscope.presets.paths.settings_file`),
written atomically and keeping every other key in that file.

NO_COLOR (https://no-color.org): Textual itself reads the variable and renders monochrome (or, for
a theme with native ANSI colours, drops colours altogether). `default_theme_name` then picks the
ANSI theme, so the output is the terminal's own default foreground on its own background. Memory
fit is never shown by colour alone (the word fits / tight / over is always beside the bar), so
nothing is lost without colour.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

import tomli_w

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

DEFAULT_THEME = "llmscope-dark"
NO_COLOR_THEME = "llmscope-ansi"
SETTINGS_THEME_KEY = "theme"

APP_VARIABLES: tuple[str, ...] = (
    "fit-ok",
    "fit-tight",
    "fit-over",
    "curve-1",
    "curve-2",
    "curve-3",
    "curve-4",
    "curve-5",
    "curve-point",
)
"""Variables the app's panes use beyond Textual's own; every bundled theme declares them all."""

THEME_VARIABLE_DEFAULTS: dict[str, str] = {
    # Mid-tone colours legible on dark and light backgrounds, for themes that set none.
    "fit-ok": "#4EBF71",
    "fit-tight": "#E0A030",
    "fit-over": "#D9534F",
    "curve-1": "#4A90D9",
    "curve-2": "#E0A030",
    "curve-3": "#A070D0",
    "curve-4": "#30A8A0",
    "curve-5": "#D9607F",
    "curve-point": "#E0E0E0",
}
"""Values of `APP_VARIABLES` for `App.get_theme_variable_defaults`."""

_COLOUR_FIELDS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_REQUIRED_FIELDS = ("name", "primary")


class ThemeFileError(ValueError):
    """A theme file that cannot be used; the message says which field and why."""


def theme_from_toml(data: dict[str, Any], require_app_variables: bool = True) -> Theme:
    """Build a Theme from the parsed TOML of a theme file, checking every field.

    Raises ThemeFileError naming the field at fault."""
    for key in _REQUIRED_FIELDS:
        if key not in data:
            raise ThemeFileError(f"missing required field {key!r}")
    known = {
        *_COLOUR_FIELDS,
        "name",
        "dark",
        "ansi",
        "luminosity_spread",
        "text_alpha",
        "variables",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise ThemeFileError(
            f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(sorted(known))}"
        )
    name = data["name"]
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError("'name' must be a non-empty string")
    for key in _COLOUR_FIELDS:
        if key in data:
            _check_colour(key, data[key])
    for key in ("dark", "ansi"):
        if key in data and not isinstance(data[key], bool):
            raise ThemeFileError(f"{key!r} must be true or false (got {data[key]!r})")
    for key in ("luminosity_spread", "text_alpha"):
        value = data.get(key, 0.5)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ThemeFileError(f"{key!r} must be a number from 0 to 1 (got {value!r})")
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise ThemeFileError('[variables] must be a table of name = "value" strings')
    for key in APP_VARIABLES:
        if key in variables:
            _check_colour(f"variables.{key}", variables[key])
    if require_app_variables:
        missing = [key for key in APP_VARIABLES if key not in variables]
        if missing:
            raise ThemeFileError(f"[variables] lacks {', '.join(missing)}")
    theme = Theme(
        **{key: value for key, value in data.items() if key != "variables"},
        variables=dict(variables),
    )
    try:
        # Textual derives shades from the base colours; a value it cannot use fails here, at
        # load time, rather than when the theme is switched on.
        theme.to_color_system().generate()
    except Exception as exc:  # Textual raises several error types for bad values
        raise ThemeFileError(f"Textual cannot use these colours: {exc}") from None
    return theme


def _check_colour(field: str, value: Any) -> None:
    if not isinstance(value, str):
        raise ThemeFileError(f"{field!r} must be a colour string (got {value!r})")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(
            f"{field!r}: {value!r} is not a colour (use #RRGGBB, rgb(...), a colour name or ansi_*)"
        ) from None


def _theme_files(directory: Traversable | Path | None) -> Iterable[Traversable | Path]:
    folder = directory if directory is not None else resources.files("llmscope.themes")
    return sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".toml")),
        key=lambda entry: entry.name,
    )


def load_themes_with_problems(
    directory: Traversable | Path | None = None,
) -> tuple[list[Theme], list[str]]:
    """Every usable theme in `directory` (default: the bundled `themes` package), and one
    "file: reason" line for each file that was skipped."""
    themes: list[Theme] = []
    problems: list[str] = []
    seen: set[str] = set()
    for entry in _theme_files(directory):
        try:
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            theme = theme_from_toml(data)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{entry.name}: cannot be read ({exc})")
            continue
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"{entry.name}: not valid TOML ({exc})")
            continue
        except ThemeFileError as exc:
            problems.append(f"{entry.name}: {exc}")
            continue
        if theme.name in seen:
            problems.append(
                f"{entry.name}: theme name {theme.name!r} is already used by another file"
            )
            continue
        seen.add(theme.name)
        themes.append(theme)
    return themes, problems


def load_themes(directory: Traversable | Path | None = None) -> list[Theme]:
    """The usable themes (see `load_themes_with_problems` for the reasons files were skipped)."""
    return load_themes_with_problems(directory)[0]


def default_theme_name(no_color: bool | None = None) -> str:
    """The theme to start with when none was saved: the ANSI theme under NO_COLOR, else dark.

    Pass `no_color` explicitly once an App exists: Textual's App removes NO_COLOR from the
    environment when it is constructed (keeping it as `App.no_color`)."""
    if no_color is None:
        no_color = "NO_COLOR" in os.environ
    return NO_COLOR_THEME if no_color else DEFAULT_THEME


def _read_settings(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    return tomllib.loads(path.read_text(encoding="utf-8"))


def saved_theme_name() -> str | None:
    """The theme saved in the settings file, or None when none is saved or the file is unreadable
    (an unreadable settings file must not keep the app from starting)."""
    from llmscope.presets.paths import settings_file

    try:
        value = _read_settings(settings_file()).get(SETTINGS_THEME_KEY)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return value if isinstance(value, str) and value else None


def save_theme_name(name: str) -> str | None:
    """Save the theme choice, keeping the other settings; returns None, or why it was not saved.

    Written atomically (llmscope.presets.files.write_atomic), so a crash never leaves a half-written
    settings file. A settings file that exists but is not valid TOML is left alone rather than
    overwritten: it may be a hand edit in progress."""
    from llmscope.presets.files import write_atomic
    from llmscope.presets.paths import settings_file

    path = settings_file()
    try:
        settings = _read_settings(path)
    except tomllib.TOMLDecodeError as exc:
        return f"{path}: not valid TOML ({exc}); theme not saved"
    except (OSError, UnicodeDecodeError) as exc:
        return f"{path}: cannot be read ({exc}); theme not saved"
    settings[SETTINGS_THEME_KEY] = name
    try:
        write_atomic(path, tomli_w.dumps(settings), overwrite=True)
    except OSError as exc:
        return f"{path}: cannot be written ({exc}); theme not saved"
    return None
