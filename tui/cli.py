"""The `llmscope` command: open the app, or answer from the shell.

    llmscope [PRESET|PATH]                  open the app (on a preset, a config.json or a directory)
    llmscope show PRESET|PATH [--json | --format md] [--set key=value ...] [--hf-config PATH]
    llmscope list | locate
    llmscope import-hf config.json -o my.toml [--force]
    llmscope diff A B [--json | --format md]

Subcommands are argparse subparsers with `set_defaults(handler=...)`; a handler takes the parsed
arguments and returns the exit status. `llmscope plan` comes from tui/plan_command.py through its
`register(subparsers)`. Every error is one line on stderr, `llmscope: error: ...`, with
exit status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from llmscope.engine.errors import EngineInputError
from llmscope.engine.evaluate import evaluate
from llmscope.engine.hardware import Catalog
from llmscope.engine.scenario import Scenario
from llmscope.presets import paths
from llmscope.presets.accelerators import user_catalog
from llmscope.presets.errors import PresetError
from llmscope.presets.files import Preset, scenario_to_toml, write_atomic
from llmscope.presets.library import list_presets, search_path
from llmscope.presets.safe_text import plain_safe
from llmscope.presets.session import session_file, session_files
from llmscope.presets.sources import apply_settings, architecture_from_path, load_source
from llmscope.tui import plan_command

PROG = "llmscope"


class CliError(Exception):
    """A usage error; printed as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        raise CliError(f"{message} (see `{self.prog} --help`)")


def _extra_dirs(args: argparse.Namespace) -> list[Path]:
    return [Path(d) for d in (getattr(args, "presets", None) or [])]


def _meta(preset: Preset | None, name: str) -> dict[str, Any]:
    if preset is None:
        return {"name": name}
    return preset.meta() | {
        "origin": preset.origin,
        "path": str(preset.path) if preset.path else None,
        "published": preset.published,
    }


def _out(text: str) -> None:
    sys.stdout.write(text)


def catalog_with_warnings() -> Catalog:
    """The catalog the app uses (built-in + `accelerators.toml`); each problem in the user's file
    is one warning line on stderr, and the command goes on without the bad entry."""
    loaded = user_catalog()
    for problem in loaded.problems:
        print(f"{PROG}: warning: {plain_safe(problem)}", file=sys.stderr)
    return loaded.catalog


# --- handlers -------------------------------------------------------------------------------------


def _why_no_app() -> str | None:
    """Why the full-screen app cannot run here (it reads keys from stdin and draws on stderr, and
    a pipe or file on stdout wants text), or None when it can."""
    if os.environ.get("TERM", "") == "dumb":
        return "TERM=dumb"
    streams = (("standard output", sys.stdout), ("standard input", sys.stdin))
    for what, stream in (*streams, ("standard error", sys.stderr)):
        if stream is None or not stream.isatty():
            return f"{what} is not a terminal"
    return None


def run_open(args: argparse.Namespace) -> int:
    scenario: Scenario | None = None
    preset: Preset | None = None
    name = "default"
    if args.preset is not None:
        scenario, preset, name = load_source(args.preset, _extra_dirs(args))
    why = _why_no_app()
    if why is not None:
        from llmscope.presets import report
        from llmscope.presets.session import latest_session

        if scenario is None and (last := latest_session()) is not None:
            scenario, name = last[0], last[1] or "last session"
        scenario = scenario or Scenario()
        published = preset.published if preset else None
        readout = evaluate(scenario, catalog_with_warnings())
        _out(report.render_text(scenario, readout, name, published))
        sys.stderr.write(
            f"{PROG}: the app needs a terminal ({why}); this is its text readout, "
            f"as `{PROG} show` prints it\n"
        )
        return 0
    try:
        from llmscope.tui.app import run_app
    except ImportError as exc:
        if getattr(exc, "name", None) not in ("llmscope.tui.app", None) and "llmscope.tui.app" not in str(exc):
            raise
        raise CliError(
            "the terminal app is not available in this build (llmscope.tui.app is missing); "
            "`llmscope show PRESET` still works"
        ) from None
    result = run_app(scenario=scenario, preset=preset, extra_preset_dirs=_extra_dirs(args))
    return result if isinstance(result, int) else 0


def run_show(args: argparse.Namespace) -> int:
    if args.preset is None and args.hf_config is None:
        raise CliError("show needs PRESET|PATH or --hf-config PATH")
    scenario, preset, name = load_source(args.preset, _extra_dirs(args), args.hf_config)
    scenario = apply_settings(scenario, args.settings)
    readout = evaluate(scenario, catalog_with_warnings())
    _refuse_invalid_layout(readout)
    from llmscope.presets import report

    fmt = "json" if args.json else args.format
    published = preset.published if preset else None
    if fmt == "json":
        _out(report.render_json(scenario, readout, _meta(preset, name)))
    elif fmt == "md":
        _out(report.render_markdown(scenario, readout, name, published))
    else:
        _out(report.render_text(scenario, readout, name, published))
    return 0


