"""Hugging Face config.json import: real files of every family, the families' defaults for omitted
keys (as transformers 5.x applies them), unknown keys, and clear errors for bad input.

The expected defaults are those of the transformers configuration and modeling classes, cited per
case (transformers 5.23: `models/<family>/configuration_<family>.py`); the exact counts are the ones
transformers gave, recorded in tests/fixtures/hf_configs/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmscope.engine.errors import EngineInputError
from llmscope.engine.hf_import import FAMILIES, architecture_from_hf_config
from llmscope.engine.parameters import count_parameters

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hf_configs"
SUPPORTED = (
    "llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma2", "phi3",
    "deepseek_v2", "deepseek_v3", "gpt2", "gpt_neox",
)


def fixture(family: str) -> dict:
    return json.loads((FIXTURES / f"{family}.json").read_text(encoding="utf-8"))


def without(config: dict, *keys: str) -> dict:
    return {k: v for k, v in config.items() if k not in keys}


def test_the_supported_families_are_the_issue_s_list():
    assert tuple(FAMILIES) == SUPPORTED


@pytest.mark.parametrize("family", SUPPORTED)
def test_each_family_has_a_real_fixture_with_keys_the_importer_ignores(family):
    config = fixture(family)
    assert config["model_type"] == family
    # Real files carry many keys that have nothing to do with the size (token ids, dropout, ...).
    assert {"eos_token_id", "torch_dtype"} & set(config) or "activation_function" in config


@pytest.mark.parametrize("family", SUPPORTED)
def test_each_fixture_imports_to_transformers_count(family, transformers_counts):
    arch = architecture_from_hf_config(fixture(family))
    assert arch.family == family
    assert count_parameters(arch).total == transformers_counts[f"{family}.json"]["total"]


@pytest.mark.parametrize("family", SUPPORTED)
def test_unknown_keys_change_nothing(family):
    config = fixture(family)
    noisy = config | {
        "some_future_option": {"nested": [1, 2, 3]},
        "quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]},
        "rope_scaling": {"rope_type": "yarn", "factor": 4.0},
        "transformers_version": "9.99.0",
    }
    assert architecture_from_hf_config(noisy) == architecture_from_hf_config(config)


def test_fixture_shapes_are_the_published_ones():
    # Spot checks against the model cards: Qwen3-8B 36 layers, 32 Q / 8 KV heads, head_dim 128;
    # DeepSeek-V2-Lite no query compression, 64 routed + 2 shared experts, top-6, first layer dense;
    # Qwen1.5-MoE-A2.7B 60 experts top-4 with a 5632-wide gated shared expert; pythia-1b 16 x 2048.
    qwen3 = architecture_from_hf_config(fixture("qwen3"))
    assert (qwen3.num_layers, qwen3.num_attention_heads, qwen3.num_kv_heads) == (36, 32, 8)
    assert qwen3.head_dim_effective == 128 and qwen3.qk_norm
    lite = architecture_from_hf_config(fixture("deepseek_v2"))
    assert lite.attention == "mla" and lite.q_lora_rank is None
    assert (lite.num_experts, lite.num_shared_experts, lite.experts_per_token) == (64, 2, 6)
    assert lite.num_moe_layers == 26
    qmoe = architecture_from_hf_config(fixture("qwen2_moe"))
    assert (qmoe.num_experts, qmoe.experts_per_token, qmoe.num_moe_layers) == (60, 4, 24)
    assert qmoe.shared_expert_gate and qmoe.shared_expert_intermediate_size == 5632
    neox = architecture_from_hf_config(fixture("gpt_neox"))
    assert (neox.num_layers, neox.hidden_size, neox.norm) == (16, 2048, "layernorm")
    phi3 = architecture_from_hf_config(fixture("phi3"))
    assert phi3.sliding_window == 2047 and phi3.sliding_window_pattern == "all"


def test_published_sizes_of_the_fixture_models():
    # Model cards: Qwen3-8B "8.2B" (6.95B non-embedding); Qwen1.5-MoE-A2.7B "14.3B in total";
    # DeepSeek-V2-Lite "15.7B total"; Phi-3-mini "3.8B"; Pythia-1B 1,011,781,632 (Pythia paper,
    # Table 1 lists 1,011,781,632 total for the 1B model).
    def total(family):
        return count_parameters(architecture_from_hf_config(fixture(family))).total

    assert round(total("qwen3") / 1e9, 1) == 8.2
    assert round(total("qwen2_moe") / 1e9, 1) == 14.3
    assert round(total("deepseek_v2") / 1e9, 1) == 15.7
    assert round(total("phi3") / 1e9, 1) == 3.8
    assert total("gpt_neox") == 1_011_781_632


def test_display_name_comes_from_name_or_path():
    assert architecture_from_hf_config(fixture("phi3")).name == "Phi-3-mini-4k-instruct"
    assert architecture_from_hf_config(fixture("llama")).name == "llama"
    named = architecture_from_hf_config(fixture("llama"), name="Meta-Llama-3-8B")
    assert named.name == "Meta-Llama-3-8B"
    assert architecture_from_hf_config(
        fixture("llama") | {"_name_or_path": "/models/meta-llama/Llama-3-8B/"}
    ).name == "Llama-3-8B"


# --- defaults of omitted keys, family by family -----------------------------------------------------


def small(family: str, **extra) -> dict:
    """A config with the size keys a family names, heads=16 and hidden=1024 (head 64)."""
    if family == "gpt2":
        return {"model_type": "gpt2", "n_embd": 1024, "n_head": 16, "n_layer": 2,
                "vocab_size": 1000} | extra
    return {"model_type": family, "hidden_size": 1024, "num_attention_heads": 16,
            "num_hidden_layers": 2, "vocab_size": 1000, "intermediate_size": 2048} | extra


@pytest.mark.parametrize(
    "family, default_kv_heads",
    [
        ("llama", 16),  # LlamaConfig: num_key_value_heads None -> num_attention_heads
        ("phi3", 16),  # Phi3Config: None -> num_attention_heads
        ("deepseek_v2", 16),  # MLA: one latent shared by all heads; no separate KV heads
        ("gpt_neox", 16),  # GPTNeoX: plain multi-head attention
        ("gpt2", 16),
        ("mistral", 8),  # MistralConfig.num_key_value_heads = 8
        ("mixtral", 8),  # MixtralConfig.num_key_value_heads = 8
        ("qwen2_moe", 16),  # Qwen2MoeConfig.num_key_value_heads = 16
        ("qwen3_moe", 4),  # Qwen3MoeConfig.num_key_value_heads = 4
        ("gemma2", 4),  # Gemma2Config.num_key_value_heads = 4
    ],
)
def test_omitted_num_key_value_heads_takes_the_family_default(family, default_kv_heads):
    extra = {"n_routed_experts": 4, "num_experts_per_tok": 2} if family == "deepseek_v2" else {}
    assert architecture_from_hf_config(small(family, **extra)).num_kv_heads == default_kv_heads


@pytest.mark.parametrize("family", ["qwen2", "qwen3"])
def test_qwen_default_of_32_kv_heads_is_not_the_head_count(family):
    # Qwen2Config / Qwen3Config: num_key_value_heads = 32 whatever the head count; with 64 heads
    # that is GQA with groups of 2, with 16 heads it is more KV heads than query heads.
    arch = architecture_from_hf_config(small(family, num_attention_heads=64, hidden_size=4096))
    assert arch.num_kv_heads == 32
    with pytest.raises(EngineInputError, match=r"num_kv_heads \(32\) must be between 1 and"):
        architecture_from_hf_config(small(family))


@pytest.mark.parametrize(
    "family, default_head_dim",
    [
        ("llama", 64),  # LlamaConfig: head_dim None -> hidden_size // num_attention_heads
        ("mistral", 64),
        ("mixtral", 64),
        ("qwen2", 64),  # Qwen2Attention: getattr(config, "head_dim", hidden // heads)
        ("qwen2_moe", 64),
        ("phi3", 64),
        ("qwen3_moe", 64),  # Qwen3MoeConfig has no head_dim: derived
        ("qwen3", 128),  # Qwen3Config.head_dim = 128, not hidden // heads
        ("gemma2", 256),  # Gemma2Config.head_dim = 256
    ],
)
def test_omitted_head_dim_takes_the_family_default(family, default_head_dim):
    extra = {"num_key_value_heads": 4}
    assert architecture_from_hf_config(small(family, **extra)).head_dim_effective == default_head_dim


def test_explicit_head_dim_is_used_where_hidden_over_heads_differs():
    # Gemma 2 9B: hidden 3584 / 16 heads = 224, but head_dim 256 (models.json raw_config).
    gemma = architecture_from_hf_config(fixture("gemma2"))
    assert gemma.head_dim_effective == 256 != gemma.hidden_size // gemma.num_attention_heads


@pytest.mark.parametrize(
    "family, tied",
    [
        ("gpt2", True),  # GPT2Config.tie_word_embeddings = True
        ("gemma2", True),  # Gemma2Config.tie_word_embeddings = True
        ("llama", False),
        ("mistral", False),
        ("mixtral", False),
        ("qwen2", False),
        ("qwen2_moe", False),
        ("qwen3", False),
        ("qwen3_moe", False),
        ("phi3", False),
        ("deepseek_v3", False),
        ("gpt_neox", False),
    ],
)
def test_omitted_tie_word_embeddings_takes_the_family_default(family, tied):
    config = without(fixture(family), "tie_word_embeddings")
    arch = architecture_from_hf_config(config)
    assert arch.tie_word_embeddings is tied
    assert (count_parameters(arch).output_head == 0) is tied


def test_gemma2_fixture_relies_on_the_tied_default(transformers_counts):
    # google/gemma-2-9b's config.json has no tie_word_embeddings key; transformers ties, and
    # its count (recorded) has no separate output head.
    assert "tie_word_embeddings" not in fixture("gemma2")
    assert transformers_counts["gemma2.json"]["output_head"] == 0


@pytest.mark.parametrize("n_inner", ["omitted", None])
def test_gpt2_n_inner_defaults_to_four_times_n_embd(n_inner):
    # GPT2MLP: inner_dim = n_inner if n_inner is not None else 4 * hidden_size.
    config = small("gpt2") if n_inner == "omitted" else small("gpt2", n_inner=None)
    assert architecture_from_hf_config(config).intermediate_size == 4 * 1024
    assert architecture_from_hf_config(small("gpt2", n_inner=1000)).intermediate_size == 1000


def test_gpt2_reference_count_depends_on_the_n_inner_default(reference_models, transformers_counts):
    # openai-community/gpt2's config.json has no n_inner; 124,439,808 needs 4 * 768.
    assert "n_inner" not in fixture("gpt2")
    gpt2 = next(m for m in reference_models if m["id"] == "gpt2")
    assert count_parameters(architecture_from_hf_config(fixture("gpt2"))).total == \
        gpt2["computed_params_hf_impl"] == transformers_counts["gpt2.json"]["total"]


def test_defaults_reproduce_the_family_defaults_of_every_size_key():
    # A config of only the model_type is the family's default model, as transformers builds it
    # from e.g. LlamaConfig(): llama 32 x 4096, 11008 FFN, 32000 vocab (the Llama 1 7B shape).
    llama = architecture_from_hf_config({"model_type": "llama"})
    assert (llama.num_layers, llama.hidden_size, llama.intermediate_size, llama.vocab_size) == (
        32, 4096, 11008, 32000
    )
    assert count_parameters(llama).total == 6_738_415_616  # == Llama-2-7B, models.json
    gpt2 = architecture_from_hf_config({"model_type": "gpt2"})
    assert count_parameters(gpt2).total == 124_439_808  # GPT2Config() is GPT-2 small


def test_deepseek_v3_default_model_is_deepseek_v3(reference_models):
    # DeepseekV3Config's defaults are DeepSeek-V3's own sizes, so a bare model_type gives 671B.
    v3 = next(m for m in reference_models if m["id"] == "deepseek-v3")
    bare = architecture_from_hf_config({"model_type": "deepseek_v3", "vocab_size": 129280,
                                        "max_position_embeddings": 163840})
    assert count_parameters(bare).total == v3["computed_params_hf_impl"]


def test_qwen_moe_layers_follow_decoder_sparse_step_and_mlp_only_layers():
    # Qwen2MoeDecoderLayer: sparse when layer not in mlp_only_layers and (i + 1) % step == 0.
    base = small("qwen3_moe", num_hidden_layers=12, num_key_value_heads=4, num_experts=8,
                 num_experts_per_tok=2)
    assert architecture_from_hf_config(base).num_moe_layers == 12
    assert architecture_from_hf_config(base | {"decoder_sparse_step": 3}).num_moe_layers == 4
    arch = architecture_from_hf_config(base | {"decoder_sparse_step": 2, "mlp_only_layers": [1, 2]})
    assert arch.num_moe_layers == 5  # layers 3, 5, 7, 9, 11; layer 1 forced dense


def test_qwen2_moe_without_a_shared_expert_keeps_its_gate():
    # Qwen2MoeSparseMoeBlock builds shared_expert_gate (hidden x 1) even for a zero-width expert.
    config = small("qwen2_moe", num_experts=4, num_experts_per_tok=2,
                   shared_expert_intermediate_size=0)
    counts = count_parameters(architecture_from_hf_config(config))
    assert counts.shared_experts == 2 * 1024


def test_deepseek_v2_without_routed_experts_is_dense():
    # The DeepSeek reference code builds a plain MLP when n_routed_experts is null.
    arch = architecture_from_hf_config(small("deepseek_v2", n_routed_experts=None))
    assert not arch.is_moe and count_parameters(arch).experts == 0


# --- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_type", ["bert", "llama4", "Llama", ""])
def test_unknown_model_type_lists_the_supported_families(model_type):
    with pytest.raises(EngineInputError) as caught:
        architecture_from_hf_config({"model_type": model_type, "hidden_size": 1024})
    message = str(caught.value)
    assert f"unsupported model_type {model_type!r}" in message
    assert all(family in message for family in SUPPORTED)


def test_missing_model_type_says_so():
    with pytest.raises(EngineInputError, match="no model_type; supported families: llama"):
        architecture_from_hf_config(without(fixture("llama"), "model_type"))


@pytest.mark.parametrize("config", [[1, 2], "llama", None, 42])
def test_a_config_that_is_not_an_object(config):
    with pytest.raises(EngineInputError, match="must be a JSON object"):
        architecture_from_hf_config(config)


@pytest.mark.parametrize(
    "family, key, value, expected",
    [
        ("llama", "hidden_size", "4096", "hidden_size must be a whole number or null (got '4096')"),
        ("gpt2", "n_embd", "768", "n_embd must be a whole number or null (got '768')"),
        ("llama", "num_hidden_layers", 32.5, "num_hidden_layers must be a whole number"),
        ("mixtral", "num_local_experts", True, "num_local_experts must be a whole number"),
        ("qwen2", "use_sliding_window", "false", "use_sliding_window must be true or false"),
        ("llama", "tie_word_embeddings", 1, "tie_word_embeddings must be true or false"),
        ("qwen3_moe", "mlp_only_layers", "0,1", "mlp_only_layers must be a list of layer numbers"),
        ("deepseek_v3", "first_k_dense_replace", [3], "first_k_dense_replace must be a whole"),
    ],
)
def test_values_of_the_wrong_type_name_the_key(family, key, value, expected):
    with pytest.raises(EngineInputError) as caught:
        architecture_from_hf_config(fixture(family) | {key: value})
    assert expected in str(caught.value)
    assert str(caught.value).startswith(f"{family} config: ")


@pytest.mark.parametrize(
    "family, changes, expected",
    [
        ("llama", {"hidden_size": 0}, "model.hidden_size: must be at least 1 (got 0)"),
        ("llama", {"num_hidden_layers": -2}, "model.num_layers: must be at least 1 (got -2)"),
        ("gpt2", {"n_head": 0}, "model.num_attention_heads: must be at least 1 (got 0)"),
        ("llama", {"num_key_value_heads": 3}, "num_kv_heads (3) must divide num_attention_heads"),
        ("llama", {"hidden_size": 4095, "head_dim": None}, "hidden_size (4095) must be divisible"),
        ("mixtral", {"num_experts_per_tok": 9},
         "experts_per_token (9) must be between 1 and num_experts (8)"),
        ("qwen3_moe", {"num_experts_per_tok": 0}, "experts_per_token (0) must be between 1"),
        ("llama", {"vocab_size": 10**12}, "model.vocab_size: must be at most"),
        ("llama", {"num_hidden_layers": 100_000, "hidden_size": 1_000_000,
                   "intermediate_size": 4_000_000}, "llmscope accepts at most 1e+15"),
    ],
)
def test_invalid_sizes_give_one_clear_line(family, changes, expected):
    with pytest.raises(EngineInputError) as caught:
        architecture_from_hf_config(fixture(family) | changes)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value) and "Traceback" not in str(caught.value)


def test_deepseek_v2_routed_experts_need_experts_per_token():
    config = without(fixture("deepseek_v2"), "num_experts_per_tok")
    with pytest.raises(EngineInputError, match="num_experts_per_tok is required"):
        architecture_from_hf_config(config)
