"""Serving under load: continuous batching, time to first token, inter-token latency, the
throughput-interactivity frontier and prices.

One replica spans `tensor_parallel` accelerators (Megatron-style sharding of every weight matrix,
Shoeybi et al. 2019) and keeps `batch_size` requests in flight. The engine runs iterations
("steps"); a step over n tokens (decode tokens plus a prefill chunk) costs the sum of its kernels,
each at its own roofline (Williams, Waterman and Patterson 2009):

    t_step(n) = t_gemm + t_attention + t_all_reduce + t_overhead
    t_gemm       = weights read(n) / (TP x BW x e_bw) + n x 2 x active matmul params / (TP x F_mm)
    t_attention  = KV bytes read / (shards x BW x e_bw) + attention FLOPs / (TP x F_attn)
    t_all_reduce = [TP > 1] 2 x layers x (alpha + 2 (TP-1)/TP x n x hidden x 2 B / busbw)
    t_overhead   = STEP_OVERHEAD_S + layers x KERNELS_PER_LAYER x KERNEL_GAP_S

- The byte and FLOP terms of a kernel are added, not maxed: a GEMM near the ridge point (a
  128-token prompt) reaches neither roof. The sharp max leaves the published A100 128-token
  TTFTs 30-45% low; the sum holds every case in tests/data/serving_benchmarks.json within 30%.
  It is the bound for a kernel whose weight streaming and math do not overlap.
- Weights read per step: every body and head weight once (the input embedding is a lookup; a
  tied table is read whole as the head). A mixture of experts reads only the experts the step's
  tokens route to: with uniform routing of k of E experts, n tokens touch E (1 - (1 - k/E)^n)
  distinct experts per MoE layer (at n = 1 exactly k; it tends to E as n grows).
- F_mm = dense datasheet peak at the compute precision x MAMF (the maximum achievable matmul
  fraction measured per accelerator) x ETA_MODEL; attention runs at the 16-bit peak whatever the
  weight precision. e_bw: achievable share of datasheet HBM bandwidth. Both are per accelerator
  generation (`GENERATIONS`); `serving.compute_efficiency` and `serving.bandwidth_efficiency`
  override them when set.
- KV cache: each request's cache is read at the mean context of its generation, prompt + output/2
  (the read is linear in context), sliding-window layers capped. K/V heads are split across ranks
  up to their count and replicated beyond (vLLM `QKVParallelLinear`); MLA's latent cannot be split
  by heads, so every rank keeps a copy.
- Expert parallelism (`serving.expert_parallel`), as engines pair it with data-parallel
  attention for MoE serving (SGLang's DP attention + EP-MoE, TensorRT-LLM's attention DP + EP,
  DeepSeek-V3 report Sec. 3.4): each rank keeps whole experts (1/TP of them) and its own requests
  with their whole KV cache (an MLA latent is then split by requests, not replicated), and a copy
  of the attention and other dense weights, which it reads every step. No all-reduce: a MoE layer
  dispatches each token's hidden state to the ranks of its k experts and combines the results,
  two all-to-alls carrying (n / TP) x hidden x 2 B x the remote ranks a token visits,
  (TP - 1)(1 - (1 - 1/TP)^k) with experts spread evenly. Routing imbalance is not modelled.

Continuous batching with chunked prefill (Yu et al. 2022, Orca; Agrawal et al. 2024,
Sarathi-Serve; vLLM and TensorRT-LLM's chunked context): a prompt of P tokens is prefilled in
ceil(P / PREFILL_CHUNK_TOKENS) chunks, each riding in an iteration with the other requests' decode
tokens. In a closed loop of B requests each finished request is replaced, so B / O prompts are
prefilled per decode iteration on average:

    inter-token latency    ITL = t_step(B) + (B / O) x prefill marginal
    tokens/s per replica       = B / ITL                (prefill's share included)
    time to first token   TTFT = [B > 1] ITL / 2        (wait for the running iteration)
                                 + chunks x t_step(chunk + B - 1 decode tokens)
                                 + the wait for a slot when B exceeds what memory holds

where the prefill marginal is what the prompt's tokens add to the iterations that carry them
(for a mixture of experts the prompts and decoders of an iteration share its expert reads: the
experts of all B (1 + P / O) tokens are read once). A static batch (TensorRT-LLM's throughput tables: B prompts, then O decode steps) takes
O t_step(B) + B x prefill marginal, the same expression, so one formula covers both.

Memory: 90% of the accelerator is usable for weights and KV (vLLM's default
gpu_memory_utilization); max batch = (usable - weights / TP) / (one sequence's KV at prompt +
output / shards). Requests beyond it queue.

Prices: a replica costs TP x price per accelerator-hour / 3600 per second. Input tokens are
charged the prefill marginal, output tokens the decode step divided by the batch; a request's
prompt and output together pay the replica's whole time. The all-in output price charges all of it
to output tokens: price / output tokens per second, what "cheapest at a speed" ranks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from llmscope.engine.architecture import Architecture
from llmscope.engine.errors import EngineInputError
from llmscope.engine.flops import attention_flops_per_token, decode_attention_flops_per_token
from llmscope.engine.memory import (
    WeightMemory,
    bytes_per_element,
    kv_cache_bytes,
    kv_elements_per_token_per_layer,
    quantized_bytes,
    weight_bytes,
)
from llmscope.engine.parameters import ParameterCounts
from llmscope.engine.scenario import ServingSetup

USABLE_MEMORY_FRACTION = 0.9
"""Share of accelerator memory for weights + KV (vLLM's default gpu_memory_utilization)."""

TIGHT_FRACTION = 0.9
"""A memory fit above this share of capacity is "tight": little room for fragmentation/spikes."""

MAX_TENSOR_PARALLEL = 2**20

FitStatus = Literal["fits", "tight", "over"]


# ---------------------------------------------------------------------------------------------
# Measured constants
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GenerationConstants:
    """Measured, public figures for one accelerator generation; fractions of the datasheet."""

    mamf_bf16: float  # maximum achievable matmul FLOP/s / dense bf16 peak
    mamf_fp8: float  # the same for fp8 (e4m3) inputs
    bandwidth_efficiency: float  # achievable HBM bandwidth / datasheet
    all_reduce_latency_s: float  # one small-message all-reduce inside the node
    all_reduce_bus_efficiency: float  # all-reduce bus bandwidth / one-direction link bandwidth
    source: str


# MAMF: Stas Bekman, "Machine Learning Engineering", compute/accelerator/README.md, "Maximum
# Achievable Matmul FLOPS comparison table" (mamf-finder.py): A100 SXM 271.2 of 312 TFLOPS bf16,
# H100 SXM 794.5 of 989 bf16 and 1402.6 of 1979 fp8, B200 1745 of 2250 bf16 and 3432.5 of 4500
# fp8, MI300X 668.4 (ROCm 6.3; 781.9 under ROCm 6.2) and MI325X at 1000 W 784.9 of 1307 bf16,
# Gaudi 3 1243 of 1677 bf16, 1289.5 of 1677 fp8. MI300X and MI325X differ in power limit (750 vs
# 1000 W), so each has its own row.
# Bandwidth: a coalesced weight stream on H100 SXM reaches 2.8 of 3.35 TB/s (84%) under Nsight
# Compute (mikamirai.com, "GPU Memory Bandwidth: What Your Profiler Isn't Telling You"); a plain
# copy on an A800 PCIe reaches 1,727 of 1,935 GB/s (89%; mli/transformers-benchmarks issue #4).
# 0.85 sits between, for the GEMV-like weight reads of decode. AMD and Intel parts are taken 5
# points lower (their stream benchmarks report ~80%; recalled, unverified).
# All-reduce latency: vLLM's custom all-reduce on H100 takes 8.5-10 us for 0.5-32 KB at TP 2/4/8
# and 24-45 us at 1 MB, NCCL more (sgl-project/sglang PR #2904 tables); 20 us is a decode-sized
# message (B x hidden x 2 B, 16-512 KB) with its launch. Bus efficiency: NVLink P2P on HGX H100
# moves 380 of 450 GB/s per direction (84%; NVIDIA/nccl issue #1264, p2pBandwidthLatencyTest);
# all-reduce bus bandwidth runs a little under P2P: 0.80 (0.78 on A100). TPUs and the fallback:
# no MAMF row exists; Hopper-like fractions are assumed and marked so.
GENERATIONS: dict[str, GenerationConstants] = {
    "ampere": GenerationConstants(0.869, 0.869, 0.85, 20e-6, 0.78, "A100 271.2/312 TF (MAMF)"),
    "hopper": GenerationConstants(
        0.803, 0.709, 0.85, 20e-6, 0.80, "H100 794.5/989 bf16, 1402.6/1979 fp8 TF (MAMF)"
    ),
    "blackwell": GenerationConstants(
        0.776, 0.763, 0.85, 20e-6, 0.80, "B200 1745/2250 bf16, 3432.5/4500 fp8 TF (MAMF)"
    ),
    "cdna3": GenerationConstants(
        0.511, 0.511, 0.80, 30e-6, 0.70, "MI300X 668.4/1307 TF (MAMF); fp8 unmeasured, bf16 used"
    ),
    "cdna3-1000w": GenerationConstants(
        0.600, 0.600, 0.80, 30e-6, 0.70, "MI325X 784.9/1307 TF (MAMF); fp8 unmeasured, bf16 used"
    ),
    "gaudi": GenerationConstants(
        0.741, 0.769, 0.80, 30e-6, 0.70, "Gaudi 3 1243/1677 bf16, 1289.5/1677 fp8 TF (MAMF)"
    ),
    "other": GenerationConstants(
        0.75, 0.70, 0.80, 30e-6, 0.70, "assumed: no published MAMF for this accelerator"
    ),
}

ACCELERATOR_GENERATION: dict[str, str] = {
    "nvidia-a100-sxm-40gb": "ampere",
    "nvidia-a100-sxm-80gb": "ampere",
    "nvidia-a800-sxm": "ampere",
    "nvidia-h100-sxm": "hopper",
    "nvidia-h100-pcie": "hopper",
    "nvidia-h800-sxm": "hopper",
    "nvidia-h200-sxm": "hopper",
    "nvidia-b200": "blackwell",
    "nvidia-gb200": "blackwell",
    "amd-mi300x": "cdna3",
    "amd-mi325x": "cdna3-1000w",
    "intel-gaudi2": "gaudi",
    "intel-gaudi3": "gaudi",
}

ETA_MODEL = 0.75
"""Share of a layer's tensor-core time that runs at MAMF: the rest is attention, norms,
activation (de)quantization and GEMM shapes off the best tile. FlashAttention-2 reaches ~73% of
the A100 peak and FlashAttention-3 ~75% of the H100 bf16 peak (Dao 2023; Shah et al. 2024), i.e.
0.85-0.9 of MAMF before the non-GEMM work. One number for every generation, chosen within that
range with the published TTFTs in view (A100 bf16 prompts fit 0.78, H100 fp8 0.65)."""

STEP_OVERHEAD_S = 1.0e-3
"""Host time per engine iteration: scheduling, input preparation, sampling. vLLM's v0.6.0
profile of Llama 3 8B on one H100 found the HTTP server (33%) and scheduling (29%) larger than the
GPU's share before its fixes (vLLM blog, "vLLM v0.6.0: 2.7x Throughput Improvement", 2024-09-05);
the C++ runtimes and multi-step scheduling bring it under a millisecond."""

KERNELS_PER_LAYER = 10
"""Kernels a transformer layer launches besides its all-reduces: 2 norms (residual add fused),
QKV GEMM, RoPE, attention, O GEMM, gate/up GEMM, activation, down GEMM, activation quantization /
KV write (TensorRT-LLM and vLLM Llama layers)."""

KERNEL_GAP_S = 3.0e-6
"""Fixed cost per kernel: launch plus the ramp and tail of a kernel that does not fill the
machine (a few microseconds under CUDA graphs; NVIDIA, "Getting Started with CUDA Graphs")."""

PREFILL_CHUNK_TOKENS = 8192
"""Tokens one iteration carries at most (TensorRT-LLM `max_num_tokens` default 8192; vLLM V1's
online `max_num_batched_tokens` 8192)."""

DEFAULT_LINK_GBS = 64.0
"""PCIe Gen4 x16 both directions, for an accelerator without a listed link."""

FRONTIER_BATCHES = 64
"""Batch sizes per tensor-parallel degree on the frontier (geometric from 1 to the max batch)."""


class AcceleratorLike(Protocol):
    """What serving needs from an accelerator (engine.hardware.Accelerator provides it)."""

    id: str
    memory_bandwidth_gbs: float
    bf16_tflops: float
    fp8_tflops: float | None
    fp32_tflops: float | None
    interconnect_gbs: float

    @property
    def memory_bytes(self) -> float: ...


def generation_constants(accelerator: AcceleratorLike) -> GenerationConstants:
    """The measured fractions for an accelerator's generation ("other" when unknown)."""
    generation = ACCELERATOR_GENERATION.get(getattr(accelerator, "id", ""), "other")
    return GENERATIONS[generation]


def fit_status(used_bytes: float, capacity_bytes: float) -> FitStatus:
    """Status: "fits" up to TIGHT_FRACTION of capacity, "tight" up to capacity, "over" beyond."""
    if used_bytes <= TIGHT_FRACTION * capacity_bytes:
        return "fits"
    if used_bytes <= capacity_bytes:
        return "tight"
    return "over"


def compute_dtype(weight_dtype: str, has_fp8: bool) -> str:
    """Precision the matmuls run at: fp8 weights on fp8 tensor cores where the accelerator has
    them (W8A8, as TensorRT-LLM serves); weight-only int8/int4 (GPTQ, AWQ) dequantize to bf16;
    fp32 at the fp32 peak."""
    if weight_dtype == "fp8" and has_fp8:
        return "fp8"
    if weight_dtype == "fp32":
        return "fp32"
    return "bf16"


def peak_flops_for(accelerator: AcceleratorLike, dtype: str) -> float:
    """Dense peak FLOP/s at a compute precision (datasheet dense tensor throughput)."""
    if dtype == "fp8" and accelerator.fp8_tflops:
        return accelerator.fp8_tflops * 1e12
    if dtype == "fp32" and accelerator.fp32_tflops:
        return accelerator.fp32_tflops * 1e12
    if not accelerator.bf16_tflops:
        name = getattr(accelerator, "id", "the accelerator")
        raise EngineInputError(
            f"cluster.accelerator: {name} has no dense bf16/fp16 throughput in the catalog, "
            "which serving needs; add bf16_tflops in a user catalog"
        )
    return accelerator.bf16_tflops * 1e12


def kv_shards(arch: Architecture, tensor_parallel: int | np.ndarray) -> int | np.ndarray:
    """Ways the KV cache is split across a replica's accelerators under tensor parallelism (see
    module docstring): by KV heads, an MLA latent not at all. `tensor_parallel` may be an array."""
    if arch.attention == "mla":
        return 1 + 0 * tensor_parallel
    return np.minimum(tensor_parallel, arch.num_kv_heads)


def serving_weight_memory(params: ParameterCounts, setup: ServingSetup) -> WeightMemory:
    """The weights at the serving precisions (`engine.memory.weight_bytes`)."""
    return weight_bytes(
        params,
        setup.weight_dtype,
        setup.embedding_dtype,
        setup.head_dtype,
        setup.quant_group_size,
        setup.quant_scale_bytes,
    )


def _dense_and_expert_bytes(
    params: ParameterCounts, setup: ServingSetup, arch: Architecture, weights: WeightMemory
) -> tuple[float, float]:
    """(bytes every step reads, bytes of all routed experts), whole replica."""
    read = weights.body_bytes + weights.head_bytes
    if arch.tie_word_embeddings:
        read += weights.embedding_bytes  # the tied table is read whole as the output head
    experts = 0.0
    if arch.is_moe:
        experts = quantized_bytes(
            params.experts, setup.weight_dtype, setup.quant_group_size, setup.quant_scale_bytes
        )
    return read, experts


def smallest_tensor_parallel(
    weights_bytes: float, kv_bytes: float, arch: Architecture, usable_bytes: float
) -> int | None:
    """The smallest power-of-two TP whose per-accelerator weights + KV fit `usable_bytes`."""
    tp = 1
    while tp <= MAX_TENSOR_PARALLEL:
        if weights_bytes / tp + kv_bytes / kv_shards(arch, tp) <= usable_bytes:
            return tp
        tp *= 2
    return None


def _kv_positions(arch: Architecture, context: float) -> float:
    """Cached positions over all layers at a (possibly fractional) context, windows applied."""
    sliding = arch.num_sliding_window_layers
    window = arch.sliding_window or context
    return (arch.num_layers - sliding) * context + sliding * min(context, window)


def _kv_read(arch: Architecture, batch: int, context: float, kv_dtype: str) -> float:
    """KV bytes a decode step reads at a mean context (`kv_cache_bytes` at whole tokens)."""
    per_layer = kv_elements_per_token_per_layer(arch) * bytes_per_element(kv_dtype)
    return batch * per_layer * _kv_positions(arch, context)


@dataclass(frozen=True, slots=True)
class _PerTensorParallel:
    """Step coefficients at one (array of) tensor-parallel degree(s), per accelerator."""

    dense_bytes: np.ndarray  # weights every step reads, whatever the routing
    expert_bytes: np.ndarray  # all routed experts' bytes on this accelerator
    kv_s_per_byte: np.ndarray  # 1 / (KV shards x achievable bandwidth), whole-replica bytes
    matmul_s_per_token: np.ndarray
    attention_s_per_flop: np.ndarray  # whole-replica FLOPs
    communication_s: np.ndarray  # latency part per step
    communication_s_per_token: np.ndarray
    max_batch: np.ndarray  # ServingModel.max_batch at this degree


# ---------------------------------------------------------------------------------------------
# The model, on arrays: tensor parallel and batch broadcast (evaluate passes scalars, the
# frontier a grid)
# ---------------------------------------------------------------------------------------------


class ServingModel:
    """Everything that does not depend on the tensor-parallel degree or the batch, computed once."""

    def __init__(
        self,
        arch: Architecture,
        params: ParameterCounts,
        setup: ServingSetup,
        accelerator: AcceleratorLike,
    ) -> None:
        consts = generation_constants(accelerator)
        self.arch = arch
        self.dtype = compute_dtype(setup.weight_dtype, bool(accelerator.fp8_tflops))
        self.peak = peak_flops_for(accelerator, self.dtype)
        peak_16 = peak_flops_for(accelerator, "bf16")
        mamf = consts.mamf_fp8 if self.dtype == "fp8" else consts.mamf_bf16
        if setup.compute_efficiency is None:
            self.matmul_flops_s = self.peak * mamf * ETA_MODEL
            self.attention_flops_s = peak_16 * consts.mamf_bf16 * ETA_MODEL
        else:
            self.matmul_flops_s = self.peak * setup.compute_efficiency
            self.attention_flops_s = peak_16 * setup.compute_efficiency
        bandwidth_efficiency = (
            consts.bandwidth_efficiency
            if setup.bandwidth_efficiency is None
            else setup.bandwidth_efficiency
        )
        self.bandwidth = accelerator.memory_bandwidth_gbs * 1e9 * bandwidth_efficiency
        link = getattr(accelerator, "interconnect_gbs", None) or DEFAULT_LINK_GBS
        self.bus_bandwidth = link * 1e9 / 2.0 * consts.all_reduce_bus_efficiency
        self.all_reduce_latency_s = consts.all_reduce_latency_s
        self.usable = USABLE_MEMORY_FRACTION * accelerator.memory_bytes

        self.weight_memory = serving_weight_memory(params, setup)
        self.weights = self.weight_memory.total_bytes
        self.dense_read, self.expert_bytes = _dense_and_expert_bytes(
            params, setup, arch, self.weight_memory
        )
        self.matmul_flops_per_token = 2.0 * params.active_matmul
        self.layers = arch.num_layers
        self.moe_layers = params.num_moe_layers if arch.is_moe else 0
        self.expert_parallel = setup.expert_parallel and arch.is_moe
        self.hidden = arch.hidden_size

        prompt, output = setup.prompt_tokens, setup.output_tokens
        self.prompt, self.output = float(prompt), float(output)
        self.kv_sequence = kv_cache_bytes(arch, 1, prompt + output, setup.kv_dtype)
        self.decode_context = prompt + output / 2.0
        self.kv_per_request = _kv_read(arch, 1, self.decode_context, setup.kv_dtype)
        self.attention_per_request = decode_attention_flops_per_token(arch, self.decode_context)
        self.chunks = float(math.ceil(prompt / PREFILL_CHUNK_TOKENS))
        self.chunk_tokens = prompt / self.chunks
        # Per chunk: the prompt's causal attention, and its K/V written then read back.
        self.chunk_attention = attention_flops_per_token(arch, prompt) * prompt / self.chunks
        self.chunk_kv = kv_cache_bytes(arch, 1, prompt, setup.kv_dtype)
        self.prefill_flops = prompt * (
            self.matmul_flops_per_token + attention_flops_per_token(arch, prompt)
        )
        self.fixed_step_s = STEP_OVERHEAD_S + self.layers * KERNELS_PER_LAYER * KERNEL_GAP_S

    def shards(self, tp: np.ndarray) -> np.ndarray:
        """Ways the KV cache is split: by KV heads under TP (an MLA latent not at all), by
        requests under expert parallelism's data-parallel attention."""
        return tp if self.expert_parallel else kv_shards(self.arch, tp)

    def weights_per_accelerator(self, tp: np.ndarray) -> np.ndarray:
        if self.expert_parallel:  # dense weights replicated, experts split
            return self.weights - self.expert_bytes + self.expert_bytes / tp
        return self.weights / tp

    def max_batch(self, tp: np.ndarray) -> np.ndarray:
        """Sequences at prompt + output whose KV fits beside the weights (0: not even one)."""
        budget = np.maximum(self.usable - self.weights_per_accelerator(tp), 0.0)
        return np.floor(budget / (self.kv_sequence / self.shards(tp)))

    def weights_read(self, tokens: np.ndarray) -> np.ndarray:
        """Weight bytes a step over `tokens` tokens reads, whole replica (TP sharding): every
        dense weight, and of the routed experts the share those tokens touch."""
        untouched = 1.0 - self.experts_touched(tokens)
        return self.dense_read - self.expert_bytes * untouched + 0.0 * tokens

    def experts_touched(self, tokens: np.ndarray) -> np.ndarray | float:
        """Expected share of routed experts n tokens touch, 1 - (1 - k/E)^n (0 for no experts:
        the term it multiplies is zero then)."""
        if not self.expert_bytes:
            return 0.0
        miss = 1.0 - self.arch.experts_per_token / self.arch.num_experts
        return 1.0 - miss ** np.maximum(tokens, 1.0)

    def _per_tp(self, tp: np.ndarray) -> _PerTensorParallel:
        """The coefficients of a step that depend on the tensor-parallel degree alone, so a
        step is a handful of array operations (the frontier evaluates hundreds at once)."""
        multi = tp > 1
        # Communication: tensor parallel, two all-reduces per layer of n x hidden x 2 B (a ring
        # moves 2 (TP-1)/TP of it); expert parallel, a dispatch and a combine all-to-all per MoE
        # layer (module docstring). Latency + bytes over the bus bandwidth, nothing on one rank.
        if self.expert_parallel:  # dense weights replicated, experts split
            dense_bytes = (self.dense_read - self.expert_bytes) * np.ones_like(tp)
            k = self.arch.experts_per_token
            remote_ranks = (tp - 1.0) * (1.0 - (1.0 - 1.0 / tp) ** k)
            latency = self.moe_layers * 2.0 * self.all_reduce_latency_s
            per_token = self.moe_layers * 2.0 * self.hidden * 2.0 / tp * remote_ranks
        else:  # two all-reduces per layer, after attention and after the MLP
            dense_bytes = (self.dense_read - self.expert_bytes) / tp
            latency = 2.0 * self.layers * self.all_reduce_latency_s
            per_token = 2.0 * self.layers * 2.0 * (tp - 1.0) / tp * self.hidden * 2.0
        return _PerTensorParallel(
            dense_bytes=dense_bytes,
            expert_bytes=self.expert_bytes / tp,
            kv_s_per_byte=1.0 / (self.shards(tp) * self.bandwidth),
            matmul_s_per_token=self.matmul_flops_per_token / (self.matmul_flops_s * tp),
            attention_s_per_flop=1.0 / (self.attention_flops_s * tp),
            communication_s=np.where(multi, latency, 0.0),
            communication_s_per_token=np.where(multi, per_token / self.bus_bandwidth, 0.0),
            max_batch=self.max_batch(tp),
        )

    def step_s(
        self,
        c: _PerTensorParallel,
        tokens: np.ndarray,
        kv_bytes: np.ndarray,
        attention: np.ndarray,
        weight_tokens: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(step time, its byte terms, its FLOP terms) for one iteration over `tokens` tokens
        with whole-replica KV bytes and attention FLOPs; `weight_tokens` (default `tokens`) are
        the tokens whose routing decides which experts are read."""
        routed = tokens if weight_tokens is None else weight_tokens
        weights = c.dense_bytes + c.expert_bytes * self.experts_touched(routed)
        memory = weights / self.bandwidth + kv_bytes * c.kv_s_per_byte
        compute = tokens * c.matmul_s_per_token + attention * c.attention_s_per_flop
        total = (
            memory
            + compute
            + c.communication_s
            + tokens * c.communication_s_per_token
            + self.fixed_step_s
        )
        return total, memory, compute

    def at(
        self,
        tp: np.ndarray,
        batch: np.ndarray,
        full: bool = True,
        per_tp: _PerTensorParallel | None = None,
    ) -> dict[str, np.ndarray]:
        """Every figure at tensor-parallel degree(s) `tp` and requests in flight `batch`;
        `full=False` leaves out the idle prefill and the per-request figures (the frontier);
        `per_tp`, the coefficients at `tp` when the caller has them already."""
        tp, asked = np.asarray(tp, float), np.asarray(batch, float)  # they broadcast
        c = per_tp if per_tp is not None else self._per_tp(tp)
        max_batch = c.max_batch
        running = np.clip(asked, 1.0, np.maximum(max_batch, 1.0))
        decode_s, memory_s, compute_s = self.step_s(
            c, running, running * self.kv_per_request, running * self.attention_per_request
        )

        def with_chunk(decoders: np.ndarray, weight_tokens: np.ndarray | None = None):
            return self.step_s(
                c,
                self.chunk_tokens + decoders,
                decoders * self.kv_per_request + self.chunk_kv,
                decoders * self.attention_per_request + self.chunk_attention,
                weight_tokens,
            )[0]

        prefill_alone = self.chunks * with_chunk(0.0 * tp) if full else None
        # The B / O prompts of an iteration share its weight reads with the decoders: a mixture
        # of experts reads the distinct experts of all B (1 + P / O) tokens once, not one
        # prompt's extra experts B / O times over (dense weights are read once either way).
        prompts = running / self.output
        others = self.chunks * (with_chunk(running, weight_tokens=running) - decode_s)
        shared_weights = (
            c.expert_bytes
            * (
                self.experts_touched(running * (1.0 + self.prompt / self.output))
                - self.experts_touched(running)
            )
            / self.bandwidth
        )
        itl = decode_s + prompts * others + shared_weights
        prefill_marginal = (itl - decode_s) / prompts  # what one prompt adds, per prompt
        ride = np.where(running > 1, 0.5 * itl, 0.0)
        first_token = ride + self.chunks * with_chunk(running - 1.0)
        if not full:
            return {"itl_s": itl, "ttft_s": first_token, "per_replica": running / itl}
        request_s = first_token + (self.output - 1.0) * itl
        queue_s = np.maximum(asked - running, 0.0) / running * request_s
        return {
            "tp": tp,
            "batch": asked,
            "running": running,
            "max_batch": max_batch,
            "decode_step_s": decode_s,
            "decode_memory_s": memory_s,
            "decode_compute_s": compute_s,
            "prefill_s": prefill_alone,
            "prefill_marginal_s": prefill_marginal,
            "itl_s": itl,
            "ttft_s": first_token + queue_s,
            "request_s": request_s + queue_s,
            "per_replica": running / itl,
        }


# ---------------------------------------------------------------------------------------------
# One scenario's point
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServingEconomics:
    """Serving one replica at the scenario's concurrency (module docstring has every formula)."""

    tensor_parallel: int  # accelerators per replica these numbers use: max(requested, needed)
    tensor_parallel_requested: int
    tensor_parallel_needed: int | None  # smallest power of two holding weights + one sequence
    compute_dtype: str
    peak_flops_per_accelerator: float
    matmul_flops_per_s: float  # achieved GEMM rate per accelerator (peak x MAMF x ETA_MODEL)
    bandwidth_bytes_per_s: float  # achieved memory bandwidth per accelerator
    weights_bytes: float  # whole model at serving precision
    weights_bytes_per_accelerator: float
    kv_bytes_per_sequence: float  # one sequence at prompt + output tokens, whole replica
    kv_budget_bytes_per_accelerator: float
    max_batch: int  # sequences at prompt + output that fit the KV budget
    batch_running: int  # requests decoding at once: min(batch, max batch), at least 1
    prefill_flops: float  # one request's prompt
    prefill_s: float  # one prompt alone on an idle replica
    ttft_s: float  # at this concurrency: slot wait, riding iterations, queue
    decode_context_tokens: float
    decode_weight_bytes_read: float  # per step, whole replica
    decode_kv_bytes_read: float  # per step, whole batch
    decode_memory_s: float
    decode_compute_s: float
    decode_step_s: float  # one pure decode iteration at the running batch
    decode_s_per_token: float  # inter-token latency, prefill's share included
    decode_bound: Literal["memory", "compute"]
    decode_tokens_per_s: float  # per user (sequence)
    tokens_per_s_per_replica: float  # output tokens, whole batch, prefill time included
    tokens_per_s_per_accelerator: float
    request_latency_s: float  # TTFT + (output - 1) x inter-token latency
    price_usd_per_hour: float | None
    price_source: str
    usd_per_million_input_tokens: float | None
    usd_per_million_output_tokens: float | None
    usd_per_million_output_tokens_all_in: float | None  # the replica's whole time on output
    replicas_for_target_load: int
    accelerators_for_target_load: int


def serving_economics(
    arch: Architecture,
    params: ParameterCounts,
    setup: ServingSetup,
    accelerator: AcceleratorLike,
    price_usd_per_hour: float | None,
    price_source: str = "scenario",
    model: ServingModel | None = None,
) -> ServingEconomics:
    """Evaluate the continuous-batching model at the scenario's TP and batch."""
    m = model or ServingModel(arch, params, setup, accelerator)
    needed = smallest_tensor_parallel(m.weights, m.kv_sequence, arch, m.usable)
    tp = max(setup.tensor_parallel, needed or 1)
    r = {k: float(v) for k, v in m.at(np.float64(tp), np.float64(setup.batch_size)).items()}
    running = int(r["running"])
    itl = r["itl_s"]
    per_replica = r["per_replica"]

    if price_usd_per_hour is None:
        usd_in = usd_out = usd_all = None
        price_source = "none"
    else:
        replica_usd_per_s = tp * price_usd_per_hour / 3600.0
        usd_in = replica_usd_per_s * r["prefill_marginal_s"] / setup.prompt_tokens * 1e6
        usd_out = replica_usd_per_s * r["decode_step_s"] / running * 1e6
        usd_all = replica_usd_per_s / per_replica * 1e6
    requests_per_s = per_replica / setup.output_tokens
    replicas = max(1, math.ceil(setup.target_requests_per_s / requests_per_s * (1 - 1e-12)))

    return ServingEconomics(
        tensor_parallel=tp,
        tensor_parallel_requested=setup.tensor_parallel,
        tensor_parallel_needed=needed,
        compute_dtype=m.dtype,
        peak_flops_per_accelerator=m.peak,
        matmul_flops_per_s=m.matmul_flops_s,
        bandwidth_bytes_per_s=m.bandwidth,
        weights_bytes=m.weights,
        weights_bytes_per_accelerator=float(m.weights_per_accelerator(np.float64(tp))),
        kv_bytes_per_sequence=m.kv_sequence,
        kv_budget_bytes_per_accelerator=max(
            0.0, m.usable - float(m.weights_per_accelerator(np.float64(tp)))
        ),
        max_batch=int(r["max_batch"]),
        batch_running=running,
        prefill_flops=m.prefill_flops,
        prefill_s=r["prefill_s"],
        ttft_s=r["ttft_s"],
        decode_context_tokens=m.decode_context,
        decode_weight_bytes_read=float(m.weights_read(np.float64(running))),
        decode_kv_bytes_read=running * m.kv_per_request,
        decode_memory_s=r["decode_memory_s"],
        decode_compute_s=r["decode_compute_s"],
        decode_step_s=r["decode_step_s"],
        decode_s_per_token=itl,
        decode_bound="memory" if r["decode_memory_s"] >= r["decode_compute_s"] else "compute",
        decode_tokens_per_s=1.0 / itl,
        tokens_per_s_per_replica=per_replica,
        tokens_per_s_per_accelerator=per_replica / tp,
        request_latency_s=r["request_s"],
        price_usd_per_hour=price_usd_per_hour,
        price_source=price_source,
        usd_per_million_input_tokens=usd_in,
        usd_per_million_output_tokens=usd_out,
        usd_per_million_output_tokens_all_in=usd_all,
        replicas_for_target_load=replicas,
        accelerators_for_target_load=replicas * tp,
    )


# ---------------------------------------------------------------------------------------------
# The frontier: output tokens/s per accelerator against tokens/s per user
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FrontierPoint:
    tensor_parallel: int
    batch: int
    tokens_per_s_per_user: float
    tokens_per_s_per_accelerator: float
    ttft_s: float
    usd_per_million_output_tokens_all_in: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        return {name: getattr(self, name) for name in self.__slots__}


FRONTIER_POINT_KEYS = tuple(FrontierPoint.__slots__)
_FRONTIER_STEPS = np.linspace(0.0, 1.0, FRONTIER_BATCHES)[None, :]


@dataclass(frozen=True, slots=True)
class ServingFrontier:
    """Per tensor-parallel degree (powers of two within a node that divide the attention heads
    and hold the weights plus one sequence), the batch sizes from 1 to the max batch. One entry
    per point in each column, by TP then batch (plain tuples: cheap to build, comparable)."""

    tensor_parallel_degrees: tuple[int, ...]
    tensor_parallel: tuple[int, ...]
    batch: tuple[int, ...]
    tokens_per_s_per_user: tuple[float, ...]
    tokens_per_s_per_accelerator: tuple[float, ...]
    ttft_s: tuple[float, ...]
    usd_per_million_output_tokens_all_in: tuple[float, ...] | None  # None without a price
    min_tokens_per_s_per_user: float
    best_at_target: FrontierPoint | None  # most output tokens/s per accelerator at the target

    @property
    def points(self) -> tuple[FrontierPoint, ...]:
        usd = self.usd_per_million_output_tokens_all_in or (None,) * len(self.batch)
        return tuple(
            FrontierPoint(*row)
            for row in zip(
                self.tensor_parallel,
                self.batch,
                self.tokens_per_s_per_user,
                self.tokens_per_s_per_accelerator,
                self.ttft_s,
                usd,
            )
        )

    def curve(self, tensor_parallel: int) -> tuple[FrontierPoint, ...]:
        return tuple(p for p in self.points if p.tensor_parallel == tensor_parallel)


_EMPTY: tuple = ()


def frontier_tensor_parallel_degrees(
    arch: Architecture, per_node: int, model: ServingModel
) -> tuple[int, ...]:
    """Powers of two up to the node size that divide the attention heads (Megatron splits heads
    evenly) and hold the weights plus one sequence."""
    powers = [1 << i for i in range(max(1, per_node).bit_length()) if (1 << i) <= per_node]
    candidates = [tp for tp in powers if arch.num_attention_heads % tp == 0]
    if not candidates:
        return ()
    fits = model.max_batch(np.asarray(candidates, float)) >= 1
    return tuple(tp for tp, ok in zip(candidates, fits.tolist()) if ok)


def serving_frontier(
    arch: Architecture,
    params: ParameterCounts,
    setup: ServingSetup,
    accelerator: AcceleratorLike,
    price_usd_per_hour: float | None,
    per_node: int,
    model: ServingModel | None = None,
) -> ServingFrontier:
    """The throughput-interactivity frontier and the cheapest point at the per-user target.

    Cheapest = most output tokens/s per accelerator (prefill included): the all-in price per
    output token is the accelerator price over that, whatever the price. Per-user speed falls and
    throughput rises with the batch, so at each TP the best is the largest batch still at the
    target: found on the 64-point grid, then refined over the bracketing interval."""
    m = model or ServingModel(arch, params, setup, accelerator)
    target = setup.min_tokens_per_s_per_user
    degrees = frontier_tensor_parallel_degrees(arch, per_node, m)
    if not degrees:
        return ServingFrontier((), _EMPTY, _EMPTY, _EMPTY, _EMPTY, _EMPTY, None, target, None)
    rows = np.arange(len(degrees))
    tps = np.asarray(degrees, float)[:, None]
    per_tp = m._per_tp(tps)  # shared by the grid and the refinement
    top = np.maximum(per_tp.max_batch, 1.0)
    steps = _FRONTIER_STEPS
    batches = np.round(top**steps)  # geometric, 1 .. max batch, per TP
    grid = m.at(tps, batches, full=False, per_tp=per_tp)  # batches <= max batch: no queue
    speed = 1.0 / grid["itl_s"]
    per_acc = grid["per_replica"] / tps
    rate = None if price_usd_per_hour is None else tps * price_usd_per_hour / 3600.0

    # One point per distinct batch (rounding repeats the small ones).
    keep = np.ones_like(batches, dtype=bool)
    keep[:, 1:] = batches[:, 1:] != batches[:, :-1]
    usd = None if rate is None else tuple((rate / grid["per_replica"] * 1e6)[keep].tolist())
    columns = (
        tuple(np.broadcast_to(tps, batches.shape)[keep].astype(int).tolist()),
        tuple(batches[keep].astype(int).tolist()),
        tuple(speed[keep].tolist()),
        tuple(per_acc[keep].tolist()),
        tuple(grid["ttft_s"][keep].tolist()),
        usd,
    )

    # Refine: at each TP the largest batch at the target lies between the last grid batch that
    # meets it and the next one.
    meets = speed >= target
    best = None
    if meets.any():
        last = FRONTIER_BATCHES - 1 - np.argmax(meets[:, ::-1], axis=1)
        low = batches[rows, last]
        high = batches[rows, np.minimum(last + 1, FRONTIER_BATCHES - 1)]
        fine = np.round(low[:, None] + (high - low)[:, None] * steps)
        refined = m.at(tps, fine, full=False, per_tp=per_tp)
        fine_speed = 1.0 / refined["itl_s"]
        ok = (fine_speed >= target) & meets.any(axis=1)[:, None]
        fine_acc = np.where(ok, refined["per_replica"] / tps, -1.0)
        i, j = np.unravel_index(np.argmax(fine_acc), fine_acc.shape)
        if fine_acc[i, j] >= 0:
            best = FrontierPoint(
                degrees[i],
                int(fine[i, j]),
                float(fine_speed[i, j]),
                float(fine_acc[i, j]),
                float(refined["ttft_s"][i, j]),
                None if rate is None else float(rate[i, 0] / refined["per_replica"][i, j] * 1e6),
            )
    return ServingFrontier(degrees, *columns, target, best)
