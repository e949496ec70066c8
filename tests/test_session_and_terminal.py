"""The session survives what ends an SSH session, the app asks before dropping work, and it
behaves where it has no real terminal or no colour.

Pilot tests drive the app as a person would; the tmux tests run the real command in a real
terminal (skipped where tmux is not installed) and end it as a dropped connection or `kill` would.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pilot import colours_drawn, hermetic, step, type_into  # noqa: F401 (hermetic is a fixture)

import llmscope.tui.app as app_module
from llmscope.engine.evaluate import evaluate
from llmscope.engine.scenario import Scenario
from llmscope.presets import session as session_store
from llmscope.presets.library import find_preset
from llmscope.presets.numbers import format_count
from llmscope.presets.session import (
    claim_session,
    read_session,
    save_session,
    session_file,
)
from llmscope.tui.app import LlmscopeApp
from llmscope.tui.screens.presets import ConfirmScreen, OpenPresetScreen

NARROW = (80, 24)
WIDE = (160, 48)
REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("hermetic")


def record_notices(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every message the app notifies from now on."""
    seen: list[str] = []
    original = LlmscopeApp.notify

    def notify(self, message, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(str(message))
        return original(self, message, *args, **kwargs)

    monkeypatch.setattr(LlmscopeApp, "notify", notify)
    return seen


# --- every edit is saved --------------------------------------------------------------------------


async def test_each_burst_of_edits_is_written_to_the_session_once(monkeypatch):
    writes: list[Scenario] = []
    original = session_store.Session.save

    def counted(self, scenario, preset_name):  # type: ignore[no-untyped-def]
        writes.append(scenario)
        return original(self, scenario, preset_name)

    monkeypatch.setattr(session_store.Session, "save", counted)
    # A burst is keys closer together than the delay; on a loaded test machine three pilot key
    # presses can take longer than the app's 0.3 s, so the test widens the delay, not the rule.
    delay_s = 1.5
    monkeypatch.setattr(app_module, "SESSION_SAVE_DELAY_S", delay_s)
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await type_into(pilot, app, "model.num_layers", "48")  # three keys: clear, 4, 8
        assert app.scenario.model.num_layers == 48 and app.session_save_pending
        await pilot.pause(delay_s * 2)
        assert not app.session_save_pending
        assert len(writes) == 1  # one write for the burst, not one per key
        assert read_session(session_file()) == (app.scenario, None)
        # Still running, nothing pending: no further writes while idle.
        await pilot.pause(delay_s)
        assert len(writes) == 1


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
async def test_sigterm_and_sighup_save_the_pending_edit_and_end_the_app(signum):
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await type_into(pilot, app, "model.num_layers", "44")
        edited = app.scenario
        assert app.session_save_pending  # the debounced write has not happened yet
        # The app handles the signal (the default would end this test process).
        assert signal.getsignal(signum) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        os.kill(os.getpid(), signum)
        await pilot.pause()
        await pilot.pause()
    assert app.return_code == 128 + signum
    assert read_session(session_file()) == (edited, None)
    assert signal.getsignal(signum) == signal.SIG_DFL  # handed back when the app ended
    again = LlmscopeApp()
    async with again.run_test(size=NARROW):
        assert again.scenario == edited


@pytest.mark.parametrize("where", ["fsync", "replace"])
def test_an_interrupted_save_leaves_the_previous_session_whole(monkeypatch, where):
    previous = Scenario().with_value("model.num_layers", 40)
    save_session(previous, "mine")

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt  # as a signal or a crash would, halfway through the write

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(os, where, interrupted)
        save_session(Scenario().with_value("model.num_layers", 48), "mine")
    assert read_session(session_file()) == (previous, "mine")
    assert [p.name for p in session_file().parent.iterdir()] == ["session.toml"]  # no temp left


# --- two apps, broken sessions --------------------------------------------------------------------


async def test_a_second_app_keeps_its_own_session_and_says_so(monkeypatch):
    notices = record_notices(monkeypatch)
    first_scenario = Scenario().with_value("serving.batch_size", 7)
    first = claim_session()  # another llmscope, running, with its edit saved
    first.save(first_scenario, None)
    try:
        app = LlmscopeApp()
        async with app.run_test(size=NARROW) as pilot:
            assert app.session.path == session_file(2)
            assert any("Another llmscope" in n and "session-2.toml" in n for n in notices)
            assert app.scenario == Scenario()  # the other app's session is not taken over
            await type_into(pilot, app, "model.num_layers", "40")
            second_scenario = app.scenario
            await step(pilot, "ctrl+q")
            await step(pilot, "y")
        assert read_session(session_file(1)) == (first_scenario, None)  # untouched
        assert read_session(session_file(2)) == (second_scenario, None)
    finally:
        first.release()
    # Neither app runs now: the newest session comes back, and the older one stays on disk.
    again = LlmscopeApp()
    async with again.run_test(size=NARROW):
        assert again.scenario == second_scenario
    assert read_session(session_file(1)) == (first_scenario, None)


def test_a_session_held_by_another_process_is_left_to_it(tmp_path):
    """The lock is the kernel's (flock), so it holds across processes and dies with them."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from llmscope.presets.session import claim_session; "
            "s = claim_session(); print(s.path, flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == str(session_file(1))
        mine = claim_session()
        assert mine.path == session_file(2) and "Another llmscope" in " ".join(mine.notes)
        mine.release()
    finally:
        holder.communicate("", timeout=30)  # it ends; the kernel drops its lock
    free = claim_session()
    assert free.path == session_file(1) and free.notes == []
    free.release()


@pytest.mark.parametrize(
    "broken", [b"[model\nnum_layers = 4", b"\xff\xfe not text", b"[model]\nnum_layers = -3\n"]
)
async def test_an_unreadable_session_is_set_aside_and_reported(monkeypatch, broken):
    notices = record_notices(monkeypatch)
    target = session_file()
    target.parent.mkdir(parents=True)
    target.write_bytes(broken)
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        (kept,) = target.parent.glob("session.broken-*.toml")
        assert kept.read_bytes() == broken  # kept as it was, for the user to look at
        (notice,) = [n for n in notices if "could not be read" in n]
        assert kept.name in notice and "Restored" not in notice
        assert app.scenario == Scenario()
        await type_into(pilot, app, "model.num_layers", "40")
        await step(pilot, "ctrl+q")
        await step(pilot, "y")
    assert kept.read_bytes() == broken  # the next save did not touch it
    assert read_session(target) == (app.scenario, None)


def test_an_unreadable_session_that_cannot_be_moved_is_never_written_over(monkeypatch):
    target = session_file()
    target.parent.mkdir(parents=True)
    target.write_bytes(b"[model\n")

    def refused(path):  # type: ignore[no-untyped-def]
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(session_store, "set_aside", refused)
    mine = claim_session()
    assert mine.path == session_file(2) and mine.restored is None
    assert "left as it is" in " ".join(mine.notes)
    mine.save(Scenario(), None)
    assert target.read_bytes() == b"[model\n"
    mine.release()


async def test_a_session_naming_an_unknown_accelerator_keeps_the_rest_and_says_so_once(
    monkeypatch,
):
    notices = record_notices(monkeypatch)
    saved = Scenario().with_values({"model.num_layers": 40, "cluster.accelerator": "retired-gpu"})
    save_session(saved, None)
    app = LlmscopeApp()
    async with app.run_test(size=NARROW):
        assert app.scenario.model.num_layers == 40  # the model edit is not lost
        assert app.scenario.cluster.accelerator == Scenario().cluster.accelerator
        (notice,) = [n for n in notices if "retired-gpu" in n]
        assert notice.startswith("Restored your last session")
        assert "default scenario" not in " ".join(notices)


# --- asking before dropping work ------------------------------------------------------------------


async def test_ctrl_o_asks_before_dropping_unsaved_edits_and_the_pin():
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        await step(pilot, "f5")
        await type_into(pilot, app, "model.num_layers", "48")
        edited = app.scenario
        for answer in ("n", "y"):
            await step(pilot, "ctrl+o")
            assert isinstance(app.screen, OpenPresetScreen)
            await pilot.press(*"mixtral-8x7b")
            await step(pilot, "enter")
            assert isinstance(app.screen, ConfirmScreen)
            assert "unsaved edits" in app.screen.question and "pinned A" in app.screen.question
            await step(pilot, answer)
            if answer == "n":
                assert app.scenario == edited and app.pinned is not None
        assert app.scenario.model.num_experts == 8 and app.pinned is None and not app.unsaved
        # Nothing to drop: it opens without asking.
        await step(pilot, "ctrl+o")
        await pilot.press(*"mistral-7b")
        await step(pilot, "enter")
        assert len(app.screen_stack) == 1 and app.preset_name == "mistral-7b"


async def test_ctrl_r_asks_before_dropping_unsaved_edits():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await type_into(pilot, app, "model.num_layers", "48")
        await step(pilot, "ctrl+r")
        assert isinstance(app.screen, ConfirmScreen)
        await step(pilot, "n")
        assert app.scenario.model.num_layers == 48
        await step(pilot, "ctrl+r")
        await step(pilot, "y")
        assert app.scenario == Scenario() and not app.unsaved


@pytest.mark.parametrize("drop", [True, False])
async def test_starting_on_a_preset_asks_before_dropping_the_sessions_unsaved_edits(drop):
    edited = Scenario().with_value("serving.batch_size", 3)
    save_session(edited, None)
    teammates = find_preset("mistral-7b")
    app = LlmscopeApp(preset=teammates)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert not app.save_session_now()  # nothing is written before the answer
        assert read_session(session_file()) == (edited, None)
        await step(pilot, "y" if drop else "n")
        expected = teammates.scenario if drop else edited
        assert app.scenario == expected
        assert app.preset_name == ("mistral-7b" if drop else None)
    assert read_session(session_file())[0] == expected


# --- no colour, no terminal -----------------------------------------------------------------------

async def test_no_color_draws_in_the_terminals_own_colours(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert app.theme == "llmscope-ansi"
        # No foreground or background colour at all: the terminal's default text on its
        # default background, legible in any terminal (it was colour 16 on colour 16).
        assert colours_drawn(app) == set()
    monkeypatch.delenv("NO_COLOR")
    coloured = LlmscopeApp()  # the same screen with colour: the check above can fail
    async with coloured.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert colours_drawn(coloured) != set()


def _run_cli(
    args: list[str], env_extra: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess:
    env = {
        "LLMSCOPE_CONFIG_DIR": str(tmp_path / "cli-config"),
        "LLMSCOPE_DETECT": "0",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        **env_extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "llmscope.tui.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,  # the app, started without a terminal, used to wait here for ever
    )


@pytest.mark.parametrize("term", ["xterm-256color", "dumb"])
def test_without_a_terminal_llmscope_prints_the_readout_and_exits_0(tmp_path, term, monkeypatch):
    opened = _run_cli(["llama3.1-8b"], {"TERM": term}, tmp_path)
    shown = _run_cli(["show", "llama3.1-8b"], {"TERM": term}, tmp_path)
    assert opened.returncode == 0 and shown.returncode == 0
    assert opened.stdout == shown.stdout and "\x1b" not in opened.stdout
    assert "the app needs a terminal" in opened.stderr
    assert ("TERM=dumb" if term == "dumb" else "not a terminal") in opened.stderr
    # With no preset named: the last session's readout, as the app would open on it.
    monkeypatch.setenv("LLMSCOPE_CONFIG_DIR", str(tmp_path / "cli-config"))
    save_session(Scenario().with_value("model.num_layers", 40), None)
    last = _run_cli([], {"TERM": term}, tmp_path)
    assert last.returncode == 0 and "40 layers" in last.stdout


# --- a real terminal: tmux ------------------------------------------------------------------------

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """One tmux server of our own (its own socket, no user config) holding one shell."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.base = ["tmux", "-L", name, "-f", os.devnull]
        self.session = "t"
        shell_env = [f"{key}={value}" for key, value in env.items()]
        self.tmux(
            "new-session", "-d", "-s", self.session, "-x", "100", "-y", "30",
            "env", "-u", "NO_COLOR", *shell_env, "bash", "--norc", "--noprofile",
        )  # fmt: skip

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            [*self.base, *args], capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def flags(self) -> str:
        return self.tmux(
            "display", "-p", "-t", self.session,
            "alt=#{alternate_on} cursor=#{cursor_flag} mouse=#{mouse_any_flag}",
        ).strip()  # fmt: skip

    def wait_for(self, pattern: str, timeout_s: float = 30) -> str:
        end = time.monotonic() + timeout_s
        while True:
            shown = self.screen()
            if re.search(pattern, shown):
                return shown
            if time.monotonic() > end:
                raise AssertionError(f"never saw {pattern!r}; the pane shows:\n{shown}")
            time.sleep(0.05)

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=10)


