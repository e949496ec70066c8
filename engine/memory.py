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
  Transformer Models", Sec. 4, eqs. 1-5 (s*b*h*(34 + 5*a*s/h) bytes for GPT-3's layer), re-derived
  tensor by tensor for today's blocks in `activation_bytes_per_token_layer`: K and V at kv-head
  width (GQA), the tensors a SwiGLU MLP keeps, dropout masks only with dropout, flash attention's
  log-sum-exp instead of the s x s scores, selective and full recompute. The first pipeline stage
  holds p micro-batches (1F1B) or p + (p - 1) / v (interleaved; `microbatches_in_flight`) of its
  L/p layers; context parallelism divides the tokens by cp; the fp32 logits add 4*s*b*V/(t cp).
- FP8 training keeps an fp8 copy of each weight and its transpose beside the bf16 weights
  (Transformer Engine: Hopper's fp8 GEMMs need both layouts), 2 bytes per parameter.
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
    fp8_weight_copies: bool = False,
) -> TrainingStateMemory:
    """Weights, gradients and optimizer state on one accelerator (ZeRO, Rajbhandari et al. 2020).

    With expert parallelism e > 1 the `expert_params` (routed experts) are split over e more
    ranks carved out of the data-parallel group, so their ZeRO shards span only the
    data_parallel / e replicas that hold the same experts (Megatron-Core MoE, "expert data
    parallel"; DeepSeek-V3 technical report Sec. 3.2: EP 64 inside DP on 2048 H800s). Experts are
    tensor- and pipeline-split like the rest of the layer.
    """
    states = _training_state_bytes(
        n_params, optimizer, master_weights, zero_stage, data_parallel, tensor_parallel,
        pipeline_parallel, expert_params, expert_parallel,
    )  # fmt: skip
    if not fp8_weight_copies:
        return states
    # fp8 weight and its transpose, per local (t x p, experts x e) parameter, never ZeRO-sharded
    e = expert_parallel if expert_params else 1
    local = (n_params - expert_params) + expert_params / e
    copies = FP8_WEIGHT_COPY_BYTES * local / (tensor_parallel * pipeline_parallel)
    return TrainingStateMemory(
        states.weights_bytes + copies,
        states.gradients_bytes,
        states.optimizer_bytes,
        states.total_bytes + copies,
        states.bytes_per_param_unsharded,
    )


# Transformer Engine keeps an fp8 weight and its transpose for fp8 training (module docstring).
FP8_WEIGHT_COPY_BYTES = 2


def _training_state_bytes(
    n_params: int,
    optimizer: str,
    master_weights: bool,
    zero_stage: int,
    data_parallel: int,
    tensor_parallel: int,
    pipeline_parallel: int,
    expert_params: int,
    expert_parallel: int,
) -> TrainingStateMemory:
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
    total = weights + grads + optim
    return TrainingStateMemory(weights, grads, optim, total, w + g + master + states)


def _mlp_stored_per_token(arch: Architecture, moe_layer: bool) -> float:
    """Bytes per token the MLP keeps for its backward, beyond its input (tensor-parallel part).

    Plain MLP: the first GEMM's output (bias-GeLU input) and the GeLU output, 2I + 2I bytes
    (Korthikanti et al. 2022: 16sbh for I = 4h). Gated (SwiGLU): the fused gate|up output and the
    down projection's input, 4I + 2I (Megatron's fused bias_swiglu keeps its input and output).
    Routed experts (gated) count the k experts a token visits, plus the shared experts."""
    if moe_layer:
        inner = arch.experts_per_token * arch.expert_intermediate_size
        inner += arch.num_shared_experts * arch.shared_expert_intermediate_size
        return 6 * inner
    return (6 if arch.mlp == "gated" else 4) * arch.intermediate_size


