"""Serving fidelity and speed: predicted / published for every case in
tests/data/serving_benchmarks.json, then the time of `evaluate()` and of the frontier.

Run: `python benchmarks/bench_fidelity_serving.py` (from anywhere).

Each case goes through the path `llmscope show PRESET --set ... --json` takes (load_source +
apply_settings + evaluate). Timing: medians of repeated runs (benchmarks/timing.py), with the
frontier's ratio to one scenario point (the work it repeats 4 TP x 64 batches, twice).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmscope.engine.evaluate import evaluate  # noqa: E402
from llmscope.engine.serving import (  # noqa: E402
    ServingModel,
    serving_economics,
    serving_frontier,
)
from llmscope.presets.settings import format_setting  # noqa: E402
from llmscope.presets.sources import apply_settings, load_source  # noqa: E402
from timing import median_s  # benchmarks/timing.py (the script's directory)

CASES = ROOT / "tests" / "data" / "serving_benchmarks.json"
HELD_OUT = ROOT / "tests" / "data" / "serving_heldout.json"
LABELS = {
    "serving.ttft_s": "TTFT s",
    "serving.decode_s_per_token": "ITL s",
    "serving.tokens_per_s_per_accelerator": "tok/s/acc",
}


def scenario_for(case: dict):
    scenario, _, _ = load_source(case["preset"])
    return apply_settings(scenario, [f"{k}={format_setting(v)}" for k, v in case["set"].items()])


def fidelity(path: Path, tolerance: float) -> None:
    cases = json.loads(path.read_text())["cases"]
    print(f"{path.name} (tolerance {tolerance:.0%})")
    print(f"{'case':46} {'figure':>10} {'predicted':>11} {'published':>11} {'pred/pub':>9}")
    errors = []
    for case in cases:
        value = evaluate(scenario_for(case)).to_flat_dict()[case["metric"]]
        ratio = value / case["published"]
        excluded = "excluded" in case
        if not excluded:
            errors.append(abs(ratio - 1))
        flag = "  (excluded: see its note)" if excluded else (
            "" if abs(ratio - 1) <= tolerance else f"  <-- outside {tolerance:.0%}"
        )
        print(
            f"{case['id']:46} {LABELS[case['metric']]:>10} {value:11.4g} "
            f"{case['published']:11.4g} {ratio:9.3f}{flag}"
        )
    print(
        f"\n{len(errors)} cases: median |error| {statistics.median(errors):.1%}, worst "
        f"{max(errors):.1%}, within {tolerance:.0%}: "
        f"{sum(e <= tolerance for e in errors)}/{len(errors)}\n"
    )


def speed() -> None:
    scenario, _, _ = load_source("llama3.1-70b")
    scenario = scenario.with_values(
        {"serving.weight_dtype": "fp8", "serving.kv_dtype": "fp8", "cluster.accelerator":
         "nvidia-h100-sxm", "serving.tensor_parallel": 4, "serving.batch_size": 64}
    )
    readout = evaluate(scenario)
    best = readout.serving_frontier.best_at_target
    print(f"\nLlama 3.1 70B, H100 SXM, fp8, 1024 in / 256 out: cheapest at >= 20 tok/s/user: {best}")
    arch, serve = scenario.model, scenario.serving
    params, accelerator = readout.params, readout.accelerator
    price = readout.serving.price_usd_per_hour
    per_node = scenario.cluster.per_node

    def point():
        serving_economics(arch, params, serve, accelerator, price)

    def frontier():
        serving_frontier(arch, params, serve, accelerator, price, per_node)

    full = median_s(lambda: evaluate(scenario), repeats=15, inner=50)
    one = median_s(point, repeats=15, inner=100)
    sweep = median_s(frontier, repeats=15, inner=50)
    model = median_s(lambda: ServingModel(arch, params, serve, accelerator), repeats=15, inner=200)
    points = len(readout.serving_frontier.points)
    print(f"{'what':44} {'median':>10} {'budget':>8} {'ratio':>8}")
    print(f"{'evaluate() (frontier included)':44} {full * 1e6:8.0f}us {'1 ms':>8} {full / 1e-3:8.2f}")
    print(f"{'serving_economics() (one point)':44} {one * 1e6:8.0f}us {'':>8} {'':>8}")
    print(
        f"{'serving_frontier() (' + str(points) + ' points, 4 TP x 64 batches)':44} "
        f"{sweep * 1e6:8.0f}us {'5 ms':>8} {sweep / 5e-3:8.2f}"
    )
    print(f"{'  of which the per-scenario constants':44} {model * 1e6:8.0f}us")
    print(f"frontier / one point: {sweep / one:.1f}x for {points} points")


if __name__ == "__main__":
    fidelity(CASES, 0.30)
    fidelity(HELD_OUT, 0.40)
    speed()
