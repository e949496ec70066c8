"""Reports of an evaluated scenario: JSON, Markdown, plain text, and a comparison of two.

Used by `llmscope show` / `llmscope diff` and by the app's export; the plan table by `llmscope plan`
and the planner screen. The readout's numbers come from
`Readout.to_flat_dict()` whatever keys it holds, grouped by their first dotted part (params,
memory, training, serving, scaling, ...), so a key added to the engine shows up here unchanged.
Units are chosen from the key's name (`_bytes`, `_s`, `_usd`, `_gbs`, `_tflops`, `params.*`,
`flops.*`); the exact value is always given beside the scaled one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from llmscope.engine.evaluate import Readout, evaluate, frontier_json
from llmscope.engine.hardware import Catalog
from llmscope.engine.memory import GIB
from llmscope.engine.planner import Plan, PlanSearch, plan_updates
from llmscope.engine.scenario import Scenario, all_keys
from llmscope.presets.numbers import (
    format_bytes,
    format_count,
    format_flops,
    format_seconds,
    format_significant,
    format_usd,
)
from llmscope.presets.safe_text import plain_safe

# Order of the groups in Markdown and text reports; groups not named here follow, alphabetically.
GROUP_ORDER = ("params", "flops", "kv_cache", "memory", "training", "serving", "scaling")
GROUP_TITLES = {
    "params": "Parameters",
    "flops": "FLOPs per token",
    "kv_cache": "KV cache",
    "memory": "Memory",
    "training": "Training",
    "serving": "Serving",
    "scaling": "Scaling laws",
}


def format_value(key: str, value: Any) -> str:
    """A readout value scaled to a readable unit, chosen from its key."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return plain_safe(value)
    if not isinstance(value, (int, float)):
        return plain_safe(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    leaf = key.rsplit(".", 1)[-1]
    if "bytes" in leaf:
        return format_bytes(value)
    if "usd" in leaf:
        return format_usd(value)
    if leaf.endswith("_per_s") or "_per_s_" in leaf:
        return f"{format_count(value)}/s"
    if leaf.endswith("_s") or "_s_per_" in leaf or ".step_s." in key:
        return format_seconds(value)
    for suffix, unit in _PLAIN_UNITS:
        if leaf.endswith(suffix):
            return f"{format_significant(value)} {unit}"
    if leaf.endswith("_hours"):
        return f"{format_count(value)} h"
    if leaf in ("mfu", "hfu") or leaf.endswith(("_mfu", "_fraction")):
        return f"{value * 100:.1f}%"
    if leaf.endswith("flops") or (
        key.startswith("flops.") and leaf not in ("training_over_six_n", "sequence_length")
    ):
        return f"{format_flops(value)} FLOP"
    if (
        key.startswith("params.")
        or leaf.endswith(("params", "tokens"))
        or leaf.startswith("tokens_")
    ):
        return format_count(value)
    if isinstance(value, int):
        return f"{value:,}"
    return format_significant(value, 4)


_PLAIN_UNITS = (
    ("_tflops", "TFLOP/s"),
    ("_gbs", "GB/s"),
    ("_days", "days"),
    ("_years", "years"),
    ("_mwh", "MWh"),
    ("_kwh", "kWh"),
    ("_tonnes", "t CO2e"),
    ("_w", "W"),
)


def exact_value(value: Any) -> str:
    """The unscaled value: integers with thousands separators, floats in full precision."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e18:
            return f"{int(value):,}"
        if 1e4 <= abs(value) < 1e18:  # the JSON output keeps every digit
            return f"{value:,.3f}".rstrip("0").rstrip(".")
        return repr(value)
    return plain_safe(value)


# --- grouping -------------------------------------------------------------------------------------


def flat_readout(readout: Readout) -> dict[str, Any]:
    return dict(readout.to_flat_dict())


def grouped(flat: Mapping[str, Any]) -> list[tuple[str, list[tuple[str, Any]]]]:
    """(group, [(key, value), ...]) in GROUP_ORDER, then other groups alphabetically."""
    groups: dict[str, list[tuple[str, Any]]] = {}
    for key, value in flat.items():
        groups.setdefault(key.split(".", 1)[0], []).append((key, value))
    order = [g for g in GROUP_ORDER if g in groups] + sorted(
        g for g in groups if g not in GROUP_ORDER
    )
    return [(g, groups[g]) for g in order]


def _title(group: str) -> str:
    return GROUP_TITLES.get(group, group.replace("_", " ").capitalize())


def _label(key: str) -> str:
    return key.split(".", 1)[1] if "." in key else key


# --- JSON -----------------------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no inf/nan; null reads as "not applicable"
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def json_document(
    scenario: Scenario, readout: Readout, meta: Mapping[str, Any] | None = None
) -> dict:
    """Every readout key at the top level (`"params.total": ...`), plus "scenario" (the inputs,
    by section) and "preset" (name, origin, published figures, when known)."""
    document: dict[str, Any] = {}
    document.update(_json_safe(flat_readout(readout)))
    frontier = getattr(readout, "serving_frontier", None)  # a readout stub may have none
    if frontier is not None:
        document["serving.frontier"] = _json_safe(frontier_json(frontier))
    document["scenario"] = _json_safe(scenario.model_dump(mode="json"))
    document["preset"] = _json_safe(dict(meta or {}))
    return document


def render_json(scenario: Scenario, readout: Readout, meta: Mapping[str, Any] | None = None) -> str:
    return json.dumps(json_document(scenario, readout, meta), indent=2, allow_nan=False) + "\n"


# --- Markdown and text ----------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return plain_safe(text).replace("|", "\\|")


def _md_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return lines


def _scenario_rows(scenario: Scenario) -> list[tuple[str, str]]:
    return [
        (key, exact_value(scenario.value(key)))
        for key in all_keys()
        if key.split(".", 1)[0] != "model" or key in _KEY_MODEL_FIELDS
    ]


_KEY_MODEL_FIELDS = {
    "model.family",
    "model.vocab_size",
    "model.hidden_size",
    "model.num_layers",
    "model.num_attention_heads",
    "model.num_kv_heads",
    "model.intermediate_size",
    "model.num_experts",
    "model.experts_per_token",
    "model.attention",
}


def render_markdown(
    scenario: Scenario,
    readout: Readout,
    name: str | None = None,
    published: Mapping[str, Any] | None = None,
) -> str:
    """A Markdown report: one table per readout group (parameters, memory, training, serving,
    scaling, ...), published figures when known, and the main inputs."""
    title = plain_safe(name or scenario.model.name)
    lines = [f"# {title}", ""]
    model = scenario.model
    lines.append(
        f"{_md_cell(model.family)} model, {model.num_layers} layers, "
        f"hidden size {model.hidden_size:,}; "
        f"{scenario.cluster.count:,} x {_md_cell(scenario.cluster.accelerator)}."
    )
    lines.append("")
    for group, items in grouped(flat_readout(readout)):
        lines += [f"## {_title(group)}", ""]
        lines += _md_table(
            ("quantity", "value", "exact"),
            [(_label(k), format_value(k, v), exact_value(v)) for k, v in items],
        )
        lines.append("")
    if published:
        lines += ["## Published figures", ""]
        lines += _md_table(
            ("figure", "published", "computed here", "computed / published"),
            published_rows(published, flat_readout(readout), scenario),
        )
        lines.append("")
    lines += ["## Inputs", ""]
    lines += _md_table(("setting", "value"), _scenario_rows(scenario))
    return "\n".join(lines) + "\n"


# Published figures whose computed counterpart has another name.
_PUBLISHED_ALIASES = {
    "training_gpu_hours": "training.accelerator_hours",
    "training_chip_hours": "training.accelerator_hours",
    "training_gpus": "cluster.count",
    "training_chips": "cluster.count",
}


def _computed_for(figure: str, flat: Mapping[str, Any], scenario: Scenario) -> Any:
    """The computed value a published figure names: params_total -> params.total,
    training_tokens -> training.tokens of the scenario; None when there is none."""
    alias = _PUBLISHED_ALIASES.get(figure)
    if alias in flat:
        return flat[alias]
    if alias == "cluster.count":
        return scenario.cluster.count
    group, _, rest = figure.partition("_")
    if rest and f"{group}.{rest}" in flat:
        return flat[f"{group}.{rest}"]
    if rest and group in ("training", "serving", "cluster"):
        try:
            return scenario.value(f"{group}.{rest}")
        except AttributeError:
            return None
    return None


def published_rows(
    published: Mapping[str, Any], flat: Mapping[str, Any], scenario: Scenario
) -> list[tuple[str, str, str, str]]:
    """(figure, published, computed, computed / published) for each published figure."""
    rows = []
    for figure, value in published.items():
        computed = _computed_for(str(figure), flat, scenario)
        ratio = ""
        numbers = (int, float)
        if (
            isinstance(value, numbers)
            and isinstance(computed, numbers)
            and not isinstance(value, bool)
            and value
        ):
            ratio = f"{computed / value:.4f}"
        rows.append(
            (
                plain_safe(figure),
                exact_value(value),
                "" if computed is None else exact_value(computed),
                ratio,
            )
        )
    return rows


def _text_table(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


def render_text(
    scenario: Scenario,
    readout: Readout,
    name: str | None = None,
    published: Mapping[str, Any] | None = None,
) -> str:
    """Plain aligned text for a terminal or a pipe: no colour, names shown literally."""
    model = scenario.model
    lines = [
        plain_safe(name or model.name),
        f"  {plain_safe(model.family)}, {model.num_layers} layers, hidden {model.hidden_size:,}; "
        f"{scenario.cluster.count:,} x {plain_safe(scenario.cluster.accelerator)}",
    ]
    for group, items in grouped(flat_readout(readout)):
        lines += ["", _title(group)]
        lines += _text_table([(_label(k), format_value(k, v), exact_value(v)) for k, v in items])
    if published:
        rows = published_rows(published, flat_readout(readout), scenario)
        lines += ["", "Published figures"]
        lines += _text_table(
            [("figure", "published", "computed here", "ratio")]
            + [
                row
                for row in rows
                if row[0] in published and not isinstance(published[row[0]], str)
            ]
        )
        lines += [
            f"  {plain_safe(k)}: {plain_safe(v)}"
            for k, v in published.items()
            if isinstance(v, str)
        ]
    return "\n".join(lines) + "\n"


# --- comparing two --------------------------------------------------------------------------------


def _delta(a: Any, b: Any) -> tuple[Any, Any]:
    """(b - a, b / a) for numbers, else (None, None)."""
    numbers = (int, float)
    if (
        isinstance(a, bool)
        or isinstance(b, bool)
        or not (isinstance(a, numbers) and isinstance(b, numbers))
    ):
        return None, None
    diff = b - a
    ratio = b / a if a else None
    if isinstance(ratio, float) and not math.isfinite(ratio):
        ratio = None
    return diff, ratio


def diff_document(
    a: tuple[str, Scenario], b: tuple[str, Scenario], catalog: Catalog | None = None
) -> dict[str, Any]:
    """Settings that differ, and every readout key side by side with delta (b - a) and
    ratio (b / a)."""
    (name_a, scen_a), (name_b, scen_b) = a, b
    flat_a = flat_readout(evaluate(scen_a, catalog))
    flat_b = flat_readout(evaluate(scen_b, catalog))
    settings = {
        key: {"a": scen_a.value(key), "b": scen_b.value(key)}
        for key in scen_a.differing_keys(scen_b)
    }
    readout: dict[str, Any] = {}
    for key in list(flat_a) + [k for k in flat_b if k not in flat_a]:
        va, vb = flat_a.get(key), flat_b.get(key)
        diff, ratio = _delta(va, vb)
        readout[key] = {"a": va, "b": vb, "delta": diff, "ratio": ratio}
    return _json_safe({"a": name_a, "b": name_b, "settings": settings, "readout": readout})


def render_diff(
    a: tuple[str, Scenario],
    b: tuple[str, Scenario],
    fmt: str = "text",
    catalog: Catalog | None = None,
) -> str:
    """Compare two (name, scenario) pairs as "text", "md" or "json"."""
    doc = diff_document(a, b, catalog)
    if fmt == "json":
        return json.dumps(doc, indent=2, allow_nan=False) + "\n"
    name_a, name_b = plain_safe(doc["a"]), plain_safe(doc["b"])

    def fmt_delta(key: str, row: Mapping[str, Any]) -> tuple[str, str]:
        if row["delta"] is None:
            return ("=" if row["a"] == row["b"] else "changed"), ""
        sign = "+" if row["delta"] > 0 else ("-" if row["delta"] < 0 else "")
        delta = sign + format_value(key, abs(row["delta"])) if row["delta"] else "="
        ratio = f"x{row['ratio']:.3g}" if row["ratio"] is not None and row["delta"] else ""
        return delta, ratio

    setting_rows = [
        (key, exact_value(v["a"]), exact_value(v["b"])) for key, v in doc["settings"].items()
    ]
    readout_rows = [
        (key, format_value(key, row["a"]), format_value(key, row["b"]), *fmt_delta(key, row))
        for key, row in doc["readout"].items()
    ]
    if fmt == "md":
        lines = [f"# {_md_cell(name_a)} vs {_md_cell(name_b)}", "", "## Settings that differ", ""]
        lines += (
            _md_table(("setting", name_a, name_b), setting_rows) if setting_rows else ["(none)"]
        )
        lines += ["", "## Readout", ""]
        lines += _md_table(("quantity", name_a, name_b, "delta", "ratio"), readout_rows)
        return "\n".join(lines) + "\n"
    lines = [f"A: {name_a}", f"B: {name_b}", "", "Settings that differ"]
    lines += _text_table([("setting", "A", "B"), *setting_rows]) if setting_rows else ["  (none)"]
    lines += ["", "Readout"]
    lines += _text_table([("quantity", "A", "B", "B - A", "B / A"), *readout_rows])
    return "\n".join(lines) + "\n"


# --- parallel layout plans (`llmscope plan` and the planner screen) -----------------------------

# Plan table: column header and what it means, shared by the text table and the planner screen.
PLAN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("TP", "tensor parallel"),
    ("PP", "pipeline parallel"),
    ("v", "virtual pipeline stages (interleaved 1F1B)"),
    ("CP", "context parallel"),
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
    """One plan as table cells, in PLAN_COLUMNS order."""
    return (
        str(plan.tensor_parallel),
        str(plan.pipeline_parallel),
        str(plan.virtual_stages),
        str(plan.context_parallel),
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


def format_plan_table(search: PlanSearch) -> str:
    """Plain-text table of the plans, left column first, numbers right-aligned."""
    rows = [tuple(label for label, _ in PLAN_COLUMNS)] + [plan_row(p) for p in search.plans]
    widths = [max(len(row[i]) for row in rows) for i in range(len(PLAN_COLUMNS))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(w) if PLAN_COLUMNS[i][0] == "recompute" else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def current_layout_line(search: PlanSearch) -> str:
    """Where the scenario's own layout stands: its rank among the plans, and what makes the best
    faster (or why it has no rank)."""
    current = search.current
    if current is None:
        return search.current_note or "current layout: not scored"
    rank = "unranked"
    if search.current_rank:
        rank = f"rank {search.current_rank:,} of {search.feasible:,}"
    head = (
        f"current layout {current.label}, ZeRO-{current.zero_stage}, micro-batch "
        f"{current.micro_batch_size}, recompute {current.recompute}: {rank}, "
        f"{_tokens(current.tokens_per_s)} tokens/s, MFU {current.mfu:.0%}"
    )
    return f"{head}; {search.current_note}" if search.current_note else head


def plan_search_to_json(scenario: Scenario, search: PlanSearch) -> dict[str, Any]:
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
        "pinned": list(search.pinned),
        "plans": [dict(asdict(p), label=p.label, updates=plan_updates(p)) for p in search.plans],
        "current": None
        if search.current is None
        else dict(
            asdict(search.current),
            label=search.current.label,
            updates=plan_updates(search.current),
            rank=search.current_rank,
        ),
        "current_note": search.current_note,
    }