def _refuse_invalid_layout(readout: Any, label: str = "") -> None:
    """Never print the numbers of an impossible layout: exit 2 with each field and reason."""
    if readout.layout_problems:
        raise CliError(
            f"{label}invalid layout: "
            + "; ".join(str(problem) for problem in readout.layout_problems)
        )


def run_list(args: argparse.Namespace) -> int:
    entries = list_presets(_extra_dirs(args))
    if args.json:
        rows = [
            {
                "name": e.name,
                "origin": e.origin,
                "author": e.author,
                "tags": list(e.tags),
                "path": str(e.path),
                "shadowed": e.shadowed,
                "error": e.error,
            }
            for e in entries
        ]
        _out(json.dumps(rows, indent=2) + "\n")
        return 0
    if not entries:
        _out("no presets found; `llmscope locate` shows where llmscope looks\n")
        return 0
    table = [("NAME", "ORIGIN", "AUTHOR", "PATH")]
    for e in entries:
        name = plain_safe(e.name) + (" (shadowed)" if e.shadowed else "")
        table.append((name, e.origin, plain_safe(e.author), plain_safe(e.path)))
    widths = [min(40, max(len(row[i]) for row in table)) for i in range(3)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in table
    ]
    for e in entries:
        if e.error:
            lines.append(f"broken: {plain_safe(e.path)}: {plain_safe(_reason(e.error, e.path))}")
    _out("\n".join(lines) + "\n")
    return 0


def _reason(error: str, path: Path) -> str:
    """The PresetError message without its leading file name and line (shown beside it already):
    "f.toml:2: zero_stage ..." -> "zero_stage ..."; "f.toml: 1048614 bytes ..." keeps its number."""
    prefix = str(path)
    if not error.startswith(prefix):
        return error
    return re.sub(r"^(:\d+)?:\s*", "", error[len(prefix) :])


def run_import_hf(args: argparse.Namespace) -> int:
    config_path = Path(args.config).expanduser()
    arch = architecture_from_path(config_path)
    name = args.name or arch.name
    meta = {
        "name": name,
        "description": f"Imported from {config_path.name}",
        "author": os.environ.get("USER", ""),
        "created": _dt.date.today().isoformat(),
        "tags": ["imported", arch.family],
    }
    scenario = Scenario(model=arch)
    text = scenario_to_toml(scenario, meta, full_sections=("model",))
    if args.output is None:
        from llmscope.presets.files import save_preset

        target = save_preset(
            scenario,
            paths.user_preset_dir(),
            name,
            meta=meta,
            overwrite=args.force,
            full_sections=("model",),
        )
    else:
        target = Path(args.output).expanduser()
        if target.is_dir():
            raise CliError(f"-o {target}: is a directory; give a file name such as my-model.toml")
        if target.exists() and not args.force:
            raise CliError(f"{target}: already exists; add --force to replace it")
        if not target.parent.is_dir():  # a typo in the path should not become a new directory
            raise CliError(f"-o {target}: the directory {target.parent} does not exist")
        write_atomic(target, text, overwrite=True)
    print(f"wrote {plain_safe(target)}")
    return 0


def run_diff(args: argparse.Namespace) -> int:
    extra = _extra_dirs(args)
    a, _, name_a = load_source(args.a, extra)
    b, _, name_b = load_source(args.b, extra)
    a = apply_settings(a, args.settings_a)
    b = apply_settings(b, args.settings_b)
    catalog = catalog_with_warnings()
    _refuse_invalid_layout(evaluate(a, catalog), "A: ")
    _refuse_invalid_layout(evaluate(b, catalog), "B: ")
    if name_a == name_b:
        name_a, name_b = f"{name_a} (A)", f"{name_b} (B)"
    from llmscope.presets import report

    fmt = "json" if args.json else args.format
    _out(report.render_diff((name_a, a), (name_b, b), fmt, catalog))
    return 0


def run_locate(args: argparse.Namespace) -> int:
    def state(path: Path) -> str:
        return "exists" if path.exists() else "missing"

    lines = ["Preset search path (first match wins):"]
    for origin, directory in search_path(_extra_dirs(args)):
        lines.append(f"  {origin:<22} {plain_safe(directory)}  ({state(directory)})")
    lines += [
        "",
        f"config directory       {plain_safe(paths.config_dir())}  ({state(paths.config_dir())})",
        f"settings               {plain_safe(paths.settings_file())}  "
        f"({state(paths.settings_file())})",
        f"accelerators           {plain_safe(paths.user_accelerators_file())}  "
        f"({state(paths.user_accelerators_file())})",
        f"state directory        {plain_safe(paths.state_dir())}  ({state(paths.state_dir())})",
    ]
    sessions = session_files() or [(session_file(), False)]
    for number, (path, held) in enumerate(sessions):
        label = "autosaved session" + ("s" if len(sessions) > 1 else "")
        status = state(path) + (", in use by a running llmscope" if held else "")
        lines.append(f"{label if number == 0 else '':<22} {plain_safe(path)}  ({status})")
    _out("\n".join(lines) + "\n")
    return 0


# --- the parser -----------------------------------------------------------------------------------


def _add_presets_option(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--presets",
        action="append",
        metavar="DIR",
        default=default,
        help="also look for presets in DIR, before all other places (repeatable)",
    )


