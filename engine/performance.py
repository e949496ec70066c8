"""Training step time from the layout: one model for the readouts, the CLI, the planner and F8.

Everything here is a pure function of the architecture, the accelerator's catalog figures and the
layout. The same functions take Python numbers (`evaluate`, one layout) or numpy arrays (the
planner, every layout at once): they use arithmetic and `_where`/`_max`/`_min` only, never an `if`
on a layout value. No per-run factor exists: the constants are properties of an accelerator
generation (catalog fields) or of published kernel and collective benchmarks, each with its source.

How one optimizer step is timed, on the busiest pipeline stage, one micro-batch at a time:

Per micro-batch and layer (one tensor-parallel rank; forward, backward = dgrad + wgrad):
- GEMMs: additive roofline per GEMM (Williams et al. 2009), 2MNK / R + bytes(M, N, K) / B_hbm. R is
  set so the benchmark shape of the catalog's `gemm_efficiency` reproduces it exactly, so narrower
  GEMMs (small h/t, few tokens per micro-batch) run below it: the shape term. Backward = 2 x
  forward (Narayanan et al. 2021 eq. 3). Full recompute adds one forward; selective recompute the
  attention core (Korthikanti et al. 2022 Sec. 5). FP8 (`training.precision = "fp8"`): the GEMMs
  at the FP8 dense peak x `fp8_gemm_efficiency` with 1-byte operands plus the casts of their
  inputs (Transformer Engine); attention, norms and the output head stay bf16 (Micikevicius et
  al. 2022; DeepSeek-V3 report Sec. 3.3).
- Attention core: flash attention (Dao 2023; Shah et al. 2024) runs the causal FLOPs at the
  catalog's `attention_forward_efficiency` / `attention_backward_efficiency` (backward 2.5 x the
  forward FLOPs, FlashAttention-2 Sec. 3). Without it (Megatron 2020-22) the full s x s square runs
  as batched GEMMs through the same roofline, plus the softmax, mask and dropout traffic over the
  b a/t s^2 scores (Korthikanti et al. 2022 Sec. 4.1 lists the score tensors).
- Element-wise kernels (norms, residual adds, bias-GeLU / SwiGLU, dropout, RoPE): their bytes per
  token through HBM at `HBM_EFFICIENCY`; replicated over the TP ranks unless sequence parallel
  (Korthikanti et al. 2022 Sec. 4.2.2).
- fp32 gradient accumulation of every micro-batch (Megatron "main_grad": 8 B per local parameter).
- Tensor parallelism: 2 forward and 2 backward all-reduces (or all-gather + reduce-scatter with
  sequence parallelism, the same bytes) per layer, 2 more under full recompute (Shoeybi et al.
  2019 Fig. 4; Korthikanti et al. 2022 Sec. 4.2.2); ring alpha-beta on the node's link, or the
  network when t spans nodes. Exposed unless `training.overlap_tensor_communication` (Transformer
  Engine's userbuffers overlap hides it behind the GEMMs, up to their time).
- Context parallelism (Llama 3, Dubey et al. 2024 Sec. 3.3.2): all-gather of K and V (kv-head
  width) forward, reduce-scatter of their gradients backward; each rank runs 1/cp of the tokens.
- Expert parallelism: dispatch and combine all-to-all per MoE layer, forward and backward (GShard,
  Lepikhin et al. 2020); node-limited routing caps the copies that leave the node. With
  `training.overlap_expert_communication` (DeepSeek-V3's DualPipe, report Sec. 3.2.1) they hide
  behind another micro-batch's compute, which loses the SMs given to communication (20 of 132).
- Pipeline point-to-point: activations forward, gradients backward, once per virtual stage, each
  TP rank sending 1/t (Narayanan et al. 2021 Sec. 4.1 scatter/gather).

Per step: m x T(slowest stage) + bubble + exposed data-parallel reduction + optimizer.
- Slowest stage: L/p layers plus the output head and loss on the last (Megatron's uniform split).
- Bubble of 1F1B, interleaved with v virtual stages: (p - 1) / v x T(mean stage) (Narayanan et al.
  2021 Sec. 2.2.2), the bubble fraction (p - 1) / (v m).
- Data parallelism: reduce-scatter + all-gather of the bf16 gradients (all-reduce volume),
  hierarchical (a node's DP ranks share its NICs), alpha-beta with a ring inside a node and the
  cheaper of a ring or a tree (2 log2 n latency steps, NCCL's double binary tree) across nodes.
  ZeRO 0/1: once per step, overlapped with the last micro-batch's backward (Li et al. 2020,
  PyTorch DDP); ZeRO-2: a reduce-scatter every micro-batch; ZeRO-3: weight gathers in every
  forward and backward too (Rajbhandari et al. 2020 Sec. 7.2); only the excess over the pass each
  overlaps is exposed.
- Optimizer: Adam over the local shard, memory bound, 32 B per parameter.
MFU = model FLOPs (3 x forward, `engine.flops`) x tokens/s / (accelerators x dense bf16 peak)
(Chowdhery et al. 2022, PaLM App. B), fp8 runs included, as DeepSeek-V3 and Llama report them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmscope.engine.architecture import Architecture
from llmscope.engine.parameters import ParameterCounts

# --- constants of published benchmarks (the accelerator's own figures are catalog fields) --------

# Achieved / datasheet HBM bandwidth of streaming kernels: STREAM / BabelStream copy reaches about
# 1.7 of 2.0 TB/s on A100 and 2.8-3.0 of 3.35 TB/s on H100 (~0.85).
HBM_EFFICIENCY = 0.85
# nccl-tests all_reduce_perf bus bandwidth / one direction of the link, large messages: DGX A100
# ~230-240 of 300 GB/s, DGX H100 ~360 of 450 GB/s (0.78-0.80); the lower figure for both.
LINK_EFFICIENCY = 0.78
# nccl-tests multi-node bus bandwidth / NIC line rate: HDR 200 Gb/s ~21-22 of 25 GB/s, NDR 400 Gb/s
# ~42-45 of 50 GB/s (0.85).
NETWORK_EFFICIENCY = 0.85
# Latency per collective step (nccl-tests small messages): ~8 us over NVLink, ~10 us over IB.
LINK_LATENCY_S = 8e-6
NETWORK_LATENCY_S = 10e-6
# Cards without NVLink: PCIe 4.0 x16, one direction (PCI-SIG: 16 GT/s x 16 lanes, 128b/130b).
PCIE4_X16_BYTES_S = 31.5e9
# DeepSeek-V3 technical report Sec. 3.2.2: 20 of the H800's 132 SMs run the overlapped all-to-all.
COMM_SM_FRACTION = 20 / 132
# Adam step: fp32 master, m and v read and written, gradient read, bf16 weight written ~ 32 B.
OPTIMIZER_BYTES_PER_PARAM = 32.0
# fp32 main-grad accumulation per micro-batch: 4 B read + 4 B written per local parameter.
GRAD_ACCUM_BYTES_PER_PARAM = 8.0
# Defaults for catalog entries without a GEMM benchmark: the middle of Bekman's MAMF table (ML
# Engineering, "maximum achievable matmul FLOPS": 0.51 MI300X .. 0.97 Gaudi 2 of dense peak), and
# FlashAttention-2 on A100 (Dao 2023 Fig. 4-5: forward ~0.6, backward ~0.5 of peak).
DEFAULT_GEMM_EFFICIENCY = 0.70
DEFAULT_GEMM_SHAPE = (8192, 8192, 8192)
DEFAULT_ATTENTION_FORWARD_EFFICIENCY = 0.60
DEFAULT_ATTENTION_BACKWARD_EFFICIENCY = 0.50
# FP8 relative to bf16 where a part has no fp8 figure of its own: H200 fp8 MAMF 1453 TF = 0.73
# of the 1979 TF peak against bf16's 0.84 burst (Bekman's table), ratio ~0.87.
FP8_OVER_BF16_EFFICIENCY = 0.87

RECOMPUTE_MODES: tuple[str, ...] = ("none", "selective", "full")


# --- array-or-number helpers -------------------------------------------------------------------


def _where(cond: Any, a: Any, b: Any) -> Any:
    if isinstance(cond, (bool, np.bool_)):
        return a if cond else b
    return np.where(cond, a, b)


def _max(a: Any, b: Any) -> Any:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.maximum(a, b)
    return a if a >= b else b


def _min(a: Any, b: Any) -> Any:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.minimum(a, b)
    return a if a <= b else b


def _log2_ceil(n: Any) -> Any:
    if isinstance(n, np.ndarray):
        return np.ceil(np.log2(np.maximum(n, 1)))
    return math.ceil(math.log2(max(n, 1)))


# --- the accelerator as the model sees it --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceRates:
    """One accelerator's rates, resolved from its catalog entry and the cluster's network."""

    peak_bf16: float  # dense FLOP/s
    peak_fp8: float  # dense FLOP/s (= bf16 on parts without fp8 tensor cores)
    gemm_efficiency: float
    fp8_gemm_efficiency: float
    gemm_core_bf16: float  # FLOP/s of the roofline's compute term (see `gemm_time`)
    gemm_core_fp8: float
    hbm_bytes_s: float  # achieved streaming bandwidth
    attention_forward_flops: float  # achieved FLOP/s of flash attention
    attention_backward_flops: float
    link_bytes_s: float  # achieved per direction inside a node
    network_bytes_s: float  # achieved per accelerator between nodes
    has_fp8: bool

    @property
    def ceiling_mfu(self) -> float:
        """The highest MFU the model allows: every FLOP at the GEMM benchmark's rate (bf16 peak
        as the denominator, as MFU is defined)."""
        return max(self.gemm_efficiency, self.fp8_gemm_efficiency * self.peak_fp8 / self.peak_bf16)


def _core_rate(peak: float, efficiency: float, shape: tuple[int, int, int], el: float, hbm: float):
    """The compute term's rate such that the benchmark shape's roofline time equals its measured
    time: 2MNK / (peak x efficiency) = 2MNK / core + bytes / hbm."""
    m, n, k = shape
    flops = 2.0 * m * n * k
    nbytes = el * (m * k + k * n) + 2.0 * m * n
    measured = flops / (peak * efficiency)
    # Never above the datasheet peak, whatever the benchmark shape's bytes suggest.
    return min(peak, flops / max(measured - nbytes / hbm, measured * 0.5))


def device_rates(accelerator: Any, inter_node_gbs: float) -> DeviceRates:
    """Resolve `accelerator` (an `engine.hardware.Accelerator`) into the rates the model uses."""
    peak = accelerator.bf16_tflops * 1e12
    fp8 = accelerator.fp8_tflops
    peak_fp8 = fp8 * 1e12 if fp8 else peak
    eff = accelerator.gemm_efficiency or DEFAULT_GEMM_EFFICIENCY
    eff8 = accelerator.fp8_gemm_efficiency or eff * FP8_OVER_BF16_EFFICIENCY
    shape = tuple(accelerator.gemm_efficiency_shape or DEFAULT_GEMM_SHAPE)
    hbm = accelerator.memory_bandwidth_gbs * 1e9 * HBM_EFFICIENCY
    link = accelerator.interconnect_gbs * 1e9 / 2 if accelerator.interconnect_gbs else 0.0
    link = max(link, PCIE4_X16_BYTES_S) * LINK_EFFICIENCY
    fwd = accelerator.attention_forward_efficiency or DEFAULT_ATTENTION_FORWARD_EFFICIENCY
    bwd = accelerator.attention_backward_efficiency or DEFAULT_ATTENTION_BACKWARD_EFFICIENCY
    return DeviceRates(
        peak_bf16=peak,
        peak_fp8=peak_fp8,
        gemm_efficiency=eff,
        fp8_gemm_efficiency=eff8,
        gemm_core_bf16=_core_rate(peak, eff, shape, 2.0, hbm),  # type: ignore[arg-type]
        gemm_core_fp8=_core_rate(peak_fp8, eff8, shape, 1.0, hbm),  # type: ignore[arg-type]
        hbm_bytes_s=hbm,
        attention_forward_flops=peak * fwd,
        attention_backward_flops=peak * bwd,
        link_bytes_s=link,
        network_bytes_s=inter_node_gbs * 1e9 * NETWORK_EFFICIENCY,
        has_fp8=bool(fp8),
    )


def gemm_time(dev: DeviceRates, m: Any, n: Any, k: Any, fp8: bool = False) -> Any:
    """One GEMM: 2MNK FLOPs at the compute term's rate plus its operand and result bytes at the
    achieved HBM rate (additive roofline, Williams et al. 2009). Zero for an empty GEMM."""
    core, el = (dev.gemm_core_fp8, 1.0) if fp8 else (dev.gemm_core_bf16, 2.0)
    return 2.0 * m * n * k / core + (el * (m * k + k * n) + 2.0 * m * n) / dev.hbm_bytes_s


def ring_time(nbytes: Any, n: Any, bandwidth: Any, latency: float, steps_per_rank: float) -> Any:
    """Ring collective (Thakur et al. 2005; Patarasuk & Yuan 2009): `steps_per_rank` = 2 for an
    all-reduce (2 (n-1)/n of the buffer), 1 for an all-gather or a reduce-scatter."""
    frac = (n - 1) / n
    return steps_per_rank * ((n - 1) * latency + frac * nbytes / bandwidth)


# --- the layout ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layout:
    """A training layout; each degree a number (one layout) or an integer array (the planner)."""

    tensor_parallel: Any
    pipeline_parallel: Any
    data_parallel: Any
    context_parallel: Any
    expert_parallel: Any
    virtual_stages: Any
    micro_batch_size: Any
    zero_stage: Any
    recompute: Any  # index into RECOMPUTE_MODES
    # fixed for a search
    sequence_length: int
    global_batch_size: int
    per_node: int
    sequence_parallel: bool
    flash_attention: bool
    fp8: bool
    dropout: bool
    overlap_tensor: bool
    overlap_expert: bool


@dataclass(frozen=True, slots=True)
class StepTime:
    """One optimizer step on the busiest accelerator; numbers or arrays, like the layout."""

    step_s: Any
    compute_s: Any  # GEMMs, attention, element-wise, gradient accumulation, head, optimizer
    bubble_s: Any
    tensor_parallel_s: Any  # exposed
    data_parallel_s: Any  # exposed after overlap with the last backward
    pipeline_s: Any  # point-to-point sends
    expert_s: Any  # exposed all-to-all
    context_s: Any  # K/V all-gather and reduce-scatter
    microbatches: Any
    bubble_fraction: Any  # bubble / step
    tokens_per_s: Any  # whole cluster
    tokens_per_s_per_accelerator: Any
    mfu: Any
    hfu: Any

    def parts(self) -> tuple[tuple[str, Any], ...]:
        """(name, seconds) of the step in bar order; they add up to step_s."""
        return (
            ("compute", self.compute_s),
            ("pipeline bubble", self.bubble_s),
            ("tensor parallel", self.tensor_parallel_s),
            ("data parallel", self.data_parallel_s),
            ("pipeline p2p", self.pipeline_s),
            ("expert all-to-all", self.expert_s),
            ("context parallel", self.context_s),
        )


@dataclass(frozen=True, slots=True)
class _Shapes:
    """What the formulas read from the architecture, once per call."""

    h: int
    layers: int
    moe_layers: int
    heads: int
    kv_heads: int
    d_head: int
    qk_width: int  # per layer, all heads
    v_width: int
    ffn: int
    vocab: int
    gated: bool
    rope: bool
    mla: bool
    q_lora_rank: int | None
    kv_lora_rank: int
    qk_rope_head_dim: int
    qk_nope_head_dim: int
    v_head_dim: int
    experts: int
    experts_per_token: int
    expert_ffn: int
    shared_ffn: int  # all shared experts together
    total_params: int
    expert_params: int  # routed experts, all layers
    dense_layer_params: float  # attention + MLP of one dense layer
    moe_layer_dense_params: float  # attention + shared experts + router of one MoE layer
    routed_expert_params: int  # one expert of one layer


def _shapes(arch: Architecture, params: ParameterCounts) -> _Shapes:
    heads = arch.num_attention_heads
    mla = arch.attention == "mla"
    d = arch.head_dim_effective
    qk = heads * (arch.qk_nope_head_dim + arch.qk_rope_head_dim) if mla else heads * d
    v = heads * arch.v_head_dim if mla else heads * d
    layers = arch.num_layers
    moe = arch.num_moe_layers
    attn_per_layer = params.attention / layers
    dense = layers - moe
    mlp_per_dense = params.mlp / dense if dense else 0.0
    shared_per_moe = (params.shared_experts + params.router) / moe if moe else 0.0
    return _Shapes(
        h=arch.hidden_size,
        layers=layers,
        moe_layers=moe,
        heads=heads,
        kv_heads=arch.num_kv_heads,
        d_head=d,
        qk_width=qk,
        v_width=v,
        ffn=arch.intermediate_size,
        vocab=arch.vocab_size,
        gated=arch.mlp == "gated",
        rope=arch.position_embedding == "rope",
        mla=mla,
        q_lora_rank=arch.q_lora_rank,
        kv_lora_rank=arch.kv_lora_rank,
        qk_rope_head_dim=arch.qk_rope_head_dim,
        qk_nope_head_dim=arch.qk_nope_head_dim,
        v_head_dim=arch.v_head_dim,
        experts=arch.num_experts if moe else 0,
        experts_per_token=arch.experts_per_token if moe else 0,
        expert_ffn=arch.expert_intermediate_size,
        shared_ffn=arch.num_shared_experts * arch.shared_expert_intermediate_size,
        total_params=params.total,
        expert_params=params.experts,
        dense_layer_params=attn_per_layer + mlp_per_dense,
        moe_layer_dense_params=attn_per_layer + shared_per_moe,
        routed_expert_params=params.routed_expert_params,
    )


def _link(dev: DeviceRates, crosses_nodes: Any) -> tuple[Any, Any]:
    """(bandwidth, latency) of a group: the node's link, or the network when it spans nodes."""
    bw = _where(crosses_nodes, dev.network_bytes_s, dev.link_bytes_s)
    lat = _where(crosses_nodes, NETWORK_LATENCY_S, LINK_LATENCY_S)
    return bw, lat