def _running(pid: int) -> bool:
    """Whether `pid` still runs (a zombie waiting for its parent to reap it has ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): alive as far as kill tells
    return stat.rpartition(")")[2].split()[0] != "Z"


def _gone(pid: int, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while _running(pid):
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


@needs_tmux
@pytest.mark.parametrize("how", ["kill -TERM", "tmux kill-session"])
def test_in_a_real_terminal_an_edit_survives_the_end_and_the_terminal_is_restored(
    hermetic, how
):
    config = hermetic / "config"
    pid_file = hermetic / "app.pid"
    term = Tmux(
        f"llmscope-test-{os.getpid()}-{how.split()[-1]}",
        {
            "LLMSCOPE_CONFIG_DIR": str(config),
            "LLMSCOPE_DETECT": "0",
            "TERM": "xterm-256color",
            "PS1": "PROMPT$ ",
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        },
    )
    try:
        term.wait_for(r"PROMPT\$")
        # The inner shell records its pid, then becomes the app.
        inner = f"echo $$ > {shlex.quote(str(pid_file))}; exec {shlex.quote(sys.executable)}"
        term.keys(f"bash -c {shlex.quote(inner + ' -m llmscope.tui.cli')}; echo EXIT=$?", "Enter")
        term.wait_for(r"num layers\s+32")
        assert term.flags() == "alt=1 cursor=0 mouse=1"  # full screen, as the app runs
        pid = int(pid_file.read_text())
        term.keys("Down", "Down", "Down", "C-u", "4", "8")  # name, family, hidden, num layers
        # Applied (not only typed): the summary line shows the 48-layer model's parameters.
        params = format_count(evaluate(Scenario().with_value("model.num_layers", 48)).params.total)
        term.wait_for(rf"num layers\s+48(.|\n)*{re.escape(params)}( params)? ·")
        if how == "kill -TERM":
            os.kill(pid, signal.SIGTERM)
            shown = term.wait_for(r"EXIT=143\s+PROMPT\$", timeout_s=10)
            assert "num layers" not in shown  # back on the shell's screen, not the app's
            assert term.flags() == "alt=0 cursor=1 mouse=0"  # main screen, cursor, no mouse
        else:
            term.tmux("kill-session", "-t", term.session)  # the terminal goes: SIGHUP
        assert _gone(pid, timeout_s=10), "the app did not end"
    finally:
        term.close()
    assert read_session(config / "state" / "session.toml")[0].model.num_layers == 48
    # The lock ends with the process (once its last thread has gone): nobody holds the session.
    end = time.monotonic() + 10
    while (mine := claim_session()).path != session_file(1) and time.monotonic() < end:
        mine.release()
        time.sleep(0.05)
    assert mine.path == session_file(1)
    mine.release()
