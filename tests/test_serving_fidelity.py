"""Published serving benchmarks (tests/data/serving_benchmarks.json) through the path
`llmscope show PRESET --set ... --json` takes: load_source + apply_settings + evaluate.

Each case names its source (TensorRT-LLM's performance tables, NVIDIA NIM's benchmarking docs);
the model has no per-case factor, so a case that drifts out of tolerance means the physics moved.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmscope.engine.evaluate import evaluate
from llmscope.presets.settings import format_setting
from llmscope.presets.sources import apply_settings, load_source

DATA = Path(__file__).resolve().parent / "data" / "serving_benchmarks.json"
TOLERANCE = 0.30  # issue 14: every case within +-30%
CASES = json.loads(DATA.read_text())["cases"]
# Held out: other engine versions, accelerators (A100 and L40S throughput, H200), a mixture of
# experts, concurrency up to thousands; never used to choose a constant. Checked at +-40%.
HELD_OUT_TOLERANCE = 0.40
HELD_OUT = json.loads((DATA.parent / "serving_heldout.json").read_text())["cases"]


def predicted(case: dict) -> float:
    scenario, _, _ = load_source(case["preset"])
    settings = [f"{key}={format_setting(value)}" for key, value in case["set"].items()]
    return evaluate(apply_settings(scenario, settings)).to_flat_dict()[case["metric"]]


def test_the_cases_cover_each_published_figure():
    metrics = {case["metric"] for case in CASES}
    assert metrics == {
        "serving.ttft_s", "serving.decode_s_per_token", "serving.tokens_per_s_per_accelerator"
    }
    assert all(case["source"] and case["published"] > 0 for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_published_serving_figure_within_tolerance(case):
    ratio = predicted(case) / case["published"]
    assert 1 - TOLERANCE <= ratio <= 1 + TOLERANCE, (
        f"{case['id']}: predicted / published = {ratio:.3f} ({case['source']})"
    )


@pytest.mark.parametrize("case", HELD_OUT, ids=[case["id"] for case in HELD_OUT])
def test_held_out_serving_figure_within_wider_tolerance(case):
    if "excluded" in case:
        pytest.skip(case["excluded"])
    ratio = predicted(case) / case["published"]
    assert 1 - HELD_OUT_TOLERANCE <= ratio <= 1 + HELD_OUT_TOLERANCE, (
        f"{case['id']}: predicted / published = {ratio:.3f} ({case['source']})"
    )


def test_held_out_cases_cover_other_accelerators_moe_and_high_concurrency():
    accelerators = {case["set"]["cluster.accelerator"] for case in HELD_OUT}
    assert {"nvidia-a100-sxm-80gb", "nvidia-l40s", "nvidia-h200-sxm", "amd-mi300x"} <= accelerators
    assert any(case["id"].startswith("vllm-") for case in HELD_OUT)  # another engine
    assert any(case["preset"].startswith("qwen3-235b") for case in HELD_OUT)  # MoE
    assert max(case["set"]["serving.batch_size"] for case in HELD_OUT) >= 1024
    excluded = [case for case in HELD_OUT if "excluded" in case]
    assert len(excluded) <= 3 and all(len(case["excluded"]) > 80 for case in excluded)


def _show_json(preset: str, settings: dict) -> dict:
    from llmscope.presets.report import json_document

    scenario, _, _ = load_source(preset)
    scenario = apply_settings(scenario, [f"{k}={format_setting(v)}" for k, v in settings.items()])
    return json_document(scenario, evaluate(scenario))


LLAMA_70B_H100_FP8 = {
    "cluster.accelerator": "nvidia-h100-sxm",
    "serving.weight_dtype": "fp8",
    "serving.kv_dtype": "fp8",
}


def test_frontier_points_are_the_scenario_evaluated_at_that_tp_and_batch():
    document = _show_json("llama3.1-70b", LLAMA_70B_H100_FP8)
    points = document["serving.frontier"]
    assert {p["tensor_parallel"] for p in points} == {1, 2, 4, 8}
    for point in points[:: max(1, len(points) // 7)]:
        at = _show_json(
            "llama3.1-70b",
            LLAMA_70B_H100_FP8
            | {"serving.tensor_parallel": point["tensor_parallel"], "serving.batch_size": point[
                "batch"]},
        )
        assert at["serving.tensor_parallel"] == point["tensor_parallel"]
        assert at["serving.decode_tokens_per_s"] == pytest.approx(point["tokens_per_s_per_user"])
        assert at["serving.tokens_per_s_per_accelerator"] == pytest.approx(
            point["tokens_per_s_per_accelerator"]
        )
        assert at["serving.ttft_s"] == pytest.approx(point["ttft_s"])
        assert at["serving.usd_per_million_output_tokens_all_in"] == pytest.approx(
            point["usd_per_million_output_tokens_all_in"]
        )


def test_cheapest_llama_70b_on_h100_fp8_at_20_tokens_per_s_per_user():
    # The answer help explains: TP 4 at ~150 requests in flight. TP 1 holds only ~20 sequences
    # beside 70 GB of weights; TP 2 reaches 20 tok/s/user at ~70 requests because every step
    # still streams 35 GB per GPU; TP 8's steps are dominated by fixed per-step costs and 160
    # all-reduces that do not shrink with TP, so each GPU does less.
    document = _show_json("llama3.1-70b", LLAMA_70B_H100_FP8)
    best = {k.rsplit(".", 1)[1]: v for k, v in document.items() if ".best_at_target." in k}
    assert best["tensor_parallel"] == 4
    assert 100 <= best["batch"] <= 250
    assert best["tokens_per_s_per_user"] >= 20
    at_target = [p for p in document["serving.frontier"] if p["tokens_per_s_per_user"] >= 20]
    assert max(p["tokens_per_s_per_accelerator"] for p in at_target) <= (
        best["tokens_per_s_per_accelerator"]
    )
    # Raising the bar to 40 tok/s/user buys speed with fewer requests per GPU: a dearer token.
    faster = _show_json(
        "llama3.1-70b", LLAMA_70B_H100_FP8 | {"serving.min_tokens_per_s_per_user": 40.0}
    )
    assert faster["serving.best_at_target.usd_per_million_output_tokens_all_in"] > (
        best["usd_per_million_output_tokens_all_in"]
    )


def test_help_explains_the_answer_the_engine_gives():
    from llmscope.tui.screens.help import READOUTS_HELP

    document = _show_json("llama3.1-70b", LLAMA_70B_H100_FP8)
    tp = document["serving.best_at_target.tensor_parallel"]
    batch = document["serving.best_at_target.batch"]
    usd = document["serving.best_at_target.usd_per_million_output_tokens_all_in"]
    assert f"TP {tp} at ~155 requests" in READOUTS_HELP
    assert batch == pytest.approx(155, rel=0.1)
    assert f"${usd:.2f} per 1M output tokens" in READOUTS_HELP
