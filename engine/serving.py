"""Serving as a roofline: prefill, time to first token, decode speed, batch limits and prices.

The model: one replica spans `tensor_parallel` accelerators (Megatron-style sharding of every
weight matrix, Shoeybi et al. 2019). Each phase takes the longer of its compute time and its memory
time (the roofline model, Williams, Waterman and Patterson 2009):

- Prefill of a P-token prompt: P x forward FLOPs per token (attention averaged over the causal
  prompt, `engine.flops`) / (TP x peak x prefill efficiency), floored by one read of the weights.
  Time to first token is that prefill time: the first token comes out of the prefill's last logits
  (queueing and network time are not modelled).
- Decode step at batch B: memory time = (weights read + KV cache read) / (bandwidth x efficiency)
  per accelerator, compute time = B x decode FLOPs per token / (TP x peak x decode efficiency);
  the step takes the larger. This is the standard decode roofline (Pope et al. 2022, "Efficiently
  Scaling Transformer Inference", Sec. 2; Kim et al. 2023, "Full Stack Optimization of
  Transformer Inference: a Survey"). The step is evaluated at the mean context of the generation,
  prompt + output / 2, where the KV read (linear in context) takes its mean value.
- Weights read per decode step: the input embedding is a table lookup (B rows, negligible), so it is
  not read whole; a tied table is read as the output head. In a mixture of experts only the experts
  some token in the batch routes to are read: with uniform routing of k of E experts, the expected
  fraction touched is 1 - (1 - k/E)^B (at B = 1 exactly k/E; it tends to 1 as B grows).
- KV cache under tensor parallelism: K/V heads are split across ranks, and replicated when TP
  exceeds the KV-head count (vLLM `QKVParallelLinear`, num_kv_head_replicas; Megatron-LM GQA);
  MLA's compressed latent is shared by all heads, so tensor parallelism cannot split it and every
  rank keeps a copy (the duplication SGLang's data-parallel attention for DeepSeek models, v0.4
  release notes, exists to avoid).
- Compute precision: fp8 weights run on fp8 tensor cores where the accelerator has them (W8A8 FP8,
  as DeepSeek-V3 and TensorRT-LLM serve); weight-only int8/int4 quantization (GPTQ, AWQ)
  dequantizes to bf16 before the matmul, so it computes at the bf16 peak; fp32 at the fp32 peak.
- Memory budget: 90% of the accelerator's memory is usable for weights and KV cache, the rest for
  activations, CUDA graphs and the allocator; vLLM's default `gpu_memory_utilization` is 0.9.
- Prices: replica cost per second = TP x price per accelerator-hour / 3600. Input tokens are
  charged the prefill's compute time per token (prefill is batched in a busy server, so compute
  bound); output tokens the decode step time divided by the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

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


class AcceleratorLike(Protocol):
    """What serving needs from an accelerator (engine.hardware.Accelerator provides it)."""

    memory_bandwidth_gbs: float
    bf16_tflops: float
    fp8_tflops: float | None
    fp32_tflops: float

    @property
    def memory_bytes(self) -> float: ...


def fit_status(used_bytes: float, capacity_bytes: float) -> FitStatus:
    """Status: "fits" up to TIGHT_FRACTION of capacity, "tight" up to capacity, "over" beyond."""
    if used_bytes <= TIGHT_FRACTION * capacity_bytes:
        return "fits"
    if used_bytes <= capacity_bytes:
        return "tight"
    return "over"


def compute_dtype(weight_dtype: str, has_fp8: bool) -> str:
    """Precision the matmuls run at for a weight precision (see module docstring)."""
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


def kv_shards(arch: Architecture, tensor_parallel: int) -> int:
    """Ways the KV cache is split across a replica's accelerators (see module docstring)."""
    if arch.attention == "mla":
        return 1
    return min(tensor_parallel, arch.num_kv_heads)


