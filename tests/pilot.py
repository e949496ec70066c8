"""What a person does to the app, for the pilot and snapshot tests: an isolated environment, and
the field helpers (find, focus, type over, read the reason of a rejected entry)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmscope.tui.app import LlmscopeApp
from llmscope.tui.widgets.builder import FieldEditor


@pytest.fixture
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings, presets and the session in a temporary folder; no detection of this box, no
    teammates' preset path, no NO_COLOR (it would switch the theme); exports land in tmp_path."""
    monkeypatch.setenv("LLMSCOPE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LLMSCOPE_DETECT", "0")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.delenv("LLMSCOPE_PRESET_PATH", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def editor_of(app: LlmscopeApp, key: str) -> FieldEditor:
    """The editor that holds the field `key` (its tab must have been shown once)."""
    editor = app.editor_of(key)
    if editor is None:
        raise LookupError(f"no editor holds {key}")
    return editor


def field_text(app: LlmscopeApp, key: str) -> str:
    """The field's text as shown: the scenario's value, or what was typed."""
    return editor_of(app, key).text_of(key)


def is_invalid(app: LlmscopeApp, key: str) -> bool:
    return editor_of(app, key).reason_of(key) is not None


def error_text(app: LlmscopeApp, key: str) -> str:
    """The reason shown under a rejected entry, as on screen ("" when none)."""
    return " ".join(editor_of(app, key).reason_lines(key))


def is_focused(app: LlmscopeApp, key: str) -> bool:
    editor = editor_of(app, key)
    return app.focused is editor and editor.selected_key == key


async def step(pilot, key_name: str) -> None:
    await pilot.press(key_name)
    await pilot.pause()


async def show_tab_of(pilot, app: LlmscopeApp, key: str) -> None:
    """Bring the builder tab that holds `key` to the front, as clicking its tab would."""
    tab = {"model": "tab-model", "cluster": "tab-hardware"}.get(key.partition(".")[0], "tab-run")
    app.query_one("#builder").active = tab
    await pilot.pause()


async def focus_field(pilot, app: LlmscopeApp, key: str) -> FieldEditor:
    """Show the field's tab, focus its editor and select the field, as clicking it would."""
    await show_tab_of(pilot, app, key)
    editor = editor_of(app, key)
    editor.focus()
    editor.select(key)
    await pilot.pause()
    assert is_focused(app, key)
    return editor


async def type_into(pilot, app: LlmscopeApp, key: str, text: str) -> None:
    """Select the field, clear its text (the caret is at its end) and type."""
    await focus_field(pilot, app, key)
    await pilot.press("ctrl+u", *text)
    await pilot.pause()


def colours_drawn(app: LlmscopeApp) -> set[str]:
    """The foreground and background colours of the cells on screen, as the app hands them to
    the terminal (after its line filters, as App.export_screenshot draws them), other than the
    terminal's own default colours."""
    found = set()
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            style = segment.style
            for colour in (style.color, style.bgcolor) if style else ():
                if colour is not None and not colour.is_default:
                    found.add(colour.name)
    return found


async def until(pilot, condition, timeout_s: float = 3.0) -> None:
    """Pause until `condition()` holds: a focus change lands a frame or two after the key that
    asked for it, later on a loaded machine. Fails with the condition unmet after timeout_s."""
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.02)
