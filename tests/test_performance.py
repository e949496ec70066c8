"""Properties of the step-time model (engine.performance) and the layout rules (engine.layout)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmscope.engine import Scenario, evaluate
from llmscope.engine.evaluate import layout_of
from llmscope.engine.hardware import builtin_catalog
from llmscope.engine.layout import data_parallel_degree, training_layout_problems
from llmscope.engine.parameters import count_parameters
from llmscope.engine.performance import device_rates, step_time

LAYOUT_FIELDS = {
    "training.tensor_parallel", "training.pipeline_parallel", "training.virtual_pipeline_stages",
    "training.context_parallel", "training.expert_parallel", "training.global_batch_size",
    "training.precision", "cluster.count", "serving.tensor_parallel",
}  # fmt: skip

settings_strategy = st.fixed_dictionaries(
    {
        "model.num_attention_heads": st.sampled_from([8, 12, 16, 32]),
        "model.num_kv_heads": st.sampled_from([1, 2, 4]),  # heads per kv head
        "model.num_layers": st.integers(2, 40),
        "cluster.count": st.sampled_from([1, 2, 6, 8, 16, 24, 64, 256]),
        "cluster.per_node": st.sampled_from([1, 4, 8]),
        "cluster.accelerator": st.sampled_from(
            ["nvidia-h100-sxm", "nvidia-a100-sxm-80gb", "nvidia-a100-sxm-40gb", "amd-mi300x"]
        ),
        "training.tensor_parallel": st.sampled_from([1, 2, 3, 4, 8, 16]),
        "serving.tensor_parallel": st.sampled_from([1, 2, 3, 8, 20]),
        "training.pipeline_parallel": st.sampled_from([1, 2, 4, 8, 33]),
        "training.context_parallel": st.sampled_from([1, 2, 4]),
        "training.virtual_pipeline_stages": st.sampled_from([1, 2, 4]),
        "training.micro_batch_size": st.sampled_from([1, 2, 3]),
        "training.global_batch_size": st.sampled_from([64, 96, 256, 1000]),
        "training.sequence_length": st.sampled_from([1024, 2048, 4096]),
        "training.recompute": st.sampled_from(["none", "selective", "full"]),
        "training.zero_stage": st.sampled_from([0, 1, 2, 3]),
        "training.precision": st.sampled_from(["bf16", "fp8"]),
        "training.flash_attention": st.booleans(),
        "training.sequence_parallel": st.booleans(),
    }
)


def _scenario(values: dict) -> Scenario:
    heads = values["model.num_attention_heads"]
    return Scenario().with_values(
        {**values, "model.hidden_size": 64 * heads, "model.intermediate_size": 256 * heads,
         "model.num_kv_heads": heads // values["model.num_kv_heads"]}
    )  # fmt: skip


def _serving_rules_hold(s: Scenario) -> bool:
    a, tp = s.model, s.serving.tensor_parallel
    return not (a.num_attention_heads % tp or (a.num_kv_heads % tp and tp % a.num_kv_heads))


def _rules_hold(s: Scenario) -> bool:
    """The training layout rules, written out independently of engine.layout."""
    a, t = s.model, s.training
    tp, p = t.tensor_parallel, t.pipeline_parallel
    cp, v = t.context_parallel, t.virtual_pipeline_stages
    group = tp * p * cp
    if a.num_attention_heads % tp or (a.num_kv_heads % tp and tp % a.num_kv_heads):
        return False
    if p > a.num_layers or (v > 1 and (p == 1 or p * v > a.num_layers)):
        return False
    if cp > 1 and t.sequence_length % (2 * cp):
        return False
    if s.cluster.count % group:
        return False
    d = s.cluster.count // group
    if t.global_batch_size % (t.micro_batch_size * d):
        return False
    if v > 1 and (t.global_batch_size // (t.micro_batch_size * d)) % p:
        return False  # interleaving: micro-batches a multiple of the stages
    accelerator = builtin_catalog().get(s.cluster.accelerator)
    return not (t.precision == "fp8" and accelerator.fp8_tflops is None)


@settings(max_examples=150, deadline=None)
@given(settings_strategy)
def test_accepted_layouts_are_valid_and_rejected_ones_name_their_field(values):
    scenario = _scenario(values)
    readout = evaluate(scenario)
    problems = readout.training_problems
    assert (not problems) == _rules_hold(scenario)
    assert (not readout.serving_problems) == _serving_rules_hold(scenario)
    assert all(p.field in LAYOUT_FIELDS and p.reason for p in readout.layout_problems)
    if problems:
        assert all(p.field in LAYOUT_FIELDS and p.reason for p in problems)
        assert readout.performance is None
        flat = readout.to_flat_dict()
        assert flat["training.mfu"] is None and flat["training.tokens_per_s"] is None
        assert flat["layout.problems"]
    else:
        perf = readout.performance
        for value in (perf.step_s, perf.tokens_per_s, perf.mfu):
            assert math.isfinite(value) and value > 0
        assert sum(seconds for _, seconds in perf.parts()) == pytest.approx(perf.step_s)
        rates = device_rates(readout.accelerator, scenario.cluster.inter_node_gbs)
        assert perf.mfu <= rates.ceiling_mfu


def _perf(scenario: Scenario, accelerator=None):
    acc = accelerator or builtin_catalog().get(scenario.cluster.accelerator)
    params = count_parameters(scenario.model)
    readout = evaluate(scenario)
    flops = readout.flops
    rates = device_rates(acc, scenario.cluster.inter_node_gbs)
    return step_time(
        scenario.model, params, rates, layout_of(scenario), flops.training,
        flops.training_hardware / flops.training,
    )  # fmt: skip


valid_layouts = st.sampled_from(
    [
        {"training.tensor_parallel": 8, "training.pipeline_parallel": 4, "cluster.count": 256},
        {"training.tensor_parallel": 4, "training.pipeline_parallel": 2, "cluster.count": 64,
         "training.virtual_pipeline_stages": 2},
        {"training.tensor_parallel": 2, "training.context_parallel": 2, "cluster.count": 32},
        {"training.tensor_parallel": 16, "training.pipeline_parallel": 2, "cluster.count": 128},
    ]
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(valid_layouts, st.floats(1.0, 400.0), st.floats(0.2, 0.95), st.sampled_from([256, 512]))
def test_slower_links_lower_efficiency_and_larger_bubbles_never_speed_a_step(
    layout, network_gbs, efficiency, batch
):
    base = Scenario().with_values(
        {**layout, "cluster.inter_node_gbs": network_gbs, "training.global_batch_size": batch}
    )
    assert not evaluate(base).layout_problems
    fast = _perf(base)
    slower_network = _perf(base.with_value("cluster.inter_node_gbs", network_gbs / 2))
    assert slower_network.step_s >= fast.step_s
    acc = builtin_catalog().get(base.cluster.accelerator)
    weaker = acc.model_copy(update={"gemm_efficiency": efficiency * acc.gemm_efficiency})
    assert _perf(base, weaker).step_s >= fast.step_s
    slow_link = acc.model_copy(update={"interconnect_gbs": acc.interconnect_gbs / 3})
    assert _perf(base, slow_link).step_s >= fast.step_s
    # half the batch: fewer micro-batches per step, a larger bubble fraction, never more tokens/s
    smaller = _perf(base.with_value("training.global_batch_size", batch // 2))
    assert smaller.bubble_fraction >= fast.bubble_fraction
    assert smaller.tokens_per_s <= fast.tokens_per_s * (1 + 1e-12)


def test_interleaving_divides_the_bubble_by_v():
    base = Scenario().with_values(
        {"training.tensor_parallel": 8, "training.pipeline_parallel": 4, "cluster.count": 256}
    )
    one = _perf(base)
    four = _perf(base.with_value("training.virtual_pipeline_stages", 4))
    # (p - 1) / v micro-batch times: the same stage time, a quarter of the bubble
    assert four.bubble_s < one.bubble_s / 3.5
    assert four.pipeline_s > one.pipeline_s  # more point-to-point traffic


def test_data_parallel_is_derived_from_the_count():
    s = Scenario().with_values(
        {"training.tensor_parallel": 8, "training.pipeline_parallel": 4,
         "training.context_parallel": 2, "cluster.count": 512}
    )  # fmt: skip
    assert data_parallel_degree(s) == 8
    assert training_layout_problems(s) == ()


def test_the_issue_examples_are_rejected_with_their_field():
    llama = Scenario().with_values({"model.num_attention_heads": 32, "model.num_kv_heads": 8})
    assert evaluate(llama.with_value("serving.tensor_parallel", 20)).serving_problems[0].field == (
        "serving.tensor_parallel"
    )
    wide = evaluate(llama.with_value("training.tensor_parallel", 20))
    assert wide.training_problems[0].field == "training.tensor_parallel"
    deep = evaluate(llama.with_values({"training.pipeline_parallel": 33, "cluster.count": 33}))
    assert {p.field for p in deep.training_problems} >= {"training.pipeline_parallel"}


def test_per_node_above_the_count_is_capped_not_rejected():
    s = Scenario().with_values({"cluster.per_node": 8, "cluster.count": 2})
    assert s.cluster.accelerators_per_node == 2
    assert evaluate(s).performance is not None


# --- terms by hand ---------------------------------------------------------------------------


def test_a_gemm_at_the_benchmark_shape_runs_at_the_benchmark_efficiency():
    from llmscope.engine.performance import gemm_time

    for accelerator_id in ("nvidia-a100-sxm-80gb", "nvidia-h100-sxm"):
        acc = builtin_catalog().get(accelerator_id)
        rates = device_rates(acc, 50.0)
        m, n, k = acc.gemm_efficiency_shape
        peak = acc.bf16_tflops * 1e12
        # the roofline is anchored on the published benchmark (Bekman's MAMF table)
        expected = 2 * m * n * k / (peak * acc.gemm_efficiency)
        assert gemm_time(rates, m, n, k) == pytest.approx(expected)
        # the shape term: a narrow GEMM (h/t = 1,536 columns, 2,048 tokens) runs below it
        narrow = 2 * 2048 * 1536 * 12288 / gemm_time(rates, 2048, 1536, 12288) / peak
        assert narrow < acc.gemm_efficiency


# Bekman, "ML Engineering", Maximum Achievable Matmul FLOPS table (bf16 TF measured, and the
# peak it was measured against): the GEMM rate the catalog must give each part.
MAMF_BF16_TFLOPS = {
    "amd-mi300x": 668.4,
    "amd-mi325x": 784.9,
    "nvidia-b200": 1745.0,
    "nvidia-gb200": 1822.0,
    "intel-gaudi2": 418.7,
    "intel-gaudi3": 1243.0,
}


@pytest.mark.parametrize("accelerator_id", sorted(MAMF_BF16_TFLOPS))
def test_catalog_gemm_efficiency_reproduces_the_published_matmul_benchmark(accelerator_id):
    """Every part with a published MAMF row runs its GEMMs at that rate, not a generic guess; and
    no GEMM, however large, runs above the datasheet peak."""
    from llmscope.engine.performance import gemm_time

    acc = builtin_catalog().get(accelerator_id)
    achieved = acc.gemm_efficiency * acc.bf16_tflops
    assert achieved == pytest.approx(MAMF_BF16_TFLOPS[accelerator_id], rel=0.002)
    assert acc.efficiency_source and "MAMF" in acc.efficiency_source
    rates = device_rates(acc, 50.0)
    huge = 65536
    rate = 2 * huge**3 / gemm_time(rates, huge, huge, huge)
    assert rate <= acc.bf16_tflops * 1e12


def test_on_the_published_matmul_rates_mi300x_trains_llama_405b_no_faster_than_h100():
    """Switching H100 to MI300X: MI300X has 1.32x the datasheet bf16 peak, but its measured GEMM
    rate (668 TF) is below H100's sustained 702 TF, and its predicted tokens/s follow that."""
    from llmscope.presets.sources import load_source

    scenario, _, _ = load_source("llama3.1-405b")
    h100 = evaluate(scenario)
    mi300x = evaluate(scenario.with_value("cluster.accelerator", "amd-mi300x"))
    per_acc = lambda r: r.performance.tokens_per_s_per_accelerator  # noqa: E731
    assert per_acc(mi300x) < per_acc(h100)
    assert mi300x.training.mfu < 0.8 * h100.training.mfu