def _layer(sh: _Shapes, dev: DeviceRates, lay: Layout, moe: bool) -> dict[str, Any]:
    """Forward + backward seconds of one layer for one micro-batch on one rank, by part."""
    t, cp = lay.tensor_parallel, lay.context_parallel
    b, s = lay.micro_batch_size, lay.sequence_length
    e = lay.expert_parallel
    full = lay.recompute == 2
    selective = lay.recompute == 1
    h = sh.h
    fp8 = lay.fp8
    tokens = b * s / cp  # per rank: context parallelism splits the sequence
    # --- GEMMs, forward ---
    if sh.mla:
        qk = sh.qk_nope_head_dim + sh.qk_rope_head_dim
        if sh.q_lora_rank:
            g = gemm_time(dev, tokens, sh.q_lora_rank, h, fp8)
            g = g + gemm_time(dev, tokens, sh.heads * qk / t, sh.q_lora_rank, fp8)
        else:
            g = gemm_time(dev, tokens, sh.heads * qk / t, h, fp8)
        g = g + gemm_time(dev, tokens, sh.kv_lora_rank + sh.qk_rope_head_dim, h, fp8)
        g = g + gemm_time(
            dev, tokens, sh.heads * (sh.qk_nope_head_dim + sh.v_head_dim) / t, sh.kv_lora_rank, fp8
        )
        g = g + gemm_time(dev, tokens, h, sh.v_width / t, fp8)
    else:
        # K and V at kv-head width; with t above the kv heads each rank keeps a replica of one
        kv_local = _max(sh.kv_heads / t, 1.0)
        g = gemm_time(dev, tokens, (sh.heads / t + 2 * kv_local) * sh.d_head, h, fp8)
        g = g + gemm_time(dev, tokens, h, sh.qk_width / t, fp8)
    up = 2 if sh.gated else 1
    if moe:
        # tokens per local expert: the EP group's tokens x k spread over the experts (balanced)
        per_expert = tokens * e * sh.experts_per_token / sh.experts
        local = sh.experts / e
        g = g + local * (
            gemm_time(dev, per_expert, up * sh.expert_ffn / t, h, fp8)
            + gemm_time(dev, per_expert, h, sh.expert_ffn / t, fp8)
        )
        if sh.shared_ffn:
            g = g + gemm_time(dev, tokens, up * sh.shared_ffn / t, h, fp8)
            g = g + gemm_time(dev, tokens, h, sh.shared_ffn / t, fp8)
        g = g + gemm_time(dev, tokens, sh.experts, h)  # router, bf16
        ffn_tokens = sh.experts_per_token * sh.expert_ffn + sh.shared_ffn
    else:
        g = g + gemm_time(dev, tokens, up * sh.ffn / t, h, fp8)
        g = g + gemm_time(dev, tokens, h, sh.ffn / t, fp8)
        ffn_tokens = sh.ffn
    if fp8:  # casting each GEMM's bf16 input to fp8: read 2 B, write 1 B (Transformer Engine)
        g = g + 3 * tokens * (2 * h + ffn_tokens / t + sh.qk_width / t) / dev.hbm_bytes_s
    # --- attention core ---
    positions = (s + 1) / 2  # causal average
    if lay.flash_attention:
        f_fwd = 2 * (sh.qk_width + sh.v_width) / t * tokens * positions
        a_fwd = f_fwd / dev.attention_forward_flops
        a_bwd = 2.5 * f_fwd / dev.attention_backward_flops
    else:
        heads_local = sh.heads / t
        dq, dv = sh.qk_width / sh.heads, sh.v_width / sh.heads
        n_bh = b * heads_local
        a_gemm = n_bh * (gemm_time(dev, s / cp, s, dq) + gemm_time(dev, s / cp, dv, s))
        scores = n_bh * s * s / cp
        # fused scale-mask-softmax reads and writes 2 B each; dropout writes a 1 B mask, reads 2 B
        # and writes 2 B; backward: softmax grad reads y and dy, writes dx (6 B), dropout grad 5 B
        drop = 5.0 if lay.dropout else 0.0
        a_fwd = a_gemm + scores * (4.0 + drop) / dev.hbm_bytes_s
        a_bwd = 2 * a_gemm + scores * (6.0 + drop) / dev.hbm_bytes_s
    # --- element-wise: bytes per token, forward ---
    replicated = 2 * 4 * h + 2 * (7 * h if lay.dropout else 6 * h)  # two norms; adds and dropouts
    sharded = (6 if sh.gated else 4) * ffn_tokens
    if sh.rope:
        sharded += 4 * (sh.heads + sh.kv_heads) * sh.d_head
    if not lay.flash_attention:
        sharded += 12 * sh.heads * sh.d_head  # q, k, v transposes around the batched GEMMs
    rep = _where(lay.sequence_parallel, replicated / t, replicated)
    ew_fwd = tokens * (rep + sharded / t) / dev.hbm_bytes_s
    # --- gradient accumulation into fp32 main grads ---
    if moe:
        local_params = (
            sh.moe_layer_dense_params + sh.experts / e * sh.routed_expert_params
        ) / t
    else:
        local_params = sh.dense_layer_params / t
    grad_accum = GRAD_ACCUM_BYTES_PER_PARAM * local_params / dev.hbm_bytes_s
    # --- tensor parallel: 4 all-reduces (or AG + RS), 6 with full recompute ---
    tp_bw, tp_lat = _link(dev, t > lay.per_node)
    one_ar = _where(t > 1, ring_time(2.0 * tokens * h, t, tp_bw, tp_lat, 2.0), 0.0)
    n_tp = _where(full, 6, 4)
    tp = n_tp * one_ar
    # --- context parallel: K/V all-gather forward, reduce-scatter backward (and recompute) ---
    if sh.mla:
        kv_width = sh.qk_width + sh.v_width
    else:
        kv_width = 2 * sh.kv_heads * sh.d_head
    cp_bw, cp_lat = _link(dev, t * cp > lay.per_node)
    kv_bytes = 2.0 * b * s * kv_width / _min(t, _max(sh.kv_heads, 1) if not sh.mla else t)
    one_cp = _where(cp > 1, ring_time(kv_bytes, cp, cp_bw, cp_lat, 1.0), 0.0)
    cp_time = one_cp * _where(full, 3, 2)
    # --- expert all-to-all: dispatch + combine, forward and backward ---
    ep_time: Any = 0.0
    if moe:
        cross = t * e > lay.per_node
        ep_bw, ep_lat = _link(dev, cross)
        el = (1.0 if fp8 else 2.0) + 2.0  # dispatch (fp8 when training fp8) + combine (bf16)
        a2a = tokens * sh.experts_per_token * h * el * (e - 1) / e / ep_bw + (e - 1) * ep_lat / 8
        ep_time = _where(e > 1, a2a, 0.0) * _where(full, 3, 2)
    # --- sum by part, recomputation added to the backward ---
    gemm = 3 * g + _where(full, g, 0.0)
    attention = a_fwd + a_bwd + _where(full | selective, a_fwd, 0.0)
    elementwise = 3 * ew_fwd + _where(full, ew_fwd, 0.0)
    compute = gemm + attention + elementwise + grad_accum
    if lay.overlap_tensor:  # TE userbuffers: TP collectives hidden behind the GEMMs
        tp = _max(tp - gemm, 0.0)
    if moe and lay.overlap_expert:  # DualPipe: hidden behind compute that loses the comm SMs
        compute = compute / (1.0 - COMM_SM_FRACTION)
        ep_time = _max(ep_time - compute, 0.0)
    backward = 2 * g + a_bwd + 2 * ew_fwd + grad_accum
    return {"compute": compute, "tp": tp, "cp": cp_time, "ep": ep_time, "backward": backward}


