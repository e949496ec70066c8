"""FLOPs and memory against hand computations and checked facts (sources cited beside each)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmscope.engine.architecture import Architecture
from llmscope.engine.flops import (
    attention_flops_per_token,
    flops_per_token,
    mean_attended_positions,
)
from llmscope.engine.hf_import import architecture_from_hf_config
from llmscope.engine.memory import (
    activation_bytes,
    kv_cache_bytes,
    kv_cache_bytes_per_token,
    training_state_bytes,
    weight_bytes,
)
from llmscope.engine.parameters import count_parameters

REFERENCE = Path(__file__).resolve().parent / "data"


def _models() -> dict[str, dict]:
    data = json.loads((REFERENCE / "models.json").read_text())
    return {m["id"]: m for m in data["models"]}


def _facts() -> dict[str, dict]:
    data = json.loads((REFERENCE / "memory_facts.json").read_text())
    return {f["id"]: f for f in data["facts"]}


def _arch(model_id: str) -> Architecture:
    return architecture_from_hf_config(_models()[model_id]["raw_config"])


# memory_facts.json ids -> models.json ids (same published config.json)
KV_FACTS = {
    "kv_llama-3-8b": "llama-3-8b",
    "kv_llama-2-7b": "llama-2-7b",
    "kv_llama-2-70b": "llama-2-70b",
    "kv_llama-3.1-405b": "llama-3.1-405b",
    "kv_mistral-7b-v0.1": "mistral-7b-v0.1",
    "kv_mixtral-8x7b": "mixtral-8x7b-v0.1",
    "kv_qwen2.5-72b": "qwen2.5-72b-instruct",
    "kv_gemma-2-9b": "gemma-2-9b",
    "kv_deepseek_v3_mla": "deepseek-v3",
}


@pytest.mark.parametrize("fact_id", sorted(KV_FACTS))
def test_kv_cache_bytes_per_token_matches_checked_facts(fact_id):
    # memory_facts.json: 2 * layers * kv_heads * head_dim * 2 bytes (GQA, Ainslie et al. 2023);
    # MLA (kv_lora_rank + qk_rope_head_dim) * layers * 2 bytes (DeepSeek-V2 Sec. 2.1).
    fact = _facts()[fact_id]
    assert kv_cache_bytes_per_token(_arch(KV_FACTS[fact_id]), "bf16") == fact["value_bytes"]


def test_kv_cache_of_a_model_absent_from_models_json():
    # Qwen3-235B-A22B: 94 layers, 4 KV heads, head_dim 128 -> 192,512 bytes (memory_facts.json).
    arch = Architecture(
        hidden_size=4096, num_layers=94, num_attention_heads=64, num_kv_heads=4, head_dim=128,
        intermediate_size=12288, vocab_size=151936, num_experts=128, experts_per_token=8,
        expert_intermediate_size=1536, qk_norm=True,
    )
    assert kv_cache_bytes_per_token(arch) == _facts()["kv_qwen3-235b-a22b"]["value_bytes"]


def test_kv_cache_is_not_the_popular_params_times_context_rule():
    # The cache is 2 * layers * kv_heads * head_dim * bytes per token, not 2 * params * context.
    arch = _arch("llama-3-8b")
    cache = kv_cache_bytes(arch, batch_size=1, context_length=8192)
    assert cache == 131072 * 8192  # 1 GiB at 8k context in bf16
    assert cache < 2 * count_parameters(arch).total * 8192 / 1000


def test_kv_dtype_scales_the_cache():
    arch = _arch("llama-3-8b")
    bf16 = kv_cache_bytes_per_token(arch, "bf16")
    assert kv_cache_bytes_per_token(arch, "fp8") == bf16 / 2
    assert kv_cache_bytes_per_token(arch, "int4") == bf16 / 4


def test_sliding_window_layers_are_capped_at_the_window():
    # Mistral 7B keeps a 4096-token rolling buffer in every layer (Mistral 7B paper, Sec. 2).
    mistral = _arch("mistral-7b-v0.1")
    at_window = kv_cache_bytes(mistral, 1, 4096)
    assert kv_cache_bytes(mistral, 1, 32768) == at_window
    # Gemma 2 9B: 21 of 42 layers slide over 4096 tokens (Gemma Team 2024, Sec. 2).
    gemma = _arch("gemma-2-9b")
    per_layer_token = 2 * 8 * 256 * 2
    assert kv_cache_bytes(gemma, 1, 8192) == per_layer_token * (21 * 8192 + 21 * 4096)


def test_weights_bytes_by_precision_and_quantization_overhead():
    params = count_parameters(_arch("llama-3-8b"))
    assert weight_bytes(params, "bf16").total_bytes == 2 * params.total
    assert weight_bytes(params, "fp32").total_bytes == 4 * params.total
    plain_int4 = weight_bytes(params, "int4", group_size=0).total_bytes
    assert plain_int4 == params.total / 2
    grouped = weight_bytes(params, "int4", group_size=128, scale_bytes=2).total_bytes
    # one fp16 scale per 128 weights = 1/8 bit per weight -> 0.125/4 = 3.1% over 4 bits
    assert grouped / plain_int4 == pytest.approx(1 + 2 / 128 / 0.5, rel=1e-6)
    mixed = weight_bytes(params, "int4", head_dtype="bf16", embedding_dtype="bf16", group_size=0)
    assert mixed.head_bytes == 2 * params.output_head
    assert mixed.embedding_bytes == 2 * params.embedding
    assert mixed.total_bytes > plain_int4


def test_zero_stages_reproduce_the_paper_example():
    # Rajbhandari et al. 2020, Figure 1: 7.5B parameters, N_d = 64, K = 12 (memory_facts.json).
    example = _facts()["zero_stages_formulas"]["worked_example"]
    expected = example["bytes"]
    stages = {0: "baseline_DP", 1: "ZeRO-1 (P_os)", 2: "ZeRO-2 (P_os+g)", 3: "ZeRO-3 (P_os+g+p)"}
    for stage, key in stages.items():
        got = training_state_bytes(int(example["psi"]), "adam", True, stage, example["N_d"])
        assert got.total_bytes == pytest.approx(expected[key], rel=1e-12)
    assert training_state_bytes(10, "adam").bytes_per_param_unsharded == 16


def test_optimizer_variants_bytes_per_param():
    assert training_state_bytes(1, "adam_8bit").bytes_per_param_unsharded == 10
    assert training_state_bytes(1, "sgd_momentum").bytes_per_param_unsharded == 12
    assert training_state_bytes(1, "adam", master_weights=False).bytes_per_param_unsharded == 12
    # tensor x pipeline parallel divide the model states
    assert training_state_bytes(800, "adam", True, 0, 1, 4, 2).total_bytes == 16 * 100


def test_activation_memory_matches_korthikanti_worked_example():
    # Korthikanti et al. 2022 eqs. 1-5 for GPT-3 175B, s=2048, b=1, t=8 (memory_facts.json).
    fact = _facts()["korthikanti_activation_memory"]["worked_example"]["gpt3_175b"]
    gpt3 = _arch("gpt3-175b")
    # their layer is GPT-3's with dropout (two 1-byte masks per token and the score dropout)
    no_parallel = activation_bytes(gpt3, 2048, 1, flash_attention=False, dropout=True)
    assert no_parallel.per_layer_bytes == pytest.approx(fact["no_parallel_bytes_per_layer"])
    tp_sp_selective = activation_bytes(
        gpt3, 2048, 1, tensor_parallel=8, sequence_parallel=True, recompute="selective",
        dropout=True,
    )
    assert tp_sp_selective.per_layer_bytes == pytest.approx(fact["tp_sp_selective_bytes_per_layer"])
    full = activation_bytes(gpt3, 2048, 1, recompute="full")
    assert full.per_layer_bytes == 2 * 2048 * 12288
    # TP without SP: s*b*h*(10 + 24/t + 5as/(ht))
    tp = activation_bytes(gpt3, 2048, 1, tensor_parallel=8, flash_attention=False, dropout=True)
    sbh = 2048 * 12288
    assert tp.per_layer_bytes == pytest.approx(sbh * (10 + 24 / 8 + 5 * 96 * 2048 / (12288 * 8)))


def test_forward_flops_hand_computation_llama3_8b():
    # Hand computation (Kaplan et al. 2020 Table 1; PaLM Appendix B), Llama-3-8B at s = 8192:
    # matmul: 2 * (8,030,261,248 total - 525,336,576 input embedding - 266,240 norms)
    # attention: 32 layers * 2 * (4096 + 4096) * (8192 + 1) / 2 causal positions
    arch = _arch("llama-3-8b")
    params = count_parameters(arch)
    assert params.embedding == 128256 * 4096
    assert params.norms == 32 * 2 * 4096 + 4096
    matmul = 2 * (8_030_261_248 - 525_336_576 - 266_240)
    attention = 32 * 2 * (4096 + 4096) * (8192 + 1) / 2
    flops = flops_per_token(arch, params, 8192)
    assert flops.matmul_forward == matmul
    assert flops.attention_forward == pytest.approx(attention)
    assert flops.forward == pytest.approx(matmul + attention)
    assert flops.training == pytest.approx(3 * (matmul + attention))
    assert flops.six_n == 6 * 8_030_261_248
    # at 8k context attention adds ~11% over 2N's matmuls for this model
    assert 1.0 < flops.training_over_six_n < 1.2


def test_tied_output_head_still_costs_a_matmul():
    gpt2 = _arch("gpt2")
    params = count_parameters(gpt2)
    assert params.output_head == 0
    flops = flops_per_token(gpt2, params, 1024)
    assert flops.matmul_forward == 2 * (params.total - params.embedding - params.norms + 50257 * 768)


def test_moe_flops_use_active_parameters():
    mixtral = _arch("mixtral-8x7b-v0.1")
    params = count_parameters(mixtral)
    flops = flops_per_token(mixtral, params, 4096)
    assert flops.six_n == 6 * 12_879_925_248  # active, not total (Mixtral: 12.9B of 46.7B)


def test_recompute_adds_hardware_flops_only():
    arch = _arch("llama-3-8b")
    params = count_parameters(arch)
    none = flops_per_token(arch, params, 4096, "none")
    selective = flops_per_token(arch, params, 4096, "selective")
    full = flops_per_token(arch, params, 4096, "full")
    assert none.training == selective.training == full.training
    assert selective.training_hardware == pytest.approx(none.training + none.attention_forward)
    assert full.training_hardware == pytest.approx(4 * none.forward)


def test_causal_average_and_sliding_window_positions():
    assert mean_attended_positions(1, None) == 1
    assert mean_attended_positions(4, None) == 2.5
    assert mean_attended_positions(4, None, causal=False) == 4
    # window 2 over 4 positions: 1, 2, 2, 2 -> 1.75
    assert mean_attended_positions(4, 2) == 1.75
    gemma = _arch("gemma-2-9b")
    short = attention_flops_per_token(gemma, 4096)
    full_layers_only = attention_flops_per_token(gemma.model_copy(update={
        "sliding_window_pattern": "none"}), 8192)
    assert attention_flops_per_token(gemma, 8192) < full_layers_only
    assert short < attention_flops_per_token(gemma, 8192)


dims = st.sampled_from([64, 128, 256, 512, 1024, 4096, 8192])


@settings(max_examples=150, deadline=None)
@given(
    hidden=dims,
    layers=st.integers(1, 200),
    seq=st.integers(1, 1_000_000),
    batch=st.integers(1, 4096),
    kv_dtype=st.sampled_from(["fp32", "bf16", "fp8", "int8", "int4"]),
    tp=st.sampled_from([1, 2, 4, 8]),
    pp=st.sampled_from([1, 2, 4, 8, 16]),
    recompute=st.sampled_from(["none", "selective", "full"]),
    flash=st.booleans(),
    sp=st.booleans(),
)
def test_memory_and_flops_are_finite_positive_and_monotonic(
    hidden, layers, seq, batch, kv_dtype, tp, pp, recompute, flash, sp
):
    arch = Architecture(hidden_size=hidden, num_layers=layers, num_attention_heads=hidden // 64,
                        num_kv_heads=1, intermediate_size=4 * hidden, vocab_size=32000)
    bigger = arch.model_copy(update={"num_layers": layers + 1})
    params = count_parameters(arch)
    values = [
        kv_cache_bytes(arch, batch, seq, kv_dtype),
        activation_bytes(arch, seq, batch, tp, pp, 8, sp, recompute, flash).total_bytes,
        flops_per_token(arch, params, seq, recompute).training_hardware,
        weight_bytes(params, "int4").total_bytes,
    ]
    assert all(math.isfinite(v) and v > 0 for v in values)
    assert kv_cache_bytes(bigger, batch, seq, kv_dtype) > values[0]
    assert flops_per_token(bigger, count_parameters(bigger), seq).forward > flops_per_token(
        arch, params, seq).forward
