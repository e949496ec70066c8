"""Parallelism planner: memory equals the engine's, hand-computed bubble and communication terms,
monotone in the cluster size, 'no plan fits' with the smallest cluster that would, and the
published Llama 3.1 405B layout (Dubey et al. 2024, "The Llama 3 Herd of Models", Table 4:
TP 8 x PP 16 x DP 128 on 16,384 H100s, 8,192-token sequences, 16M tokens per batch)."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmscope.engine.errors import EngineInputError
from llmscope.engine.evaluate import evaluate
from llmscope.engine.hardware import find_accelerator
from llmscope.engine.hf_import import architecture_from_hf_config
from llmscope.engine.memory import GIB, activation_bytes, training_state_bytes
from llmscope.engine.parameters import count_parameters
from llmscope.engine.performance import device_rates
from llmscope.engine.planner import (
    candidate_grid,
    evaluate_layout,
    plan_updates,
    search_plans,
)
from llmscope.engine.scenario import Scenario

REFERENCE = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def reference() -> Path:
    if not REFERENCE.is_dir():
        pytest.fail(f"reference facts not found at {REFERENCE} (tests/data in the repository)")
    return REFERENCE


def _models() -> dict[str, dict]:
    data = json.loads((REFERENCE / "models.json").read_text())
    return {m["id"]: m for m in data["models"]}


def accelerator(accel_id: str):
    return find_accelerator(accel_id)


def scenario(model_id: str, **values) -> Scenario:
    arch = architecture_from_hf_config(_models()[model_id]["raw_config"])
    updates = {f"{k.split('__')[0]}.{k.split('__')[1]}": v for k, v in values.items()}
    return Scenario(model=arch).with_values(updates)


def llama405b(count: int = 16384) -> Scenario:
    # Llama 3 paper Table 4: 8,192-token sequences, 16M tokens per step = 2,048 sequences.
    return scenario(
        "llama-3.1-405b",
        cluster__accelerator="nvidia-h100-sxm",
        cluster__count=count,
        cluster__per_node=8,
        training__global_batch_size=2048,
        training__sequence_length=8192,
    )


def engine_training_memory(sc: Scenario, plan) -> float:
    """Training memory per accelerator from the engine's own functions for the plan's layout."""
    params = count_parameters(sc.model)
    train = sc.training
    states = training_state_bytes(
        params.total, train.optimizer, train.master_weights, plan.zero_stage,
        plan.data_parallel, plan.tensor_parallel, plan.pipeline_parallel,
        expert_params=params.experts, expert_parallel=plan.expert_parallel,
        fp8_weight_copies=train.precision == "fp8",
    )  # fmt: skip
    acts = activation_bytes(
        sc.model, train.sequence_length, plan.micro_batch_size, plan.tensor_parallel,
        plan.pipeline_parallel, plan.microbatches, train.sequence_parallel, plan.recompute,
        train.flash_attention, context_parallel=plan.context_parallel,
        virtual_stages=plan.virtual_stages, dropout=train.dropout,
    )  # fmt: skip
    return states.total_bytes + acts.total_bytes + train.framework_overhead_gib * GIB


# --- memory equals the engine's -------------------------------------------------------------------


@pytest.mark.parametrize(
    "model_id, count, accel_id",
    [
        ("llama-3-8b", 8, "nvidia-h100-sxm"),
        ("llama-3.1-70b", 64, "nvidia-a100-sxm-80gb"),
        ("qwen2.5-7b", 16, "nvidia-a100-sxm-40gb"),
        ("gpt2", 1, "nvidia-rtx-4090"),
    ],
)
def test_chosen_plan_memory_equals_evaluate_for_that_layout(reference, model_id, count, accel_id):
    sc = scenario(
        model_id,
        cluster__accelerator=accel_id,
        cluster__count=count,
        cluster__per_node=min(8, count),
        training__sequence_length=1024 if model_id == "gpt2" else 4096,
    )
    search = search_plans(sc, accelerator(accel_id), top=5)
    assert search.plans, search.message
    for plan in search.plans:
        applied = sc.with_values(plan_updates(plan))
        readout = evaluate(applied).training_memory
        assert readout.data_parallel == plan.data_parallel
        assert plan.memory_bytes == pytest.approx(readout.total_bytes, rel=1e-12)
        assert plan.memory_bytes <= accelerator(accel_id).memory_bytes


@pytest.mark.parametrize(
    "model_id, count, gbs", [("mixtral-8x7b-v0.1", 64, 512), ("deepseek-v3", 2048, 15360)]
)
def test_moe_plan_memory_equals_engine_memory_with_expert_sharding(reference, model_id, count, gbs):
    # DeepSeek-V3 report Sec. 3.2: 2,048 H800s, 4K sequences, batch 15,360 sequences at the end.
    sc = scenario(
        model_id,
        cluster__count=count,
        training__global_batch_size=gbs,
        training__sequence_length=4096,
    )
    search = search_plans(sc, accelerator("nvidia-h800-sxm"), top=20)
    assert search.plans, search.message
    assert any(plan.expert_parallel > 1 for plan in search.plans) or model_id == "deepseek-v3"
    for plan in search.plans:
        assert plan.memory_bytes == pytest.approx(engine_training_memory(sc, plan), rel=1e-12)
        readout = evaluate(sc.with_values(plan_updates(plan))).training_memory
        assert plan.memory_bytes == pytest.approx(readout.total_bytes, rel=1e-12)
    # an expert-parallel layout too: DeepSeek-V3's PP 16 x EP 64 (report Sec. 3.2), and for
    # Mixtral EP 8 inside DP 8
    pp, ep = (16, 64) if model_id == "deepseek-v3" else (8, 8)
    published = evaluate_layout(
        sc.with_values(
            {"training.tensor_parallel": 1, "training.pipeline_parallel": pp,
             "training.expert_parallel": ep, "training.zero_stage": 1,
             "training.micro_batch_size": 1, "training.recompute": "none"}
        ),
        accelerator("nvidia-h800-sxm"),
    )  # fmt: skip
    assert published.memory_bytes == pytest.approx(engine_training_memory(sc, published), rel=1e-12)
    readout = evaluate(sc.with_values(plan_updates(published))).training_memory
    assert published.memory_bytes == pytest.approx(readout.total_bytes, rel=1e-12)


@functools.lru_cache(maxsize=None)
def _many_plans(model_id: str):
    sc = scenario(model_id, cluster__count=512, training__sequence_length=2048)
    acc = accelerator("nvidia-h100-sxm")
    return sc, acc, search_plans(sc, acc, top=100_000)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), model_id=st.sampled_from(["llama-3-8b", "mixtral-8x7b-v0.1", "gemma-2-9b"]))
def test_vectorized_scores_equal_evaluate_for_the_applied_layout(data, model_id):
    """search_plans and evaluate() (one layout, numbers, the engine's memory functions) agree on
    the memory, the step and the MFU of any candidate: one step-time model for both."""
    sc, acc, search = _many_plans(model_id)
    assert len(search.plans) > 1000
    plan = data.draw(st.sampled_from(search.plans))
    readout = evaluate(sc.with_values(plan_updates(plan)))
    assert not readout.layout_problems
    perf = readout.performance
    assert plan.mfu == pytest.approx(float(perf.mfu), rel=1e-12)
    assert plan.step_time_s == pytest.approx(float(perf.step_s), rel=1e-12)
    assert plan.bubble_s == pytest.approx(float(perf.bubble_s), rel=1e-12, abs=1e-15)
    assert plan.memory_bytes == pytest.approx(readout.training_memory.total_bytes, rel=1e-12)
    assert plan.memory_bytes == pytest.approx(engine_training_memory(sc, plan), rel=1e-12)
    assert readout.training.mfu == pytest.approx(plan.mfu, rel=1e-12)


def test_expert_sharding_in_training_state_by_hand():
    # 100 parameters, 80 of them routed experts, e = 4 inside d = 8, Adam (2 + 2 + 12 bytes):
    # weights and gradients 2 * 20 dense + 2 * 80/4 experts = 80 bytes each (ZeRO-1 leaves them);
    # optimizer 12 * 20 / 8 dense + 12 * 20 / (8 / 4) experts = 30 + 120 = 150 bytes.
    m = training_state_bytes(100, "adam", True, 1, 8, expert_params=80, expert_parallel=4)
    assert (m.weights_bytes, m.gradients_bytes, m.optimizer_bytes) == (80, 80, 150)
    assert m.total_bytes == 310
    # e = 1 keeps the plain formula: 16 bytes per parameter, optimizer over 8 replicas.
    plain = training_state_bytes(100, "adam", True, 1, 8, expert_params=80, expert_parallel=1)
    assert plain.total_bytes == 2 * 100 + 2 * 100 + 12 * 100 / 8


# --- the step of a plan --------------------------------------------------------------------------


def test_a_plans_parts_add_up_to_its_step_and_interleaving_shrinks_the_bubble():
    sc = llama405b()
    acc = accelerator("nvidia-h100-sxm")
    plain = evaluate_layout(sc.with_value("training.virtual_pipeline_stages", 1), acc)
    four = evaluate_layout(sc.with_value("training.virtual_pipeline_stages", 4), acc)
    for plan in (plain, four):
        parts = (
            plan.compute_s + plan.bubble_s + plan.tp_comm_s + plan.dp_comm_s + plan.pp_comm_s
            + plan.ep_comm_s + plan.cp_comm_s
        )  # fmt: skip
        assert parts == pytest.approx(plan.step_time_s)
    # Narayanan et al. 2021 Sec. 2.2.2: (p - 1) / v micro-batch times
    assert four.bubble_s == pytest.approx(plain.bubble_s / 4, rel=0.02)
    assert four.pp_comm_s == pytest.approx(4 * plain.pp_comm_s, rel=1e-9)


# --- search properties ----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.tuples(st.integers(8, 2048), st.integers(0, 2048)),
    model_id=st.sampled_from(["llama-3-8b", "llama-3.1-70b", "mixtral-8x7b-v0.1"]),
)
def test_more_accelerators_never_make_the_best_plan_slower(counts, model_id):
    small, extra = counts
    acc = accelerator("nvidia-a100-sxm-80gb")
    base = scenario(model_id, cluster__count=small, training__global_batch_size=512)
    a = search_plans(base, acc, top=1)
    b = search_plans(base.with_value("cluster.count", small + extra), acc, top=1)
    assert b.candidates_evaluated >= a.candidates_evaluated
    if a.plans:
        assert b.plans
        assert b.plans[0].tokens_per_s >= a.plans[0].tokens_per_s


def test_plans_are_ranked_and_consistent():
    sc = scenario("llama-3.1-70b", cluster__count=256, training__global_batch_size=1024)
    acc = accelerator("nvidia-h100-sxm")
    search = search_plans(sc, acc, top=50)
    assert len(search.plans) == 50 and search.feasible >= 50
    speeds = [p.tokens_per_s for p in search.plans]
    assert speeds == sorted(speeds, reverse=True)
    for p in search.plans:
        assert p.accelerators_used <= 256
        assert p.micro_batch_size * p.data_parallel * p.microbatches == 1024
        assert p.accelerators_used == (
            p.tensor_parallel * p.pipeline_parallel * p.context_parallel * p.data_parallel
        )
        assert p.tokens_per_s * p.step_time_s == pytest.approx(1024 * 4096)
        # MFU can never beat the matmul efficiency it is built on
        assert 0 < p.mfu <= device_rates(acc, sc.cluster.inter_node_gbs).ceiling_mfu
        assert p.memory_bytes <= acc.memory_bytes


def test_published_llama_405b_layout_is_scored_ranked_and_the_best_says_why(reference):
    # Dubey et al. 2024 Table 4: TP 8 x PP 16 x DP 128 on 16,384 H100s, interleaved 1F1B
    sc = llama405b().with_values(
        {"training.tensor_parallel": 8, "training.pipeline_parallel": 16,
         "training.virtual_pipeline_stages": 4}
    )  # fmt: skip
    acc = accelerator("nvidia-h100-sxm")
    search = search_plans(sc, acc, top=10)
    assert search.candidates_evaluated >= 10_000
    current = search.current
    assert current is not None and current.data_parallel == 128
    assert current.memory_bytes <= acc.memory_bytes
    assert 0.36 <= current.mfu <= 0.46
    assert search.current_rank is not None and search.current_rank >= 1
    best = search.best
    # the best is at least as fast as the published layout, and not implausibly faster
    assert best.tokens_per_s >= current.tokens_per_s
    assert best.tokens_per_s <= 1.25 * current.tokens_per_s
    assert "tokens/s over the current layout" in search.current_note
    assert any(part in search.current_note for part in ("bubble", "compute", "communication"))
    # the current layout through evaluate() shows the same MFU
    assert evaluate(sc).performance.mfu == pytest.approx(current.mfu, rel=1e-12)


def test_pinned_degrees_are_kept_and_the_rest_ranked():
    sc = llama405b()
    acc = accelerator("nvidia-h100-sxm")
    pins = ("training.tensor_parallel", "training.pipeline_parallel")
    search = search_plans(
        sc.with_values({"training.tensor_parallel": 8, "training.pipeline_parallel": 16}),
        acc, top=50, pinned=pins,
    )  # fmt: skip
    assert search.plans and search.pinned == pins
    assert {(p.tensor_parallel, p.pipeline_parallel) for p in search.plans} == {(8, 16)}
    assert len({(p.zero_stage, p.recompute, p.virtual_stages) for p in search.plans}) > 1
    micro = search_plans(
        sc.with_value("training.micro_batch_size", 2), acc, top=20,
        pinned=("training.micro_batch_size", "training.recompute"),
    )  # fmt: skip
    assert {(p.micro_batch_size, p.recompute) for p in micro.plans} == {(2, "selective")}


def test_infeasible_model_reports_the_smallest_cluster_that_fits():
    acc = accelerator("nvidia-h100-sxm")
    search = search_plans(llama405b(count=8), acc)
    assert search.plans == () and search.feasible == 0
    n = search.smallest_fitting_count
    assert n is not None and n > 8
    assert "no plan fits" in search.message and str(n) in search.message
    # exactly the smallest: n fits, n - 1 does not (per_node stays 8)
    assert search_plans(llama405b(count=n), acc).plans
    assert not search_plans(llama405b(count=n - 1), acc).plans
    # 405B x 16 bytes of Adam state / 80 GB needs at least 81 accelerators before activations
    assert n >= math.ceil(405e9 * 16 / (80 * 1024**3))


def test_a_model_that_fits_nowhere_says_so():
    # a 100M-token sequence: even one layer's recompute checkpoints exceed 80 GB
    sc = llama405b(count=8).with_value("training.sequence_length", 100_000_000)
    search = search_plans(sc, accelerator("nvidia-h100-sxm"))
    assert search.plans == () and search.smallest_fitting_count is None
    assert "no plan fits on any number" in search.message


def test_plan_updates_apply_to_a_scenario():
    sc = scenario("llama-3-8b", cluster__count=12, cluster__per_node=4)
    plan = search_plans(sc, accelerator("nvidia-h100-sxm")).plans[0]
    applied = sc.with_values(plan_updates(plan))
    assert applied.training.tensor_parallel == plan.tensor_parallel
    assert applied.training.recompute == plan.recompute
    assert applied.cluster.count == plan.accelerators_used <= 12


def test_bad_inputs_get_clear_messages():
    sc = scenario("llama-3-8b")
    with pytest.raises(EngineInputError, match="top must be at least 1"):
        search_plans(sc, accelerator("nvidia-h100-sxm"), top=0)
    v100 = SimpleNamespace(
        id="nvidia-v100-sxm2-32gb", name="V100", memory_bytes=32e9, bf16_tflops=None,
        interconnect_gbs=300,
    )  # fmt: skip
    with pytest.raises(EngineInputError, match="cluster.accelerator.*bf16"):
        search_plans(sc, v100)
    # an invalid current layout is not scored; the search says why and still ranks the rest
    bad = sc.with_values({"cluster.count": 12, "training.global_batch_size": 1000})
    search = search_plans(bad, accelerator("nvidia-h100-sxm"))
    assert search.current is None and search.current_rank is None
    assert "current layout invalid: training.global_batch_size" in search.current_note
    assert search.plans


def test_grid_respects_the_layout_rules():
    sc = llama405b()
    g = candidate_grid(sc)
    assert len(g) > 10_000
    assert set(g.t.tolist()) <= {1, 2, 4, 8}  # divides the 8 GPUs of a node and 128 heads
    assert ((2048 % (g.b * g.d)) == 0).all()
    assert (g.e == 1).all()  # dense model
    assert (g.p <= 126).all()
    assert ((g.v == 1) | ((g.p > 1) & (g.p * g.v <= 126))).all()  # a layer per virtual stage
    assert ((g.v == 1) | ((2048 // (g.b * g.d)) % g.p == 0)).all()  # m a multiple of p
    assert set(g.v.tolist()) >= {1, 2, 4, 8}


# --- the planner screen ---------------------------------------------------------------------------


class _Host:
    """A tiny app that opens the planner screen and keeps what it dismissed with."""

    @staticmethod
    def make(sc: Scenario, search):
        from textual.app import App

        class Host(App):
            results: list = []

            def on_mount(self) -> None:
                from llmscope.tui.screens.planner import PlannerScreen

                self.push_screen(PlannerScreen(sc, search), self.results.append)

        return Host()


async def test_screen_applies_the_highlighted_plan_with_enter():
    from textual.widgets import DataTable

    sc = scenario("llama-3.1-70b", cluster__count=64)
    search = search_plans(sc, accelerator("nvidia-h100-sxm"), top=5)
    app = _Host.make(sc, search)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.row_count == 5 and len(table.columns) == 13
        current = str(app.screen.query_one("#planner-current").render())
        assert current.startswith("current layout") and "rank" in current
        await pilot.press("down", "enter")
        await pilot.pause()
    assert app.results == [plan_updates(search.plans[1])]
    applied = sc.with_values(app.results[0])
    assert applied.training.pipeline_parallel == search.plans[1].pipeline_parallel


async def test_screen_escape_changes_nothing_and_no_fit_shows_the_message():
    sc = llama405b(count=8)
    search = search_plans(sc, accelerator("nvidia-h100-sxm"))
    assert not search.plans
    app = _Host.make(sc, search)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        message = app.screen.query_one("#planner-message")
        assert "no plan fits" in str(message.render())
        assert not app.screen.query("DataTable")
        await pilot.press("enter")  # nothing to apply: stays open
        await pilot.pause()
        assert app.results == []
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]


# --- `llmscope plan` ------------------------------------------------------------------------------


def _plan_args(*argv: str):
    import argparse

    from llmscope.tui.plan_command import register

    parser = argparse.ArgumentParser(prog="llmscope")
    register(parser.add_subparsers())
    return parser.parse_args(["plan", *argv])


def test_plan_command_json(capsys):
    import io

    args = _plan_args("llama-70b", "--json", "--top", "3")
    sc = scenario("llama-3.1-70b", cluster__count=64)
    out = io.StringIO()
    status = args.handler(args, load=lambda name: sc, out=out)
    assert status == 0
    doc = json.loads(out.getvalue())
    assert doc["count"] == 64 and len(doc["plans"]) == 3
    best = search_plans(sc, accelerator(sc.cluster.accelerator), top=3).plans[0]
    assert doc["plans"][0]["tokens_per_s"] == pytest.approx(best.tokens_per_s)
    assert doc["plans"][0]["updates"] == plan_updates(best)


def test_plan_command_text_and_no_fit_status():
    import io

    args = _plan_args("big")
    out = io.StringIO()
    assert args.handler(args, load=lambda name: llama405b(count=16384), out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[2] == "" and lines[3].split()[:6] == ["TP", "PP", "v", "CP", "DP", "EP"]
    assert lines[14] == "" and lines[15].startswith("current layout")  # with its rank
    assert len(lines) == 4 + 10 + 2  # header, the ten best, the current layout
    out = io.StringIO()
    assert args.handler(args, load=lambda name: llama405b(count=8), out=out) == 1
    assert "no plan fits" in out.getvalue() and "smallest cluster" in out.getvalue()


def test_plan_command_this_box_and_bad_input():
    import io

    from llmscope.presets.detect import LocalBox

    box = LocalBox(8, "nvidia-h200-sxm", "NVIDIA H200", 143771, "this box: 8 x NVIDIA H200", False)
    args = _plan_args("m", "--this-box", "--json")
    out = io.StringIO()
    sc = scenario("llama-3-8b", cluster__count=64)
    assert args.handler(args, load=lambda n: sc, detect=lambda: box, out=out) == 0
    doc = json.loads(out.getvalue())
    assert (doc["accelerator"], doc["count"], doc["per_node"]) == ("nvidia-h200-sxm", 8, 8)
    err = io.StringIO()
    bad = _plan_args("m", "--top", "0")
    assert bad.handler(bad, load=lambda n: sc, out=io.StringIO(), err=err) == 2
    assert "--top must be at least 1" in err.getvalue()


def test_plan_command_set_overrides():
    pytest.importorskip("llmscope.presets")
    import io

    args = _plan_args("m", "--json", "--set", "cluster.count=16", "--set", "training.tokens=1e12")
    out = io.StringIO()
    assert args.handler(args, load=lambda n: scenario("llama-3-8b"), out=out) == 0
    assert json.loads(out.getvalue())["count"] == 16
    err = io.StringIO()
    bad = _plan_args("m", "--set", "cluster.count")
    assert bad.handler(bad, load=lambda n: scenario("llama-3-8b"), err=err) == 2
    assert "key=value" in err.getvalue()


def test_grid_stays_bounded_for_many_divisors():
    from llmscope.engine.architecture import Architecture
    from llmscope.engine.planner import MAX_CANDIDATES

    # 83,160 layers and experts and a batch of 73,513,440 all have over 100 divisors
    arch = Architecture(
        hidden_size=64, num_layers=83160, num_attention_heads=8, num_kv_heads=8,
        intermediate_size=128, num_experts=83160, experts_per_token=2,
        expert_intermediate_size=8, vocab_size=1000,
    )  # fmt: skip
    sc = Scenario(model=arch).with_values({"training.global_batch_size": 73513440})
    g = candidate_grid(sc)
    assert 0 < len(g) <= MAX_CANDIDATES
    pipeline = set(g.p.tolist())
    assert all(p & (p - 1) == 0 or p == 83160 for p in pipeline)  # thinned to powers of two
    assert 83160 in pipeline


def test_one_replica_has_nothing_for_zero_to_shard():
    g = candidate_grid(scenario("llama-3-8b"))
    assert not ((g.d == 1) & (g.zero > 0)).any()
    assert ((g.d > 1) & (g.zero == 3)).any()
