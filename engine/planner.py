"""Parallelism planner: which layout trains this model fastest on this cluster?

Every layout in a grid of tensor-parallel degree t, pipeline-parallel degree p, virtual pipeline
stages v (interleaved 1F1B), context-parallel degree cp, data-parallel degree d, expert-parallel
degree e (MoE only), ZeRO stage, micro-batch size b and activation recompute mode is scored at once
with numpy: per-accelerator memory (exactly the engine's training memory, `engine.memory`) and the
step time of `engine.performance.step_time`, the same function `evaluate` runs for one layout, so
a plan applied to the scenario shows in the readouts the MFU the plan showed. Layouts that do not
fit are dropped; the rest are ranked by tokens/s.

Layout rules (engine.layout, Megatron-LM): t divides the heads (kv heads divided or replicated)
and stays inside a node; p at most the layers, p x v at most the layers with v > 1 only for p > 1
and micro-batches per replica a multiple of p;
the sequence splits into 2 cp chunks; b x d divides the global batch; e divides the routed experts
and d. A layout may leave accelerators idle (t x p x cp x d <= count), as a run on an awkward count
does; applying it sets the count to the accelerators it uses.

Pins: a setting the user fixed (`llmscope plan --set training.tensor_parallel=8`, or the app's
edits of a degree, the ZeRO stage, the micro-batch or the recompute mode) keeps that axis at the
scenario's value; the rest are searched. The scenario's own layout is always scored and ranked
among the plans (`PlanSearch.current`, `current_rank`).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from llmscope.engine.errors import EngineInputError
from llmscope.engine.flops import flops_per_token
from llmscope.engine.layout import training_layout_problems
from llmscope.engine.memory import (
    _OPTIMIZER_BYTES,
    FP8_WEIGHT_COPY_BYTES,
    GIB,
    activation_bytes_per_token_layer,
)
from llmscope.engine.parameters import count_parameters
from llmscope.engine.performance import RECOMPUTE_MODES, Layout, device_rates, step_time
from llmscope.engine.scenario import Scenario

ZERO_STAGES: tuple[int, ...] = (0, 1, 2, 3)
MICRO_BATCH_SIZES: tuple[int, ...] = (1, 2, 4, 8, 16)
VIRTUAL_STAGES: tuple[int, ...] = (1, 2, 4, 8)
# The largest cluster a Scenario accepts (Cluster.count's bound): no layout may need more.
MAX_ACCELERATORS = 10_000_000
# Layouts scored at most in one search (a few hundred MB of numpy temporaries at the peak).
MAX_CANDIDATES = 3_000_000
# Settings a user may pin: the planner keeps them at the scenario's value.
PINNABLE: dict[str, str] = {
    "training.tensor_parallel": "t",
    "training.pipeline_parallel": "p",
    "training.virtual_pipeline_stages": "v",
    "training.context_parallel": "cp",
    "training.expert_parallel": "e",
    "training.zero_stage": "zero",
    "training.micro_batch_size": "b",
    "training.recompute": "r",
}


class AcceleratorSpec(Protocol):
    """What the planner reads from a catalog accelerator (engine.hardware.Accelerator)."""

    id: str
    name: str
    memory_bytes: float
    bf16_tflops: float | None
    interconnect_gbs: float | None


@dataclass(frozen=True, slots=True)
class Plan:
    """One layout and what it costs per optimizer step, on the busiest accelerator."""

    tensor_parallel: int
    pipeline_parallel: int
    data_parallel: int
    expert_parallel: int
    zero_stage: int
    micro_batch_size: int
    recompute: str
    microbatches: int  # per replica and step: global batch / (micro batch x data parallel)
    memory_bytes: float  # per accelerator, = engine training memory for this layout
    step_time_s: float
    compute_s: float  # engine.performance.StepTime.compute_s
    bubble_fraction: float  # bubble / step
    tp_comm_s: float  # exposed
    dp_comm_s: float  # exposed after overlap with compute
    ep_comm_s: float
    tokens_per_s: float
    mfu: float
    pp_comm_s: float  # pipeline point-to-point sends
    accelerators_used: int  # t x p x cp x d
    accelerators_per_node: int
    virtual_stages: int = 1
    context_parallel: int = 1
    cp_comm_s: float = 0.0
    bubble_s: float = 0.0

    @property
    def label(self) -> str:
        t, p, d = self.tensor_parallel, self.pipeline_parallel, self.data_parallel
        v = f"/v{self.virtual_stages}" if self.virtual_stages > 1 else ""
        parts = [f"TP {t}", f"PP {p}{v}"]
        if self.context_parallel > 1:
            parts.append(f"CP {self.context_parallel}")
        parts.append(f"DP {d}")
        if self.expert_parallel > 1:
            parts.append(f"EP {self.expert_parallel}")
        return " x ".join(parts)

    def same_layout(self, other: Plan) -> bool:
        return plan_updates(self) == plan_updates(other)


@dataclass(frozen=True, slots=True)
class PlanSearch:
    plans: tuple[Plan, ...]  # the best feasible plans, fastest first
    candidates_evaluated: int  # layouts scored (structurally valid, within the cluster)
    feasible: int  # of those, the ones that fit in memory
    smallest_fitting_count: int | None  # when none fits: fewest accelerators with a fitting plan
    message: str
    current: Plan | None = None  # the scenario's own layout, scored the same way
    current_rank: int | None = None  # 1 = fastest; None when it is invalid or does not fit
    current_note: str = ""  # why it has no rank, or how it compares with the best
    pinned: tuple[str, ...] = ()

    @property
    def best(self) -> Plan | None:
        return self.plans[0] if self.plans else None


def plan_updates(plan: Plan) -> dict[str, Any]:
    """Dotted-key updates that apply `plan` to a Scenario (`Scenario.with_values`).

    The cluster count becomes the accelerators the plan uses, so that `evaluate` derives the same
    data-parallel degree (count / (t x p x cp)) and hence the same memory and step time."""
    return {
        "training.tensor_parallel": plan.tensor_parallel,
        "training.pipeline_parallel": plan.pipeline_parallel,
        "training.virtual_pipeline_stages": plan.virtual_stages,
        "training.context_parallel": plan.context_parallel,
        "training.expert_parallel": plan.expert_parallel,
        "training.zero_stage": plan.zero_stage,
        "training.micro_batch_size": plan.micro_batch_size,
        "training.recompute": plan.recompute,
        "cluster.count": plan.accelerators_used,
    }


def why_faster(best: Plan, current: Plan) -> str:
    """What makes `best` faster than `current`, from the parts of their steps: the parts that
    shrink most, per token."""
    if best.same_layout(current):
        return "the current layout is the fastest"
    ratio = best.tokens_per_s / current.tokens_per_s
    tokens_b = best.tokens_per_s * best.step_time_s
    tokens_c = current.tokens_per_s * current.step_time_s
    parts = (
        ("pipeline bubble", best.bubble_s, current.bubble_s),
        ("tensor-parallel communication", best.tp_comm_s, current.tp_comm_s),
        ("data-parallel communication", best.dp_comm_s, current.dp_comm_s),
        ("pipeline sends", best.pp_comm_s, current.pp_comm_s),
        ("expert all-to-all", best.ep_comm_s, current.ep_comm_s),
        ("context-parallel communication", best.cp_comm_s, current.cp_comm_s),
        ("compute", best.compute_s, current.compute_s),
    )
    # seconds per token on the whole cluster, scaled to the current step
    savings = sorted(
        ((name, c / tokens_c - b / tokens_b) for name, b, c in parts), key=lambda x: -x[1]
    )
    shares = [(name, saved * tokens_c / current.step_time_s) for name, saved in savings[:2]]
    reasons = [f"{name} {share:.0%} of the step less" for name, share in shares if share >= 0.005]
    changes = [
        f"{key.split('.')[1]} {value}"
        for key, value in plan_updates(best).items()
        if plan_updates(current)[key] != value
    ]
    return (
        f"best is {ratio - 1:+.0%} tokens/s over the current layout ({', '.join(changes)}): "
        + ("; ".join(reasons) or "the same parts, shorter")
    )


# --- the grid ------------------------------------------------------------------------------------


def _divisors(n: int) -> list[int]:
    small = [k for k in range(1, math.isqrt(n) + 1) if n % k == 0]
    return sorted(set(small + [n // k for k in small]))


def _axes(scenario: Scenario, pinned: Collection[str]) -> dict[str, list[int]]:
    """The values each degree may take (before the joint rules); a pinned axis keeps the
    scenario's value."""
    arch, train, cluster = scenario.model, scenario.training, scenario.cluster
    per_node = cluster.accelerators_per_node
    heads, kv = arch.num_attention_heads, arch.num_kv_heads
    mla = arch.attention == "mla"
    tensor = [
        t for t in _divisors(per_node)
        if heads % t == 0 and (mla or kv % t == 0 or t % kv == 0)
    ]  # fmt: skip
    layers = arch.num_layers
    powers = [2**k for k in range(20) if 2**k <= layers]
    pipeline = sorted(set(powers) | set(_divisors(layers)))
    micro = [b for b in MICRO_BATCH_SIZES if train.global_batch_size % b == 0]
    data = sorted({d for b in micro for d in _divisors(train.global_batch_size // b)})
    expert = _divisors(arch.num_experts) if arch.is_moe else [1]
    virtual = sorted(set(VIRTUAL_STAGES) | {train.virtual_pipeline_stages})
    context = sorted({1, train.context_parallel})
    axes = {
        "t": tensor, "p": pipeline, "v": virtual, "cp": context, "b": micro, "d": data,
        "e": expert, "zero": list(ZERO_STAGES), "r": list(range(len(RECOMPUTE_MODES))),
    }  # fmt: skip
    current = {
        "t": train.tensor_parallel, "p": train.pipeline_parallel,
        "v": train.virtual_pipeline_stages, "cp": train.context_parallel,
        "e": train.expert_parallel if arch.is_moe else 1, "zero": train.zero_stage,
        "b": train.micro_batch_size, "r": RECOMPUTE_MODES.index(train.recompute),
    }  # fmt: skip
    for key in pinned:
        axis = PINNABLE.get(key)
        if axis is not None:
            axes[axis] = [current[axis]]
    if "b" in {PINNABLE.get(k) for k in pinned}:
        b = current["b"]
        batch = train.global_batch_size
        axes["d"] = _divisors(batch // b) if batch % b == 0 else []
    return axes


@dataclass(frozen=True, slots=True)
class CandidateGrid:
    """Structurally valid layouts, one entry per array position (not yet capped by the cluster)."""

    t: np.ndarray
    p: np.ndarray
    v: np.ndarray
    cp: np.ndarray
    d: np.ndarray
    e: np.ndarray
    zero: np.ndarray
    b: np.ndarray
    recompute: np.ndarray  # index into RECOMPUTE_MODES

    def __len__(self) -> int:
        return int(self.t.size)

    def subset(self, mask: np.ndarray) -> CandidateGrid:
        return CandidateGrid(
            self.t[mask], self.p[mask], self.v[mask], self.cp[mask], self.d[mask], self.e[mask],
            self.zero[mask], self.b[mask], self.recompute[mask],
        )  # fmt: skip

    @property
    def used(self) -> np.ndarray:
        return self.t * self.p * self.cp * self.d


def _grid_from_axes(scenario: Scenario, ax: dict[str, list[int]]) -> CandidateGrid:
    train, arch = scenario.training, scenario.model
    batch, layers, s = train.global_batch_size, arch.num_layers, train.sequence_length
    # the joint rules of (p, v) and of (b, d, e) first, so the product holds valid layouts only
    pv = np.array(
        [(p, v) for p in ax["p"] for v in ax["v"]
         if p <= layers and (v == 1 or (p > 1 and p * v <= layers))],
        dtype=np.int64,
    ).reshape(-1, 2)  # fmt: skip
    bde = np.array(
        [(b, d, e) for b in ax["b"] for d in ax["d"] for e in ax["e"]
         if batch % (b * d) == 0 and d % e == 0 and d <= MAX_ACCELERATORS],
        dtype=np.int64,
    ).reshape(-1, 3)  # fmt: skip
    cps = [cp for cp in ax["cp"] if cp == 1 or s % (2 * cp) == 0]
    # (p, v, b, d, e, zero) rows that keep the rules among themselves: a small table
    i_pv, i_bde, zero = (
        a.ravel()
        for a in np.meshgrid(
            np.arange(len(pv)), np.arange(len(bde)), np.array(ax["zero"], dtype=np.int64),
            indexing="ij",
        )
    )  # fmt: skip
    p, v = pv[i_pv, 0], pv[i_pv, 1]
    b, d, e = bde[i_bde, 0], bde[i_bde, 1], bde[i_bde, 2]
    ok = ((zero == 0) | (d > 1)) & (  # with one replica ZeRO has nothing to shard
        (v == 1) | ((batch // (b * d)) % p == 0)  # interleaving: m a multiple of p
    )
    rows = np.stack([p[ok], v[ok], b[ok], d[ok], e[ok], zero[ok]], axis=1)
    # then every row with every t, cp and recompute mode: one running index, split per axis
    axes = (
        np.array(ax["t"], dtype=np.int64),
        np.arange(len(rows)),
        np.array(cps, dtype=np.int64),
        np.array(ax["r"], dtype=np.int64),
    )
    index = np.arange(math.prod(a.size for a in axes), dtype=np.int64)
    picked = []
    for values in reversed(axes):
        index, here = np.divmod(index, values.size)
        picked.append(values[here])
    r, cp, i_row, t = picked
    p, v, b, d, e, zero = (rows[i_row, k] for k in range(6))
    keep = t * p * cp * d <= MAX_ACCELERATORS
    if keep.all():
        return CandidateGrid(t, p, v, cp, d, e, zero, b, r)
    return CandidateGrid(
        t[keep], p[keep], v[keep], cp[keep], d[keep], e[keep], zero[keep], b[keep], r[keep]
    )


def _size(ax: dict[str, list[int]]) -> int:
    return math.prod(len(v) for v in ax.values())


def _powers_of_two_and(values: list[int], extra: set[int]) -> list[int]:
    return sorted({v for v in values if v & (v - 1) == 0} | (extra & set(values)))


def candidate_grid(scenario: Scenario, pinned: Collection[str] = ()) -> CandidateGrid:
    """Every layout the planner considers for this model and node size, at any cluster size.

    Past MAX_CANDIDATES (before the joint rules) the data-parallel, pipeline and expert degrees
    are thinned to powers of two (plus the largest), in that order."""
    ax = _axes(scenario, pinned)
    batch = scenario.training.global_batch_size
    thinning = (
        ("d", {batch // b for b in ax["b"]}),
        ("p", {scenario.model.num_layers, scenario.training.pipeline_parallel}),
        ("e", {scenario.model.num_experts}),
    )
    for axis, extra in thinning:
        if _size(ax) <= MAX_CANDIDATES:
            break
        if len(ax[axis]) > 1:
            ax[axis] = _powers_of_two_and(ax[axis], extra)
    if _size(ax) > MAX_CANDIDATES:
        raise EngineInputError(
            f"training.global_batch_size ({batch}): the layouts to search number "
            f"{_size(ax):,}, more than the planner's {MAX_CANDIDATES:,}; a batch size with "
            "fewer divisors (a power of two) or a pinned degree keeps the search small"
        )
    return _grid_from_axes(scenario, ax)


# --- memory and timing, vectorized ---------------------------------------------------------------


def _memory(scenario: Scenario, g: CandidateGrid) -> tuple[np.ndarray, np.ndarray]:
    """Per-accelerator training memory and micro-batches of every candidate: the engine's
    `training_state_bytes` and `activation_bytes`, vectorized, in the same order of operations."""
    arch, train = scenario.model, scenario.training
    params = count_parameters(arch)
    s, B = train.sequence_length, train.global_batch_size
    t, p, d, e, zero, b, r = g.t, g.p, g.d, g.e, g.zero, g.b, g.recompute
    m = B // (b * d)

    w, gr, master, states = _OPTIMIZER_BYTES[train.optimizer]
    if not train.master_weights:
        master = 0
    tp_ = t * p
    psi = params.total / tp_
    df = d.astype(np.float64)
    shard1, shard2, shard3 = (np.where(zero >= k, df, 1.0) for k in (1, 2, 3))
    state_bytes = w * psi / shard3 + gr * psi / shard2 + (master + states) * psi / shard1
    ne = params.experts
    if ne and bool((e > 1).any()):
        dense_psi = (params.total - ne) / tp_
        expert_psi = ne / (tp_ * e)
        edp = d / e
        eshard1, eshard2, eshard3 = (np.where(zero >= k, edp, 1.0) for k in (1, 2, 3))
        ep_w = w * dense_psi / shard3 + w * expert_psi / eshard3
        ep_g = gr * dense_psi / shard2 + gr * expert_psi / eshard2
        ep_o = (master + states) * dense_psi / shard1 + (master + states) * expert_psi / eshard1
        state_bytes = np.where(e > 1, ep_w + ep_g + ep_o, state_bytes)
    if train.precision == "fp8":
        ee = np.where(e > 1, e, 1) if ne else 1
        local = (params.total - ne) + ne / ee
        state_bytes = state_bytes + FP8_WEIGHT_COPY_BYTES * local / tp_

    # bytes per token and layer depend on (t, recompute) only (engine.memory)
    t_vals = np.unique(t)
    lookup = np.zeros((int(t_vals.max()) + 1 if t_vals.size else 1, len(RECOMPUTE_MODES)))
    for tv in t_vals.tolist():
        for k, mode in enumerate(RECOMPUTE_MODES):
            lookup[tv, k] = activation_bytes_per_token_layer(
                arch, s, tv, train.sequence_parallel, mode, train.flash_attention, train.dropout
            )
    tokens = s * b / g.cp
    per_layer = lookup[t, r] * tokens
    layers_per_stage = arch.num_layers / p
    held = np.where(g.v <= 1, p, p + (p - 1) / g.v)
    held = np.minimum(held, np.maximum(1, m))
    stage = per_layer * layers_per_stage * held
    logits = 4 * tokens * arch.vocab_size / t
    activations = stage + logits
    return state_bytes + activations + train.framework_overhead_gib * GIB, m


def _score(scenario: Scenario, accelerator: Any, g: CandidateGrid, memory, m) -> Any:
    arch, train, cluster = scenario.model, scenario.training, scenario.cluster
    params = count_parameters(arch)
    rates = device_rates(accelerator, cluster.inter_node_gbs)
    modes = [
        flops_per_token(arch, params, train.sequence_length, mode)  # type: ignore[arg-type]
        for mode in RECOMPUTE_MODES
    ]
    model = modes[0].training
    hw_over_model = np.array([f.training_hardware / f.training for f in modes])[g.recompute]
    layout = Layout(
        tensor_parallel=g.t, pipeline_parallel=g.p, data_parallel=g.d, context_parallel=g.cp,
        expert_parallel=g.e, virtual_stages=g.v, micro_batch_size=g.b, zero_stage=g.zero,
        recompute=g.recompute, sequence_length=train.sequence_length,
        global_batch_size=train.global_batch_size, per_node=cluster.accelerators_per_node,
        sequence_parallel=train.sequence_parallel, flash_attention=train.flash_attention,
        fp8=train.precision == "fp8", dropout=train.dropout,
        overlap_tensor=train.overlap_tensor_communication,
        overlap_expert=train.overlap_expert_communication,
    )  # fmt: skip
    return step_time(arch, params, rates, layout, model, hw_over_model)


def _plan_at(g: CandidateGrid, memory, tm: Any, i: int, per_node: int) -> Plan:
    t, p, d, cp = int(g.t[i]), int(g.p[i]), int(g.d[i]), int(g.cp[i])
    return Plan(
        tensor_parallel=t,
        pipeline_parallel=p,
        data_parallel=d,
        expert_parallel=int(g.e[i]),
        zero_stage=int(g.zero[i]),
        micro_batch_size=int(g.b[i]),
        recompute=RECOMPUTE_MODES[int(g.recompute[i])],
        microbatches=int(tm.microbatches[i]),
        memory_bytes=float(memory[i]),
        step_time_s=float(tm.step_s[i]),
        compute_s=float(tm.compute_s[i]),
        bubble_fraction=float(tm.bubble_fraction[i]),
        tp_comm_s=float(tm.tensor_parallel_s[i]),
        dp_comm_s=float(tm.data_parallel_s[i]),
        ep_comm_s=float(tm.expert_s[i]),
        tokens_per_s=float(tm.tokens_per_s[i]),
        mfu=float(tm.mfu[i]),
        pp_comm_s=float(tm.pipeline_s[i]),
        accelerators_used=t * p * cp * d,
        accelerators_per_node=per_node,
        virtual_stages=int(g.v[i]),
        context_parallel=cp,
        cp_comm_s=float(tm.context_s[i]),
        bubble_s=float(tm.bubble_s[i]),
    )


def _current_grid(scenario: Scenario) -> CandidateGrid:
    train, cluster = scenario.training, scenario.cluster
    group = train.tensor_parallel * train.pipeline_parallel * train.context_parallel
    values = {
        "t": train.tensor_parallel, "p": train.pipeline_parallel,
        "v": train.virtual_pipeline_stages, "cp": train.context_parallel,
        "d": max(1, cluster.count // group),
        "e": train.expert_parallel if scenario.model.is_moe else 1,
        "zero": train.zero_stage, "b": train.micro_batch_size,
        "recompute": RECOMPUTE_MODES.index(train.recompute),
    }  # fmt: skip
    return CandidateGrid(**{k: np.array([v], dtype=np.int64) for k, v in values.items()})


def evaluate_layout(scenario: Scenario, accelerator: AcceleratorSpec) -> Plan:
    """The scenario's own layout scored by the planner's (vectorized) path: one entry."""
    g = _current_grid(scenario)
    memory, m = _memory(scenario, g)
    return _plan_at(g, memory, _score(scenario, accelerator, g, memory, m), 0,
                    scenario.cluster.accelerators_per_node)  # fmt: skip


def search_plans(
    scenario: Scenario,
    accelerator: AcceleratorSpec,
    top: int = 10,
    pinned: Collection[str] = (),
) -> PlanSearch:
    """Score every candidate layout on the scenario's cluster; the `top` fastest that fit, and the
    scenario's own layout with its rank. `pinned` dotted keys (PINNABLE) keep their value.

    More accelerators never make the best plan slower: the layouts open to n accelerators are all
    open to n + 1, and a layout's score does not depend on the idle ones."""
    if top < 1:
        raise EngineInputError(f"top must be at least 1 (plans to return); got {top}")
    if not getattr(accelerator, "bf16_tflops", None):
        raise EngineInputError(
            f"cluster.accelerator: {accelerator.id} has no dense bf16 throughput in the catalog"
        )
    pinned = tuple(k for k in pinned if k in PINNABLE)
    full_grid = candidate_grid(scenario, pinned)
    count = scenario.cluster.count
    per_node = scenario.cluster.accelerators_per_node
    limit = float(accelerator.memory_bytes)
    grid = full_grid.subset(full_grid.used <= count)
    memory, m = _memory(scenario, grid)
    feasible = memory <= limit
    n_scored, n_feasible = len(grid), int(feasible.sum())
    gib = limit / GIB

    current, current_rank, note = _current(scenario, accelerator)
    if n_feasible == 0:
        return _none_fits(scenario, accelerator, full_grid, n_scored, pinned, current, note)

    idx = np.flatnonzero(feasible)
    fit = grid.subset(feasible)
    timing = _score(scenario, accelerator, fit, memory[idx], m[idx])
    tokens = timing.tokens_per_s
    k = min(top, idx.size)
    part = np.argpartition(-tokens, k - 1)[:k] if idx.size > k else np.arange(idx.size)
    fit_memory = memory[idx]
    order = part[np.lexsort((fit_memory[part], -tokens[part]))]  # ties: the smaller footprint
    plans = tuple(_plan_at(fit, fit_memory, timing, int(i), per_node) for i in order)
    best = plans[0]
    if current is not None and current.memory_bytes <= limit and not note:
        current_rank = 1 + int((tokens > current.tokens_per_s * (1 + 1e-12)).sum())
        note = why_faster(best, current) if best.tokens_per_s > current.tokens_per_s else (
            "the current layout is the fastest"
        )
    elif current is not None and not note:
        note = _too_big(current, gib)
    pins = f" with {', '.join(k.split('.')[1] for k in pinned)} pinned" if pinned else ""
    message = (
        f"{n_feasible:,} of {n_scored:,} layouts fit in {gib:.1f} GiB{pins}; best {best.label}, "
        f"ZeRO-{best.zero_stage}, micro-batch {best.micro_batch_size}, recompute "
        f"{best.recompute}: {best.tokens_per_s:,.0f} tokens/s, MFU {best.mfu:.0%}"
    )
    if best.accelerators_used < count:
        message += f" (uses {best.accelerators_used} of {count} accelerators)"
    return PlanSearch(
        plans, n_scored, n_feasible, None, message, current, current_rank, note, pinned
    )


def _too_big(current: Plan, capacity_gib: float) -> str:
    return (
        f"the current layout needs {current.memory_bytes / GIB:.1f} GiB per accelerator, "
        f"more than its {capacity_gib:.1f} GiB"
    )


def _current(scenario: Scenario, accelerator: Any) -> tuple[Plan | None, None, str]:
    problems = training_layout_problems(scenario, accelerator)
    if problems:
        return None, None, "current layout invalid: " + "; ".join(str(p) for p in problems)
    return evaluate_layout(scenario, accelerator), None, ""


def _none_fits(
    scenario: Scenario,
    accelerator: AcceleratorSpec,
    full_grid: CandidateGrid,
    n_scored: int,
    pinned: tuple[str, ...],
    current: Plan | None,
    note: str,
) -> PlanSearch:
    """No layout fits: find the fewest accelerators for which one would. Memory does not depend
    on the cluster size, so that is the smallest t x p x cp x d among layouts that fit anywhere."""
    count, per_node = scenario.cluster.count, scenario.cluster.accelerators_per_node
    limit = float(accelerator.memory_bytes)
    gib = limit / GIB
    if current is not None and not note:
        note = _too_big(current, gib)
    memory, _ = _memory(scenario, full_grid)
    fits = memory <= limit
    if fits.any():
        smallest = int(full_grid.used[fits].min())
        nodes = math.ceil(smallest / per_node)
        message = (
            f"no plan fits on {count} x {accelerator.id} ({gib:.1f} GiB each): the smallest "
            f"cluster with a fitting plan has {smallest} accelerators "
            f"({nodes} node{'s' if nodes != 1 else ''} of {per_node})"
        )
        return PlanSearch((), n_scored, 0, smallest, message, current, None, note, pinned)
    least = float(memory.min()) / GIB if len(full_grid) else float("nan")
    message = (
        f"no plan fits on any number of {accelerator.id} ({gib:.1f} GiB each): the leanest "
        f"layout still needs {least:.1f} GiB per accelerator; shorten training.sequence_length, "
        "raise training.global_batch_size (more replicas to shard over) or pick an accelerator "
        "with more memory"
    )
    return PlanSearch((), n_scored, 0, None, message, current, None, note, pinned)