def expert_fraction_read(arch: Architecture, tokens_in_step: int) -> float:
    """Expected share of routed experts a step of `tokens_in_step` tokens touches, uniform
    routing: 1 - (1 - k/E)^B. 1 for a dense model (no routed experts)."""
    if not arch.is_moe:
        return 1.0
    miss = 1.0 - arch.experts_per_token / arch.num_experts
    return 1.0 - miss ** max(1, tokens_in_step)


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


def weight_bytes_read(
    params: ParameterCounts,
    setup: ServingSetup,
    arch: Architecture,
    tokens_in_step: int,
    weights: WeightMemory | None = None,
) -> float:
    """Bytes of weights one forward step over `tokens_in_step` tokens reads from memory
    (`weights`: the serving weights, if already computed)."""
    if weights is None:
        weights = serving_weight_memory(params, setup)
    read = weights.body_bytes + weights.head_bytes
    if arch.tie_word_embeddings:
        read += weights.embedding_bytes  # the tied table is read whole as the output head
    if arch.is_moe:
        experts = quantized_bytes(
            params.experts, setup.weight_dtype, setup.quant_group_size, setup.quant_scale_bytes
        )
        read -= experts * (1.0 - expert_fraction_read(arch, tokens_in_step))
    return read


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


@dataclass(frozen=True, slots=True)
class ServingEconomics:
    """Serving one replica of the model, per the roofline in the module docstring."""

    tensor_parallel: int  # accelerators per replica these numbers use: max(requested, needed)
    tensor_parallel_requested: int
    tensor_parallel_needed: int | None  # smallest power of two holding weights + one sequence
    compute_dtype: str
    peak_flops_per_accelerator: float
    weights_bytes: float  # whole model at serving precision
    weights_bytes_per_accelerator: float
    kv_bytes_per_sequence: float  # one sequence at prompt + output tokens, whole replica
    kv_budget_bytes_per_accelerator: float
    max_batch: int  # sequences at prompt + output that fit the KV budget
    prefill_flops: float  # one request's prompt
    prefill_s: float
    ttft_s: float
    decode_context_tokens: float
    decode_weight_bytes_read: float  # per step, whole replica
    decode_kv_bytes_read: float  # per step, whole batch
    decode_memory_s: float
    decode_compute_s: float
    decode_s_per_token: float
    decode_bound: Literal["memory", "compute"]
    decode_tokens_per_s: float  # per user (sequence)
    tokens_per_s_per_replica: float  # output tokens, whole batch
    tokens_per_s_per_accelerator: float
    request_latency_s: float  # TTFT + output tokens x decode step
    price_usd_per_hour: float | None
    price_source: str
    usd_per_million_input_tokens: float | None
    usd_per_million_output_tokens: float | None
    replicas_for_target_load: int
    accelerators_for_target_load: int


