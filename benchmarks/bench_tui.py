"""How fast the terminal app answers a key press and how fast it starts, against a bare Textual app.

Run: `python benchmarks/bench_tui.py` (from the repository root or anywhere; about two minutes);
`--start-up` measures start-up alone.

Both apps run headless (`App.run_test()`) in one process, their runs alternating, so machine noise
hits both:

- Key press to all panes updated, at 200x50 (builder, readouts and curves side by side) and 80x24.
  The edits a person makes: + and - on the model's hidden size (4608 <-> 5120, the title saying
  "modified" throughout), the same keys stepping back to the saved 4096 and away (the title's
  "modified" comes and goes), and the layer count typed (Backspace then "2": "32" -> "3" -> "32",
  each key an edit). Each press re-evaluates the scenario and must change the readouts; the app's
  state is checked after every one. Timed from posting the key event to the end of the last
  frame it caused: each frame is also turned into the text a terminal would be sent (headless
  Textual skips that step), and "last" means that afterwards no frame came, the process was idle
  and nothing was queued for a while (that wait is not timed). Not `pilot.press()` +
  `pilot.pause()`: those sleep at least 20 ms a call waiting for idle, which would time the
  harness. The bare app's cursor does not blink (a blink is a frame no key caused; the app's caret
  never blinks). The baseline is
  a bare app (header, one input, one line of text, footer) where the same keys step the number
  or edit its text, and the line shows it, the way the app applies an edit. Both apps are open at
  once and take turns, one edit each. Latency includes Textual's frame pacing in both: a frame
  is drawn when the work is done, but one that follows another waits for the next 1/60 s tick
  (17-33 ms).
- Start-up: from constructing the app, through `run_test()`, to its first frame and to its last
  frame before it goes quiet (settled); the apps alternate. Imports are not in these figures:
  they happen once per process, before any timing. They are timed apart, each in a fresh
  interpreter (`import llmscope.tui.app` against the Textual modules the bare app uses), and so is what a
  person waits for after typing the command: a fresh interpreter's first line, through the
  imports, to the first frame.

Hermetic like the tests: $LLMSCOPE_CONFIG_DIR is a temporary folder, detection is off, and the
working directory is a temporary folder, so the user's settings, presets and session are never
read or written.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Before the app's modules are imported, so nothing can see the user's own folders.
_TMP = Path(tempfile.mkdtemp(prefix="llmscope-bench-"))
os.environ["LLMSCOPE_CONFIG_DIR"] = str(_TMP / "config")
os.environ["LLMSCOPE_DETECT"] = "0"
os.environ["HF_HUB_CACHE"] = str(_TMP / "hf-cache")
os.environ.pop("HF_HOME", None)
os.environ.pop("LLMSCOPE_PRESET_PATH", None)
os.chdir(_TMP)

from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.containers import Horizontal, Vertical  # noqa: E402
from textual.message import Message  # noqa: E402
from textual.widgets import DataTable, Footer, Header, Input, Static  # noqa: E402
from textual_plotext import PlotextPlot  # noqa: E402

from llmscope.engine.hardware import builtin_catalog  # noqa: E402

from llmscope.tui.app import WIDE_COLUMNS, LlmscopeApp  # noqa: E402
from llmscope.tui.widgets.builder import FieldEditor  # noqa: E402
from llmscope.tui.widgets.hardware import COLUMNS as HARDWARE_COLUMNS  # noqa: E402
from llmscope.tui.widgets.hardware import accelerator_cells  # noqa: E402

SIZES = {"wide": (200, 50), "80x24": (80, 24)}
assert SIZES["wide"][0] >= WIDE_COLUMNS  # builder, readouts and curves all on screen
STEP_EDITS = 200
TITLE_EDITS = 20
TYPED_EDITS = 30
STARTS = 9
IMPORTS = 5
QUIET_S = 0.02  # no frame, (almost) no CPU and nothing queued this long: the key's work is over
GIVE_UP_S = 30.0  # a frame that never comes is a failure, not a wait
TARGET_KEY_S = 0.050
TARGET_START_RATIO = 1.5


class PaintClock:
    """When the app drew its first and its last frame, and how many it has drawn."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        display = app._display

        def timed(screen, update) -> None:
            display(screen, update)
            if update is not None:
                # Headless, Textual stops short of the terminal text; a terminal needs it.
                update.render_segments(app.console)
                self.last = time.perf_counter()
                if not self.count:
                    self.first = self.last
                self.count += 1

        app._display = timed  # type: ignore[method-assign]

    def pending(self) -> bool:
        """Whether any widget still has messages queued or the screen has an update to draw."""
        screen = self.app.screen
        if screen._layout_required or screen._repaint_required or screen._dirty_widgets:
            return True
        nodes = [self.app, *screen.walk_children(with_self=True)]
        return any(node.message_queue_size for node in nodes)


