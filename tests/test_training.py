"""Training economics against published runs (tests/data/training_runs.json), properties."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from llmscope.engine.architecture import Architecture
from llmscope.engine.errors import EngineInputError
from llmscope.engine.evaluate import evaluate
from llmscope.engine.flops import flops_per_token
from llmscope.engine.hardware import builtin_catalog, find_accelerator
from llmscope.engine.hf_import import architecture_from_hf_config
from llmscope.engine.parameters import count_parameters
from llmscope.engine.scenario import Scenario
from llmscope.engine.training import (
    accelerators_for_deadline,
    implied_mfu,
    smallest_data_parallel_that_fits,
    tokens_for_budget,
    training_economics,
)

REFERENCE = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def reference() -> Path:
    if not (REFERENCE / "training_runs.json").exists():
        pytest.fail(f"reference facts missing: expected {REFERENCE} (tests/data in the repository)")
    return REFERENCE


def _json(reference: Path, name: str) -> dict:
    return json.loads((reference / name).read_text())


def _runs(reference: Path) -> dict[str, dict]:
    return {r["id"]: r for r in _json(reference, "training_runs.json")["runs"]}


def _model(reference: Path, model_id: str) -> Architecture:
    models = {m["id"]: m for m in _json(reference, "models.json")["models"]}
    return architecture_from_hf_config(models[model_id]["raw_config"])


def _peak_bf16_flops(reference: Path, accelerator_id: str) -> float:
    # The catalog's dense bf16 figure; it must agree with the datasheet in tests/data.
    row = {h["id"]: h for h in _json(reference, "hardware.json")["hardware"]}[accelerator_id]
    peak = find_accelerator(accelerator_id).peak_flops("bf16")
    assert peak == pytest.approx(row["dense_bf16_tflops"] * 1e12)
    return peak


# BLOOM-176B (Le Scao et al. 2022, arXiv 2211.05100, Table 1 / Sec. 3.2): 70 layers, hidden 14336,
# 112 heads, 4h GELU MLP with biases, LayerNorm, ALiBi (no position parameters), tied embeddings,
# vocabulary 250,680. (Its extra embedding LayerNorm, 28,672 parameters, is not modelled.)
BLOOM = Architecture(
    name="BLOOM-176B", family="bloom", vocab_size=250680, hidden_size=14336, num_layers=70,
    num_attention_heads=112, num_kv_heads=112, mlp="plain", intermediate_size=4 * 14336,
    mlp_bias=True, attention_qkv_bias=True, attention_out_bias=True, norm="layernorm",
    tie_word_embeddings=True, max_position_embeddings=2048,
)
# PaLM 540B (Chowdhery et al. 2022, Table 1 and Sec. 2): 118 layers, d_model 18432, 48 heads of
# 256, multi-query attention, SwiGLU with d_ff = 4 d_model, vocabulary 256k, shared input/output
# embeddings, no biases; "parallel" blocks with one LayerNorm each.
PALM = Architecture(
    name="PaLM 540B", family="palm", vocab_size=256000, hidden_size=18432, num_layers=118,
    num_attention_heads=48, num_kv_heads=1, head_dim=256, mlp="gated", intermediate_size=73728,
    norm="rmsnorm", norms_per_layer=1, tie_word_embeddings=True, max_position_embeddings=2048,
)

# run id -> (architecture source, accelerator id, training sequence length and its source)
RUNS = {
    # Llama 2 paper (Touvron et al. 2023) Sec. 2.2: 4k context.
    "llama2-7b": ("llama-2-7b", "nvidia-a100-80gb-sxm", 4096),
    "llama2-70b": ("llama-2-70b", "nvidia-a100-80gb-sxm", 4096),
    # Llama 3 paper (Dubey et al. 2024) Sec. 3.4.1: pre-training at 8K; 3.1 8B has Llama 3 8B's
    # architecture (only RoPE scaling and context length changed).
    "llama3.1-8b": ("llama-3-8b", "nvidia-h100-sxm", 8192),
    "llama3.1-70b": ("llama-3.1-70b", "nvidia-h100-sxm", 8192),
    "bloom-176b": (BLOOM, "nvidia-a100-80gb-sxm", 2048),
    "palm-540b": (PALM, "google-tpu-v4", 2048),
}


def _run_flops(reference: Path, run_id: str) -> tuple[float, dict]:
    source, _, seq = RUNS[run_id]
    arch = source if isinstance(source, Architecture) else _model(reference, source)
    params = count_parameters(arch)
    run = _runs(reference)[run_id]
    per_token = flops_per_token(arch, params, seq)
    return per_token.training * run["training_tokens"], run


def test_gpt3_training_flops_match_brown_et_al(reference):
    # Brown et al. 2020, Table D.1: GPT-3 175B, 300B tokens, 3.14e23 FLOPs, counted as
    # 6 x parameters x tokens, "ignoring attention" (Appendix D text).
    run = _runs(reference)["gpt3-175b"]
    arch = _model(reference, "gpt3-175b")
    per_token = flops_per_token(arch, count_parameters(arch), 2048)  # n_ctx 2048 (Sec. 2.1)
    six_nd = per_token.six_n * run["training_tokens"]
    assert six_nd == pytest.approx(run["total_training_flops"], rel=0.005)
    economics = training_economics(
        training_flops_per_token=per_token.training,
        hardware_flops_per_token=per_token.training_hardware,
        six_n_per_token=per_token.six_n,
        tokens=run["training_tokens"],
        accelerator_count=1024,
        peak_flops=1e15,
        mfu=0.4,
        tdp_w=700,
        pue=1.1,
        carbon_kg_per_kwh=0.4,
        price_usd_per_hour=None,
    )
    # With attention counted the total is a little higher: 2 x 2 x 12288 x 96 x 1024.5 FLOPs of
    # attention against 2 x 174.6e9 of matmuls per token, about 1.4%.
    assert economics.six_nd_flops == pytest.approx(six_nd)
    assert 1.0 < economics.flops / run["total_training_flops"] < 1.03


def test_palm_training_flops_match_the_paper(reference):
    # PaLM reports 2527.2 zettaFLOPs; its Appendix B counts attention without the causal saving,
    # our causal count is slightly lower, so agreement within 1% is expected.
    flops, run = _run_flops(reference, "palm-540b")
    assert flops == pytest.approx(run["total_training_flops"], rel=0.01)
    assert count_parameters(PALM).total == pytest.approx(run["params"], rel=0.002)


def test_bloom_architecture_matches_its_published_size(reference):
    published = _runs(reference)["bloom-176b"]["params"]
    assert count_parameters(BLOOM).total == pytest.approx(published, rel=1e-3)


@pytest.mark.parametrize("run_id", sorted(RUNS))
def test_mfu_implied_by_published_hours_is_plausible(reference, run_id):
    flops, run = _run_flops(reference, run_id)
    hours = run.get("gpu_hours") or run.get("chip_hours")
    mfu = implied_mfu(flops, hours, _peak_bf16_flops(reference, RUNS[run_id][1]))
    assert 0.10 <= mfu <= 0.65
    if run.get("reported_mfu"):
        # Published hours include restarts, evaluation and downtime (PaLM: "including downtime"),
        # so the implied MFU sits at or somewhat below the MFU reported while training.
        assert 0.6 * run["reported_mfu"] <= mfu <= run["reported_mfu"]


def test_bloom_wall_clock_energy_and_co2_match_published_figures(reference):
    # GENCI: 1,082,990 GPU-hours on 384 A100s over ~117 days; 433 MWh and 25 t CO2. Luccioni et
    # al. 2022 (arXiv 2211.02001) count 400 W (TDP) per GPU-hour, no PUE, at the French grid's
    # 57 gCO2eq/kWh.
    flops, run = _run_flops(reference, "bloom-176b")
    peak = _peak_bf16_flops(reference, "nvidia-a100-80gb-sxm")
    mfu = implied_mfu(flops, run["gpu_hours"], peak)
    seq = RUNS["bloom-176b"][2]
    per_token = flops_per_token(BLOOM, count_parameters(BLOOM), seq)
    economics = training_economics(
        training_flops_per_token=per_token.training,
        hardware_flops_per_token=per_token.training_hardware,
        six_n_per_token=per_token.six_n,
        tokens=run["training_tokens"],
        accelerator_count=run["gpu_count"],
        peak_flops=peak,
        mfu=mfu,
        tdp_w=400,
        pue=1.0,
        carbon_kg_per_kwh=0.057,
        price_usd_per_hour=None,
    )
    assert economics.accelerator_hours == pytest.approx(run["gpu_hours"], rel=1e-9)
    assert economics.wall_clock_days == pytest.approx(run["wall_time_days"], rel=0.02)
    assert economics.energy_mwh == pytest.approx(run["energy_mwh"], rel=0.01)
    assert economics.co2_tonnes == pytest.approx(run["co2_tonnes"], rel=0.05)
    assert economics.cost_usd is None and economics.price_source == "none"


# --- inverse questions and properties -------------------------------------------------------------

counts = st.integers(min_value=1, max_value=10_000_000)
mfus = st.floats(min_value=0.01, max_value=1.0)
peaks = st.floats(min_value=1e12, max_value=1e16)
flops_per_tok = st.floats(min_value=1e3, max_value=1e16)
token_counts = st.floats(min_value=1e3, max_value=1e17)


def _economics(count, mfu=0.4, peak=1e15, per_token=1e12, tokens=1e12, price=2.0, tdp=700.0):
    return training_economics(
        training_flops_per_token=per_token,
        hardware_flops_per_token=per_token * 4 / 3,
        six_n_per_token=per_token * 0.95,
        tokens=tokens,
        accelerator_count=count,
        peak_flops=peak,
        mfu=mfu,
        tdp_w=tdp,
        pue=1.2,
        carbon_kg_per_kwh=0.4,
        price_usd_per_hour=price,
    )


@settings(max_examples=200, deadline=None)
@given(counts, counts, mfus, peaks, flops_per_tok, token_counts)
def test_time_falls_and_cost_does_not_rise_with_more_accelerators(a, b, mfu, peak, per_tok, tokens):
    # At a fixed MFU the accelerator-hours (and so dollars and energy) do not depend on the count.
    small, large = sorted((a, b))
    few = _economics(small, mfu, peak, per_tok, tokens)
    many = _economics(large, mfu, peak, per_tok, tokens)
    if large > small:
        assert many.wall_clock_s < few.wall_clock_s
    assert many.cost_usd <= few.cost_usd * (1 + 1e-12)
    assert many.energy_mwh <= few.energy_mwh * (1 + 1e-12)


@settings(max_examples=200, deadline=None)
@given(counts, mfus, peaks, flops_per_tok, token_counts, st.floats(0, 1e6), st.floats(1, 2000))
def test_every_output_is_finite(count, mfu, peak, per_tok, tokens, price, tdp):
    economics = _economics(count, mfu, peak, per_tok, tokens, price, tdp)
    for name in economics.__slots__:
        value = getattr(economics, name)
        if isinstance(value, float):
            assert math.isfinite(value) and value >= 0, name


@settings(max_examples=200, deadline=None)
@given(counts, mfus, peaks, flops_per_tok, token_counts)
def test_accelerators_for_deadline_inverts_wall_clock(count, mfu, peak, per_tok, tokens):
    economics = _economics(count, mfu, peak, per_tok, tokens)
    assert accelerators_for_deadline(economics.flops, economics.wall_clock_s, peak, mfu) == count
    # A deadline a little shorter than this run's needs more accelerators.
    shorter = economics.wall_clock_s * 0.99
    assert accelerators_for_deadline(economics.flops, shorter, peak, mfu) > count


@settings(max_examples=200, deadline=None)
@given(counts, mfus, peaks, flops_per_tok, token_counts, st.floats(0.01, 1e4))
def test_tokens_for_budget_and_implied_mfu_invert_the_forward_calculation(
    count, mfu, peak, per_tok, tokens, price
):
    economics = _economics(count, mfu, peak, per_tok, tokens, price)
    assert tokens_for_budget(economics.cost_usd, per_tok, peak, mfu, price) == pytest.approx(tokens)
    assert implied_mfu(economics.flops, economics.accelerator_hours, peak) == pytest.approx(mfu)


def test_bad_inputs_name_the_field():
    with pytest.raises(EngineInputError, match="cluster.mfu"):
        _economics(8, mfu=0.0)
    with pytest.raises(EngineInputError, match="deadline"):
        accelerators_for_deadline(1e24, 0.0, 1e15, 0.4)
    with pytest.raises(EngineInputError, match="price"):
        tokens_for_budget(1e6, 1e12, 1e15, 0.4, 0.0)


def test_unknown_price_and_tdp_give_none_not_zero():
    economics = _economics(8, price=None, tdp=None)
    assert economics.cost_usd is None and economics.price_source == "none"
    assert economics.energy_mwh is None and economics.co2_tonnes is None


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10**6), st.integers(1, 10**6), st.floats(1, 1e12))
def test_smallest_data_parallel_is_the_first_that_fits(dp_star, limit, capacity):
    # A memory curve that is non-increasing in dp and first fits at dp_star.
    def used(dp: int) -> float:
        return capacity * (1.5 if dp < dp_star else 0.5)

    expected = dp_star if dp_star <= limit else None
    assert smallest_data_parallel_that_fits(used, capacity, limit) == expected


def test_bloom_deadline_asks_for_its_published_cluster_through_evaluate(reference):
    # GENCI: 384 A100s for ~117 days, 1,082,990 GPU-hours. At the MFU those hours imply, a 117-day
    # deadline asks for the cluster BLOOM had (the published days, GPUs and hours agree to 0.5%).
    flops, run = _run_flops(reference, "bloom-176b")
    peak = _peak_bf16_flops(reference, "nvidia-a100-80gb-sxm")
    mfu = implied_mfu(flops, run["gpu_hours"], peak)
    scenario = Scenario(model=BLOOM).with_values(
        {
            "cluster.accelerator": "nvidia-a100-80gb-sxm",
            "cluster.mfu": mfu,
            "training.tokens": run["training_tokens"],
            "training.sequence_length": RUNS["bloom-176b"][2],
            "training.deadline_days": run["wall_time_days"],
        }
    )
    targets = evaluate(scenario).training_targets
    assert targets.accelerators_for_deadline == pytest.approx(run["gpu_count"], rel=0.01)
    assert targets.budget_usd is None and targets.tokens_for_budget is None


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 100_000),
    st.floats(0.05, 0.8),
    st.floats(1e9, 1e14),
    st.sampled_from(["nvidia-h100-sxm", "amd-mi300x", "nvidia-a100-80gb-sxm"]),
    st.floats(0.1, 20.0),
)
def test_targets_set_to_the_scenarios_own_run_give_back_its_cluster_and_tokens(
    count, mfu, tokens, accelerator, price
):
    base = Scenario().with_values(
        {
            "cluster.accelerator": accelerator,
            "cluster.count": count,
            "cluster.per_node": min(8, count),
            "cluster.mfu": mfu,
            "cluster.price_usd_per_hour": price,
            "training.tokens": tokens,
        }
    )
    run = evaluate(base).training
    assert run.cost_usd is not None
    assume(run.wall_clock_days <= 36_525)  # the longest deadline a scenario takes: 100 years
    asked = base.with_values(
        {"training.deadline_days": run.wall_clock_days, "training.budget_usd": run.cost_usd}
    )
    readout = evaluate(asked)
    assert readout.training == run  # asking changes no forward figure
    assert readout.training_targets.accelerators_for_deadline == count
    assert readout.training_targets.tokens_for_budget == pytest.approx(tokens)


def test_a_budget_without_a_price_buys_no_stated_tokens_and_bad_targets_name_the_field():
    scenario = Scenario().with_values({"training.budget_usd": 1e6})
    catalog = builtin_catalog()
    unpriced = next(a for a in catalog if a.price_usd_per_hour is None)
    readout = evaluate(scenario.with_value("cluster.accelerator", unpriced.id))
    assert readout.training.cost_usd is None
    assert readout.training_targets.tokens_for_budget is None
    for key, bad in (("training.deadline_days", 0.0), ("training.budget_usd", -5.0)):
        with pytest.raises(EngineInputError, match=key):
            scenario.with_value(key, bad)
