"""Floating-point operations per token, forward and training.

Sources:
- Matmuls: a multiply-accumulate is 2 FLOPs, so a token costs 2 FLOPs per active matmul parameter
  (Kaplan et al. 2020, Sec. 2.1 and Table 1). The output head is a matmul even when tied; the input
  embedding is a lookup and costs nothing.
- Attention scores and values: per layer and token, 2 * heads * d_qk FLOPs per attended position
  for Q.K^T and 2 * heads * d_v for the weighted sum of V (Kaplan et al. 2020 Table 1;
  Chowdhery et al. 2022, PaLM, Appendix B). With a causal mask the token at position t attends to
  t positions, so a sequence of s tokens averages (s + 1) / 2 per token; sliding-window layers cap
  each position at the window. PaLM's appendix counts the full s (no causal saving); the ratio is
  shown by `attention_flops_per_token(..., causal=False)`.
- Training = forward + backward = 3 x forward (backward is 2x forward: Kaplan et al. 2020 Sec. 2.1;
  Narayanan et al. 2021 eq. 3). Activation recomputation adds work the model FLOPs do not count:
  full recompute reruns the forward (4x forward, Narayanan et al. 2021 Sec. 5.1: "hardware FLOPs");
  selective recompute reruns only the attention score/softmax/value part (Korthikanti et al. 2022
  Sec. 5, whose extra cost is the attention FLOPs).
- The 6ND rule (Kaplan et al. 2020; Hoffmann et al. 2022) is 6 x parameters per token; we report it
  beside the full count with the ratio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from llmscope.engine.architecture import Architecture
from llmscope.engine.parameters import ParameterCounts

RecomputeMode = Literal["none", "selective", "full"]


def mean_attended_positions(sequence_length: int, window: int | None, causal: bool = True) -> float:
    """Average number of key positions a token attends to in a sequence of this length."""
    s = sequence_length
    if not causal:
        return float(min(s, window) if window else s)
    if window is None or s <= window:
        return (s + 1) / 2
    # positions 1..w attend to 1..w keys, the remaining s - w positions attend to w keys each
    return (window * (window + 1) / 2 + (s - window) * window) / s


def _attention_widths(arch: Architecture) -> tuple[int, int]:
    """(query/key width, value width) summed over heads, per layer."""
    heads = arch.num_attention_heads
    if arch.attention == "mla":
        return heads * (arch.qk_nope_head_dim + arch.qk_rope_head_dim), heads * arch.v_head_dim
    d = arch.head_dim_effective
    return heads * d, heads * d


def attention_flops_per_token(
    arch: Architecture, sequence_length: int, causal: bool = True
) -> float:
    """Q.K^T and attention-times-V FLOPs per token, all layers, averaged over a sequence."""
    qk_width, v_width = _attention_widths(arch)
    per_position = 2 * (qk_width + v_width)
    sliding_layers = arch.num_sliding_window_layers
    full_layers = arch.num_layers - sliding_layers
    total = full_layers * mean_attended_positions(sequence_length, None, causal)
    if sliding_layers:
        total += sliding_layers * mean_attended_positions(
            sequence_length, arch.sliding_window, causal
        )
    return per_position * total


def decode_attention_flops_per_token(arch: Architecture, context_length: int) -> float:
    """Attention FLOPs for one new token attending to `context_length` cached positions."""
    qk_width, v_width = _attention_widths(arch)
    sliding_layers = arch.num_sliding_window_layers
    window = arch.sliding_window or context_length
    positions = (arch.num_layers - sliding_layers) * context_length + sliding_layers * min(
        context_length, window
    )
    return 2 * (qk_width + v_width) * positions


@dataclass(frozen=True, slots=True)
class FlopsPerToken:
    """FLOPs per token at a given sequence length."""

    matmul_forward: float  # 2 x active matmul parameters
    attention_forward: float  # scores and values, causal average over the sequence
    forward: float
    training: float  # model FLOPs: 3 x forward (what MFU counts)
    training_hardware: float  # with recomputation (what the accelerators execute)
    six_n: float  # the 6N rule, N = active parameters
    sequence_length: int

    @property
    def training_over_six_n(self) -> float:
        """How far the full count is from the 6N rule (attention and head make it > 1 usually)."""
        return self.training / self.six_n


def flops_per_token(
    arch: Architecture,
    params: ParameterCounts,
    sequence_length: int,
    recompute: RecomputeMode = "none",
) -> FlopsPerToken:
    """Forward and training FLOPs per token for sequences of `sequence_length` tokens."""
    matmul = 2.0 * params.active_matmul
    attention = attention_flops_per_token(arch, sequence_length)
    forward = matmul + attention
    training = 3.0 * forward
    extra = {"none": 0.0, "selective": attention, "full": forward}[recompute]
    return FlopsPerToken(
        matmul_forward=matmul,
        attention_forward=attention,
        forward=forward,
        training=training,
        training_hardware=training + extra,
        six_n=6.0 * params.active,
        sequence_length=sequence_length,
    )