def test_ring_collectives_by_hand():
    from llmscope.engine.performance import ring_time

    # all-reduce of 1 GB over 8 ranks at 100 GB/s, 8 us a step: 2 (7 x 8 us + 7/8 x 10 ms)
    assert ring_time(1e9, 8, 100e9, 8e-6, 2.0) == pytest.approx(2 * (7 * 8e-6 + 7 / 8 * 0.01))
    assert ring_time(1e9, 8, 100e9, 8e-6, 1.0) == pytest.approx(7 * 8e-6 + 7 / 8 * 0.01)
    assert ring_time(1e9, 1, 100e9, 8e-6, 2.0) == 0


def test_fp8_runs_the_gemms_faster_and_needs_fp8_tensor_cores():
    base = Scenario().with_values({"training.tensor_parallel": 8, "cluster.count": 64})
    bf16 = evaluate(base).performance
    fp8 = evaluate(base.with_value("training.precision", "fp8"))
    assert fp8.performance.step_s < bf16.step_s
    weights = evaluate(base).training_memory.states.weights_bytes
    assert fp8.training_memory.states.weights_bytes > weights
    a100 = evaluate(base.with_values({"training.precision": "fp8",
                                      "cluster.accelerator": "nvidia-a100-sxm-80gb"}))  # fmt: skip
    assert [p.field for p in a100.training_problems] == ["training.precision"]


