"""Parameter counts: exact against Hugging Face transformers, close to published figures, and sound
for every valid architecture (hypothesis).

Exact counts come from two places that ran transformers on the meta device, never from this code:
`computed_*_hf_impl` in tests/data/models.json, and the table that
scripts/check_params_against_transformers.py printed into tests/fixtures/hf_configs/README.md.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from llmscope.engine.architecture import MAX_TOTAL_PARAMS, Architecture
from llmscope.engine.errors import describe_validation_error
from llmscope.engine.hf_import import architecture_from_hf_config
from llmscope.engine.parameters import ParameterCounts, count_parameters

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hf_configs"
COMPONENTS = (
    "embedding", "attention", "mlp", "experts", "shared_experts", "router", "norms", "output_head",
)
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def counts_of(raw_config: dict) -> ParameterCounts:
    return count_parameters(architecture_from_hf_config(raw_config))


def within_last_published_digit(exact: int, published: float) -> bool:
    """True when `exact` is within one unit of the published figure's last significant digit.

    Model cards round and sometimes truncate ("405B" for 405.85e9, "7.3B" for 7.24e9), so one
    unit of the last digit shown is the honest tolerance; a wrong architecture misses by far more.
    """
    digits = Decimal(repr(published)).normalize()
    unit = Decimal(1).scaleb(digits.as_tuple().exponent)
    return abs(Decimal(exact) - digits) <= unit


# --- the reference models: exact -----------------------------------------------------------------


def test_reference_has_every_kind_of_model(reference_models):
    kinds = {m["raw_config"]["model_type"] for m in reference_models}
    assert {"gpt2", "llama", "mixtral", "qwen3_moe", "deepseek_v3", "gemma2"} <= kinds


def test_total_equals_transformers_for_every_reference_model(reference_models):
    for model in reference_models:
        counts = counts_of(model["raw_config"])
        assert counts.total == model["computed_params_hf_impl"], model["id"]


def test_embedding_and_head_equal_transformers_where_given(reference_models):
    checked = 0
    for model in reference_models:
        expected = model.get("computed_embedding_params_hf_impl")
        if expected is None:
            continue
        counts = counts_of(model["raw_config"])
        assert counts.embedding + counts.output_head == expected, model["id"]
        checked += 1
    assert checked >= 10


def test_active_equals_the_exact_reference_for_moe_models(reference_models):
    moe = [m for m in reference_models if m.get("computed_active_params_hf_impl") is not None]
    assert {m["id"] for m in moe} >= {"mixtral-8x7b-v0.1", "qwen3-30b-a3b", "deepseek-v3"}
    for model in moe:
        assert counts_of(model["raw_config"]).active == model["computed_active_params_hf_impl"]


def test_dense_models_use_every_parameter_per_token(reference_models):
    for model in reference_models:
        if model.get("published_active_params") is None:
            counts = counts_of(model["raw_config"])
            assert counts.active == counts.total, model["id"]
            assert counts.experts == counts.router == 0


def test_totals_and_active_match_the_published_figures(reference_models):
    for model in reference_models:
        counts = counts_of(model["raw_config"])
        assert within_last_published_digit(counts.total, model["published_params"]), model["id"]
        if model.get("published_active_params"):
            published = model["published_active_params"]
            assert within_last_published_digit(counts.active, published), model["id"]


def test_gemma2_non_embedding_equals_the_paper_exactly(reference_models):
    # Gemma 2 paper (arXiv 2408.00118) Table 1 gives the 9B's non-embedding count to the unit.
    gemma = next(m for m in reference_models if m["id"] == "gemma-2-9b")
    counts = counts_of(gemma["raw_config"])
    assert counts.non_embedding == gemma["published_params_exact_paper"]["non_embedding"]


@pytest.mark.parametrize(
    "model_id, non_embedding",
    [
        # Model cards: "Non-Embedding" counts exclude the input embedding and the output head.
        ("qwen2.5-7b", 6.53e9),  # Qwen2.5-7B card: 7.61B, non-embedding 6.53B
        ("qwen2.5-72b-instruct", 70.0e9),  # Qwen2.5-72B card: 72.7B, non-embedding 70.0B
        ("qwen3-30b-a3b", 29.9e9),  # Qwen3-30B-A3B card: 30.5B, non-embedding 29.9B
    ],
)
def test_qwen_non_embedding_counts_match_the_model_cards(reference_models, model_id, non_embedding):
    model = next(m for m in reference_models if m["id"] == model_id)
    counts = counts_of(model["raw_config"])
    assert within_last_published_digit(counts.total - counts.embedding - counts.output_head,
                                       non_embedding)


def test_deepseek_v3_excludes_the_routing_bias_buffer(reference_models):
    # models.json: counting gate.e_score_correction_bias (256 per MoE layer, a buffer in
    # transformers) would give 671,026,419,200; the reference implementation does not count it.
    v3 = next(m for m in reference_models if m["id"] == "deepseek-v3")
    counts = counts_of(v3["raw_config"])
    assert counts.total + counts.num_moe_layers * 256 == 671_026_419_200
    assert counts.num_moe_layers == 58


# --- the fixture configs: exact, by component -----------------------------------------------------


def test_every_fixture_has_a_recorded_transformers_count(transformers_counts):
    assert set(transformers_counts) == {p.name for p in FIXTURES.glob("*.json")}
    assert len(transformers_counts) == 13


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_fixture_counts_equal_transformers_by_component(path, transformers_counts):
    expected = transformers_counts[path.name]
    counts = counts_of(json.loads(path.read_text(encoding="utf-8")))
    assert counts.total == expected["total"]
    assert {c: getattr(counts, c) for c in COMPONENTS} == {c: expected[c] for c in COMPONENTS}


# --- hypothesis: valid architectures ---------------------------------------------------------------


@st.composite
def architectures(draw, *, moe: bool | None = None, head_dim_given: bool | None = None) -> dict:
    """Field values of a valid architecture: dense or MoE; MHA, GQA, MQA or MLA; sliding windows.

    Sizes stay below the 1e15 cap (at most ~2e14 parameters), so every draw is valid."""
    kv_heads = draw(st.integers(1, 16))
    heads = kv_heads * draw(st.sampled_from([1, 1, 2, 4, 8]))  # MHA, GQA; MQA when kv_heads == 1
    if head_dim_given is None:
        head_dim_given = draw(st.booleans())
    if head_dim_given:
        head_dim = draw(st.integers(1, 256))
        hidden = draw(st.integers(1, 8192))
    else:
        head_dim = None
        hidden = heads * draw(st.integers(1, 8192 // heads))
    layers = draw(st.integers(1, 128))
    fields: dict = {
        "vocab_size": draw(st.integers(1, 300_000)),
        "hidden_size": hidden,
        "num_layers": layers,
        "max_position_embeddings": draw(st.integers(1, 1_000_000)),
        "num_attention_heads": heads,
        "num_kv_heads": kv_heads,
        "head_dim": head_dim,
        "attention_qkv_bias": draw(st.booleans()),
        "attention_out_bias": draw(st.booleans()),
        "qk_norm": draw(st.booleans()),
        "mlp": draw(st.sampled_from(["gated", "plain"])),
        "intermediate_size": draw(st.integers(1, 65_536)),
        "mlp_bias": draw(st.booleans()),
        "norm": draw(st.sampled_from(["rmsnorm", "layernorm"])),
        "norms_per_layer": draw(st.integers(0, 4)),
        "final_norm": draw(st.booleans()),
        "position_embedding": draw(st.sampled_from(["rope", "learned"])),
        "tie_word_embeddings": draw(st.booleans()),
    }
    pattern = draw(st.sampled_from(["none", "all", "alternate"]))
    if pattern != "none" or draw(st.booleans()):
        fields |= {"sliding_window": draw(st.integers(1, 1_000_000)), "sliding_window_pattern": pattern}
    if draw(st.booleans()):  # multi-head latent attention (DeepSeek-V2 Sec. 2.1)
        fields |= {
            "attention": "mla",
            "num_kv_heads": heads,
            "q_lora_rank": draw(st.none() | st.integers(1, 4096)),
            "kv_lora_rank": draw(st.integers(1, 1024)),
            "qk_nope_head_dim": draw(st.integers(1, 256)),
            "qk_rope_head_dim": draw(st.integers(1, 128)),
            "v_head_dim": draw(st.integers(1, 256)),
        }
    if moe is None:
        moe = draw(st.booleans())
    if moe:
        experts = draw(st.integers(1, 256))
        interval = draw(st.integers(1, 4))
        fields |= {
            "num_experts": experts,
            "experts_per_token": draw(st.integers(1, experts)),
            "expert_intermediate_size": draw(st.integers(1, 8192)),
            "first_dense_layers": draw(st.integers(0, min(layers, 8))),
            "moe_layer_interval": interval,
            "moe_layer_phase": draw(st.integers(0, interval - 1)),
            "dense_layer_indices": tuple(draw(st.sets(st.integers(0, layers - 1), max_size=4))),
        }
        shared = draw(st.integers(0, 4))
        fields |= {
            "num_shared_experts": shared,
            "shared_expert_intermediate_size": draw(st.integers(1, 8192)) if shared else 0,
            "shared_expert_gate": draw(st.booleans()),
        }
    return fields


def check_sound(counts: ParameterCounts) -> None:
    values = [getattr(counts, c) for c in (*COMPONENTS, "total", "active")]
    assert all(type(v) is int and v >= 0 for v in values)
    assert counts.total == sum(getattr(counts, c) for c in COMPONENTS)
    assert counts.total - counts.experts <= counts.active <= counts.total
    assert 0 < counts.total <= MAX_TOTAL_PARAMS


@PROPERTY_SETTINGS
@given(architectures())
def test_valid_architectures_count_soundly(fields):
    arch = Architecture(**fields)
    counts = count_parameters(arch)
    check_sound(counts)
    if arch.is_moe and counts.num_moe_layers:
        inactive = counts.num_moe_layers * (arch.num_experts - arch.experts_per_token)
        assert counts.total - counts.active == inactive * counts.routed_expert_params
    else:
        assert counts.active == counts.total
    assert counts.output_head == (0 if arch.tie_word_embeddings else arch.vocab_size * arch.hidden_size)


@st.composite
def full_range_fields(draw) -> dict:
    """Consistent fields drawn over the WHOLE allowed ranges (many exceed the 1e15 cap)."""
    kv_heads = draw(st.integers(1, 100_000))
    heads = kv_heads * draw(st.integers(1, 100_000 // kv_heads))
    head_dim = draw(st.none() | st.integers(1, 10_000_000))
    hidden = draw(st.integers(1, 10_000_000)) if head_dim else heads * draw(
        st.integers(1, 10_000_000 // heads)
    )
    layers = draw(st.integers(1, 100_000))
    experts = draw(st.sampled_from([0, 1]) | st.integers(0, 100_000))
    fields = {
        "vocab_size": draw(st.integers(1, 100_000_000)),
        "hidden_size": hidden,
        "num_layers": layers,
        "max_position_embeddings": draw(st.integers(1, 100_000_000)),
        "num_attention_heads": heads,
        "num_kv_heads": kv_heads,
        "head_dim": head_dim,
        "intermediate_size": draw(st.integers(1, 10_000_000)),
        "position_embedding": draw(st.sampled_from(["rope", "learned"])),
        "mlp": draw(st.sampled_from(["gated", "plain"])),
        "norm": draw(st.sampled_from(["rmsnorm", "layernorm"])),
        "norms_per_layer": draw(st.integers(0, 8)),
    }
    if draw(st.booleans()):
        fields |= {
            "attention": "mla",
            "num_kv_heads": heads,
            "q_lora_rank": draw(st.none() | st.integers(1, 10_000_000)),
            "kv_lora_rank": draw(st.integers(1, 10_000_000)),
            "qk_nope_head_dim": draw(st.integers(1, 10_000_000)),
            "qk_rope_head_dim": draw(st.integers(1, 10_000_000)),
            "v_head_dim": draw(st.integers(1, 10_000_000)),
        }
    if experts:
        shared = draw(st.integers(0, 1_000))
        fields |= {
            "num_experts": experts,
            "experts_per_token": draw(st.integers(1, experts)),
            "expert_intermediate_size": draw(st.integers(1, 10_000_000)),
            "first_dense_layers": draw(st.integers(0, layers)),
            "num_shared_experts": shared,
            "shared_expert_intermediate_size": draw(st.integers(1, 10_000_000)) if shared else 0,
        }
    return fields


@PROPERTY_SETTINGS
@given(full_range_fields())
def test_whole_ranges_are_valid_exactly_up_to_the_cap(fields):
    # Count without validation (model_construct), then the validator must accept exactly the
    # architectures at or under 1e15 parameters and refuse the others with a clear message.
    unchecked = count_parameters(Architecture.model_construct(**fields))
    if unchecked.total <= MAX_TOTAL_PARAMS:
        check_sound(count_parameters(Architecture(**fields)))
    else:
        with pytest.raises(ValidationError) as caught:
            Architecture(**fields)
        message = describe_validation_error(caught.value, prefix="model")
        assert "parameters" in message and "at most 1e+15" in message
        assert f"{unchecked.total:.3g}" in message


def grown(fields: dict, **changes) -> Architecture | None:
    """The architecture with `changes`, or None if that crosses the parameter cap."""
    try:
        return Architecture(**(fields | changes))
    except ValidationError:
        return None


@PROPERTY_SETTINGS
@given(architectures(), st.integers(1, 16))
def test_more_layers_means_more_parameters(fields, extra):
    small = count_parameters(Architecture(**fields))
    big_arch = grown(fields, num_layers=fields["num_layers"] + extra)
    assume(big_arch is not None)
    big = count_parameters(big_arch)
    assert big.total > small.total
    assert big.active > small.active


@PROPERTY_SETTINGS
@given(architectures(head_dim_given=True), st.integers(1, 4096))
def test_wider_hidden_size_means_more_parameters(fields, extra):
    small = count_parameters(Architecture(**fields))
    big_arch = grown(fields, hidden_size=fields["hidden_size"] + extra)
    assume(big_arch is not None)
    big = count_parameters(big_arch)
    assert big.total > small.total
    assert big.active > small.active


def with_moe_layers(fields: dict) -> dict:
    """`fields`, with the expert-block layout reset if it left no MoE layer at all."""
    if Architecture(**fields).num_moe_layers:
        return fields
    return fields | {"first_dense_layers": 0, "moe_layer_phase": 0, "dense_layer_indices": ()}


@PROPERTY_SETTINGS
@given(architectures(moe=True), st.integers(1, 64))
def test_more_experts_means_more_total_and_only_a_wider_router_active(fields, extra):
    fields = with_moe_layers(fields)
    small = count_parameters(Architecture(**fields))
    big_arch = grown(fields, num_experts=fields["num_experts"] + extra)
    assume(big_arch is not None)
    big = count_parameters(big_arch)
    assert big.total > small.total
    # A token still visits experts_per_token experts; only the router gains a row per expert.
    assert big.active - small.active == extra * small.num_moe_layers * fields["hidden_size"]
    assert big.experts - small.experts == extra * small.num_moe_layers * small.routed_expert_params


@PROPERTY_SETTINGS
@given(architectures(moe=True), st.data())
def test_more_experts_per_token_means_more_active(fields, data):
    fields = with_moe_layers(fields)
    assume(fields["experts_per_token"] < fields["num_experts"])
    extra = data.draw(st.integers(1, fields["num_experts"] - fields["experts_per_token"]))
    small = count_parameters(Architecture(**fields))
    big = count_parameters(
        Architecture(**(fields | {"experts_per_token": fields["experts_per_token"] + extra}))
    )
    assert big.total == small.total
    assert big.active - small.active == extra * small.num_moe_layers * small.routed_expert_params


def test_tied_embedding_is_counted_once():
    untied = count_parameters(Architecture(vocab_size=1000, hidden_size=64, num_attention_heads=4,
                                           num_kv_heads=4, num_layers=2, intermediate_size=128))
    tied = count_parameters(Architecture(vocab_size=1000, hidden_size=64, num_attention_heads=4,
                                         num_kv_heads=4, num_layers=2, intermediate_size=128,
                                         tie_word_embeddings=True))
    assert untied.total - tied.total == 1000 * 64
    assert tied.output_head == 0 and tied.active_matmul == untied.active_matmul


# --- invalid input: one clear message per kind -----------------------------------------------------


def refusal(**fields) -> str:
    with pytest.raises(ValidationError) as caught:
        Architecture(**fields)
    return describe_validation_error(caught.value, prefix="model")


def test_hidden_size_not_divisible_by_heads():
    message = refusal(hidden_size=4097, num_attention_heads=32, num_kv_heads=8)
    assert "hidden_size (4097)" in message and "num_attention_heads (32)" in message
    assert "divisible" in message
    # An explicit head_dim lifts the requirement, as in Gemma 2 and Qwen3.
    Architecture(hidden_size=4097, num_attention_heads=32, num_kv_heads=8, head_dim=128)


@pytest.mark.parametrize("kv_heads", [3, 5, 12, 31])
def test_kv_heads_must_divide_heads(kv_heads):
    message = refusal(num_attention_heads=32, num_kv_heads=kv_heads)
    assert f"num_kv_heads ({kv_heads}) must divide num_attention_heads (32)" in message


def test_more_kv_heads_than_heads():
    message = refusal(num_attention_heads=8, num_kv_heads=16, hidden_size=1024)
    assert "num_kv_heads (16) must be between 1 and num_attention_heads (8)" in message


@pytest.mark.parametrize("per_token", [9, 100])
def test_experts_per_token_above_experts(per_token):
    message = refusal(num_experts=8, experts_per_token=per_token, expert_intermediate_size=128)
    assert f"experts_per_token ({per_token}) must be between 1 and num_experts (8)" in message


def test_moe_needs_an_expert_width_and_some_routing():
    assert "expert_intermediate_size must be at least 1" in refusal(
        num_experts=8, experts_per_token=2
    )
    assert "experts_per_token (0) must be between 1 and num_experts (8)" in refusal(
        num_experts=8, experts_per_token=0, expert_intermediate_size=64
    )


SIZE_FIELDS = [
    "vocab_size", "hidden_size", "num_layers", "max_position_embeddings", "num_attention_heads",
    "num_kv_heads", "head_dim", "intermediate_size", "kv_lora_rank", "qk_nope_head_dim",
    "qk_rope_head_dim", "v_head_dim", "q_lora_rank", "sliding_window",
]


@pytest.mark.parametrize("field", SIZE_FIELDS)
@pytest.mark.parametrize("value", [0, -1, -(10**18)])
def test_zero_or_negative_sizes_name_the_field(field, value):
    message = refusal(**{field: value})
    assert f"model.{field}: must be at least 1 (got {value})" in message


@pytest.mark.parametrize(
    "field", ["num_experts", "experts_per_token", "num_shared_experts", "first_dense_layers",
              "expert_intermediate_size", "shared_expert_intermediate_size", "norms_per_layer"]
)
def test_negative_counts_name_the_field(field):
    assert f"model.{field}: must be at least 0 (got -1)" in refusal(**{field: -1})


@pytest.mark.parametrize("field", ["hidden_size", "num_layers", "vocab_size", "num_experts"])
def test_absurd_field_values_are_refused_without_overflow(field):
    # Far beyond any float: the message must come from validation, not an OverflowError.
    message = refusal(**{field: 10**400})
    assert f"model.{field}: must be at most" in message


@pytest.mark.parametrize(
    "fields",
    [
        dict(hidden_size=10_000_000, num_attention_heads=1, num_kv_heads=1, num_layers=100_000,
             intermediate_size=10_000_000),
        dict(vocab_size=100_000_000, hidden_size=10_000_000, num_attention_heads=1,
             num_kv_heads=1, num_layers=1),
        dict(num_experts=100_000, experts_per_token=1, expert_intermediate_size=1_000_000,
             hidden_size=8192, num_attention_heads=64, num_kv_heads=8, num_layers=1000),
    ],
    ids=["deep-and-wide", "huge-vocabulary", "countless-experts"],
)
def test_models_over_1e15_parameters_are_refused(fields):
    message = refusal(**fields)
    assert "llmscope accepts at most 1e+15" in message
    total = count_parameters(Architecture.model_construct(**fields)).total
    assert total > MAX_TOTAL_PARAMS and math.isfinite(float(total))


def test_the_cap_itself_is_accepted():
    # A dense model just under 1e15 must still work: the cap refuses only what is above it.
    arch = Architecture(vocab_size=1, hidden_size=1_000_000, num_attention_heads=1,
                        num_kv_heads=1, num_layers=142, intermediate_size=1_000_000,
                        tie_word_embeddings=True)
    check_sound(count_parameters(arch))


@pytest.mark.parametrize("value", ["many", 3.5, None, [1]])
def test_values_of_the_wrong_type_name_the_field(value):
    message = refusal(hidden_size=value)
    assert message.startswith("model.hidden_size:")


def test_unknown_fields_are_refused_by_name():
    assert "model.hiden_size: is not a known setting" in refusal(hiden_size=4096)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("q_lora_rank", 768),
        ("kv_lora_rank", 256),
        ("qk_rope_head_dim", 32),
        ("v_head_dim", 64),
        ("moe_layer_interval", 2),
        ("expert_intermediate_size", 1024),
        ("shared_expert_intermediate_size", 4096),
        ("first_dense_layers", 3),
        ("experts_per_token", 2),
    ],
)
def test_a_setting_the_design_ignores_changes_no_number(setting: str, value: int):
    """`ignored_fields` is what the app marks "not used" and presets leave out: for a dense
    model with standard attention, changing one changes no count, KV cache or FLOPs."""
    from llmscope.engine.evaluate import evaluate
    from llmscope.engine.scenario import Scenario

    base = Scenario()
    assert setting in base.model.ignored_fields
    changed = base.with_value(f"model.{setting}", value)
    assert evaluate(changed).to_flat_dict() == evaluate(base).to_flat_dict()
    used = base.with_values({"model.attention": "mla", "model.num_experts": 8,
                             "model.experts_per_token": 2, "model.expert_intermediate_size": 2048})
    assert setting not in used.model.ignored_fields


def test_a_dense_model_becomes_a_mixture_of_experts_one_setting_at_a_time():
    """An editor changes one setting per step, and each step must be a valid model: the MoE
    settings are accepted while there are no experts, and the expert count then applies them."""
    from llmscope.engine.scenario import Scenario

    scenario = Scenario()
    for key, value in (("experts_per_token", 2), ("expert_intermediate_size", 14336),
                       ("num_experts", 8)):
        scenario = scenario.with_value(f"model.{key}", value)
    model = scenario.model
    assert model.is_moe and (model.num_experts, model.experts_per_token) == (8, 2)