def _add_format_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print JSON")
    group.add_argument(
        "--format", choices=("text", "md"), default="text", help="text (default) or md (Markdown)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="What would this LLM cost, and does it fit? Without a subcommand, opens the "
        "app (on PRESET|PATH when given).",
    )
    _add_presets_option(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help_text: str, handler) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _add_presets_option(p, argparse.SUPPRESS)
        p.set_defaults(handler=handler)
        return p

    p = command("open", "open the app (the default command)", run_open)
    p.add_argument(
        "preset",
        nargs="?",
        metavar="PRESET|PATH",
        help="preset name, preset TOML, config.json or a directory holding one",
    )

    p = command("show", "print the readout of a preset or a config.json", run_show)
    p.add_argument(
        "preset",
        nargs="?",
        metavar="PRESET|PATH",
        help="preset name, preset TOML, config.json or a directory holding one",
    )
    p.add_argument(
        "--hf-config",
        metavar="PATH",
        help="take the model from this config.json (or directory holding one)",
    )
    p.add_argument(
        "--set",
        action="append",
        dest="settings",
        default=[],
        metavar="KEY=VALUE",
        help="change one setting, e.g. --set training.tokens=2e12 (repeatable)",
    )
    _add_format_options(p)

    p = command(
        "list", "list presets: name, origin, author, path; broken ones with the reason", run_list
    )
    p.add_argument("--json", action="store_true", help="print JSON")

    p = command("import-hf", "turn a Hugging Face config.json into a preset", run_import_hf)
    p.add_argument("config", metavar="CONFIG", help="config.json or a directory holding one")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="preset file to write (default: the user preset directory)",
    )
    p.add_argument("--name", help="preset name (default: the model's name)")
    p.add_argument("--force", action="store_true", help="replace an existing file")

    p = command("diff", "compare two presets or configs side by side", run_diff)
    p.add_argument("a", metavar="A", help="preset name or path")
    p.add_argument("b", metavar="B", help="preset name or path")
    p.add_argument(
        "--set-a",
        action="append",
        dest="settings_a",
        default=[],
        metavar="KEY=VALUE",
        help="change a setting of A first (repeatable)",
    )
    p.add_argument(
        "--set-b",
        action="append",
        dest="settings_b",
        default=[],
        metavar="KEY=VALUE",
        help="change a setting of B first (repeatable)",
    )
    _add_format_options(p)

    command("locate", "show where llmscope looks for presets and keeps its settings", run_locate)

    plan_command.register(sub)
    return parser


def _with_default_command(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """`llmscope [--presets DIR] [PRESET]` means `llmscope open ...`."""
    commands = set()
    for action in parser._actions:  # the subparsers action holds the command names
        if isinstance(action, argparse._SubParsersAction):
            commands = set(action.choices)
    index = 0
    while index < len(argv):
        item = argv[index]
        if item in ("-h", "--help"):
            return argv
        if item == "--presets":
            index += 2
            continue
        if item.startswith("--presets="):
            index += 1
            continue
        if item == "--":
            return argv[:index] + ["open"] + argv[index + 1 :]
        if item in commands:
            return argv
        if item.startswith("-") and item != "-":
            return argv  # let argparse report an unknown option
        return argv[:index] + ["open"] + argv[index:]
    return argv + ["open"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `llmscope` console script; returns (and exits with) the status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(_with_default_command(parser, args_list))
        if getattr(args, "presets", None) is argparse.SUPPRESS:
            args.presets = None
        if args.handler is not run_open:
            gc.enable()  # off since the console script began (tui/console.py); the app's stays off
        status = args.handler(args)
    except SystemExit as exc:  # --help and friends
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        return _finish(code, argv)
    except KeyboardInterrupt:
        return _finish(130, argv)
    except BrokenPipeError:
        _silence_stdout()
        return _finish(0, argv)
    except (
        CliError,
        EngineInputError,
        PresetError,
        OSError,
        json.JSONDecodeError,
        ValidationError,
        ValueError,
    ) as exc:
        return _finish(_fail(exc), argv)
    except Exception as exc:  # the last guard: a message, never a traceback
        if os.environ.get("LLMSCOPE_DEBUG"):
            raise
        return _finish(_fail(exc, unexpected=True), argv)
    return _finish(int(status or 0), argv)


def _fail(exc: BaseException, unexpected: bool = False) -> int:
    if isinstance(exc, ValidationError):
        from llmscope.engine.errors import describe_validation_error

        message = describe_validation_error(exc)
    elif isinstance(exc, OSError) and exc.filename:
        message = f"{exc.filename}: {exc.strerror or exc}"
    else:
        message = str(exc) or type(exc).__name__
    if unexpected:
        message = f"unexpected {type(exc).__name__}: {message} (set LLMSCOPE_DEBUG=1 for details)"
    one_line = " ".join(plain_safe(part) for part in message.splitlines() if part.strip())
    print(f"{PROG}: error: {one_line}", file=sys.stderr)
    return 2


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _finish(code: int, argv: Sequence[str] | None) -> int:
    if argv is None:  # run as the console script
        sys.exit(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    main()
