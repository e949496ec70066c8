"""The autosaved session: the scenario being explored, kept in the state directory.

The app writes it after every applied edit (debounced), on quit and on SIGHUP/SIGTERM, through
`write_atomic` (temp file, fsync, rename), so an interrupted save leaves the previous session
whole. Each running app holds its session file with an exclusive lock (`fcntl.flock` on a
`.lock` file beside it; the kernel drops the lock when the process dies, however it dies), so two
apps never write the same file: the first takes `session.toml`, a second one `session-2.toml`,
and so on. At start the newest session no live app holds is restored and becomes this app's file.
A file that cannot be read is renamed aside (`session.broken-<time>.toml`) and reported, never
overwritten.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from llmscope.engine.scenario import Scenario
from llmscope.presets import paths
from llmscope.presets.errors import PresetError
from llmscope.presets.files import _read_text, preset_from_text, scenario_to_toml, write_atomic

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; each app then uses session.toml
    fcntl = None  # type: ignore[assignment]

SESSION_FILE_NAME = "session.toml"
MAX_SESSIONS = 64  # apps running at once with a session of their own; more run without one


def session_file(slot: int = 1) -> Path:
    """The session file of `slot`: session.toml for the first app, session-N.toml for the Nth."""
    name = SESSION_FILE_NAME if slot == 1 else f"session-{slot}.toml"
    return paths.state_dir() / name


def _lock_file(slot: int) -> Path:
    return session_file(slot).with_suffix(".lock")


def save_session(scenario: Scenario, preset_name: str | None, target: Path | None = None) -> Path:
    """Write the scenario being explored (and which preset it started from), atomically."""
    meta = {"name": preset_name} if preset_name else {}
    text = scenario_to_toml(scenario, meta)
    target = target or session_file()
    write_atomic(target, text, overwrite=True)
    return target


def read_session(target: Path) -> tuple[Scenario, str | None] | None:
    """The scenario and preset name saved in `target`; None when there is no such file.

    Raises PresetError (the message names the file and what is wrong) when it cannot be used."""
    if not target.is_file():
        return None
    text = _read_text(target)
    try:
        preset = preset_from_text(text, target)
        named = isinstance(tomllib.loads(text).get("meta", {}).get("name"), str)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - preset_from_text reports these
        raise PresetError(f"{target}: not valid TOML ({exc})") from None
    except AttributeError:
        raise PresetError(f"{target}: [meta] is not a table") from None
    return preset.scenario, (preset.name if named else None)


def session_files() -> list[tuple[Path, bool | None]]:
    """Every session file on disk, by slot, and whether a running app holds it (None: cannot
    tell here, no fcntl). Looks only: nothing is created, locked for long or moved."""
    return [(session_file(slot), _held(_lock_file(slot))) for slot in _slots_with_a_file()]


def _slots_with_a_file() -> list[int]:
    """The slots whose session file exists, in order. Slots fill in order and their lock files
    stay, so none lies past the first slot with neither file."""
    slots = []
    for slot in range(1, MAX_SESSIONS + 1):
        exists = session_file(slot).exists()
        if not exists and not _lock_file(slot).exists():
            break
        if exists:
            slots.append(slot)
    return slots


def _held(lock: Path) -> bool | None:
    if fcntl is None:
        return None
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing the descriptor releases a lock it took
    return False


def latest_session() -> tuple[Scenario, str | None] | None:
    """The newest session that can be read, held or not (read only, nothing locked or moved):
    what the app would most likely start on, for a readout where the app cannot run."""
    by_age = [(_mtime(session_file(slot)) or 0.0, slot) for slot in _slots_with_a_file()]
    for _, slot in sorted(by_age, reverse=True):
        try:
            found = read_session(session_file(slot))
        except PresetError:
            continue
        if found is not None:
            return found
    return None


def set_aside(target: Path) -> Path:
    """Rename an unusable session file out of the way (kept for the user to look at); returns
    its new path. Raises OSError when it cannot be renamed."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = target.with_name(f"{target.stem}.broken-{stamp}{target.suffix}")
    number = 1
    while aside.exists():
        number += 1
        aside = target.with_name(f"{target.stem}.broken-{stamp}-{number}{target.suffix}")
    os.replace(target, aside)
    return aside