async def settled(clock: PaintClock, frames_before: int) -> float:
    """Wait for a frame after `frames_before`, then for quiet; the time of the last frame."""
    deadline = time.perf_counter() + GIVE_UP_S
    while time.perf_counter() < deadline:
        count, cpu = clock.count, time.process_time()
        await asyncio.sleep(QUIET_S)
        quiet = clock.count == count and time.process_time() - cpu < QUIET_S / 4
        if quiet and count > frames_before and not clock.pending():
            return clock.last
    raise RuntimeError(f"no frame, or no quiet after it, within {GIVE_UP_S:.0f} s")


# --- the bare Textual app ----------------------------------------------------------------------


class BareStepped(Message):
    def __init__(self, up: bool) -> None:
        super().__init__()
        self.up = up


class BareInput(Input):
    """Like the app's fields: + and - step the number instead of typing."""

    async def _on_key(self, event: events.Key) -> None:
        if event.character in ("+", "-"):
            event.stop()
            event.prevent_default()
            self.post_message(BareStepped(event.character == "+"))
            return
        await super()._on_key(event)


class BareEditApp(App[None]):
    """A focused number and a line that shows it: Textual's own cost of an edit."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield BareInput(value="4096", id="number")
        yield Static("4096", id="shown")
        yield Footer()

    def on_bare_stepped(self, message: BareStepped) -> None:
        # As the app applies a step: the field and what shows it change in one go.
        number = self.query_one(BareInput)
        with number.prevent(Input.Changed):
            number.value = str(int(number.value) + (512 if message.up else -512))
        self.query_one("#shown", Static).update(f"hidden size {number.value}")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#shown", Static).update(f"hidden size {event.value}")


class BareStartApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("hello")
        yield Footer()


# A column of 48 lines like the readouts', for the context apps below.
SCREENFUL_OF_TEXT = "\n".join(
    f"setting {i:3d}   {i * 1234:>12,} units   a few words more" for i in range(48)
)


class BareTextApp(App[None]):
    """A bare app that fills the screen with text, as the app does: three columns of lines.
    Not the target's baseline; it shows how much of a start-up is drawing a full screen."""

    CSS = "Horizontal > * { width: 1fr; }"

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            for _ in range(3):
                yield Static(SCREENFUL_OF_TEXT)
        yield Footer()


class BareWidgetsApp(App[None]):
    """The standard widgets the issue itself names, and nothing of the app's own: the hardware
    picker's filter and table (the same catalog rows), a plotext plot of one log-log curve, a
    column of text for the readouts, and the app's key bindings in the footer. Not the target's
    baseline either: it shows what those widgets cost before any of the app's work."""

    BINDINGS = LlmscopeApp.BINDINGS
    CSS = "Horizontal > * { width: 1fr; }"

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical():
                yield Input(placeholder="filter")
                yield DataTable()
            yield Static(SCREENFUL_OF_TEXT)
            yield PlotextPlot()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*(header for header, _, _ in HARDWARE_COLUMNS))
        for accelerator in builtin_catalog():
            table.add_row(*accelerator_cells(accelerator), key=accelerator.id)
        plt = self.query_one(PlotextPlot).plt
        compute = [10.0 ** (18 + i / 10) for i in range(101)]
        plt.plot(compute, [1.7 + 400 * c**-0.05 for c in compute], marker="braille")
        plt.xscale("log")
        plt.yscale("log")


# --- key presses -------------------------------------------------------------------------------


