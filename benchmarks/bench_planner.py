"""How fast the parallelism planner scores layouts: numpy `search_plans` against a plain loop.

Run: `python benchmarks/bench_planner.py` (from the repository root or anywhere).

For each scenario, `engine.planner.search_plans` (grid construction, memory, timing, ranking and
building the top 10 plans included) is timed against a loop over the same candidate layouts in
plain Python: per-scenario constants hoisted, the engine's own `training_state_bytes` and
`activation_bytes` per layout, the same step-time formulas, keeping the fastest layout that fits.
Both must pick a plan with the same tokens/s before anything is timed. Reported: candidates scored,
median time of the full search, plans scored per second, and the loop's median with the ratio.
The issue's bar: at least 10,000 candidates in well under 100 ms.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmscope.engine.architecture import Architecture  # noqa: E402
from llmscope.engine.flops import flops_per_token  # noqa: E402
from llmscope.engine.hardware import find_accelerator  # noqa: E402
from llmscope.engine.hf_import import architecture_from_hf_config  # noqa: E402
from llmscope.engine.memory import GIB, activation_bytes, training_state_bytes  # noqa: E402
from llmscope.engine.parameters import count_parameters  # noqa: E402
from llmscope.engine.planner import (  # noqa: E402
    DEFAULT_COMPUTE_EFFICIENCY,
    RECOMPUTE_MODES,
    candidate_grid,
    search_plans,
)
from llmscope.engine.scenario import Scenario  # noqa: E402
from timing import median_s  # benchmarks/timing.py (the script's directory)

REFERENCE = ROOT.parent / "shared" / "reference" / "models.json"
VECTOR_REPEATS = 21
LOOP_REPEATS = 3


def _architecture(model_id: str, fallback: dict) -> Architecture:
    """The published config from the shared reference when present, else the same shape."""
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


def loop_search(scenario: Scenario, accelerator, layouts: list[tuple]) -> tuple[float, int]:
    """Plain Python over the same layouts: (best tokens/s, feasible count)."""
    arch, train, cluster = scenario.model, scenario.training, scenario.cluster
    params = count_parameters(arch)
    s, B, per_node = train.sequence_length, train.global_batch_size, cluster.per_node
    flops = {mode: flops_per_token(arch, params, s, mode) for mode in RECOMPUTE_MODES}
    rate = accelerator.bf16_tflops * 1e12 * DEFAULT_COMPUTE_EFFICIENCY
    intra = accelerator.interconnect_gbs / 2 * 1e9
    inter = cluster.inter_node_gbs * 1e9
    limit = accelerator.memory_bytes
    overhead = train.framework_overhead_gib * GIB
    best, feasible = 0.0, 0
    for t, p, d, e, zero, b, recompute in layouts:
        m = B // (b * d)
        expert_params = params.experts if e > 1 else 0
        states = training_state_bytes(
            params.total, train.optimizer, train.master_weights, zero, d, t, p,
            expert_params=expert_params, expert_parallel=e,
        )  # fmt: skip
        acts = activation_bytes(
            arch, s, b, t, p, m, train.sequence_parallel, recompute, train.flash_attention
        )
        if states.total_bytes + acts.total_bytes + overhead > limit:
            continue
        feasible += 1
        f = flops[recompute]
        compute = f.training_hardware * b * s / (t * p) / rate
        forward = f.forward * b * s / (t * p) / rate
        backward = compute - forward
        n_coll = 6 if recompute == "full" else 4
        act = 2 * s * b * arch.hidden_size
        tp = arch.num_layers / p * n_coll * 2 * (t - 1) / t * act / intra
        a2a = s * b / t * arch.experts_per_token * arch.hidden_size * 2 * (e - 1) / e
        ep = arch.num_moe_layers / p * n_coll * a2a / (intra if t * e <= per_node else inter)
        pp = 2 * act / t / (intra if t * p <= per_node else inter) if p > 1 else 0.0
        dense = (params.total - expert_params) / (t * p)
        experts = expert_params / (t * p * e)
        de = d / e
        bw = intra if t * p * d <= per_node else inter
        allreduce = (2 * (d - 1) / d * 2 * dense + 2 * (de - 1) / de * 2 * experts) / bw
        half = allreduce / 2
        if zero <= 1:
            per_mb, per_step = 0.0, max(0.0, allreduce - backward)
        elif zero == 2:
            per_mb, per_step = max(0.0, half - backward), max(0.0, half - forward)
        else:
            per_mb, per_step = max(0.0, half - forward) + max(0.0, 2 * half - backward), 0.0
        step = (m + p - 1) * (compute + tp + ep + pp + per_mb) + per_step
        best = max(best, B * s / step)
    return best, feasible




def main() -> None:
    print(f"{'scenario':<50} {'layouts':>8} {'search':>9} {'plans/s':>11} {'loop':>9} {'ratio':>6}")
    for title, sc in scenarios():
        accelerator = find_accelerator(sc.cluster.accelerator)
        grid = candidate_grid(sc)
        within = grid.subset(grid.t * grid.p * grid.d <= sc.cluster.count)
        layouts = [
            (int(t), int(p), int(d), int(e), int(z), int(b), RECOMPUTE_MODES[int(r)])
            for t, p, d, e, z, b, r in zip(
                within.t, within.p, within.d, within.e, within.zero, within.b, within.recompute
            )
        ]
        search = search_plans(sc, accelerator, top=10)
        loop_best, loop_feasible = loop_search(sc, accelerator, layouts)
        assert search.candidates_evaluated == len(layouts)
        assert search.feasible == loop_feasible, (search.feasible, loop_feasible)
        assert abs(search.plans[0].tokens_per_s - loop_best) <= 1e-9 * loop_best

        vector = median_s(lambda: search_plans(sc, accelerator, top=10), VECTOR_REPEATS)
        loop = median_s(lambda: loop_search(sc, accelerator, layouts), LOOP_REPEATS)
        n = len(layouts)
        print(
            f"{title:<50} {n:>8,} {vector * 1e3:>7.1f}ms {n / vector:>11,.0f} "
            f"{loop * 1e3:>7.0f}ms {loop / vector:>5.0f}x"
        )
    print(
        f"medians of {VECTOR_REPEATS} searches and {LOOP_REPEATS} loops; search includes grid, "
        "ranking and building the top 10 plans"
    )


if __name__ == "__main__":
    main()