@dataclass
class Session:
    """The session file this app writes, locked for as long as the app runs.

    `restored` is what the app starts from (None: nothing to restore); `notes` are what the
    user should be told at start (a file set aside, another app running)."""

    path: Path | None
    restored: tuple[Scenario, str | None] | None = None
    notes: list[str] = field(default_factory=list)
    lock_fd: int | None = None

    def __post_init__(self) -> None:
        # The lock goes with the Session object at the latest (an app made but never run).
        self._unlock = weakref.finalize(self, _unlock, self.lock_fd)

    def save(self, scenario: Scenario, preset_name: str | None) -> Path | None:
        """Write the session (atomically); None when this app has no session file."""
        if self.path is None:
            return None
        return save_session(scenario, preset_name, self.path)

    def set_aside(self, why: str) -> str:
        """Rename this app's session file aside because it cannot be used (`why`); returns the
        sentence to show. When it cannot be renamed, this app stops saving to it."""
        assert self.path is not None
        try:
            aside = set_aside(self.path)
        except FileNotFoundError:
            return why
        except OSError as exc:
            self.path = None  # never written over
            reason = exc.strerror or exc
            return f"{why}; it could not be moved aside ({reason}) and is left as it is"
        return f"{why}; the file is kept as {aside}"

    def release(self) -> None:
        """Let another app take this session file (also happens when the process ends)."""
        self._unlock()


def _unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing the only descriptor of the open file drops its flock


def _try_lock(slot: int) -> int | None | bool:
    """A descriptor of the lock file of `slot`, locked exclusively; False when a live app holds
    it; None when locking is not possible here (no fcntl, or the directory cannot be written).
    The descriptor is not inherited by child processes (os.open's default since Python 3.4)."""
    if fcntl is None:
        return None
    path = _lock_file(slot)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    return fd


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def claim_session() -> Session:
    """Take a session file for this app and read what it should start from.

    Among the session files no live app holds, the newest one that can be read is restored and
    becomes this app's file (unreadable ones are set aside, with a note). With none, this app
    takes the first free slot. When another app holds a session, a note says which file this
    app keeps instead."""
    free: dict[int, int | None] = {}
    busy: list[int] = []
    slot = 1
    while slot <= MAX_SESSIONS:
        # Slots fill in order and their lock files stay, so the first slot with neither file is
        # past the last one ever used: taken only when no earlier slot is free.
        in_use = session_file(slot).exists() or _lock_file(slot).exists()
        if not in_use and free:
            break
        lock = _try_lock(slot)
        if lock is False:
            busy.append(slot)
        else:
            free[slot] = lock
        if not in_use:
            break
        slot += 1
    notes: list[str] = []
    if not free:
        return Session(
            None,
            notes=[
                f"{len(busy)} other llmscope apps hold sessions in {paths.state_dir()}; "
                "this one does not save its session"
            ],
        )
    by_age = sorted(
        (s for s in free if _mtime(session_file(s)) is not None),
        key=lambda s: _mtime(session_file(s)) or 0.0,
        reverse=True,
    )
    chosen: int | None = None
    restored = None
    for candidate in by_age:
        target = session_file(candidate)
        try:
            restored = read_session(target)
        except PresetError as exc:
            probe = Session(target)
            notes.append(probe.set_aside(f"Your last session could not be read ({exc})"))
            if probe.path is None:  # still there: this slot is not written
                _unlock(free.pop(candidate))
            continue
        chosen = candidate
        break
    if chosen is None:
        if not free:  # the only free slot holds a file that stays: the next, unused slot
            lock = _try_lock(slot) if slot <= MAX_SESSIONS else False
            if lock is False:
                return Session(None, notes=[*notes, "This run does not save its session"])
            free[slot] = lock
        chosen = min(free)
    for other, lock in free.items():
        if other != chosen:
            _unlock(lock)
    session = Session(session_file(chosen), restored, notes, free[chosen])
    if busy:
        holder = session_file(busy[0])
        session.notes.append(
            f"Another llmscope is running and holds the session in {holder}; "
            f"this one keeps its own in {session.path}"
        )
    return session
