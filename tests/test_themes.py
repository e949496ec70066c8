"""Bundled themes load, declare the app's variables, work in a running app; bad files are skipped
with a reason; the chosen theme persists in the settings file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.color import Color
from textual.widgets import Static

from llmscope.tui import themes
from llmscope.tui.themes import (
    APP_VARIABLES,
    THEME_VARIABLE_DEFAULTS,
    default_theme_name,
    load_themes,
    load_themes_with_problems,
    save_theme_name,
    saved_theme_name,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

THEMES_DIR = Path(themes.__file__).resolve().parents[1] / "themes"
REQUIRED_KINDS = {"llmscope-dark", "llmscope-light", "llmscope-high-contrast", "llmscope-ansi"}


def test_every_bundled_theme_loads_without_problems():
    loaded, problems = load_themes_with_problems()
    assert problems == []
    names = {theme.name for theme in loaded}
    assert REQUIRED_KINDS <= names
    # One theme per file: nothing silently dropped.
    assert len(loaded) == len(list(THEMES_DIR.glob("*.toml")))


@pytest.mark.parametrize("theme", load_themes(), ids=lambda theme: theme.name)
def test_every_theme_declares_the_app_variables_as_colours(theme):
    for name in APP_VARIABLES:
        assert name in theme.variables, f"{theme.name} lacks {name}"
        Color.parse(theme.variables[name])  # raises if not a colour


def test_defaults_cover_every_app_variable():
    assert set(THEME_VARIABLE_DEFAULTS) == set(APP_VARIABLES)
    for value in THEME_VARIABLE_DEFAULTS.values():
        Color.parse(value)


def test_light_theme_is_light_and_ansi_theme_uses_only_terminal_colours():
    by_name = {theme.name: theme for theme in load_themes()}
    assert by_name["llmscope-light"].dark is False
    ansi = by_name["llmscope-ansi"]
    assert ansi.ansi is True
    colours = [
        getattr(ansi, field)
        for field in (
            "primary",
            "secondary",
            "accent",
            "foreground",
            "background",
            "surface",
            "panel",
            "success",
            "warning",
            "error",
        )
    ]
    colours += [ansi.variables[name] for name in APP_VARIABLES]
    assert all(value.startswith("ansi_") for value in colours), colours


def test_high_contrast_text_has_at_least_7_to_1_contrast():
    # WCAG 2.x AAA contrast ratio for normal text is 7:1 (relative luminance, WCAG 2.1 def. 1.4.6).
    theme = {t.name: t for t in load_themes()}["llmscope-high-contrast"]

    def luminance(colour: str) -> float:
        def channel(c: int) -> float:
            c = c / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = Color.parse(colour).rgb
        return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)

    background = luminance(theme.background)
    for colour in (theme.foreground, *(theme.variables[n] for n in APP_VARIABLES)):
        lighter, darker = sorted((luminance(colour), background), reverse=True)
        assert (lighter + 0.05) / (darker + 0.05) >= 7, colour


class _ThemedApp(App):
    CSS = "Static { color: $fit-ok; background: $fit-over; border: solid $curve-1; }"

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return THEME_VARIABLE_DEFAULTS

    def compose(self) -> ComposeResult:
        yield Static("x")

    def on_mount(self) -> None:
        for theme in load_themes():
            self.register_theme(theme)


async def test_app_css_using_the_variables_works_under_every_theme_and_builtins():
    app = _ThemedApp()
    async with app.run_test() as pilot:
        for theme in load_themes():
            app.theme = theme.name
            await pilot.pause()
            expected = Color.parse(theme.variables["fit-ok"])
            if not theme.ansi:
                assert app.query_one(Static).styles.color.rgb == expected.rgb
        # A built-in theme without our variables falls back on the defaults.
        app.theme = "textual-dark"
        await pilot.pause()
        assert (
            app.query_one(Static).styles.color.rgb
            == Color.parse(THEME_VARIABLE_DEFAULTS["fit-ok"]).rgb
        )


def _copy_bundled(tmp_path: Path) -> None:
    for path in THEMES_DIR.glob("*.toml"):
        (tmp_path / path.name).write_text(path.read_text())


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("name = 'x'\nprimary = \n", "not valid TOML"),
        ("primary = '#ffffff'\n[variables]\n", "missing required field 'name'"),
        ("name = 'x'\nprimary = 'not-a-colour'\n", "'primary'"),
        ("name = 'x'\nprimary = '#ffffff'\nprimery = '#000000'\n", "unknown field"),
        ("name = 'x'\nprimary = '#ffffff'\n[variables]\nfit-ok = '#00ff00'\n", "lacks fit-tight"),
        ("name = 'x'\nprimary = '#ffffff'\ndark = 'yes'\n", "'dark' must be true or false"),
        (
            "name = 'llmscope-dark'\nprimary = '#ffffff'\n[variables]\n"
            + "".join(f"{n} = '#ffffff'\n" for n in APP_VARIABLES),
            "already used",
        ),
    ],
)
def test_a_broken_theme_file_is_skipped_with_its_reason(tmp_path, content, reason):
    _copy_bundled(tmp_path)
    (tmp_path / "zz-broken.toml").write_text(content)
    loaded, problems = load_themes_with_problems(tmp_path)
    assert REQUIRED_KINDS <= {theme.name for theme in loaded}
    assert len(problems) == 1
    assert problems[0].startswith("zz-broken.toml: ")
    assert reason in problems[0]


def test_no_color_picks_the_ansi_theme(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert default_theme_name() == "llmscope-ansi"
    monkeypatch.delenv("NO_COLOR")
    assert default_theme_name() == "llmscope-dark"
    assert default_theme_name(no_color=True) == "llmscope-ansi"
    assert default_theme_name() in {theme.name for theme in load_themes()}


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMSCOPE_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def test_theme_choice_round_trips_and_keeps_other_settings(config_dir):
    from llmscope.presets.paths import settings_file

    assert saved_theme_name() is None
    settings_file().parent.mkdir(parents=True, exist_ok=True)
    settings_file().write_text('units = "si"\n[editor]\nwidth = 40\n')
    assert save_theme_name("llmscope-light") is None
    assert saved_theme_name() == "llmscope-light"
    assert save_theme_name("llmscope-ansi") is None
    assert saved_theme_name() == "llmscope-ansi"
    saved = tomllib.loads(settings_file().read_text())
    assert saved == {"units": "si", "editor": {"width": 40}, "theme": "llmscope-ansi"}
    assert settings_file().parent.resolve() == config_dir.resolve()
    # No temporary files left behind by the atomic write.
    assert [p.name for p in config_dir.iterdir()] == [settings_file().name]


def test_a_broken_settings_file_is_neither_trusted_nor_overwritten(config_dir):
    from llmscope.presets.paths import settings_file

    config_dir.mkdir(parents=True)
    settings_file().write_text("theme = \n")
    assert saved_theme_name() is None
    problem = save_theme_name("llmscope-light")
    assert problem is not None and "not valid TOML" in problem
    assert settings_file().read_text() == "theme = \n"
