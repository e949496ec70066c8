"""What a person does to the app, for the pilot and snapshot tests: an isolated environment, and
the field helpers (find, focus, type over, read the reason of a rejected entry)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.app import LlmscopeApp
from tui.widgets.builder import FieldInput, field_id


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


def field(app: LlmscopeApp, key: str) -> FieldInput:
    return app.query_one(f"#{field_id(key)}", FieldInput)


def row_of(app: LlmscopeApp, key: str):
    """The field's row: its label and its text (the reason of a rejected entry is under it)."""
    return field(app, key).parent


def error_text(app: LlmscopeApp, key: str) -> str:
    error = row_of(app, key).error
    return "" if error is None or not error.display else str(error.render())


async def step(pilot, key_name: str) -> None:
    await pilot.press(key_name)
    await pilot.pause()


async def show_tab_of(pilot, app: LlmscopeApp, key: str) -> None:
    """Bring the builder tab that holds `key` to the front, as clicking its tab would."""
    tab = {"model": "tab-model", "cluster": "tab-hardware"}.get(key.partition(".")[0], "tab-run")
    app.query_one("#builder").active = tab
    await pilot.pause()


async def focus_field(pilot, app: LlmscopeApp, key: str) -> FieldInput:
    await show_tab_of(pilot, app, key)
    widget = field(app, key)
    widget.focus()
    await pilot.pause()
    assert app.focused is widget
    return widget


async def type_into(pilot, app: LlmscopeApp, key: str, text: str) -> None:
    """Focus the field, select all of its text and type over it."""
    await focus_field(pilot, app, key)
    await pilot.press("ctrl+shift+a", "backspace", *text)
    await pilot.pause()