class Turns:
    """Two apps' sessions taking strict turns, each in its own task (Textual's current app is
    per task), so one app is idle while the other is timed."""

    def __init__(self) -> None:
        self._condition = asyncio.Condition()
        self._ready = 0
        self._player = 0

    async def ready(self) -> None:
        async with self._condition:
            self._ready += 1
            self._condition.notify_all()

    @contextlib.asynccontextmanager
    async def turn(self, player: int) -> AsyncIterator[None]:
        async with self._condition:
            await self._condition.wait_for(lambda: self._ready == 2 and self._player == player)
        try:
            yield
        finally:
            async with self._condition:
                self._player = 1 - player
                self._condition.notify_all()


class Session:
    """One app's side: its clock, its turns and its samples by kind of edit."""

    def __init__(self, app: App, turns: Turns, player: int) -> None:
        self.app = app
        self.clock = PaintClock(app)
        self.turns = turns
        self.player = player
        self.samples: dict[str, list[float]] = {}

    async def focus(self, pilot, widget: Input | FieldEditor, key: str | None = None) -> None:
        """Focus a field, its cursor at the end, as clicking it would (not timed)."""
        async with self.turns.turn(self.player):
            widget.focus()
            if isinstance(widget, FieldEditor):
                widget.select(key or widget.selected_key)  # the caret after the text
            else:
                widget.cursor_blink = False  # a blink is a frame no key caused
            await pilot.pause()
            if isinstance(widget, Input):
                widget.cursor_position = len(widget.value)
            assert self.app.focused is widget
            await settled(self.clock, self.clock.count - 1)

    async def press(self, kind: str, key: str, character: str | None) -> None:
        """Seconds from the key event to the end of the last frame it caused, in `kind`."""
        async with self.turns.turn(self.player):
            event = events.Key(key, character)
            event.set_sender(self.app)
            frames = self.clock.count
            start = time.perf_counter()
            self.app.post_message(event)
            end = await settled(self.clock, frames)
        self.samples.setdefault(kind, []).append(end - start)


STEP, TITLE, TYPED = "step +/-", "step to saved", "type a digit"
PLUS, MINUS = ("plus", "+"), ("minus", "-")


async def app_session(size: tuple[int, int], turns: Turns) -> dict[str, list[float]]:
    # A configuration folder of its own: the app saves every edit to its session, and the next
    # size's app would otherwise start from where this one left the model.
    os.environ["LLMSCOPE_CONFIG_DIR"] = tempfile.mkdtemp(dir=_TMP, prefix="config-")
    app = LlmscopeApp()
    session = Session(app, turns, 0)
    async with app.run_test(size=size) as pilot:
        app.query_one("#builder").active = "tab-model"
        await pilot.pause()
        await settled(session.clock, 0)
        await turns.ready()
        editor = app.query_one("#model-editor", FieldEditor)
        params = app.query_one("#parameters", Static)

        async def edit(kind: str, key: tuple[str, str | None], check: Callable[[], bool]) -> None:
            before = str(params.render())
            await session.press(kind, *key)
            assert check(), (kind, key)
            assert str(params.render()) != before, "the readouts did not change"

        def hidden_size_is(size: int) -> Callable[[], bool]:
            return lambda: (
                app.scenario.model.hidden_size == size
                and editor.text_of("model.hidden_size") == str(size)
            )

        # + and - on the hidden size, 4608 <-> 5120: both differ from the saved 4096, so the title
        # says "modified" throughout, as it does while someone works on a model.
        await session.focus(pilot, editor, "model.hidden_size")
        await edit(STEP, PLUS, hidden_size_is(4608))
        session.samples[STEP].clear()
        for i in range(STEP_EDITS):
            up = i % 2 == 0
            await edit(STEP, PLUS if up else MINUS, hidden_size_is(5120 if up else 4608))

        # Back to the saved 4096 and away again: the title's "modified" comes and goes.
        for i in range(TITLE_EDITS):
            down = i % 2 == 0
            await edit(TITLE, MINUS if down else PLUS, lambda: app.unsaved != down)

        # Backspace and "2" on the layer count: "32" -> "3" -> "32", each key an edit.
        await session.focus(pilot, editor, "model.num_layers")
        for i in range(TYPED_EDITS):
            typed = 3 if i % 2 == 0 else 32
            key = ("backspace", None) if i % 2 == 0 else ("2", "2")
            await edit(TYPED, key, lambda: app.scenario.model.num_layers == typed)
    return session.samples