def step_time(
    arch: Architecture,
    params: ParameterCounts,
    dev: DeviceRates,
    lay: Layout,
    model_flops_per_token: float,
    hardware_over_model: Any,
) -> StepTime:
    """The step of `lay` (numbers or arrays); see the module docstring for every term."""
    sh = _shapes(arch, params)
    t, p, d = lay.tensor_parallel, lay.pipeline_parallel, lay.data_parallel
    cp, e, v = lay.context_parallel, lay.expert_parallel, lay.virtual_stages
    b, s, B = lay.micro_batch_size, lay.sequence_length, lay.global_batch_size
    m = B // (b * d)
    dense_layers = sh.layers - sh.moe_layers
    names = ("compute", "tp", "cp", "ep", "backward")
    parts: dict[str, Any] = dict.fromkeys(names, 0.0)
    if dense_layers:
        dl = _layer(sh, dev, lay, moe=False)
        parts = {k: dense_layers * dl[k] for k in names}
    if sh.moe_layers:
        ml = _layer(sh, dev, lay, moe=True)
        parts = {k: parts[k] + sh.moe_layers * ml[k] for k in names}
    per_stage = {k: val / p for k, val in parts.items()}  # mean stage: L/p layers
    # output head and vocab-parallel cross entropy on the last stage (fwd + bwd, bf16, fp32 loss)
    tokens = b * s / cp
    head = 3 * gemm_time(dev, tokens, sh.vocab / t, sh.h)
    head = head + 20 * tokens * sh.vocab / t / dev.hbm_bytes_s
    # pipeline point-to-point per micro-batch: 2 sends per virtual stage boundary
    pp_bw, pp_lat = _link(dev, t * cp * p > lay.per_node)
    msg = 2.0 * tokens * sh.h / t
    pp = _where(p > 1, 2 * v * (pp_lat + msg / pp_bw), 0.0)
    comm_mb = per_stage["tp"] + per_stage["cp"] + per_stage["ep"]
    stage_mean = per_stage["compute"] + head / p + comm_mb + pp
    stage_last = per_stage["compute"] + head + comm_mb + pp
    # Narayanan et al. 2021 Sec. 2.2: bubble (p - 1) / v micro-batch times of a stage
    bubble = (p - 1) / v * stage_mean
    # --- data parallel: gradients of the stage, reduce-scatter + all-gather ---
    dense_params = (sh.total_params - sh.expert_params) / (t * p)
    expert_local = sh.expert_params / (t * p * e)
    grad_bytes = 2.0 * (dense_params + expert_local)
    group_in_node = _max(_min(lay.per_node // (t * p * cp), d), 1)
    crosses = d > group_in_node
    # hierarchical: the ranks of a node share its NICs
    dp_bw = _where(crosses, dev.network_bytes_s * group_in_node, dev.link_bytes_s)
    ring = ring_time(grad_bytes, d, dp_bw, 0.0, 2.0)
    latency = _where(
        crosses,
        NETWORK_LATENCY_S * _min(2 * (d - 1), 2 * _log2_ceil(d)),
        LINK_LATENCY_S * 2 * (d - 1),
    )
    allreduce = _where(d > 1, ring + latency, 0.0)  # reduce-scatter + all-gather of a step
    half = allreduce / 2  # one reduce-scatter or one all-gather
    backward_mb = per_stage["backward"]
    forward_mb = per_stage["compute"] - backward_mb
    zero = lay.zero_stage
    # ZeRO 0/1: once per step, overlapped with the last micro-batch's backward (PyTorch DDP).
    # ZeRO-2: the gradients are sharded, so every micro-batch reduce-scatters its own during its
    # backward; the updated weights are gathered once, before the next forward. ZeRO-3 also
    # gathers the weights in every forward and backward (Rajbhandari et al. 2020 Sec. 7.2: 1.5x
    # the volume per pass), each overlapped with the pass it feeds, only the excess exposed.
    dp_exposed = _where(
        zero <= 1,
        _max(allreduce - backward_mb, 0.0),
        _where(
            zero == 2,
            m * _max(half - backward_mb, 0.0) + _max(half - forward_mb, 0.0),
            m * (_max(half - forward_mb, 0.0) + _max(2 * half - backward_mb, 0.0)),
        ),
    )
    # --- optimizer over the local (ZeRO-sharded) parameters ---
    shard = (dense_params + expert_local) / _where(lay.zero_stage >= 1, d, 1)
    optimizer = OPTIMIZER_BYTES_PER_PARAM * shard / dev.hbm_bytes_s
    step = m * stage_last + bubble + dp_exposed + optimizer
    used = t * p * cp * d
    tokens_per_s = B * s / step
    per_acc = tokens_per_s / used
    mfu = model_flops_per_token * per_acc / dev.peak_bf16
    compute_s = m * (per_stage["compute"] + head) + optimizer
    return StepTime(
        step_s=step,
        compute_s=compute_s,
        bubble_s=bubble,
        tensor_parallel_s=m * per_stage["tp"],
        data_parallel_s=dp_exposed,
        pipeline_s=m * pp,
        expert_s=m * per_stage["ep"],
        context_s=m * per_stage["cp"],
        microbatches=m,
        bubble_fraction=bubble / step,
        tokens_per_s=tokens_per_s,
        tokens_per_s_per_accelerator=per_acc,
        mfu=mfu,
        hfu=mfu * hardware_over_model,
    )