def serving_economics(
    arch: Architecture,
    params: ParameterCounts,
    setup: ServingSetup,
    accelerator: AcceleratorLike,
    price_usd_per_hour: float | None,
    price_source: str = "scenario",
) -> ServingEconomics:
    """Evaluate the serving roofline for one replica (see module docstring for every formula)."""
    capacity = accelerator.memory_bytes
    usable = USABLE_MEMORY_FRACTION * capacity
    bandwidth = accelerator.memory_bandwidth_gbs * 1e9 * setup.bandwidth_efficiency
    dtype = compute_dtype(setup.weight_dtype, bool(accelerator.fp8_tflops))
    peak = peak_flops_for(accelerator, dtype)

    weight_memory = serving_weight_memory(params, setup)
    weights = weight_memory.total_bytes
    full_context = setup.prompt_tokens + setup.output_tokens
    kv_sequence = kv_cache_bytes(arch, 1, full_context, setup.kv_dtype)
    needed = smallest_tensor_parallel(weights, kv_sequence, arch, usable)
    tp = max(setup.tensor_parallel, needed or 1)
    shards = kv_shards(arch, tp)
    weights_per_acc = weights / tp
    kv_budget = max(0.0, usable - weights_per_acc)
    max_batch = int(kv_budget // (kv_sequence / shards))

    # Prefill: one request's prompt, compute-bound, floored by one pass over the weights.
    prompt = setup.prompt_tokens
    matmul_flops = 2.0 * params.active_matmul
    prefill_flops = prompt * (matmul_flops + attention_flops_per_token(arch, prompt))
    prefill_compute_s = prefill_flops / (tp * peak * setup.prefill_efficiency)
    prefill_memory_s = (
        weight_bytes_read(params, setup, arch, prompt, weight_memory) / tp
        + kv_cache_bytes(arch, 1, prompt, setup.kv_dtype) / shards
    ) / bandwidth
    prefill_s = max(prefill_compute_s, prefill_memory_s)

    # Decode at the mean context of the generation.
    batch = setup.batch_size
    context = setup.prompt_tokens + setup.output_tokens / 2
    weights_read = weight_bytes_read(params, setup, arch, batch, weight_memory)
    kv_read = _kv_read(arch, batch, context, setup.kv_dtype)
    memory_s = (weights_read / tp + kv_read / shards) / bandwidth
    decode_flops = matmul_flops + decode_attention_flops_per_token(arch, context)
    compute_s = batch * decode_flops / (tp * peak * setup.decode_compute_efficiency)
    step_s = max(memory_s, compute_s)
    per_replica = batch / step_s

    if price_usd_per_hour is None:
        usd_in = usd_out = None
        price_source = "none"
    else:
        replica_usd_per_s = tp * price_usd_per_hour / 3600.0
        usd_in = replica_usd_per_s * prefill_compute_s / prompt * 1e6
        usd_out = replica_usd_per_s * step_s / batch * 1e6
    busy_s_per_request = prefill_compute_s + setup.output_tokens * step_s / batch
    replicas = max(1, math.ceil(setup.target_requests_per_s * busy_s_per_request * (1 - 1e-12)))

    return ServingEconomics(
        tensor_parallel=tp,
        tensor_parallel_requested=setup.tensor_parallel,
        tensor_parallel_needed=needed,
        compute_dtype=dtype,
        peak_flops_per_accelerator=peak,
        weights_bytes=weights,
        weights_bytes_per_accelerator=weights_per_acc,
        kv_bytes_per_sequence=kv_sequence,
        kv_budget_bytes_per_accelerator=kv_budget,
        max_batch=max_batch,
        prefill_flops=prefill_flops,
        prefill_s=prefill_s,
        ttft_s=prefill_s,
        decode_context_tokens=context,
        decode_weight_bytes_read=weights_read,
        decode_kv_bytes_read=kv_read,
        decode_memory_s=memory_s,
        decode_compute_s=compute_s,
        decode_s_per_token=step_s,
        decode_bound="memory" if memory_s >= compute_s else "compute",
        decode_tokens_per_s=1.0 / step_s,
        tokens_per_s_per_replica=per_replica,
        tokens_per_s_per_accelerator=per_replica / tp,
        request_latency_s=prefill_s + setup.output_tokens * step_s,
        price_usd_per_hour=price_usd_per_hour,
        price_source=price_source,
        usd_per_million_input_tokens=usd_in,
        usd_per_million_output_tokens=usd_out,
        replicas_for_target_load=replicas,
        accelerators_for_target_load=replicas * tp,
    )


def _kv_read(arch: Architecture, batch: int, context: float, kv_dtype: str) -> float:
    """KV bytes a decode step reads at a (possibly fractional) mean context, windows applied
    (the same count as `engine.memory.kv_cache_bytes`, which takes whole tokens)."""
    per_layer = kv_elements_per_token_per_layer(arch) * bytes_per_element(kv_dtype)
    sliding = arch.num_sliding_window_layers
    window = arch.sliding_window or context
    positions = (arch.num_layers - sliding) * context + sliding * min(context, window)
    return batch * per_layer * positions