def activation_bytes_per_token_layer(
    arch: Architecture,
    sequence_length: int,
    tensor_parallel: int = 1,
    sequence_parallel: bool = False,
    recompute: str = "none",
    flash_attention: bool = True,
    dropout: bool = False,
) -> float:
    """Activation bytes one token leaves per layer on one rank, bf16 (Korthikanti et al. 2022
    Sec. 4, re-derived for today's blocks).

    Replicated over the tensor-parallel ranks unless sequence parallel: the two norm inputs (4h),
    the QKV and MLP GEMM inputs (2h + 2h), and with dropout its two 1-byte masks (2h).
    Split by t: Q (2 a d), K and V at kv-head width (4 kv d; GQA, Ainslie et al. 2023; with t
    above the kv heads every rank keeps one replica), the attention output that the output
    projection keeps (2 a d), the MLP's tensors (`_mlp_stored_per_token`), and either the s x s
    scores (softmax output, and with dropout its mask and output: 5 a s, else 2 a s) or, with flash
    attention, its fp32 log-sum-exp (4 a); selective recompute (Korthikanti Sec. 5) drops both.
    With GPT-3's layer (MHA, 4h plain MLP, dropout) this is Korthikanti's 34 h + 5 a s (eq. 1).
    Full recompute keeps the layer input only, 2h (/t with sequence parallelism)."""
    h, t, s = arch.hidden_size, tensor_parallel, sequence_length
    if recompute == "full":
        return 2 * h / (t if sequence_parallel else 1)
    a = arch.num_attention_heads
    if arch.attention == "mla":
        qk = a * (arch.qk_nope_head_dim + arch.qk_rope_head_dim)
        v = a * arch.v_head_dim
        attention = 2 * qk + 2 * qk + 2 * v + 2 * v
    else:
        d = arch.head_dim_effective
        attention = 2 * a * d + 4 * max(arch.num_kv_heads, t) * d + 2 * a * d
    if recompute == "none":
        attention += 4 * a if flash_attention else (5 if dropout else 2) * a * s
    n_moe = arch.num_moe_layers
    dense = arch.num_layers - n_moe
    mlp = (
        dense * _mlp_stored_per_token(arch, False) + n_moe * _mlp_stored_per_token(arch, True)
    ) / arch.num_layers
    replicated = 8 * h + (2 * h if dropout else 0)
    return (replicated / t if sequence_parallel else replicated) + (attention + mlp) / t


def microbatches_in_flight(pipeline_parallel: int, microbatches: int, virtual_stages: int = 1):
    """Micro-batches whose activations the first pipeline stage holds at the peak: p under 1F1B,
    p + (p - 1) / v interleaved (Narayanan et al. 2021 Sec. 2.2.2; Korthikanti et al. 2022
    Sec. 4.3: 1 + (p - 1) / (p v) times the 1F1B figure), never more than the micro-batches."""
    p, v = pipeline_parallel, virtual_stages
    held = p if v <= 1 else p + (p - 1) / v
    return min(held, max(1, microbatches))


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
    microbatches_in_flight_: int = 1,
    sequence_parallel: bool = False,
    recompute: str = "none",
    flash_attention: bool = True,
    *,
    context_parallel: int = 1,
    virtual_stages: int = 1,
    dropout: bool = False,
) -> ActivationMemory:
    """Activation memory on the busiest accelerator: the first stage's L/p layers of the
    micro-batches in flight (`microbatches_in_flight`, from the micro-batches per replica), each
    of b s / cp tokens (context parallelism splits the sequence, Dubey et al. 2024 Sec. 3.3.2),
    plus the fp32 logits of the loss, 4 s b V / (t cp)."""
    tokens = sequence_length * micro_batch_size / context_parallel
    per_token = activation_bytes_per_token_layer(
        arch, sequence_length, tensor_parallel, sequence_parallel, recompute, flash_attention,
        dropout,
    )  # fmt: skip
    per_layer = per_token * tokens
    layers_per_stage = arch.num_layers / pipeline_parallel
    held = microbatches_in_flight(pipeline_parallel, microbatches_in_flight_, virtual_stages)
    stage = per_layer * layers_per_stage * held
    logits = 4 * tokens * arch.vocab_size / tensor_parallel
    return ActivationMemory(per_layer, stage, logits, stage + logits)
