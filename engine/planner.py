"""Parallelism planner: which tensor x pipeline x data (x expert) layout trains this model fastest?

For a model, a cluster and a training setup, every layout in a grid of tensor-parallel degree t,
pipeline-parallel degree p, data-parallel degree d, expert-parallel degree e (MoE only), ZeRO stage,
micro-batch size b and activation recompute mode is scored at once with numpy: per-accelerator
memory (exactly the engine's training memory, `engine.memory`), step time, tokens/s and MFU. Layouts
that do not fit are dropped; the rest are ranked by tokens/s.

The step-time model (one optimizer step of B = global_batch_size sequences of s tokens):

- Layout rules (Megatron-LM, Narayanan et al. 2021, Sec. 2-3): t divides the accelerators of one
  node (tensor parallelism needs the NVLink domain) and the attention heads; b * d divides B, so
  each replica runs m = B / (b * d) microbatches; e divides d and the number of routed experts.
  A layout may leave accelerators idle (t * p * d <= count), as a run on an awkward count does.
- Compute per microbatch on one stage: hardware FLOPs per token (engine.flops, recompute included)
  x b * s / (t * p), at `compute_efficiency` x the dense bf16 peak.
- Pipeline bubble of the 1F1B schedule: (p - 1) / (m + p - 1) of the step (Narayanan et al. 2021,
  Sec. 2.2.1: bubble time (p - 1) * (t_f + t_b) against m * (t_f + t_b) of work).
- Tensor parallelism: 4 all-reduces of the b x s x h bf16 activations per layer and microbatch
  (2 forward, 2 backward; Narayanan et al. 2021 Sec. 3.2, Shoeybi et al. 2019 Fig. 4), 2 more when
  the forward is recomputed; a ring all-reduce moves 2 (t - 1) / t of the buffer through each
  accelerator (Patarasuk & Yuan 2009; Thakur et al. 2005). With sequence parallelism each becomes
  an all-gather plus a reduce-scatter of the same volume (Korthikanti et al. 2022, Sec. 4.2.2).
  Not overlapped with compute.
- Data parallelism: ring all-reduce of the bf16 gradients, 2 (d - 1) / d of them per accelerator
  (ZeRO-0/1: once per step, overlapped with the backward of the last microbatch as in PyTorch DDP,
  Li et al. 2020 VLDB Sec. 3.2.3). ZeRO-2 reduce-scatters every microbatch during its backward and
  all-gathers the updated weights before the next forward; ZeRO-3 all-gathers the weights in
  forward and backward and reduce-scatters the gradients of every microbatch, 3 x (d - 1)/d Psi in
  all against plain data parallelism's 2 (Rajbhandari et al. 2020, Sec. 7.2). Only the part longer
  than the compute it overlaps with is exposed.
- Expert parallelism: dispatch and combine all-to-alls of each MoE layer, forward and backward (4,
  6 with full recompute), each sending the b x s / t tokens of a rank x k routed copies x h bf16
  elements, (e - 1) / e of them off the accelerator (GShard, Lepikhin et al. 2020, Sec. 2.2;
  DeepSeek-V3 technical report Sec. 3.2.2). Not overlapped (DeepSeek-V3's DualPipe overlaps them;
  this is the plain schedule).
- Bandwidths: inside a node, the accelerator's interconnect (the catalog gives the bidirectional
  aggregate; one direction, half of it, carries a ring's traffic); a group that spans nodes runs
  at the cluster's inter-node bandwidth per accelerator.
- Pipeline point-to-point: each microbatch sends its b x s x h bf16 activations to the next stage
  and the gradient back, each of the t ranks sending 1/t of it (Narayanan et al. 2021, Sec. 4.1,
  scatter/gather optimization); not overlapped.
- Not modelled: the interleaved schedule (Narayanan et al. 2021 Sec. 2.2.2, bubble / v, which
  Llama 3 used), context parallelism, overlapped all-to-all (DeepSeek-V3 DualPipe), FP8 compute,
  and the per-message latency of collectives (bandwidth terms only), which flatters very wide
  ZeRO-3 groups. Stages hold L / p layers, as engine.memory counts them.

step_time = (m + p - 1) x (compute + tp + ep + pp + per-microbatch dp) + per-step dp, so
tokens/s = B s / step_time and MFU = model FLOPs per token x tokens/s / (accelerators used x peak)
(Chowdhery et al. 2022, PaLM, Appendix B: model FLOPs, without recomputation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from llmscope.engine.errors import EngineInputError
from llmscope.engine.flops import flops_per_token
from llmscope.engine.memory import _OPTIMIZER_BYTES, GIB, activation_bytes, training_state_bytes
from llmscope.engine.parameters import count_parameters
from llmscope.engine.scenario import Scenario

RECOMPUTE_MODES: tuple[str, ...] = ("none", "selective", "full")
ZERO_STAGES: tuple[int, ...] = (0, 1, 2, 3)
MICRO_BATCH_SIZES: tuple[int, ...] = (1, 2, 4, 8, 16)

# Fraction of the dense bf16 peak that one microbatch's compute reaches when nothing waits on
# communication: matmuls plus the norms, softmax, element-wise kernels and optimizer step that the
# FLOP count leaves out. An assumption fitted to one published run with a known plain-1F1B layout:
# BLOOM-176B on 384 A100 80GB, TP 4 x PP 12 x DP 8, micro-batch 2, batch 2,048 x 2,048 tokens,
# full recompute, sustained 156 TFLOP/s per GPU counting the recompute (GENCI; BigScience, arXiv
# 2211.05100). With 0.55 the model below gives that layout ~152 TFLOP/s. Large bf16 GEMMs alone
# reach 70-80% of peak; end-to-end MFU is this times the bubble and exposed-communication losses.
DEFAULT_COMPUTE_EFFICIENCY = 0.55
# Bytes per element of activations and gradients on the wire (bf16 mixed precision).
_WIRE_BYTES = 2
# The largest cluster a Scenario accepts (Cluster.count's bound): no layout may need more.
MAX_ACCELERATORS = 10_000_000
# Layouts scored at most in one search (about 100 MB of numpy temporaries at the peak).
MAX_CANDIDATES = 3_000_000
# PCIe 4.0 x16, one direction (PCI-SIG: 16 GT/s x 16 lanes, 128b/130b): cards without NVLink.
PCIE4_X16_GBS = 31.5


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
    compute_s: float  # microbatches x compute of one microbatch on one stage
    bubble_fraction: float  # (p - 1) / (m + p - 1)
    tp_comm_s: float
    dp_comm_s: float  # exposed after overlap with compute
    ep_comm_s: float
    tokens_per_s: float
    mfu: float
    pp_comm_s: float  # pipeline point-to-point sends, microbatches x per-microbatch
    accelerators_used: int  # t x p x d
    accelerators_per_node: int

    @property
    def label(self) -> str:
        expert = f" x EP {self.expert_parallel}" if self.expert_parallel > 1 else ""
        t, p, d = self.tensor_parallel, self.pipeline_parallel, self.data_parallel
        return f"TP {t} x PP {p} x DP {d}{expert}"


@dataclass(frozen=True, slots=True)
class PlanSearch:
    plans: tuple[Plan, ...]  # the best feasible plans, fastest first
    candidates_evaluated: int  # layouts scored (structurally valid, within the cluster)
    feasible: int  # of those, the ones that fit in memory
    smallest_fitting_count: int | None  # when none fits: fewest accelerators with a fitting plan
    message: str

    @property
    def best(self) -> Plan | None:
        return self.plans[0] if self.plans else None


def plan_updates(plan: Plan) -> dict[str, Any]:
    """Dotted-key updates that apply `plan` to a Scenario (`Scenario.with_values`).

    The cluster count becomes the accelerators the plan uses, so that `evaluate` derives the same
    data-parallel degree (count // (t x p)) and hence the same memory."""
    updates: dict[str, Any] = {
        "training.tensor_parallel": plan.tensor_parallel,
        "training.pipeline_parallel": plan.pipeline_parallel,
        "training.expert_parallel": plan.expert_parallel,
        "training.zero_stage": plan.zero_stage,
        "training.micro_batch_size": plan.micro_batch_size,
        "training.recompute": plan.recompute,
        "cluster.count": plan.accelerators_used,
    }
    if plan.accelerators_used < plan.accelerators_per_node:
        updates["cluster.per_node"] = plan.accelerators_used
    return updates


# --- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Inputs:
    """Everything the formulas read, resolved once per search."""

    peak_flops: float  # dense bf16 FLOP/s of one accelerator
    intra_bytes_per_s: float  # one direction, inside a node
    inter_bytes_per_s: float  # per accelerator, between nodes
    memory_limit_bytes: float
    efficiency: float


def _inputs(scenario: Scenario, accelerator: AcceleratorSpec, efficiency: float) -> _Inputs:
    if not 0 < efficiency <= 1:
        raise EngineInputError(
            f"compute_efficiency must be in (0, 1] (achieved / peak FLOP/s of the matmuls); got "
            f"{efficiency}"
        )
    tflops = getattr(accelerator, "bf16_tflops", None)
    if not tflops:
        raise EngineInputError(
            f"cluster.accelerator: {accelerator.id} has no dense bf16 throughput in the catalog; "
            "the planner models bf16 mixed-precision training and needs it"
        )
    link = getattr(accelerator, "interconnect_gbs", None)
    intra = link / 2 if link else PCIE4_X16_GBS  # catalog figure is both directions together
    return _Inputs(
        peak_flops=tflops * 1e12,
        intra_bytes_per_s=intra * 1e9,
        inter_bytes_per_s=scenario.cluster.inter_node_gbs * 1e9,
        memory_limit_bytes=float(accelerator.memory_bytes),
        efficiency=efficiency,
    )


def _divisors(n: int) -> list[int]:
    small = [k for k in range(1, math.isqrt(n) + 1) if n % k == 0]
    return sorted(set(small + [n // k for k in small]))


def _axes(scenario: Scenario) -> dict[str, list[int]]:
    """The values each degree may take (before the joint rules)."""
    arch, train, cluster = scenario.model, scenario.training, scenario.cluster
    per_node = cluster.per_node
    heads = arch.num_attention_heads
    tensor = [t for t in _divisors(per_node) if heads % t == 0]
    layers = arch.num_layers
    powers = [2**k for k in range(20) if 2**k <= layers]
    pipeline = sorted(set(powers) | set(_divisors(layers)))
    micro = [b for b in MICRO_BATCH_SIZES if train.global_batch_size % b == 0]
    data = sorted({d for b in micro for d in _divisors(train.global_batch_size // b)})
    expert = _divisors(arch.num_experts) if arch.is_moe else [1]
    return {"t": tensor, "p": pipeline, "b": micro, "d": data, "e": expert}


# --- the scalar reference: one layout, plain Python ----------------------------------------------


def evaluate_layout(
    scenario: Scenario,
    accelerator: AcceleratorSpec,
    *,
    tensor_parallel: int,
    pipeline_parallel: int,
    data_parallel: int,
    expert_parallel: int = 1,
    zero_stage: int = 1,
    micro_batch_size: int = 1,
    recompute: str = "selective",
    compute_efficiency: float = DEFAULT_COMPUTE_EFFICIENCY,
) -> Plan:
    """Score one layout with plain Python (the engine's own memory functions). `search_plans`
    computes the same numbers for thousands of layouts at once."""
    ins = _inputs(scenario, accelerator, compute_efficiency)
    arch, train = scenario.model, scenario.training
    params = count_parameters(arch)
    t, p, d, e = tensor_parallel, pipeline_parallel, data_parallel, expert_parallel
    b, s, B = micro_batch_size, train.sequence_length, train.global_batch_size
    for field, value in (("tensor_parallel", t), ("pipeline_parallel", p), ("data_parallel", d),
                         ("expert_parallel", e), ("micro_batch_size", b)):  # fmt: skip
        if not isinstance(value, int) or value < 1:
            raise EngineInputError(
                f"training.{field}: must be a whole number of at least 1 (got {value!r})"
            )
    if zero_stage not in ZERO_STAGES:
        raise EngineInputError(
            f"training.zero_stage: must be one of 0, 1, 2, 3 (got {zero_stage!r})"
        )
    if recompute not in RECOMPUTE_MODES:
        raise EngineInputError(
            f"training.recompute: must be one of {', '.join(RECOMPUTE_MODES)} (got {recompute!r})"
        )
    if d % e:
        raise EngineInputError(
            f"training.expert_parallel ({e}) must divide the data-parallel degree ({d}): expert "
            "ranks are carved out of the data-parallel group"
        )
    if B % (b * d):
        raise EngineInputError(
            f"training.global_batch_size ({B}) must be a multiple of micro_batch_size x "
            f"data_parallel ({b} x {d}) so that every replica runs whole microbatches"
        )
    m = B // (b * d)
    per_node = scenario.cluster.per_node
    expert_params = params.experts if e > 1 else 0
    states = training_state_bytes(
        params.total, train.optimizer, train.master_weights, zero_stage, d, t, p,
        expert_params=expert_params, expert_parallel=e,
    )  # fmt: skip
    acts = activation_bytes(
        arch, s, b, t, p, m, train.sequence_parallel, recompute, train.flash_attention
    )
    memory = states.total_bytes + acts.total_bytes + train.framework_overhead_gib * GIB

    f = flops_per_token(arch, params, s, recompute)  # type: ignore[arg-type]
    rate = ins.peak_flops * ins.efficiency
    compute = f.training_hardware * b * s / (t * p) / rate
    forward = f.forward * b * s / (t * p) / rate
    backward = compute - forward

    act_bytes = _WIRE_BYTES * s * b * arch.hidden_size
    n_allreduce = 6 if recompute == "full" else 4
    tp = arch.num_layers / p * n_allreduce * 2 * (t - 1) / t * act_bytes / ins.intra_bytes_per_s

    a2a_bytes = s * b / t * arch.experts_per_token * arch.hidden_size * _WIRE_BYTES * (e - 1) / e
    ep_bw = ins.intra_bytes_per_s if t * e <= per_node else ins.inter_bytes_per_s
    n_a2a = 6 if recompute == "full" else 4
    ep = arch.num_moe_layers / p * n_a2a * a2a_bytes / ep_bw

    pp_bw = ins.intra_bytes_per_s if t * p <= per_node else ins.inter_bytes_per_s
    pp = (2 * act_bytes / t / pp_bw) if p > 1 else 0.0

    dense_psi = (params.total - expert_params) / (t * p)
    expert_psi = expert_params / (t * p * e)
    dp_bw = ins.intra_bytes_per_s if t * p * d <= per_node else ins.inter_bytes_per_s
    d_expert = d / e
    allreduce = (
        2 * (d - 1) / d * _WIRE_BYTES * dense_psi
        + 2 * (d_expert - 1) / d_expert * _WIRE_BYTES * expert_psi
    ) / dp_bw
    half = allreduce / 2  # a reduce-scatter or an all-gather alone
    if zero_stage <= 1:
        dp_per_mb, dp_per_step = 0.0, max(0.0, allreduce - backward)
    elif zero_stage == 2:
        dp_per_mb, dp_per_step = max(0.0, half - backward), max(0.0, half - forward)
    else:
        dp_per_mb = max(0.0, half - forward) + max(0.0, 2 * half - backward)
        dp_per_step = 0.0

    step = (m + p - 1) * (compute + tp + ep + pp + dp_per_mb) + dp_per_step
    tokens_per_s = B * s / step
    used = t * p * d
    return Plan(
        tensor_parallel=t,
        pipeline_parallel=p,
        data_parallel=d,
        expert_parallel=e,
        zero_stage=zero_stage,
        micro_batch_size=b,
        recompute=recompute,
        microbatches=m,
        memory_bytes=memory,
        step_time_s=step,
        compute_s=m * compute,
        bubble_fraction=(p - 1) / (m + p - 1),
        tp_comm_s=m * tp,
        dp_comm_s=m * dp_per_mb + dp_per_step,
        ep_comm_s=m * ep,
        tokens_per_s=tokens_per_s,
        mfu=f.training * tokens_per_s / (used * ins.peak_flops),
        pp_comm_s=m * pp,
        accelerators_used=used,
        accelerators_per_node=per_node,
    )


# --- the vectorized search -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CandidateGrid:
    """Structurally valid layouts, one entry per array position (not yet capped by the cluster)."""

    t: np.ndarray
    p: np.ndarray
    d: np.ndarray
    e: np.ndarray
    zero: np.ndarray
    b: np.ndarray
    recompute: np.ndarray  # index into RECOMPUTE_MODES

    def __len__(self) -> int:
        return int(self.t.size)

    def subset(self, mask: np.ndarray) -> CandidateGrid:
        return CandidateGrid(
            self.t[mask], self.p[mask], self.d[mask], self.e[mask], self.zero[mask],
            self.b[mask], self.recompute[mask],
        )  # fmt: skip

    def layout(self, i: int) -> dict[str, Any]:
        """Keyword arguments of `evaluate_layout` for candidate i."""
        return {
            "tensor_parallel": int(self.t[i]),
            "pipeline_parallel": int(self.p[i]),
            "data_parallel": int(self.d[i]),
            "expert_parallel": int(self.e[i]),
            "zero_stage": int(self.zero[i]),
            "micro_batch_size": int(self.b[i]),
            "recompute": RECOMPUTE_MODES[int(self.recompute[i])],
        }


def _batch_layouts(ax: dict[str, list[int]], batch: int) -> np.ndarray:
    """(b, d, e) triples with b x d dividing the global batch and e dividing d."""
    b, d, e = np.meshgrid(
        np.array(ax["b"], dtype=np.int64),
        np.array(ax["d"], dtype=np.int64),
        np.array(ax["e"], dtype=np.int64),
        indexing="ij",
    )
    b, d, e = b.ravel(), d.ravel(), e.ravel()
    keep = (batch % (b * d) == 0) & (d % e == 0) & (d <= MAX_ACCELERATORS)
    return np.stack([b[keep], d[keep], e[keep]], axis=1)


def _powers_of_two_and(values: list[int], extra: set[int]) -> list[int]:
    return sorted({v for v in values if v & (v - 1) == 0} | (extra & set(values)))


def candidate_grid(scenario: Scenario) -> CandidateGrid:
    """Every layout the planner considers for this model and node size, at any cluster size.

    A scenario whose batch size, layer count and expert count all have many divisors could make
    the grid huge; past MAX_CANDIDATES the pipeline, expert and data-parallel degrees are thinned
    to powers of two (plus the largest, e.g. p = layers), in that order."""
    ax = _axes(scenario)
    batch = scenario.training.global_batch_size
    per_choice = len(ZERO_STAGES) * len(RECOMPUTE_MODES)
    triples = _batch_layouts(ax, batch)
    thinning = (
        ("p", {scenario.model.num_layers}),
        ("e", {scenario.model.num_experts}),
        ("d", {batch // b for b in ax["b"]}),
    )
    for axis, extra in thinning:
        if len(ax["t"]) * len(ax["p"]) * len(triples) * per_choice <= MAX_CANDIDATES:
            break
        ax[axis] = _powers_of_two_and(ax[axis], extra)
        triples = _batch_layouts(ax, batch)
    size = len(ax["t"]) * len(ax["p"]) * len(triples) * per_choice
    if size > MAX_CANDIDATES:
        raise EngineInputError(
            f"training.global_batch_size ({batch}): the layouts to search number {size:,}, more "
            f"than the planner's {MAX_CANDIDATES:,}; a batch size with fewer divisors (a power "
            "of two) keeps the search small"
        )
    grids = np.meshgrid(
        np.array(ax["t"], dtype=np.int64),
        np.array(ax["p"], dtype=np.int64),
        np.arange(len(triples)),
        np.array(ZERO_STAGES, dtype=np.int64),
        np.arange(len(RECOMPUTE_MODES)),
        indexing="ij",
    )
    t, p, k, zero, r = (g.ravel() for g in grids)
    b, d, e = triples[k, 0], triples[k, 1], triples[k, 2]
    # ZeRO shards over data-parallel replicas: with one replica every stage is stage 0
    keep = (zero == 0) | (d > 1)
    return CandidateGrid(t[keep], p[keep], d[keep], e[keep], zero[keep], b[keep], r[keep])


def _memory(scenario: Scenario, g: CandidateGrid) -> tuple[np.ndarray, np.ndarray]:
    """Per-accelerator training memory and microbatches of every candidate: the engine's
    `training_state_bytes` and `activation_bytes`, vectorized, with the same operations in the
    same order so that the floating-point results are identical."""
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
    # ZeRO shards optimizer states from stage 1, gradients from 2, weights from 3
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

    # The engine's per-layer and logits bytes depend on (t, b, recompute) only; the busiest stage
    # holds L/p layers of min(p, m) microbatches (engine.memory.activation_bytes).
    ax = _axes(scenario)
    t_vals, b_vals = ax["t"], ax["b"]
    t_lookup = np.zeros(max(t_vals) + 1, dtype=np.int64)
    t_lookup[t_vals] = np.arange(len(t_vals))
    b_lookup = np.zeros(max(b_vals) + 1, dtype=np.int64)
    b_lookup[b_vals] = np.arange(len(b_vals))
    t_idx, b_idx = t_lookup[t], b_lookup[b]
    per_layer = np.empty((len(t_vals), len(b_vals), len(RECOMPUTE_MODES)))
    logits = np.empty_like(per_layer)
    for i, tv in enumerate(t_vals):
        for j, bv in enumerate(b_vals):
            for k, mode in enumerate(RECOMPUTE_MODES):
                a = activation_bytes(
                    arch, s, int(bv), int(tv), 1, 1, train.sequence_parallel, mode,
                    train.flash_attention,
                )  # fmt: skip
                per_layer[i, j, k], logits[i, j, k] = a.per_layer_bytes, a.logits_bytes
    layers_per_stage = arch.num_layers / p
    in_flight = np.minimum(p, np.maximum(1, m))
    stage = per_layer[t_idx, b_idx, r] * layers_per_stage * in_flight
    activations = stage + logits[t_idx, b_idx, r]
    return state_bytes + activations + train.framework_overhead_gib * GIB, m


@dataclass(frozen=True, slots=True)
class _Timing:
    step: np.ndarray
    compute: np.ndarray
    bubble: np.ndarray
    tp: np.ndarray
    dp: np.ndarray
    ep: np.ndarray
    pp: np.ndarray
    tokens_per_s: np.ndarray
    mfu: np.ndarray


def _timing(scenario: Scenario, ins: _Inputs, g: CandidateGrid, m: np.ndarray) -> _Timing:
    """Vectorized `evaluate_layout` timing (same formulas, same order)."""
    arch, train = scenario.model, scenario.training
    params = count_parameters(arch)
    s, B = train.sequence_length, train.global_batch_size
    per_node = scenario.cluster.per_node
    t, p, d, e, zero, b, r = g.t, g.p, g.d, g.e, g.zero, g.b, g.recompute
    tp_ = t * p

    f_modes = [
        flops_per_token(arch, params, s, mode)  # type: ignore[arg-type]
        for mode in RECOMPUTE_MODES
    ]
    hw = np.array([f.training_hardware for f in f_modes])[r]
    rate = ins.peak_flops * ins.efficiency
    compute = hw * b * s / tp_ / rate
    forward = f_modes[0].forward * b * s / tp_ / rate
    backward = compute - forward
    n_collectives = np.where(r == RECOMPUTE_MODES.index("full"), 6, 4)
    intra, inter = ins.intra_bytes_per_s, ins.inter_bytes_per_s

    act_wire = _WIRE_BYTES * s * b * arch.hidden_size
    tp = arch.num_layers / p * n_collectives * 2 * (t - 1) / t * act_wire / intra

    if arch.num_moe_layers:
        a2a = s * b / t * arch.experts_per_token * arch.hidden_size * _WIRE_BYTES * (e - 1) / e
        ep_bw = np.where(t * e <= per_node, intra, inter)
        ep = arch.num_moe_layers / p * n_collectives * a2a / ep_bw
    else:
        ep = np.zeros(t.shape)

    pp_bw = np.where(tp_ <= per_node, intra, inter)
    pp = np.where(p > 1, 2 * act_wire / t / pp_bw, 0.0)

    expert_params = np.where(e > 1, params.experts, 0)
    dense_psi = (params.total - expert_params) / tp_
    expert_psi = expert_params / (tp_ * e)
    used = tp_ * d
    dp_bw = np.where(used <= per_node, intra, inter)
    d_expert = d / e
    allreduce = (
        2 * (d - 1) / d * _WIRE_BYTES * dense_psi
        + 2 * (d_expert - 1) / d_expert * _WIRE_BYTES * expert_psi
    ) / dp_bw
    half = allreduce / 2
    zero_le1, zero2 = zero <= 1, zero == 2
    dp_per_mb = np.where(
        zero_le1,
        0.0,
        np.where(
            zero2,
            np.maximum(0.0, half - backward),
            np.maximum(0.0, half - forward) + np.maximum(0.0, 2 * half - backward),
        ),
    )
    dp_per_step = np.where(
        zero_le1,
        np.maximum(0.0, allreduce - backward),
        np.where(zero2, np.maximum(0.0, half - forward), 0.0),
    )
    step = (m + p - 1) * (compute + tp + ep + pp + dp_per_mb) + dp_per_step
    tokens_per_s = B * s / step
    return _Timing(
        step=step,
        compute=m * compute,
        bubble=(p - 1) / (m + p - 1),
        tp=m * tp,
        dp=m * dp_per_mb + dp_per_step,
        ep=m * ep,
        pp=m * pp,
        tokens_per_s=tokens_per_s,
        mfu=f_modes[0].training * tokens_per_s / (used * ins.peak_flops),
    )


def _plan_at(
    g: CandidateGrid, memory: np.ndarray, m: np.ndarray, tm: _Timing, i: int, per_node: int
) -> Plan:
    t, p, d = int(g.t[i]), int(g.p[i]), int(g.d[i])
    return Plan(
        tensor_parallel=t,
        pipeline_parallel=p,
        data_parallel=d,
        expert_parallel=int(g.e[i]),
        zero_stage=int(g.zero[i]),
        micro_batch_size=int(g.b[i]),
        recompute=RECOMPUTE_MODES[int(g.recompute[i])],
        microbatches=int(m[i]),
        memory_bytes=float(memory[i]),
        step_time_s=float(tm.step[i]),
        compute_s=float(tm.compute[i]),
        bubble_fraction=float(tm.bubble[i]),
        tp_comm_s=float(tm.tp[i]),
        dp_comm_s=float(tm.dp[i]),
        ep_comm_s=float(tm.ep[i]),
        tokens_per_s=float(tm.tokens_per_s[i]),
        mfu=float(tm.mfu[i]),
        pp_comm_s=float(tm.pp[i]),
        accelerators_used=t * p * d,
        accelerators_per_node=per_node,
    )


def search_plans(
    scenario: Scenario,
    accelerator: AcceleratorSpec,
    top: int = 10,
    compute_efficiency: float = DEFAULT_COMPUTE_EFFICIENCY,
) -> PlanSearch:
    """Score every candidate layout on the scenario's cluster; the `top` fastest that fit.

    More accelerators never make the best plan slower: the layouts open to n accelerators are all
    open to n + 1, and a layout's score does not depend on the idle ones."""
    if top < 1:
        raise EngineInputError(f"top must be at least 1 (plans to return); got {top}")
    ins = _inputs(scenario, accelerator, compute_efficiency)
    full_grid = candidate_grid(scenario)
    count = scenario.cluster.count
    per_node = scenario.cluster.per_node
    grid = full_grid.subset(full_grid.t * full_grid.p * full_grid.d <= count)
    memory, m = _memory(scenario, grid)
    feasible = memory <= ins.memory_limit_bytes
    n_scored, n_feasible = len(grid), int(feasible.sum())
    gib = ins.memory_limit_bytes / GIB  # the plans' memory column is in GiB too

    if n_feasible == 0:
        return _none_fits(scenario, accelerator, ins, full_grid, n_scored)

    idx = np.flatnonzero(feasible)
    fit = grid.subset(feasible)
    timing = _timing(scenario, ins, fit, m[idx])
    tokens = timing.tokens_per_s
    k = min(top, idx.size)
    part = np.argpartition(-tokens, k - 1)[:k] if idx.size > k else np.arange(idx.size)
    # fastest first; ties to the smaller memory footprint
    fit_memory = memory[idx]
    order = part[np.lexsort((fit_memory[part], -tokens[part]))]
    plans = tuple(_plan_at(fit, fit_memory, m[idx], timing, int(i), per_node) for i in order)
    best = plans[0]
    message = (
        f"{n_feasible:,} of {n_scored:,} layouts fit in {gib:.1f} GiB; best {best.label}, "
        f"ZeRO-{best.zero_stage}, micro-batch {best.micro_batch_size}, recompute "
        f"{best.recompute}: {best.tokens_per_s:,.0f} tokens/s, MFU {best.mfu:.0%}"
    )
    if best.accelerators_used < count:
        message += f" (uses {best.accelerators_used} of {count} accelerators)"
    return PlanSearch(plans, n_scored, n_feasible, None, message)


def _none_fits(
    scenario: Scenario,
    accelerator: AcceleratorSpec,
    ins: _Inputs,
    full_grid: CandidateGrid,
    n_scored: int,
) -> PlanSearch:
    """No layout fits: find the fewest accelerators for which one would. Memory does not depend
    on the cluster size, so that is the smallest t x p x d among layouts that fit anywhere."""
    count, per_node = scenario.cluster.count, scenario.cluster.per_node
    gib = ins.memory_limit_bytes / GIB  # the plans' memory column is in GiB too
    memory, _ = _memory(scenario, full_grid)
    fits = memory <= ins.memory_limit_bytes
    if fits.any():
        smallest = int((full_grid.t * full_grid.p * full_grid.d)[fits].min())
        nodes = math.ceil(smallest / per_node)
        message = (
            f"no plan fits on {count} x {accelerator.id} ({gib:.1f} GiB each): the smallest "
            f"cluster with a fitting plan has {smallest} accelerators "
            f"({nodes} node{'s' if nodes != 1 else ''} of {per_node})"
        )
        return PlanSearch((), n_scored, 0, smallest, message)
    least = float(memory.min()) / GIB if len(full_grid) else float("nan")
    message = (
        f"no plan fits on any number of {accelerator.id} ({gib:.1f} GiB each): the leanest "
        f"layout still needs {least:.1f} GiB per accelerator; shorten training.sequence_length, "
        "raise training.global_batch_size (more replicas to shard over) or pick an accelerator "
        "with more memory"
    )
    return PlanSearch((), n_scored, 0, None, message)
