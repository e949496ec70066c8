"""The serving roofline against datasheet figures and published model sizes, plus properties."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmscope.engine.architecture import Architecture
from llmscope.engine.hardware import find_accelerator
from llmscope.engine.hf_import import architecture_from_hf_config
from llmscope.engine.parameters import count_parameters
from llmscope.engine.scenario import ServingSetup
from llmscope.engine.serving import (
    KERNEL_GAP_S,
    KERNELS_PER_LAYER,
    STEP_OVERHEAD_S,
    USABLE_MEMORY_FRACTION,
    ServingModel,
    compute_dtype,
    fit_status,
    kv_shards,
    serving_economics,
    serving_frontier,
)

REFERENCE = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def reference() -> Path:
    if not (REFERENCE / "models.json").exists():
        pytest.fail(f"reference facts missing: expected {REFERENCE} (tests/data in the repository)")
    return REFERENCE


def _json(reference: Path, name: str) -> dict:
    return json.loads((reference / name).read_text())


def _model_entry(reference: Path, model_id: str) -> dict:
    return {m["id"]: m for m in _json(reference, "models.json")["models"]}[model_id]


def _arch(reference: Path, model_id: str) -> Architecture:
    return architecture_from_hf_config(_model_entry(reference, model_id)["raw_config"])


@dataclass(frozen=True)
class _Datasheet:
    """A made-up accelerator for property tests (the protocol serving needs, nothing more)."""

    memory_gb: float
    memory_bandwidth_gbs: float
    bf16_tflops: float
    fp8_tflops: float | None
    fp32_tflops: float
    interconnect_gbs: float = 900.0
    id: str = "made-up"

    @property
    def memory_bytes(self) -> float:
        return self.memory_gb * 1024**3


def _accelerator(reference: Path, accelerator_id: str):
    # The catalog entry; its memory and bandwidth must agree with the datasheet in tests/data.
    row = {h["id"]: h for h in _json(reference, "hardware.json")["hardware"]}[accelerator_id]
    accelerator = find_accelerator(accelerator_id)
    assert accelerator.memory_bandwidth_gbs == pytest.approx(row["memory_bandwidth_tbs"] * 1000)
    assert accelerator.memory_gb == row["memory_gb"]
    return accelerator


def test_llama3_8b_decode_at_batch_1_reads_the_weights_and_cache_at_achievable_bandwidth(
    reference,
):
    # One H100 SXM: 3.35 TB/s (datasheet), 85% achievable (engine.serving.GENERATIONS). Llama-3-8B
    # in bf16 reads every weight but the input embedding (a lookup) each step: 2 bytes x
    # (8,030,261,248 - 128,256 x 4,096), plus its KV cache, 131,072 bytes per token
    # (memory_facts.json), at the mean context of the generation.
    entry = _model_entry(reference, "llama-3-8b")
    kv_per_token = {f["id"]: f for f in _json(reference, "memory_facts.json")["facts"]}[
        "kv_llama-3-8b"
    ]["value_bytes"]
    h100 = _accelerator(reference, "nvidia-h100-sxm")
    arch = _arch(reference, "llama-3-8b")
    setup = ServingSetup(batch_size=1, prompt_tokens=1024, output_tokens=256)
    result = serving_economics(arch, count_parameters(arch), setup, h100, price_usd_per_hour=None)

    embedding = entry["raw_config"]["vocab_size"] * entry["raw_config"]["hidden_size"]
    bytes_read = 2 * (entry["computed_params_hf_impl"] - embedding) + kv_per_token * (1024 + 128)
    bandwidth = 3.35e12
    assert result.decode_bound == "memory"
    assert result.decode_memory_s == pytest.approx(bytes_read / (bandwidth * 0.85), rel=1e-9)
    # One GPU: no all-reduce; the step is the bytes, the FLOPs and the fixed per-step cost.
    fixed = STEP_OVERHEAD_S + arch.num_layers * KERNELS_PER_LAYER * KERNEL_GAP_S
    assert result.decode_step_s == pytest.approx(
        result.decode_memory_s + result.decode_compute_s + fixed, rel=1e-9
    )
    # ~6.3 ms a token: the ~160 tokens/s vLLM and TensorRT-LLM report for Llama 3 8B bf16 on
    # one H100 at batch 1 sits within 20%.
    assert 130 < 1 / result.decode_step_s < 190
    # The override replaces the measured fraction.
    ideal = serving_economics(
        arch,
        count_parameters(arch),
        setup.model_copy(update={"bandwidth_efficiency": 1.0}),
        h100,
        None,
    )
    assert ideal.decode_memory_s == pytest.approx(bytes_read / bandwidth, rel=1e-9)
    assert result.tensor_parallel == 1 and result.tensor_parallel_needed == 1


def test_moe_decode_at_batch_1_reads_only_the_active_experts(reference):
    # Mixtral 8x7B routes each token to 2 of 8 experts: a batch-1 step reads the active
    # parameters (12.9B published, "only uses 12.9B parameters per token") less the embedding.
    entry = _model_entry(reference, "mixtral-8x7b-v0.1")
    arch = _arch(reference, "mixtral-8x7b-v0.1")
    params = count_parameters(arch)
    model = ServingModel(
        arch, params, ServingSetup(weight_dtype="bf16"), _accelerator(reference, "nvidia-h100-sxm")
    )
    read = float(model.weights_read(1.0))
    embedding = entry["raw_config"]["vocab_size"] * entry["raw_config"]["hidden_size"]
    active_without_embedding = entry["computed_active_params_hf_impl"] - embedding
    assert read == pytest.approx(2 * active_without_embedding, rel=1e-12)
    assert read == pytest.approx(2 * 12.9e9, rel=0.03)
    assert model.experts_touched(1.0) == pytest.approx(2 / 8)
    assert model.experts_touched(64.0) == pytest.approx(1.0, abs=1e-7)


def test_tensor_parallel_needed_when_weights_exceed_one_accelerator(reference):
    # Llama-3.1-70B in bf16 is ~141 GB (70.55e9 x 2): more than one 80 GB H100, fits two.
    arch = _arch(reference, "llama-3.1-70b")
    h100 = _accelerator(reference, "nvidia-h100-sxm")
    result = serving_economics(arch, count_parameters(arch), ServingSetup(), h100, None)
    assert result.tensor_parallel_needed == 2 and result.tensor_parallel == 2
    assert result.weights_bytes_per_accelerator <= USABLE_MEMORY_FRACTION * h100.memory_bytes
    assert result.weights_bytes > USABLE_MEMORY_FRACTION * h100.memory_bytes
    # Llama-3.1-405B in bf16 (~811 GB) needs 16 (8 x 80 GB = 640 GB is not enough).
    big = _arch(reference, "llama-3.1-405b")
    huge = serving_economics(big, count_parameters(big), ServingSetup(), h100, None)
    assert huge.tensor_parallel_needed == 16
    # In int4 (0.5 byte + a 2-byte scale per 128 weights) 70B fits one H100.
    int4_setup = ServingSetup(weight_dtype="int4")
    int4 = serving_economics(arch, count_parameters(arch), int4_setup, h100, None)
    assert int4.tensor_parallel_needed == 1


def test_max_batch_is_the_kv_budget_over_one_sequence(reference):
    # Llama-3-8B on an H100: (0.9 x 80 GB - 16.06 GB of weights) / (131,072 B x 1,280 tokens).
    arch = _arch(reference, "llama-3-8b")
    entry = _model_entry(reference, "llama-3-8b")
    h100 = _accelerator(reference, "nvidia-h100-sxm")
    result = serving_economics(arch, count_parameters(arch), ServingSetup(), h100, None)
    expected = (0.9 * 80 * 1024**3 - 2 * entry["computed_params_hf_impl"]) // (131072 * (1024 + 256))
    assert result.max_batch == expected


def test_mla_cache_is_replicated_and_gqa_heads_split_up_to_their_count(reference):
    assert kv_shards(_arch(reference, "deepseek-v3"), 8) == 1
    llama = _arch(reference, "llama-3-8b")  # 8 KV heads
    assert [kv_shards(llama, tp) for tp in (1, 4, 8, 16)] == [1, 4, 8, 8]


def test_compute_precision_follows_the_weights():
    assert compute_dtype("fp8", has_fp8=True) == "fp8"
    assert compute_dtype("fp8", has_fp8=False) == "bf16"
    assert compute_dtype("int4", has_fp8=True) == "bf16"  # weight-only: dequantized to bf16
    assert compute_dtype("int8", has_fp8=True) == "bf16"


def test_fp8_prefill_is_faster_on_hopper(reference):
    arch = _arch(reference, "llama-3-8b")
    h100 = _accelerator(reference, "nvidia-h100-sxm")
    params = count_parameters(arch)
    bf16 = serving_economics(arch, params, ServingSetup(prompt_tokens=8192), h100, None)
    fp8_setup = ServingSetup(prompt_tokens=8192, weight_dtype="fp8")
    fp8 = serving_economics(arch, params, fp8_setup, h100, None)
    assert fp8.ttft_s < bf16.ttft_s
    fp8_peak, bf16_peak = fp8.peak_flops_per_accelerator, bf16.peak_flops_per_accelerator
    assert fp8_peak == pytest.approx(2 * bf16_peak, rel=0.01)


def test_fit_status_bands():
    assert fit_status(89, 100) == "fits"
    assert fit_status(95, 100) == "tight"
    assert fit_status(101, 100) == "over"


# --- properties ----------------------------------------------------------------------------------

SMALL = Architecture(
    hidden_size=2048, num_layers=16, num_attention_heads=16, num_kv_heads=4, intermediate_size=8192
)
MOE = Architecture(
    hidden_size=2048, num_layers=16, num_attention_heads=16, num_kv_heads=4, intermediate_size=8192,
    num_experts=64, experts_per_token=6, expert_intermediate_size=1024, num_shared_experts=2,
    shared_expert_intermediate_size=1024,
)
H100_LIKE = _Datasheet(80, 3350, 989.4, 1978.9, 67)

setups = st.builds(
    ServingSetup,
    weight_dtype=st.sampled_from(["fp32", "bf16", "fp16", "fp8", "int8", "int4"]),
    kv_dtype=st.sampled_from(["fp32", "bf16", "fp8", "int4"]),
    batch_size=st.integers(1, 1_000_000),
    prompt_tokens=st.integers(1, 100_000_000),
    output_tokens=st.integers(1, 100_000_000),
    tensor_parallel=st.sampled_from([1, 2, 8, 64, 1024]),
    compute_efficiency=st.one_of(st.none(), st.floats(0.01, 1)),
    bandwidth_efficiency=st.one_of(st.none(), st.floats(0.01, 1)),
    expert_parallel=st.booleans(),
    target_requests_per_s=st.floats(1e-6, 1e9),
)


@settings(max_examples=150, deadline=None)
@given(setups, st.sampled_from([SMALL, MOE]), st.one_of(st.none(), st.floats(0, 1e6)))
def test_no_nan_or_inf_anywhere(setup, arch, price):
    result = serving_economics(arch, count_parameters(arch), setup, H100_LIKE, price)
    for name in result.__slots__:
        value = getattr(result, name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert math.isfinite(value) and value >= 0, name


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 4096), st.integers(1, 4096), st.sampled_from([SMALL, MOE]))
def test_bigger_batches_trade_per_user_speed_for_throughput(a, b, arch):
    small, large = sorted((a, b))
    params = count_parameters(arch)
    few = serving_economics(arch, params, ServingSetup(batch_size=small), H100_LIKE, 2.0)
    many = serving_economics(arch, params, ServingSetup(batch_size=large), H100_LIKE, 2.0)
    assert many.decode_tokens_per_s <= few.decode_tokens_per_s * (1 + 1e-12)
    assert many.tokens_per_s_per_accelerator >= few.tokens_per_s_per_accelerator * (1 - 1e-12)
    assert many.usd_per_million_output_tokens <= few.usd_per_million_output_tokens * (1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(st.floats(1e-3, 1e6), st.floats(1e-3, 1e6))
def test_more_load_never_needs_fewer_accelerators(a, b):
    low, high = sorted((a, b))
    params = count_parameters(SMALL)
    light_setup = ServingSetup(target_requests_per_s=low)
    heavy_setup = ServingSetup(target_requests_per_s=high)
    light = serving_economics(SMALL, params, light_setup, H100_LIKE, None)
    heavy = serving_economics(SMALL, params, heavy_setup, H100_LIKE, None)
    assert heavy.accelerators_for_target_load >= light.accelerators_for_target_load


def test_unknown_price_gives_none():
    result = serving_economics(SMALL, count_parameters(SMALL), ServingSetup(), H100_LIKE, None)
    assert result.usd_per_million_output_tokens is None and result.price_source == "none"


def test_an_accelerator_without_bf16_throughput_is_a_clear_error():
    from llmscope.engine.errors import EngineInputError

    no_bf16 = _Datasheet(32, 900, None, None, 15.7)
    with pytest.raises(EngineInputError, match="bf16"):
        serving_economics(SMALL, count_parameters(SMALL), ServingSetup(), no_bf16, None)


# --- continuous batching: properties of the load model ------------------------------------------

load_setups = st.builds(
    ServingSetup,
    weight_dtype=st.sampled_from(["bf16", "fp8", "int4"]),
    kv_dtype=st.sampled_from(["bf16", "fp8"]),
    prompt_tokens=st.integers(1, 200_000),
    output_tokens=st.integers(1, 20_000),
    expert_parallel=st.booleans(),
    compute_efficiency=st.one_of(st.none(), st.floats(0.05, 1)),
)


@settings(max_examples=80, deadline=None)
@given(load_setups, st.sampled_from([SMALL, MOE]), st.sampled_from([1, 2, 4, 8]))
def test_more_requests_in_flight_never_speed_a_user_up_nor_slow_the_accelerator(setup, arch, tp):
    # Every batch from 1 to 4096 at once (the frontier's vectorised path): inter-token latency
    # and time to first token never fall, per-user speed never rises, output tokens/s per
    # accelerator never falls (it flattens once memory holds no more requests), nothing is NaN.
    model = ServingModel(arch, count_parameters(arch), setup, H100_LIKE)
    r = model.at(np.float64(tp), np.arange(1, 4097, dtype=float))
    for name, values in r.items():
        assert np.all(np.isfinite(values)), name
    itl, ttft, per_replica = r["itl_s"], r["ttft_s"], r["per_replica"]
    assert np.all(np.diff(itl) >= -1e-12 * itl[1:])
    assert np.all(np.diff(ttft) >= -1e-12 * ttft[1:])
    assert np.all(np.diff(per_replica) >= -1e-9 * per_replica[1:])
    running = r["running"]
    assert np.all(running <= np.maximum(r["max_batch"], 1))
    # Beyond the max batch the extra requests queue: same speed, a longer wait for a first token.
    full = running < r["batch"]
    if full.any():
        first_full = np.argmax(full)
        assert itl[first_full] == pytest.approx(itl[first_full - 1]) if first_full else True
        assert ttft[-1] > ttft[first_full - 1]


def test_one_request_alone_waits_for_nothing_but_its_prompt():
    setup = ServingSetup(batch_size=1, prompt_tokens=20_000, output_tokens=100)
    one = serving_economics(SMALL, count_parameters(SMALL), setup, H100_LIKE, None)
    assert one.ttft_s == pytest.approx(one.prefill_s)
    # 20,000 tokens in ceil(20000 / 8192) = 3 chunks: three iterations' fixed cost, not one.
    busy = serving_economics(
        SMALL, count_parameters(SMALL), setup.model_copy(update={"batch_size": 64}), H100_LIKE, None
    )
    assert busy.ttft_s > one.ttft_s  # decoders ride along and the running iteration finishes first
    assert busy.decode_s_per_token > busy.decode_step_s  # the prompts' share of each gap


MLA_MOE = Architecture(
    hidden_size=2048, num_layers=16, num_attention_heads=16, num_kv_heads=16,
    intermediate_size=8192, attention="mla", kv_lora_rank=512, qk_rope_head_dim=64,
    qk_nope_head_dim=128, v_head_dim=128, num_experts=64, experts_per_token=6,
    expert_intermediate_size=1024, num_shared_experts=2, shared_expert_intermediate_size=1024,
)


def test_expert_parallel_splits_requests_and_experts_and_replicates_the_rest():
    for arch in (MOE, MLA_MOE):
        params = count_parameters(arch)
        base = ServingSetup(tensor_parallel=8, batch_size=32)
        placed_setup = base.model_copy(update={"expert_parallel": True})
        sliced = serving_economics(arch, params, base, H100_LIKE, None)
        placed = serving_economics(arch, params, placed_setup, H100_LIKE, None)
        model = ServingModel(arch, params, placed_setup, H100_LIKE)
        experts = model.expert_bytes
        # Dense weights on every rank, experts split eight ways.
        assert placed.weights_bytes_per_accelerator == pytest.approx(
            placed.weights_bytes - experts + experts / 8
        )
        assert placed.weights_bytes_per_accelerator > sliced.weights_bytes_per_accelerator
        # Each rank holds its own requests' cache: an MLA latent is no longer replicated 8 times,
        # GQA's 4 KV heads no longer cap the split at 4.
        assert placed.max_batch > sliced.max_batch
        # One rank: nothing to exchange, no difference.
        one = ServingSetup(tensor_parallel=1, batch_size=32)
        a = serving_economics(arch, params, one, H100_LIKE, None)
        b = serving_economics(
            arch, params, one.model_copy(update={"expert_parallel": True}), H100_LIKE, None
        )
        assert a.decode_step_s == pytest.approx(b.decode_step_s, rel=1e-12)
    # A dense model has no experts to place.
    dense = ServingSetup(tensor_parallel=4, batch_size=32)
    a = serving_economics(SMALL, count_parameters(SMALL), dense, H100_LIKE, None)
    b = serving_economics(
        SMALL, count_parameters(SMALL), dense.model_copy(update={"expert_parallel": True}),
        H100_LIKE, None,
    )
    assert a.decode_step_s == b.decode_step_s


def test_input_and_output_prices_pay_for_the_replica_time():
    # A request's prompt at the input price plus its output at the output price costs the
    # replica's time per request: TP x $/h x (output tokens x inter-token latency / batch).
    setup = ServingSetup(batch_size=48, prompt_tokens=3000, output_tokens=400, tensor_parallel=2)
    r = serving_economics(SMALL, count_parameters(SMALL), setup, H100_LIKE, 2.0)
    per_request = (
        r.usd_per_million_input_tokens * 3000 + r.usd_per_million_output_tokens * 400
    ) / 1e6
    replica_usd_per_s = 2 * 2.0 / 3600
    assert per_request == pytest.approx(replica_usd_per_s * 400 * r.decode_s_per_token / 48)
    assert r.usd_per_million_output_tokens_all_in == pytest.approx(
        replica_usd_per_s / r.tokens_per_s_per_replica * 1e6
    )


@settings(max_examples=40, deadline=None)
@given(load_setups, st.sampled_from([SMALL, MOE]), st.floats(1, 300), st.sampled_from([1, 4, 8]))
def test_frontier_is_finite_and_its_best_point_is_the_cheapest_at_the_target(
    setup, arch, target, per_node
):
    setup = setup.model_copy(update={"min_tokens_per_s_per_user": target})
    f = serving_frontier(arch, count_parameters(arch), setup, H100_LIKE, 2.0, per_node)
    assert set(f.tensor_parallel_degrees) <= {1, 2, 4, 8} and max(f.tensor_parallel_degrees) <= (
        per_node
    )
    for column in (f.tokens_per_s_per_user, f.tokens_per_s_per_accelerator, f.ttft_s):
        assert all(math.isfinite(v) and v > 0 for v in column)
    for tp in f.tensor_parallel_degrees:
        curve = f.curve(tp)
        assert [p.batch for p in curve] == sorted({p.batch for p in curve})
        speeds = [p.tokens_per_s_per_user for p in curve]
        rates = [p.tokens_per_s_per_accelerator for p in curve]
        assert all(b <= a * (1 + 1e-12) for a, b in zip(speeds, speeds[1:]))
        assert all(b >= a * (1 - 1e-9) for a, b in zip(rates, rates[1:]))
    at_target = [p for p in f.points if p.tokens_per_s_per_user >= target]
    if f.best_at_target is None:
        assert not at_target
    else:
        best = f.best_at_target
        assert best.tokens_per_s_per_user >= target
        assert all(
            p.tokens_per_s_per_accelerator <= best.tokens_per_s_per_accelerator * (1 + 1e-12)
            for p in at_target
        )


def test_frontier_only_uses_degrees_that_divide_the_heads_and_fit_a_node():
    odd_heads = Architecture(
        hidden_size=2560, num_layers=16, num_attention_heads=20, num_kv_heads=4,
        intermediate_size=8192,
    )
    f = serving_frontier(
        odd_heads, count_parameters(odd_heads), ServingSetup(), H100_LIKE, 2.0, per_node=8
    )
    assert f.tensor_parallel_degrees == (1, 2, 4)  # 20 heads: 8 does not divide them
    g = serving_frontier(SMALL, count_parameters(SMALL), ServingSetup(), H100_LIKE, 2.0, 2)
    assert g.tensor_parallel_degrees == (1, 2)