async def bare_session(size: tuple[int, int], turns: Turns) -> dict[str, list[float]]:
    app = BareEditApp()
    session = Session(app, turns, 1)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await settled(session.clock, 0)
        await turns.ready()
        number = app.query_one(BareInput)

        async def edit(kind: str, key: tuple[str, str | None], expected: str) -> None:
            await session.press(kind, *key)
            assert number.value == expected, (kind, key, number.value)

        await session.focus(pilot, number)
        await edit(STEP, PLUS, "4608")
        session.samples[STEP].clear()
        for i in range(STEP_EDITS):
            await edit(STEP, *((PLUS, "5120") if i % 2 == 0 else (MINUS, "4608")))
        for i in range(TITLE_EDITS):
            await edit(TITLE, *((MINUS, "4096") if i % 2 == 0 else (PLUS, "4608")))
        number.value = "32"
        await session.focus(pilot, number)
        for i in range(TYPED_EDITS):
            await edit(TYPED, *((("backspace", None), "3") if i % 2 == 0 else (("2", "2"), "32")))
    return session.samples


async def measure_keys(size: tuple[int, int]) -> tuple[dict, dict]:
    """Both apps open at one size, their edits alternating: (llmscope samples, bare samples)."""
    turns = Turns()
    ours, bare = await asyncio.gather(
        asyncio.create_task(app_session(size, turns)),
        asyncio.create_task(bare_session(size, turns)),
    )
    return ours, bare


# --- start-up ----------------------------------------------------------------------------------


async def start_once(make: Callable[[], App], size: tuple[int, int]) -> tuple[float, float]:
    """(seconds to the first frame, seconds to the last frame before quiet) from construction."""
    start = time.perf_counter()
    app = make()
    clock = PaintClock(app)
    async with app.run_test(size=size):
        deadline = start + GIVE_UP_S
        while clock.count == 0 and time.perf_counter() < deadline:
            await asyncio.sleep(0.001)
        first = clock.first - start  # not .last: more frames may come before this task runs
        last = await settled(clock, 0) - start
    return first, last


def import_seconds(statement: str) -> float:
    """Seconds for `statement` in a fresh interpreter (the interpreter's own start not counted)."""
    code = f"import time; s = time.perf_counter(); {statement}; print(time.perf_counter() - s)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(done.stdout)


# A fresh interpreter's way from its first line to the app's first frame: what a person waits for
# after typing the command, less the interpreter's own start (the same for both apps).
COLD_START = """
import asyncio, time
start = time.perf_counter()
{imports}
async def first_frame():
    app = {make}()
    frames = []
    display = app._display
    def timed(screen, update):
        display(screen, update)
        if update is not None and not frames:
            update.render_segments(app.console)
            frames.append(time.perf_counter())
    app._display = timed
    async with app.run_test(size={size}):
        while not frames:
            await asyncio.sleep(0.001)
    return frames[0] - start
print(asyncio.run(first_frame()))
"""
COLD_APPS = {
    # As the `llmscope` command does: the collector off from the start (tui/console.py), then
    # run_app() freezes what the imports made before it builds the app.
    "llmscope": (
        "import gc\ngc.disable()\nfrom llmscope.tui.app import LlmscopeApp, freeze_imports\nfreeze_imports()",
        "LlmscopeApp",
    ),
    "bare": (
        "from textual.app import App\n"
        "from textual.widgets import Footer, Header, Static\n"
        "class BareStartApp(App):\n"
        "    def compose(self):\n"
        "        yield Header()\n"
        "        yield Static('hello')\n"
        "        yield Footer()",
        "BareStartApp",
    ),
}


def cold_start_seconds(label: str, size: tuple[int, int]) -> float:
    """Seconds from a fresh interpreter's first line, through the imports, to the first frame."""
    imports, make = COLD_APPS[label]
    code = COLD_START.format(imports=imports, make=make, size=size)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=_TMP,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.1f}ms"


def main() -> None:
    if "--start-up" not in sys.argv[1:]:
        measure_key_presses()
    measure_start_up()


