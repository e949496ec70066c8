"""`llmscope plan PRESET|PATH [--json] [--top N] [--set key=value] [--this-box]`.

Ranks the parallel layouts (tensor x pipeline x data x expert, ZeRO stage, micro-batch size,
recompute) for the preset's model on its cluster with `engine.planner.search_plans`. Exit status:
0 when a plan fits, 1 when none does (the message names the smallest cluster that would), 2 for
bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from engine.errors import EngineInputError
from engine.planner import Plan, PlanSearch, plan_updates, search_plans
from engine.scenario import Scenario

GIB = 1024**3

# Column header and what it means, shared by the text table and the planner screen.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("TP", "tensor parallel"),
    ("PP", "pipeline parallel"),
    ("DP", "data parallel"),
    ("EP", "expert parallel"),
    ("ZeRO", "ZeRO stage"),
    ("mbs", "micro-batch size"),
    ("recompute", "activation recomputation"),
    ("memory", "per accelerator"),
    ("step", "time per optimizer step"),
    ("tokens/s", "training throughput"),
    ("MFU", "model FLOPs utilisation"),
)


def _tokens(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def plan_row(plan: Plan) -> tuple[str, ...]:
    """One plan as table cells, in COLUMNS order."""
    return (
        str(plan.tensor_parallel),
        str(plan.pipeline_parallel),
        str(plan.data_parallel),
        str(plan.expert_parallel),
        str(plan.zero_stage),
        str(plan.micro_batch_size),
        plan.recompute,
        f"{plan.memory_bytes / GIB:.1f} GiB",
        f"{plan.step_time_s:.2f} s",
        _tokens(plan.tokens_per_s),
        f"{plan.mfu:.0%}",
    )


def format_table(search: PlanSearch) -> str:
    """Plain-text table of the plans, left column first, numbers right-aligned."""
    rows = [tuple(label for label, _ in COLUMNS)] + [plan_row(p) for p in search.plans]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(w) if COLUMNS[i][0] == "recompute" else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def search_to_json(scenario: Scenario, search: PlanSearch) -> dict[str, Any]:
    """The stable `--json` document: the search totals and each plan with its updates."""
    return {
        "model": scenario.model.name,
        "accelerator": scenario.cluster.accelerator,
        "count": scenario.cluster.count,
        "per_node": scenario.cluster.per_node,
        "candidates_evaluated": search.candidates_evaluated,
        "feasible": search.feasible,
        "smallest_fitting_count": search.smallest_fitting_count,
        "message": search.message,
        "plans": [dict(asdict(p), label=p.label, updates=plan_updates(p)) for p in search.plans],
    }


def _source_loader(args: argparse.Namespace) -> Callable[[str], Scenario]:
    """The CLI's own loading: preset names along the search path (with `--presets`), preset files,
    config.json files and model directories."""
    from tui.cli import load_source

    extra_dirs = [Path(d) for d in (getattr(args, "presets", None) or [])]
    return lambda source: load_source(source, extra_dirs)[0]


def _this_box(scenario: Scenario, detect: Callable[[], Any]) -> tuple[Scenario, str]:
    box = detect()
    if box is None:
        return scenario, "this box: no accelerators detected; planning for the preset's cluster"
    if box.accelerator_id is None:
        return scenario, f"{box.label}; not in the catalog, planning for the preset's cluster"
    from tui.detect import cluster_updates

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
        from tui.cli import CliError, apply_settings

        scenario = (load or _source_loader(args))(args.preset)
        scenario = apply_settings(scenario, list(args.settings or []))
        note = ""
        if getattr(args, "this_box", False):
            if detect is None:
                from tui.detect import detect_local_accelerators as detect
            scenario, note = _this_box(scenario, detect)
        from engine.hardware import find_accelerator

        accelerator = find_accelerator(scenario.cluster.accelerator)
        if args.top < 1:
            raise EngineInputError(f"--top must be at least 1 (plans to show); got {args.top}")
        search = search_plans(scenario, accelerator, top=args.top)
    except (CliError, EngineInputError, OSError, ValueError) as exc:  # PresetError: ValueError
        print(f"llmscope: error: {exc}", file=err)
        return 2
    if args.json:
        json.dump(search_to_json(scenario, search), out, indent=2)
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
            print(format_table(search), file=out)
    return 0 if search.plans else 1


def register(subparsers: Any) -> None:
    """Add `plan` to the CLI's subcommands (argparse subparsers)."""
    parser = subparsers.add_parser(
        "plan",
        help="rank tensor/pipeline/data/expert parallel layouts that fit the cluster",
        description=(
            "Rank the parallel layouts of the preset's model on its cluster: tensor, pipeline, "
            "data and expert parallel degrees, ZeRO stage, micro-batch size and recompute mode, "
            "by tokens/s. Exit status 1 when no layout fits."
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
        help="change one setting first, e.g. --set cluster.count=64 (repeatable)",
    )
    parser.add_argument(
        "--this-box",
        action="store_true",
        help="plan for the accelerators detected on this machine",
    )
    parser.set_defaults(handler=run_plan)
