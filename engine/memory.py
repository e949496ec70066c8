"""Bytes: weights at a precision, the KV cache, training state under ZeRO/TP/PP, activations.

Sources:
- KV cache: per token and layer, K and V each hold kv_heads * head_dim elements (Ainslie et al.
  2023, GQA; DeepSeek-V2 paper Table 1 gives 2 n_g d_h l elements per token). MLA caches the
  compressed latent and the shared RoPE key, (kv_lora_rank + qk_rope_head_dim) per layer
  (DeepSeek-V2, arXiv 2405.04434, Sec. 2.1.2). Sliding-window layers keep at most the window
  (Mistral 7B paper Sec. 2, rolling buffer cache).
- Training state: mixed-precision Adam keeps 2 + 2 + 12 bytes per parameter (bf16 weights and
  gradients, fp32 master weights, momentum and variance), sharded by ZeRO stages 1/2/3 over the
  data-parallel degree (Rajbhandari et al. 2020, Sec. 3.1 and 5). 8-bit Adam keeps 1 byte per state
  (Dettmers et al. 2022, "8-bit Optimizers via Block-wise Quantization"); SGD with momentum one fp32
  state. Tensor and pipeline parallelism divide the model states by t * p (Megatron-LM; Narayanan
  et al. 2021).
- Activations per layer: Korthikanti et al. 2022, "Reducing Activation Recomputation in Large
  Transformer Models", Sec. 4, eqs. 1-5: s*b*h*(34 + 5*a*s/h) bytes with 16-bit activations,
  (10 + 24/t + 5as/(ht)) with tensor parallelism, /t overall with sequence parallelism, the 5as/h
  score term gone under selective recompute (or with FlashAttention, which never stores the s x s
  scores: Dao et al. 2022), and 2sbh per layer under full recompute. Their 34 = 11 (attention)
  + 19 (a 4h plain MLP) + 4 (norms); for other MLP widths and gated MLPs we count the MLP's stored
  tensors the same way (3sbh + 4sbI plain, 3sbh + 8sbI gated; routed experts times k). The 1F1B
  pipeline's first stage holds min(p, microbatches) microbatches of its L/p layers (Sec. 4.3); the
  fp32 logits for the loss add 4*s*b*V/t bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from llmscope.engine.architecture import Architecture
from llmscope.engine.parameters import ParameterCounts

WeightDtype = Literal["fp32", "bf16", "fp16", "fp8", "int8", "int4"]
KvDtype = Literal["fp32", "bf16", "fp16", "fp8", "int8", "int4"]
Optimizer = Literal["adam", "adam_8bit", "sgd_momentum"]
ZeroStage = Literal[0, 1, 2, 3]
RecomputeMode = Literal["none", "selective", "full"]

BITS_PER_ELEMENT: dict[str, int] = {
    "fp32": 32, "bf16": 16, "fp16": 16, "fp8": 8, "int8": 8, "int4": 4,
}
# Group-wise scales (GPTQ, AWQ, bitsandbytes, FP8 block scaling) apply to these formats only.
GROUP_QUANTIZED = frozenset({"fp8", "int8", "int4"})

GIB = 1024**3


def bytes_per_element(dtype: str) -> float:
    return BITS_PER_ELEMENT[dtype] / 8


def quantized_bytes(n_params: int, dtype: str, group_size: int, scale_bytes: float) -> float:
    """Bytes for n_params stored at dtype, with one scale of scale_bytes per group of group_size
    weights for quantized formats (group_size 0: per-tensor scaling, negligible)."""
    payload = n_params * bytes_per_element(dtype)
    if dtype in GROUP_QUANTIZED and group_size > 0:
        payload += math.ceil(n_params / group_size) * scale_bytes
    return payload


@dataclass(frozen=True, slots=True)
class WeightMemory:
    body_bytes: float  # transformer blocks: attention, MLP/experts, router, norms
    embedding_bytes: float  # input embedding (and the head, when tied)
    head_bytes: float  # untied output head
    total_bytes: float


def weight_bytes(
    params: ParameterCounts,
    dtype: str,
    embedding_dtype: str | None = None,
    head_dtype: str | None = None,
    group_size: int = 128,
    scale_bytes: float = 2.0,
) -> WeightMemory:
    """Weights in memory; embedding and head may keep a different precision (a common mix is int4
    blocks with a bf16 embedding and head, as GPTQ/AWQ checkpoints ship)."""
    body = params.total - params.embedding - params.output_head
    body_b = quantized_bytes(body, dtype, group_size, scale_bytes)
    emb_b = quantized_bytes(params.embedding, embedding_dtype or dtype, group_size, scale_bytes)
    head_b = quantized_bytes(params.output_head, head_dtype or dtype, group_size, scale_bytes)
    return WeightMemory(body_b, emb_b, head_b, body_b + emb_b + head_b)


def kv_elements_per_token_per_layer(arch: Architecture) -> int:
    if arch.attention == "mla":
        return arch.kv_lora_rank + arch.qk_rope_head_dim
    return 2 * arch.num_kv_heads * arch.head_dim_effective


def kv_cache_bytes_per_token(arch: Architecture, kv_dtype: str = "bf16") -> float:
    """KV cache per token over all layers, before any sliding-window cap."""
    return arch.num_layers * kv_elements_per_token_per_layer(arch) * bytes_per_element(kv_dtype)


def kv_cache_bytes(
    arch: Architecture, batch_size: int, context_length: int, kv_dtype: str = "bf16"
) -> float:
    """KV cache for batch_size sequences of context_length tokens, sliding layers capped."""
    per_layer = kv_elements_per_token_per_layer(arch) * bytes_per_element(kv_dtype)
    sliding = arch.num_sliding_window_layers
    window = arch.sliding_window or context_length
    positions = (arch.num_layers - sliding) * context_length + sliding * min(context_length, window)
    return batch_size * per_layer * positions


# Bytes per parameter: (weights, gradients, master weights, optimizer states).
_OPTIMIZER_BYTES: dict[str, tuple[int, int, int, int]] = {
    "adam": (2, 2, 4, 8),  # Rajbhandari et al. 2020: 2 + 2 + K with K = 12 (master 4 + m 4 + v 4)
    "adam_8bit": (2, 2, 4, 2),  # Dettmers et al. 2022: m and v in 8 bits
    "sgd_momentum": (2, 2, 4, 4),  # one fp32 momentum buffer
}


@dataclass(frozen=True, slots=True)
class TrainingStateMemory:
    """Model states per accelerator."""

    weights_bytes: float
    gradients_bytes: float
    optimizer_bytes: float  # master weights + optimizer states
    total_bytes: float
    bytes_per_param_unsharded: int


def training_state_bytes(
    n_params: int,
    optimizer: str = "adam",
    master_weights: bool = True,
    zero_stage: int = 0,
    data_parallel: int = 1,
    tensor_parallel: int = 1,
    pipeline_parallel: int = 1,
    expert_params: int = 0,
    expert_parallel: int = 1,
) -> TrainingStateMemory:
    """Weights, gradients and optimizer state on one accelerator (ZeRO, Rajbhandari et al. 2020).

    With expert parallelism e > 1 the `expert_params` (routed experts) are split over e more
    ranks carved out of the data-parallel group, so their ZeRO shards span only the
    data_parallel / e replicas that hold the same experts (Megatron-Core MoE, "expert data
    parallel"; DeepSeek-V3 technical report Sec. 3.2: EP 64 inside DP on 2048 H800s). Experts are
    tensor- and pipeline-split like the rest of the layer.
    """
    w, g, master, states = _OPTIMIZER_BYTES[optimizer]
    if not master_weights:
        master = 0
    dp = data_parallel
    if expert_parallel > 1 and expert_params:
        dense_psi = (n_params - expert_params) / (tensor_parallel * pipeline_parallel)
        expert_psi = expert_params / (tensor_parallel * pipeline_parallel * expert_parallel)
        edp = dp / expert_parallel
        weights = w * dense_psi / (dp if zero_stage >= 3 else 1) + w * expert_psi / (
            edp if zero_stage >= 3 else 1
        )
        grads = g * dense_psi / (dp if zero_stage >= 2 else 1) + g * expert_psi / (
            edp if zero_stage >= 2 else 1
        )
        optim = (master + states) * dense_psi / (dp if zero_stage >= 1 else 1) + (
            master + states
        ) * expert_psi / (edp if zero_stage >= 1 else 1)
        return TrainingStateMemory(
            weights, grads, optim, weights + grads + optim, w + g + master + states
        )
    psi = n_params / (tensor_parallel * pipeline_parallel)
    weights = w * psi / (dp if zero_stage >= 3 else 1)
    grads = g * psi / (dp if zero_stage >= 2 else 1)
    optim = (master + states) * psi / (dp if zero_stage >= 1 else 1)
    return TrainingStateMemory(weights, grads, optim, weights + grads + optim, w + g + master + states)


def _mlp_activation_coefficient(arch: Architecture, moe_layer: bool) -> float:
    """Stored MLP tensors per layer in units of s*b*h bytes (Korthikanti et al. 2022 accounting)."""
    h = arch.hidden_size
    if moe_layer:
        inner = arch.experts_per_token * arch.expert_intermediate_size
        inner += arch.num_shared_experts * arch.shared_expert_intermediate_size
        return 3 + 8 * inner / h  # routed experts are gated
    per_inner = 8 if arch.mlp == "gated" else 4
    return 3 + per_inner * arch.intermediate_size / h


@dataclass(frozen=True, slots=True)
class ActivationMemory:
    per_layer_bytes: float  # average over dense and MoE layers, one microbatch
    stage_bytes: float  # the busiest pipeline stage (first), all in-flight microbatches
    logits_bytes: float
    total_bytes: float


def activation_bytes(
    arch: Architecture,
    sequence_length: int,
    micro_batch_size: int,
    tensor_parallel: int = 1,
    pipeline_parallel: int = 1,
    microbatches_in_flight: int = 1,
    sequence_parallel: bool = False,
    recompute: str = "none",
    flash_attention: bool = True,
) -> ActivationMemory:
    """Activation memory on the busiest accelerator (Korthikanti et al. 2022, Sec. 4)."""
    s, b, h = sequence_length, micro_batch_size, arch.hidden_size
    a, t = arch.num_attention_heads, tensor_parallel
    sbh = s * b * h
    if recompute == "full":
        per_layer = 2 * sbh / (t if sequence_parallel else 1)
    else:
        n_moe = arch.num_moe_layers
        dense = arch.num_layers - n_moe
        mlp = (
            dense * _mlp_activation_coefficient(arch, False)
            + n_moe * _mlp_activation_coefficient(arch, True)
        ) / arch.num_layers
        linear = 11 + 4 + mlp  # attention 11, norms 4, MLP (19 for a 4h plain MLP): total 34
        replicated = 0 if sequence_parallel else 10  # norm, attention and MLP inputs, dropout masks
        per_layer = sbh * (replicated + (linear - replicated) / t)
        if recompute == "none" and not flash_attention:
            per_layer += 5 * a * s * s * b / t
    layers_per_stage = arch.num_layers / pipeline_parallel
    in_flight = min(pipeline_parallel, max(1, microbatches_in_flight))
    stage = per_layer * layers_per_stage * in_flight
    logits = 4 * s * b * arch.vocab_size / t
    return ActivationMemory(per_layer, stage, logits, stage + logits)