def measure_key_presses() -> None:
    print(
        "key press to the end of the last frame it caused (terminal text included); medians; "
        f"per size {STEP_EDITS} steps, {TITLE_EDITS} steps to and from the saved value, "
        f"{TYPED_EDITS} typed keys; the two apps alternate"
    )
    print(
        f"{'size':8} {'edit':14} {'llmscope':>9} {'p90':>9} {'bare':>9} {'ratio':>6}  "
        f"target < {TARGET_KEY_S * 1e3:.0f} ms"
    )
    for name, size in SIZES.items():
        ours, bare = asyncio.run(measure_keys(size))
        for kind in (STEP, TITLE, TYPED):
            mine, base = statistics.median(ours[kind]), statistics.median(bare[kind])
            p90 = statistics.quantiles(ours[kind], n=10)[-1]
            print(
                f"{name:8} {kind:14} {ms(mine)} {ms(p90)} {ms(base)} {mine / base:5.1f}x  "
                f"{'met' if mine < TARGET_KEY_S else 'MISSED'}"
            )



def measure_start_up() -> None:
    starters = {
        "llmscope": LlmscopeApp,
        "bare": BareStartApp,
        "bare text": BareTextApp,
        "bare widgets": BareWidgetsApp,
    }
    firsts: dict[str, list[float]] = {label: [] for label in starters}
    lasts: dict[str, list[float]] = {label: [] for label in starters}
    for _ in range(STARTS):
        for label, make in starters.items():
            # Each start on a collected heap, as in a fresh process: the key sessions above
            # leave ~0.5M objects behind, whose full collections made a start 2-4x slower.
            gc.collect()
            first, last = asyncio.run(start_once(make, SIZES["wide"]))
            firsts[label].append(first)
            lasts[label].append(last)
    width, height = SIZES["wide"]
    print(
        f"\nstart-up at {width}x{height}, from constructing the app in run_test() to its first "
        f"frame and to its last before it goes quiet; medians of {STARTS}, the apps alternating; "
        "imports not included (below). Context, each with its ratio to the bare app: 'bare text', "
        "a bare app whose screen is full of text; 'bare widgets', the standard widgets the app "
        "uses (filter and table, plotext plot, text, the app's keys in the footer) and no more"
    )
    print(
        f"{'':14} {'llmscope':>9} {'bare':>9} {'ratio':>6} {'bare text':>10} {'ratio':>6} "
        f"{'bare widgets':>13} {'ratio':>6}"
    )
    for label, samples in (("first frame", firsts), ("settled", lasts)):
        mine, base = statistics.median(samples["llmscope"]), statistics.median(samples["bare"])
        text = statistics.median(samples["bare text"])
        widgets = statistics.median(samples["bare widgets"])
        verdict = ""
        if samples is firsts:
            met = mine / widgets <= TARGET_START_RATIO
            verdict = (
                f"  target <= {TARGET_START_RATIO}x bare widgets ({mine / widgets:.2f}x): "
                f"{'met' if met else 'MISSED'}"
            )
        print(
            f"{label:14} {ms(mine)} {ms(base)} {mine / base:5.1f}x {ms(text):>10} "
            f"{text / base:5.1f}x {ms(widgets):>13} {widgets / base:5.1f}x{verdict}"
        )

    imports: dict[str, list[float]] = {"llmscope": [], "bare": []}
    for _ in range(IMPORTS):
        imports["llmscope"].append(import_seconds("import llmscope.tui.app"))
        imports["bare"].append(import_seconds("from textual.widgets import Footer, Header, Static"))
    mine, base = statistics.median(imports["llmscope"]), statistics.median(imports["bare"])
    print(
        f"imports, once per process, each in a fresh interpreter (median of {IMPORTS}): "
        f"llmscope.tui.app {ms(mine).strip()}, the bare app's Textual modules {ms(base).strip()}, "
        f"{mine / base:.1f}x"
    )

    colds: dict[str, list[float]] = {label: [] for label in COLD_APPS}
    for _ in range(IMPORTS):
        for label in COLD_APPS:
            colds[label].append(cold_start_seconds(label, SIZES["wide"]))
    mine, base = statistics.median(colds["llmscope"]), statistics.median(colds["bare"])
    print(
        f"command to first frame, imports included, each in a fresh interpreter (median of "
        f"{IMPORTS}): llmscope {ms(mine).strip()}, bare {ms(base).strip()}, {mine / base:.1f}x"
    )


if __name__ == "__main__":
    main()
