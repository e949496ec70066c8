"""The anatomy of a decoder-only transformer, as a validated, immutable description.

One flat model, so that every field has one dotted key (`model.num_layers`) shared by presets,
the CLI's `--set` and the app's editor. Fields that only apply to some designs (mixture of experts,
multi-head latent attention, sliding windows) are inert unless their switch is on.

The field set covers what the reference implementations in Hugging Face transformers build for the
families llama, mistral, mixtral, qwen2, qwen2_moe, qwen3, qwen3_moe, gemma2, phi3, deepseek_v2,
deepseek_v3, gpt2 and gpt_neox; `engine.parameters` counts exactly what those classes instantiate.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# parameters.py names Architecture only in annotations (under TYPE_CHECKING), so this import is the
# one that runs: parameters sits below architecture.
from llmscope.engine.parameters import count_parameters

# Parameter counts above this are rejected: 1e15 is ~500x the largest dense model ever described
# and keeps every downstream float (FLOPs, bytes, dollars) far from overflow.
MAX_TOTAL_PARAMS = 10**15

# Settings only some designs read: the low-rank projections of multi-head latent attention
# (DeepSeek-V2, Sec. 2.1) and the routing and layout of mixture-of-experts layers.
MLA_FIELDS: tuple[str, ...] = (
    "q_lora_rank",
    "kv_lora_rank",
    "qk_nope_head_dim",
    "qk_rope_head_dim",
    "v_head_dim",
)
MOE_FIELDS: tuple[str, ...] = (
    "experts_per_token",
    "expert_intermediate_size",
    "num_shared_experts",
    "shared_expert_intermediate_size",
    "shared_expert_gate",
    "first_dense_layers",
    "moe_layer_interval",
    "moe_layer_phase",
    "dense_layer_indices",
)

_SIZE = dict(ge=1, le=10_000_000)  # widths: hidden, FFN, head_dim, ranks
_COUNT = dict(ge=1, le=100_000)  # layers, heads


class Architecture(BaseModel):
    """A decoder-only transformer. Sizes are element counts; lengths are tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    name: str = Field("custom", max_length=200, description="Display name of the model.")
    family: str = Field(
        "llama",
        max_length=40,
        description="Hugging Face model_type this description came from (informational).",
    )

    # --- shape ---------------------------------------------------------------------------------
    vocab_size: int = Field(32000, ge=1, le=100_000_000, description="Vocabulary rows (tokens).")
    hidden_size: int = Field(4096, **_SIZE, description="Residual stream width d_model (elements).")
    num_layers: int = Field(32, **_COUNT, description="Transformer blocks (decoder layers).")
    max_position_embeddings: int = Field(
        4096,
        ge=1,
        le=100_000_000,
        description="Longest context the model supports (tokens); rows of a learned position table.",
    )

    # --- attention -----------------------------------------------------------------------------
    attention: Literal["standard", "mla"] = Field(
        "standard",
        description="'standard' multi-head/grouped-query/multi-query attention, or DeepSeek's "
        "multi-head latent attention 'mla'.",
    )
    num_attention_heads: int = Field(32, **_COUNT, description="Query heads.")
    num_kv_heads: int = Field(
        32,
        **_COUNT,
        description="Key/value heads: equal to query heads for MHA, 1 for MQA, between for GQA.",
    )
    head_dim: int | None = Field(
        None,
        **_SIZE,
        description="Width of one attention head (elements); None means hidden_size / heads.",
    )
    attention_qkv_bias: bool = Field(False, description="Biases on the q, k and v projections.")
    attention_out_bias: bool = Field(False, description="Bias on the attention output projection.")
    qk_norm: bool = Field(False, description="RMSNorm over each query and key head (Qwen3).")
    sliding_window: int | None = Field(
        None, ge=1, le=100_000_000, description="Sliding-window length (tokens) where used."
    )
    sliding_window_pattern: Literal["none", "all", "alternate"] = Field(
        "none",
        description="Which layers use the sliding window: none, all, or every other layer "
        "(layers 0, 2, 4, ... as in Gemma 2).",
    )
    # Multi-head latent attention (DeepSeek-V2, arXiv 2405.04434, Sec. 2.1).
    q_lora_rank: int | None = Field(
        None, **_SIZE, description="MLA: rank of the low-rank query projection; None = full-rank q."
    )
    kv_lora_rank: int = Field(512, **_SIZE, description="MLA: rank of the compressed KV latent.")
    qk_nope_head_dim: int = Field(128, **_SIZE, description="MLA: per-head q/k width without RoPE.")
    qk_rope_head_dim: int = Field(64, **_SIZE, description="MLA: per-head q/k width with RoPE.")
    v_head_dim: int = Field(128, **_SIZE, description="MLA: per-head value width.")

    # --- MLP -----------------------------------------------------------------------------------
    mlp: Literal["gated", "plain"] = Field(
        "gated",
        description="'gated' 3-matrix MLP (SwiGLU/GeGLU) or 'plain' 2-matrix MLP (GELU).",
    )
    intermediate_size: int = Field(11008, **_SIZE, description="Dense MLP inner width (elements).")
    mlp_bias: bool = Field(False, description="Biases on the MLP projections.")

    # --- mixture of experts --------------------------------------------------------------------
    num_experts: int = Field(0, ge=0, le=100_000, description="Routed experts; 0 = dense model.")
    experts_per_token: int = Field(0, ge=0, le=100_000, description="Routed experts per token (k).")
    expert_intermediate_size: int = Field(
        0, ge=0, le=10_000_000, description="Inner width of one routed expert's gated MLP."
    )
    num_shared_experts: int = Field(
        0, ge=0, le=1_000, description="Always-active shared experts per MoE layer."
    )
    shared_expert_intermediate_size: int = Field(
        0, ge=0, le=10_000_000, description="Inner width of one shared expert's gated MLP."
    )
    shared_expert_gate: bool = Field(
        False, description="A learned scalar gate on the shared expert output (Qwen2-MoE)."
    )
    first_dense_layers: int = Field(
        0, ge=0, le=100_000, description="The first k layers use the dense MLP (DeepSeek)."
    )
    moe_layer_interval: int = Field(
        1, ge=1, le=100_000, description="Every n-th layer (after the dense ones) is an MoE layer."
    )
    moe_layer_phase: int = Field(
        0,
        ge=0,
        le=100_000,
        description="Layer i is MoE when i % interval == phase (Qwen's decoder_sparse_step uses "
        "phase interval-1, DeepSeek's moe_layer_freq phase 0).",
    )
    dense_layer_indices: tuple[int, ...] = Field(
        (), max_length=100_000, description="Layers forced dense (Qwen mlp_only_layers)."
    )

    # --- norms, embeddings ---------------------------------------------------------------------
    norm: Literal["rmsnorm", "layernorm"] = Field(
        "rmsnorm", description="RMSNorm (weight only) or LayerNorm (weight and bias)."
    )
    norms_per_layer: int = Field(
        2, ge=0, le=8, description="Norms inside each block: 2 pre-norms, 4 with Gemma 2's post-norms."
    )
    final_norm: bool = Field(True, description="A norm after the last block.")
    position_embedding: Literal["rope", "learned"] = Field(
        "rope", description="Rotary (no parameters) or a learned position table (GPT-2)."
    )
    tie_word_embeddings: bool = Field(
        False, description="Output head shares the input embedding matrix."
    )

    # ------------------------------------------------------------------------------------------
    @property
    def head_dim_effective(self) -> int:
        """Width of one attention head: explicit head_dim, else hidden_size / heads."""
        if self.head_dim is not None:
            return self.head_dim
        return self.hidden_size // self.num_attention_heads

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0

    @property
    def ignored_fields(self) -> frozenset[str]:
        """Settings no count reads for this design: MLA's without MLA attention, the MoE
        layout's without experts."""
        ignored: set[str] = set()
        if self.attention != "mla":
            ignored.update(MLA_FIELDS)
        if not self.is_moe:
            ignored.update(MOE_FIELDS)
        return frozenset(ignored)

    @property
    def num_moe_layers(self) -> int:
        """Layers whose MLP is the routed-expert block."""
        if not self.is_moe:
            return 0
        k, s, p = self.first_dense_layers, self.moe_layer_interval, self.moe_layer_phase
        count = _count_congruent(k, self.num_layers, s, p)
        forced_dense = {
            i for i in self.dense_layer_indices if k <= i < self.num_layers and i % s == p
        }
        return count - len(forced_dense)

    @property
    def num_sliding_window_layers(self) -> int:
        """Layers whose attention is limited to the sliding window."""
        if self.sliding_window is None or self.sliding_window_pattern == "none":
            return 0
        if self.sliding_window_pattern == "all":
            return self.num_layers
        return (self.num_layers + 1) // 2  # layers 0, 2, 4, ... (Gemma 2: even layers slide)

    @model_validator(mode="after")
    def _check_consistency(self) -> Architecture:
        problems: list[str] = []
        if self.head_dim is None and self.hidden_size % self.num_attention_heads:
            problems.append(
                f"hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                f"({self.num_attention_heads}) unless head_dim is given"
            )
        if self.num_kv_heads > self.num_attention_heads:
            problems.append(
                f"num_kv_heads ({self.num_kv_heads}) must be between 1 and num_attention_heads "
                f"({self.num_attention_heads})"
            )
        elif self.num_attention_heads % self.num_kv_heads:
            problems.append(
                f"num_kv_heads ({self.num_kv_heads}) must divide num_attention_heads "
                f"({self.num_attention_heads}) so each KV head serves a whole group of query heads"
            )
        if self.num_experts > 0:
            if not 1 <= self.experts_per_token <= self.num_experts:
                problems.append(
                    f"experts_per_token ({self.experts_per_token}) must be between 1 and "
                    f"num_experts ({self.num_experts})"
                )
            if self.expert_intermediate_size < 1:
                problems.append("expert_intermediate_size must be at least 1 for an MoE model")
            if self.moe_layer_phase >= self.moe_layer_interval:
                problems.append(
                    f"moe_layer_phase ({self.moe_layer_phase}) must be below moe_layer_interval "
                    f"({self.moe_layer_interval})"
                )
            if self.first_dense_layers > self.num_layers:
                problems.append(
                    f"first_dense_layers ({self.first_dense_layers}) must be at most num_layers "
                    f"({self.num_layers})"
                )
        # Without experts the MoE settings are ignored (ignored_fields), not errors: an editor
        # sets them one at a time, and each must be accepted before num_experts makes it an MoE.
        if self.num_shared_experts and self.shared_expert_intermediate_size < 1:
            problems.append("shared_expert_intermediate_size must be at least 1 with shared experts")
        if self.sliding_window_pattern != "none" and self.sliding_window is None:
            problems.append(
                f"sliding_window must be set (1 or more tokens) when sliding_window_pattern is "
                f"'{self.sliding_window_pattern}'"
            )
        if problems:
            raise ValueError("; ".join(problems))
        total = count_parameters(self).total
        if total > MAX_TOTAL_PARAMS:
            raise ValueError(
                f"the model would have {total:.3g} parameters; llmscope accepts at most "
                f"{MAX_TOTAL_PARAMS:.0e} (check hidden_size, num_layers, num_experts, vocab_size)"
            )
        return self


def _count_congruent(start: int, stop: int, interval: int, phase: int) -> int:
    """How many i in [start, stop) have i % interval == phase."""
    if stop <= start:
        return 0

    def upto(n: int) -> int:  # count of i in [0, n) with i % interval == phase
        return max(0, (n - phase + interval - 1) // interval) if n > phase else 0

    return upto(stop) - upto(start)