def test_activation_memory_terms_for_todays_blocks():
    from llmscope.engine.architecture import Architecture
    from llmscope.engine.memory import activation_bytes, activation_bytes_per_token_layer

    mha = Architecture(hidden_size=8192, num_attention_heads=64, num_kv_heads=64,
                       intermediate_size=28672, num_layers=80)  # fmt: skip
    gqa = mha.model_copy(update={"num_kv_heads": 8})
    t = 8
    # K and V at kv-head width: 4 bytes x (64 - 8) kv heads x 128 per token, split by t
    saved = activation_bytes_per_token_layer(mha, 4096, t, True, "selective") - (
        activation_bytes_per_token_layer(gqa, 4096, t, True, "selective")
    )
    assert saved == 4 * (64 - 8) * 128 / t
    # interleaving: the first stage holds p + (p - 1) / v micro-batches (Narayanan et al. 2021)
    one = activation_bytes(gqa, 4096, 1, t, 8, 64, True, "selective")
    four = activation_bytes(gqa, 4096, 1, t, 8, 64, True, "selective", virtual_stages=4)
    assert four.stage_bytes / one.stage_bytes == pytest.approx((8 + 7 / 4) / 8)
    # context parallelism divides the tokens of a micro-batch by cp
    cp = activation_bytes(gqa, 4096, 1, t, 8, 64, True, "selective", context_parallel=2)
    assert cp.stage_bytes == pytest.approx(one.stage_bytes / 2)


def test_zero_3_gathers_weights_every_pass_and_never_syncs_faster():
    # a slow network makes the data-parallel traffic visible (Rajbhandari et al. 2020 Sec. 7.2)
    base = Scenario().with_values(
        {"cluster.count": 16, "cluster.per_node": 1, "cluster.inter_node_gbs": 1.0,
         "training.global_batch_size": 256}
    )  # fmt: skip
    dp = {z: evaluate(base.with_value("training.zero_stage", z)).performance for z in (1, 2, 3)}
    assert dp[3].data_parallel_s >= dp[2].data_parallel_s > 0
    assert dp[3].data_parallel_s >= dp[1].data_parallel_s > 0
    # ZeRO-3's weight gathers recur with every micro-batch: twice the micro-batches, more exposed
    more = evaluate(base.with_values({"training.zero_stage": 3, "training.global_batch_size": 512}))
    assert more.performance.data_parallel_s > dp[3].data_parallel_s
