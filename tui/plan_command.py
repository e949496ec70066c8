"""`llmscope plan PRESET|PATH [--json] [--top N] [--set key=value] [--this-box]`.

Ranks the parallel layouts (tensor x pipeline (x virtual stages) x context x data x expert, ZeRO
stage, micro-batch size, recompute) for the preset's model on its cluster with
`engine.planner.search_plans`, on the step-time model the readouts use. A `--set` of a degree, the
ZeRO stage, the micro-batch size or the recompute mode pins it; the scenario's own layout is
scored and shown with its rank and what makes the best faster. Exit status:
0 when a plan fits, 1 when none does (the message names the smallest cluster that would), 2 for
bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from llmscope.engine.errors import EngineInputError
from llmscope.engine.planner import search_plans
from llmscope.engine.scenario import Scenario
from llmscope.presets.accelerators import user_catalog
from llmscope.presets.report import current_layout_line, format_plan_table, plan_search_to_json
from llmscope.presets.safe_text import plain_safe
from llmscope.presets.sources import apply_settings, load_source


def _source_loader(args: argparse.Namespace) -> Callable[[str], Scenario]:
    """The CLI's own loading: preset names along the search path (with `--presets`), preset files,
    config.json files and model directories."""

    extra_dirs = [Path(d) for d in (getattr(args, "presets", None) or [])]
    return lambda source: load_source(source, extra_dirs)[0]


def _this_box(scenario: Scenario, detect: Callable[[], Any]) -> tuple[Scenario, str]:
    box = detect()
    if box is None:
        return scenario, "this box: no accelerators detected; planning for the preset's cluster"
    if box.accelerator_id is None:
        return scenario, f"{box.label}; not in the catalog, planning for the preset's cluster"
    from llmscope.presets.detect import cluster_updates

    return scenario.with_values(cluster_updates(box)), box.label


def run_plan(
    args: argparse.Namespace,
    *,
    load: Callable[[str], Scenario] | None = None,
    detect: Callable[[], Any] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Handler of `llmscope plan`."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        scenario = (load or _source_loader(args))(args.preset)
        scenario = apply_settings(scenario, list(args.settings or []))
        note = ""
        if getattr(args, "this_box", False):
            if detect is None:
                from llmscope.presets.detect import detect_local_accelerators as detect
            scenario, note = _this_box(scenario, detect)
        loaded = user_catalog()  # the app's catalog: accelerators.toml laid over the built-in
        for problem in loaded.problems:
            print(f"llmscope: warning: {plain_safe(problem)}", file=err)
        accelerator = loaded.catalog.get(scenario.cluster.accelerator)
        if args.top < 1:
            raise EngineInputError(f"--top must be at least 1 (plans to show); got {args.top}")
        # a --set of a degree, the ZeRO stage, the micro-batch or the recompute mode pins it
        pinned = [item.partition("=")[0].strip() for item in (args.settings or [])]
        search = search_plans(scenario, accelerator, top=args.top, pinned=pinned)
    except (EngineInputError, OSError, ValueError) as exc:  # PresetError: ValueError
        print(f"llmscope: error: {exc}", file=err)
        return 2
    if args.json:
        json.dump(plan_search_to_json(scenario, search), out, indent=2)
        out.write("\n")
    else:
        cluster = scenario.cluster
        if note:
            print(note, file=out)
        print(
            f"{scenario.model.name} on {cluster.count} x {cluster.accelerator} "
            f"({cluster.per_node} per node)",
            file=out,
        )
        print(search.message, file=out)
        if search.plans:
            print(file=out)
            print(format_plan_table(search), file=out)
        print(file=out)
        print(current_layout_line(search), file=out)
    return 0 if search.plans else 1


def register(subparsers: Any) -> None:
    """Add `plan` to the CLI's subcommands (argparse subparsers)."""
    parser = subparsers.add_parser(
        "plan",
        help="rank tensor/pipeline/data/expert parallel layouts that fit the cluster",
        description=(
            "Rank the parallel layouts of the preset's model on its cluster: tensor, pipeline "
            "(with virtual stages), context, data and expert parallel degrees, ZeRO stage, "
            "micro-batch size and recompute mode, by tokens/s. A --set of one of them pins it; "
            "the current layout is shown with its rank. Exit status 1 when no layout fits."
        ),
    )
    parser.add_argument("preset", metavar="PRESET|PATH", help="preset name, preset TOML, config.json or model directory")
    parser.add_argument("--json", action="store_true", help="print the plans as JSON")
    parser.add_argument("--top", type=int, default=10, metavar="N", help="plans to show (10)")
    parser.add_argument(
        "--set",
        action="append",
        dest="settings",
        default=[],
        metavar="KEY=VALUE",
        help="change one setting first, e.g. --set cluster.count=64 (repeatable); a degree, "
        "the ZeRO stage, the micro-batch size or the recompute mode set this way is pinned",
    )
    parser.add_argument(
        "--this-box",
        action="store_true",
        help="plan for the accelerators detected on this machine",
    )
    parser.set_defaults(handler=run_plan)
