"""How fast the parallelism planner scores layouts: numpy `search_plans` against a plain loop.

Run: `python benchmarks/bench_planner.py` (from the repository root or anywhere).

For each scenario, `engine.planner.search_plans` (grid construction, memory, timing, ranking,
scoring the current layout and building the top 10 plans included) is timed against the plain
path for one layout: `evaluate()` of the scenario with the layout applied (validation, memory and
`engine.performance.step_time` on numbers), over a sample of the same layouts. Every sampled
layout must get from `evaluate()` the memory and MFU the search gave it before anything is timed.
Reported: candidates scored, median time of the full search, layouts scored per second (the bar:
above 1,000,000), the loop's time per layout and the ratio of the two rates.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from llmscope.engine.architecture import Architecture  # noqa: E402
from llmscope.engine.evaluate import evaluate  # noqa: E402
from llmscope.engine.hardware import find_accelerator  # noqa: E402
from llmscope.engine.hf_import import architecture_from_hf_config  # noqa: E402
from llmscope.engine.planner import (  # noqa: E402
    _memory,
    _plan_at,
    _score,
    candidate_grid,
    plan_updates,
    search_plans,
)
from llmscope.engine.scenario import Scenario  # noqa: E402
from timing import median_s  # benchmarks/timing.py (the script's directory)

REFERENCE = ROOT / "tests" / "data" / "models.json"
VECTOR_REPEATS = 21
LOOP_REPEATS = 3
LOOP_SAMPLE = 300  # layouts the plain loop evaluates (evaluate() costs ~0.3 ms each)


def _architecture(model_id: str, fallback: dict) -> Architecture:
    """The published config from the tests' copy of the reference when present, else the same shape."""
    if REFERENCE.is_file():
        models = {m["id"]: m for m in json.loads(REFERENCE.read_text())["models"]}
        if model_id in models:
            return architecture_from_hf_config(models[model_id]["raw_config"])
    return Architecture(**fallback)


def scenarios() -> list[tuple[str, Scenario]]:
    llama405 = _architecture(
        "llama-3.1-405b",
        dict(name="Llama-3.1-405B", vocab_size=128256, hidden_size=16384, num_layers=126,
             num_attention_heads=128, num_kv_heads=8, intermediate_size=53248),
    )  # fmt: skip
    llama70 = _architecture(
        "llama-3.1-70b",
        dict(name="Llama-3.1-70B", vocab_size=128256, hidden_size=8192, num_layers=80,
             num_attention_heads=64, num_kv_heads=8, intermediate_size=28672),
    )  # fmt: skip
    mixtral = _architecture(
        "mixtral-8x7b-v0.1",
        dict(name="Mixtral-8x7B", vocab_size=32000, hidden_size=4096, num_layers=32,
             num_attention_heads=32, num_kv_heads=8, intermediate_size=14336, num_experts=8,
             experts_per_token=2, expert_intermediate_size=14336),
    )  # fmt: skip
    base = Scenario()
    return [
        (
            "Llama 3.1 405B, 16,384 x H100, batch 2,048 x 8k",
            base.model_copy(update={"model": llama405}).with_values(
                {"cluster.count": 16384, "training.global_batch_size": 2048,
                 "training.sequence_length": 8192}
            ),
        ),  # fmt: skip
        (
            "Llama 3.1 70B, 1,024 x H100, batch 1,024 x 4k",
            base.model_copy(update={"model": llama70}).with_values({"cluster.count": 1024}),
        ),
        (
            "Mixtral 8x7B, 512 x H100, batch 1,024 x 4k",
            base.model_copy(update={"model": mixtral}).with_values({"cluster.count": 512}),
        ),
    ]


def sampled_plans(scenario: Scenario, accelerator) -> list:
    """A sample of the search's scored layouts, as Plans from the vectorized path."""
    grid = candidate_grid(scenario)
    grid = grid.subset(grid.used <= scenario.cluster.count)
    pick = np.random.default_rng(0).choice(len(grid), min(LOOP_SAMPLE, len(grid)), replace=False)
    sample = grid.subset(np.sort(pick))
    memory, m = _memory(scenario, sample)
    timing = _score(scenario, accelerator, sample, memory, m)
    per_node = scenario.cluster.accelerators_per_node
    return [_plan_at(sample, memory, timing, i, per_node) for i in range(len(sample))], len(grid)


def loop(scenario: Scenario, plans: list) -> list:
    """The plain path: evaluate() of the scenario with each layout applied."""
    return [evaluate(scenario.with_values(plan_updates(plan))) for plan in plans]


def main() -> None:
    print(f"{'scenario':<50} {'layouts':>8} {'search':>9} {'layouts/s':>11} {'loop/layout':>12} "
          f"{'ratio':>6}")  # fmt: skip
    for title, sc in scenarios():
        accelerator = find_accelerator(sc.cluster.accelerator)
        plans, n = sampled_plans(sc, accelerator)
        for plan, readout in zip(plans, loop(sc, plans)):
            assert not readout.layout_problems, readout.layout_problems
            assert abs(readout.performance.mfu - plan.mfu) <= 1e-9 * plan.mfu
            memory = readout.training_memory.total_bytes
            assert abs(memory - plan.memory_bytes) <= 1e-6 * plan.memory_bytes
        search = search_plans(sc, accelerator, top=10)
        assert search.candidates_evaluated == n
        vector = median_s(lambda: search_plans(sc, accelerator, top=10), VECTOR_REPEATS)
        per_layout = median_s(lambda: loop(sc, plans), LOOP_REPEATS) / len(plans)
        print(
            f"{title:<50} {n:>8,} {vector * 1e3:>7.1f}ms {n / vector:>11,.0f} "
            f"{per_layout * 1e6:>10.0f}us {per_layout * n / vector:>5.0f}x"
        )
    print(
        f"medians of {VECTOR_REPEATS} searches and {LOOP_REPEATS} loops over {LOOP_SAMPLE} sampled "
        "layouts; search includes grid, ranking, the current layout and the top 10 plans"
    )


if __name__ == "__main__":
    main()
