"""The step-time model against published training runs at their published layouts
(tests/data/training_throughput.json; benchmarks/bench_fidelity.py prints the table)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from llmscope.engine import evaluate
from llmscope.presets.library import find_preset

CASES = json.loads((Path(__file__).parent / "data" / "training_throughput.json").read_text())[
    "cases"
]
TOLERANCE = 0.15
MEDIAN_TOLERANCE = 0.07
# Megatron-DeepSpeed's MT-NLG runs are 20-25% slower per micro-batch than Megatron-LM's runs of
# the same model and layout (Narayanan et al. 2021's 530B case, which the model meets within 3%);
# the A100 40GB's lower HBM bandwidth accounts for ~5% of it. The rest is the framework (DeepSpeed's
# pipeline engine sends whole activations with blocking broadcasts and has a fixed cost per step),
# which no setting of a scenario describes; the model is not tuned to it.
FRAMEWORK_GAP = {"mt-nlg-530b-2240", "mt-nlg-530b-2800", "mt-nlg-530b-3360"}


def _ratio(case: dict) -> float:
    scenario = find_preset(case["preset"]).scenario.with_values(case["set"])
    readout = evaluate(scenario)
    assert not readout.layout_problems, readout.layout_problems
    predicted = float(readout.performance.tokens_per_s_per_accelerator)
    return predicted / case["published_tokens_per_s_per_accelerator"]


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c,
            id=c["id"],
            marks=[pytest.mark.xfail(strict=True, reason="framework gap, see FRAMEWORK_GAP")]
            if c["id"] in FRAMEWORK_GAP
            else [],
        )
        for c in CASES
    ],
)
def test_each_published_run_is_predicted_within_tolerance(case):
    assert abs(_ratio(case) - 1) <= TOLERANCE


def test_median_error_over_all_published_runs():
    errors = [abs(_ratio(c) - 1) for c in CASES]
    assert statistics.median(errors) <= MEDIAN_TOLERANCE


def test_llama31_405b_at_its_published_layout_fits_and_predicts_published_mfu():
    # Dubey et al. 2024 Sec. 3.3 / Table 4: TP 8 x PP 16 x DP 128 on 16,384 H100 80GB, 38-43% MFU
    readout = evaluate(find_preset("llama3.1-405b").scenario)
    assert not readout.layout_problems
    assert readout.training_memory.data_parallel == 128
    assert readout.training_fit.used_bytes <= readout.training_fit.capacity_bytes
    assert 0.36 <= readout.performance.mfu <= 0.46
    assert readout.training.mfu == readout.performance.mfu
    assert readout.mfu_source == "predicted"


def test_a_set_mfu_overrides_the_prediction_and_says_so():
    scenario = find_preset("llama3.1-405b").scenario.with_value("cluster.mfu", 0.3)
    readout = evaluate(scenario)
    assert readout.training.mfu == 0.3
    assert readout.mfu_source == "set"
    assert readout.to_flat_dict()["training.mfu_source"] == "set"


# --- held out: other frameworks, FP8, MoE, context parallelism (+-25%) ------------------------

HELD_OUT_TOLERANCE = 0.25


@pytest.mark.parametrize(
    ("updates", "published_mfu"),
    [
        # Dubey et al. 2024 (Llama 3) Table 4: BF16 MFU at TP 8 x PP 16 on H100s
        ({}, 0.41),  # 16,384 GPUs, DP 128, 8K sequences
        ({"cluster.count": 8192}, 0.43),  # 8,192 GPUs, DP 64
        # long context: CP 16, 131,072-token sequences, 16M tokens per step, DP 8
        (
            {"training.sequence_length": 131072, "training.context_parallel": 16,
             "training.global_batch_size": 128},
            0.38,
        ),  # fmt: skip
    ],
    ids=["16k-gpus", "8k-gpus", "context-parallel-16"],
)
def test_llama3_table4_runs_are_predicted_within_the_held_out_tolerance(updates, published_mfu):
    readout = evaluate(find_preset("llama3.1-405b").scenario.with_values(updates))
    assert not readout.layout_problems
    assert abs(readout.performance.mfu / published_mfu - 1) <= HELD_OUT_TOLERANCE


def test_deepseek_v3_fp8_moe_run_is_predicted_within_the_held_out_tolerance():
    # DeepSeek-V3 report: 2,048 H800s, FP8, PP 16 x EP 64 with DualPipe, 14.8T tokens in
    # 2.788M GPU-hours (the preset's [published], filled into training.reference_accelerator_hours)
    readout = evaluate(find_preset("deepseek-v3").scenario)
    assert readout.implied_mfu is not None
    assert abs(readout.performance.mfu / readout.implied_mfu - 1) <= HELD_OUT_TOLERANCE


def test_a_published_run_shows_the_mfu_its_hours_imply():
    # Llama 3.1 405B: 30.84M H100-hours for 15T tokens (model card), restarts and long-context
    # training included, so the implied MFU sits below the predicted (and the paper's 38-43%)
    readout = evaluate(find_preset("llama3.1-405b").scenario)
    flops = readout.flops.training * 15e12
    assert readout.implied_mfu == pytest.approx(flops / (30.84e6 * 3600 * 989.4e12))
    assert readout.implied_mfu < readout.performance.mfu
    assert readout.to_flat_dict()["training.implied_mfu"] == readout.implied_mfu
