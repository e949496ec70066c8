"""Exact parameter counts of a decoder-only transformer.

The counts are what the Hugging Face transformers model classes instantiate for the same config
(the sum of unique parameters; tied embeddings counted once; buffers such as DeepSeek-V3's
`e_score_correction_bias` excluded). `scripts/check_params_against_transformers.py` builds random
configs on the meta device and compares; the test suite checks the exact integers recorded in
`shared/reference/models.json`.

Active parameters per token follow the MoE convention of the model cards (Mixtral, Qwen3-MoE,
DeepSeek-V3): everything except the routed experts a token does not visit, i.e.
total - moe_layers * (experts - experts_per_token) * params_per_expert. Embedding and output head
are included, as the cards include them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmscope.engine.architecture import Architecture


@dataclass(frozen=True, slots=True)
class ParameterCounts:
    """Parameter counts by component (elements, not bytes)."""

    embedding: int  # input token embedding + learned position table
    attention: int  # q/k/v/o projections (and MLA's down/up projections) with biases
    mlp: int  # dense MLPs (all layers of a dense model, the dense layers of an MoE model)
    experts: int  # routed experts, all of them
    shared_experts: int  # always-active shared experts and their gates
    router: int  # expert-routing matrices
    norms: int  # every norm: block norms, final norm, q/k norms, MLA latent norms
    output_head: int  # unembedding matrix; 0 when tied to the input embedding
    total: int
    active: int  # per token
    routed_expert_params: int  # parameters of one routed expert (one layer)
    num_moe_layers: int

    @property
    def non_embedding(self) -> int:
        """Total minus the input embedding (Kaplan et al. 2020's N excludes embeddings)."""
        return self.total - self.embedding

    @property
    def sparse(self) -> bool:
        """Whether a token uses fewer parameters than the model has (a mixture of experts whose
        routed experts are not all visited); a dense model's active count is its total."""
        return self.active != self.total

    @property
    def active_matmul(self) -> int:
        """Active parameters that take part in a matrix multiply per token.

        The input embedding is a table lookup, not a matmul; norms and biases are element-wise and
        negligible but not multiply-accumulates with the activations' full width either. The output
        head is a matmul even when tied (Kaplan et al. 2020, Sec. 2.1; PaLM appendix B)."""
        return self.active - self.embedding - self.norms + self._tied_head

    # The tied head's size, kept so that FLOPs can count the unembedding matmul.
    _tied_head: int = 0


def _norm_params(arch: Architecture, width: int) -> int:
    return 2 * width if arch.norm == "layernorm" else width


def count_parameters(arch: Architecture) -> ParameterCounts:
    """Count every parameter of `arch` exactly (see module docstring for the convention)."""
    h = arch.hidden_size
    L = arch.num_layers
    H = arch.num_attention_heads

    # Attention, per layer.
    norms_in_attention = 0
    if arch.attention == "mla":
        # DeepSeek-V2 (arXiv 2405.04434) Sec. 2.1, as built by transformers' DeepseekV3Attention.
        qk_head = arch.qk_nope_head_dim + arch.qk_rope_head_dim
        if arch.q_lora_rank is None:
            q = h * H * qk_head
        else:
            q = h * arch.q_lora_rank + arch.q_lora_rank * H * qk_head
            q += arch.q_lora_rank if arch.attention_qkv_bias else 0
            norms_in_attention += arch.q_lora_rank  # q_a_layernorm (RMSNorm)
        kv_a_out = arch.kv_lora_rank + arch.qk_rope_head_dim
        kv = h * kv_a_out + (kv_a_out if arch.attention_qkv_bias else 0)
        kv += arch.kv_lora_rank * H * (arch.qk_nope_head_dim + arch.v_head_dim)
        norms_in_attention += arch.kv_lora_rank  # kv_a_layernorm
        o = H * arch.v_head_dim * h + (h if arch.attention_out_bias else 0)
        attention_per_layer = q + kv + o
    else:
        d = arch.head_dim_effective
        q_width = H * d
        kv_width = arch.num_kv_heads * d
        attention_per_layer = h * (q_width + 2 * kv_width) + q_width * h
        if arch.attention_qkv_bias:
            attention_per_layer += q_width + 2 * kv_width
        if arch.attention_out_bias:
            attention_per_layer += h
        if arch.qk_norm:
            norms_in_attention += 2 * d  # Qwen3: q_norm and k_norm are RMSNorm(head_dim)

    # MLP, per layer.
    i = arch.intermediate_size
    if arch.mlp == "gated":
        dense_mlp = 3 * h * i + ((2 * i + h) if arch.mlp_bias else 0)
    else:
        dense_mlp = 2 * h * i + ((i + h) if arch.mlp_bias else 0)

    n_moe = arch.num_moe_layers
    n_dense = L - n_moe
    expert = 3 * h * arch.expert_intermediate_size  # routed experts are gated, bias-free
    experts = n_moe * arch.num_experts * expert
    shared_width = arch.num_shared_experts * arch.shared_expert_intermediate_size
    shared = 3 * h * shared_width
    if arch.mlp_bias:
        # DeepSeek-V2, the one supported family whose MoE layers take mlp_bias, builds its shared
        # experts as ONE gated MLP of width n_shared * moe_size with that bias (transformers
        # DeepseekV2Moe.shared_experts), even at width 0: biases on gate and up (width each)
        # and one down-projection bias (hidden) in every MoE layer.
        shared += 2 * shared_width + h
    if arch.shared_expert_gate:
        shared += h  # Qwen2-MoE: Linear(hidden, 1, bias=False)
    shared_experts = n_moe * shared
    router = n_moe * arch.num_experts * h

    norms = L * (arch.norms_per_layer * _norm_params(arch, h) + norms_in_attention)
    if arch.final_norm:
        norms += _norm_params(arch, h)

    embedding = arch.vocab_size * h
    if arch.position_embedding == "learned":
        embedding += arch.max_position_embeddings * h
    head = arch.vocab_size * h
    output_head = 0 if arch.tie_word_embeddings else head

    attention = L * attention_per_layer
    mlp = n_dense * dense_mlp
    total = embedding + attention + mlp + experts + shared_experts + router + norms + output_head
    inactive = n_moe * (arch.num_experts - arch.experts_per_token) * expert
    return ParameterCounts(
        embedding=embedding,
        attention=attention,
        mlp=mlp,
        experts=experts,
        shared_experts=shared_experts,
        router=router,
        norms=norms,
        output_head=output_head,
        total=total,
        active=total - inactive,
        routed_expert_params=expert,
        num_moe_layers=n_moe,
        _tied_head=head if arch.tie_word_embeddings else 0,
    )
