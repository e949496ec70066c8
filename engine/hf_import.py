"""Import a Hugging Face `config.json` (already parsed to a dict) as an `Architecture`.

Each family applies its defaults to omitted keys exactly as the transformers configuration and
modeling classes do (transformers 5.x: `LlamaConfig`, `Qwen3MoeConfig`, ...; e.g. qwen2's
`num_key_value_heads` defaults to 32, not to the head count; qwen3 defaults `head_dim` to 128 while
qwen3_moe derives it from hidden/heads; gpt2's `n_inner` None means 4 * n_embd). Unknown keys are
ignored. Reading the file is the caller's business; this module only maps keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from llmscope.engine.architecture import Architecture
from llmscope.engine.errors import EngineInputError, describe_validation_error

_Config = Mapping[str, Any]


def _get(config: _Config, key: str, default: Any) -> Any:
    """A key's value, or the family default when the key is absent (an explicit null is kept)."""
    return config[key] if key in config else default


def _kv_heads(config: _Config, default: int | None, heads: int) -> int:
    value = _get(config, "num_key_value_heads", default)
    return heads if value is None else value


def _head_dim_or_derived(config: _Config, default: int | None = None) -> int | None:
    value = _get(config, "head_dim", default)
    return value or None  # None/0: derived from hidden_size / heads, as the modeling code does


def _sliding(window: Any, pattern: str) -> dict[str, Any]:
    if window is None or window == 0:
        return {"sliding_window": None, "sliding_window_pattern": "none"}
    return {"sliding_window": window, "sliding_window_pattern": pattern}


def _qwen_sliding(config: _Config, layers: int) -> dict[str, Any]:
    # Qwen2/Qwen3: the window applies only with use_sliding_window, to layers >= max_window_layers.
    # llmscope models windows on all layers or on alternating layers; a partial range is rounded
    # to "all" when it starts at layer 0 and to "none" otherwise (the released checkpoints all ship
    # use_sliding_window = false).
    if not _get(config, "use_sliding_window", False):
        return _sliding(None, "none")
    start = _get(config, "max_window_layers", 28)
    return _sliding(_get(config, "sliding_window", 4096), "all" if start == 0 else "none")


def _llama_like(config: _Config, *, defaults: dict[str, Any]) -> dict[str, Any]:
    heads = _get(config, "num_attention_heads", defaults["num_attention_heads"])
    return {
        "vocab_size": _get(config, "vocab_size", defaults["vocab_size"]),
        "hidden_size": _get(config, "hidden_size", defaults["hidden_size"]),
        "intermediate_size": _get(config, "intermediate_size", defaults["intermediate_size"]),
        "num_layers": _get(config, "num_hidden_layers", defaults["num_hidden_layers"]),
        "num_attention_heads": heads,
        "num_kv_heads": _kv_heads(config, defaults["num_key_value_heads"], heads),
        "max_position_embeddings": _get(
            config, "max_position_embeddings", defaults["max_position_embeddings"]
        ),
        "tie_word_embeddings": _get(config, "tie_word_embeddings", defaults.get("tie", False)),
        "mlp": "gated",
        "norm": "rmsnorm",
    }


def _llama(c: _Config) -> dict[str, Any]:
    arch = _llama_like(c, defaults=dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008,
                                        num_hidden_layers=32, num_attention_heads=32,
                                        num_key_value_heads=None, max_position_embeddings=2048))
    bias = _get(c, "attention_bias", False)
    return arch | {
        "head_dim": _head_dim_or_derived(c),
        "attention_qkv_bias": bias,
        "attention_out_bias": bias,
        "mlp_bias": _get(c, "mlp_bias", False),
    }


def _mistral(c: _Config) -> dict[str, Any]:
    arch = _llama_like(c, defaults=dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336,
                                        num_hidden_layers=32, num_attention_heads=32,
                                        num_key_value_heads=8, max_position_embeddings=131072))
    return arch | {"head_dim": _head_dim_or_derived(c)} | _sliding(
        _get(c, "sliding_window", 4096), "all"
    )


def _mixtral(c: _Config) -> dict[str, Any]:
    arch = _llama_like(c, defaults=dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336,
                                        num_hidden_layers=32, num_attention_heads=32,
                                        num_key_value_heads=8, max_position_embeddings=131072))
    return arch | {
        "head_dim": _head_dim_or_derived(c),
        "num_experts": _get(c, "num_local_experts", 8),
        "experts_per_token": _get(c, "num_experts_per_tok", 2),
        # Mixtral's experts have the dense intermediate_size; there is no dense MLP.
        "expert_intermediate_size": arch["intermediate_size"],
    } | _sliding(_get(c, "sliding_window", None), "all")


def _qwen2(c: _Config) -> dict[str, Any]:
    arch = _llama_like(c, defaults=dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016,
                                        num_hidden_layers=32, num_attention_heads=32,
                                        num_key_value_heads=32, max_position_embeddings=32768))
    # Qwen2Attention: q/k/v with bias, o_proj without (hard-coded in the modeling file).
    return arch | {"head_dim": _head_dim_or_derived(c), "attention_qkv_bias": True} | _qwen_sliding(
        c, arch["num_layers"]
    )


def _qwen_moe_layers(c: _Config) -> dict[str, Any]:
    step = _get(c, "decoder_sparse_step", 1)
    return {
        # Qwen: layer i is sparse when (i + 1) % decoder_sparse_step == 0 and not in mlp_only_layers.
        "moe_layer_interval": step,
        "moe_layer_phase": step - 1,
        "dense_layer_indices": tuple(sorted(set(_get(c, "mlp_only_layers", None) or ()))),
    }


def _qwen2_moe(c: _Config) -> dict[str, Any]:
    arch = _llama_like(c, defaults=dict(vocab_size=151936, hidden_size=2048, intermediate_size=5632,
                                        num_hidden_layers=24, num_attention_heads=16,
                                        num_key_value_heads=16, max_position_embeddings=32768))
    shared = _get(c, "shared_expert_intermediate_size", 5632)
    return arch | {
        "head_dim": _head_dim_or_derived(c),
        "attention_qkv_bias": _get(c, "qkv_bias", True),
        "num_experts": _get(c, "num_experts", 60),
        "experts_per_token": _get(c, "num_experts_per_tok", 4),
        "expert_intermediate_size": _get(c, "moe_intermediate_size", 1408),
        "num_shared_experts": 1 if shared else 0,
        "shared_expert_intermediate_size": shared,
        # Qwen2MoeSparseMoeBlock always builds shared_expert_gate, even for a zero-width expert.
        "shared_expert_gate": True,
    } | _qwen_moe_layers(c) | _qwen_sliding(c, arch["num_layers"])


def _qwen3(c: _Config) -> dict[str, Any]:
    arch = _llama_like(c, defaults=dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016,
                                        num_hidden_layers=32, num_attention_heads=32,
                                        num_key_value_heads=32, max_position_embeddings=32768))
    bias = _get(c, "attention_bias", False)
    return arch | {
        "head_dim": _head_dim_or_derived(c, 128),  # Qwen3Config.head_dim defaults to 128
        "attention_qkv_bias": bias,
        "attention_out_bias": bias,
        "qk_norm": True,
    } | _qwen_sliding(c, arch["num_layers"])


def _qwen3_moe(c: _Config) -> dict[str, Any]:
    arch = _llama_like(c, defaults=dict(vocab_size=151936, hidden_size=2048, intermediate_size=6144,
                                        num_hidden_layers=24, num_attention_heads=32,
                                        num_key_value_heads=4, max_position_embeddings=32768))
    bias = _get(c, "attention_bias", False)
    return arch | {
        # Qwen3MoeConfig has no head_dim default: the attention derives hidden / heads.
        "head_dim": _head_dim_or_derived(c),
        "attention_qkv_bias": bias,
        "attention_out_bias": bias,
        "qk_norm": True,
        "num_experts": _get(c, "num_experts", _get(c, "num_local_experts", 128)),
        "experts_per_token": _get(c, "num_experts_per_tok", 8),
        "expert_intermediate_size": _get(c, "moe_intermediate_size", 768),
    } | _qwen_moe_layers(c) | _qwen_sliding(c, arch["num_layers"])


def _gemma2(c: _Config) -> dict[str, Any]:
    arch = _llama_like(c, defaults=dict(vocab_size=256000, hidden_size=2304, intermediate_size=9216,
                                        num_hidden_layers=26, num_attention_heads=8,
                                        num_key_value_heads=4, max_position_embeddings=8192,
                                        tie=True))
    bias = _get(c, "attention_bias", False)
    layer_types = c.get("layer_types")
    pattern = "alternate"  # Gemma2Config: even layers slide, odd layers attend globally
    if isinstance(layer_types, list) and layer_types:
        sliding = sum(1 for t in layer_types if t == "sliding_attention")
        pattern = "all" if sliding == len(layer_types) else "none" if sliding == 0 else "alternate"
    return arch | {
        "head_dim": _head_dim_or_derived(c, 256),
        "attention_qkv_bias": bias,
        "attention_out_bias": bias,
        "norms_per_layer": 4,  # input, post-attention, pre-feedforward, post-feedforward
    } | _sliding(_get(c, "sliding_window", 4096), pattern)


def _phi3(c: _Config) -> dict[str, Any]:
    arch = _llama_like(c, defaults=dict(vocab_size=32064, hidden_size=3072, intermediate_size=8192,
                                        num_hidden_layers=32, num_attention_heads=32,
                                        num_key_value_heads=None, max_position_embeddings=4096))
    # Phi3 fuses qkv_proj and gate_up_proj; the parameter counts equal the unfused layout.
    return arch | {"head_dim": _head_dim_or_derived(c)} | _sliding(
        _get(c, "sliding_window", None), "all"
    )


def _deepseek(c: _Config, v3: bool) -> dict[str, Any]:
    defaults = (
        dict(vocab_size=129280, hidden_size=7168, intermediate_size=18432, num_hidden_layers=61,
             num_attention_heads=128, num_key_value_heads=128, max_position_embeddings=4096)
        if v3 else
        dict(vocab_size=102400, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
             num_attention_heads=32, num_key_value_heads=None, max_position_embeddings=2048)
    )
    arch = _llama_like(c, defaults=defaults)
    bias = _get(c, "attention_bias", False)
    experts = _get(c, "n_routed_experts", 256 if v3 else 64)
    per_token = _get(c, "num_experts_per_tok", 8 if v3 else None)
    moe_size = _get(c, "moe_intermediate_size", 2048 if v3 else 1407)
    shared = _get(c, "n_shared_experts", 1 if v3 else 2) or 0
    first_dense = _get(c, "first_k_dense_replace", 3 if v3 else 0)
    out = arch | {
        "attention": "mla",
        "num_kv_heads": arch["num_attention_heads"],  # MLA has no separate KV heads
        "q_lora_rank": _get(c, "q_lora_rank", 1536),
        "kv_lora_rank": _get(c, "kv_lora_rank", 512),
        "qk_nope_head_dim": _get(c, "qk_nope_head_dim", 128),
        "qk_rope_head_dim": _get(c, "qk_rope_head_dim", 64),
        "v_head_dim": _get(c, "v_head_dim", 128),
        "attention_qkv_bias": bias,  # applies to q_a_proj and kv_a_proj_with_mqa
        "attention_out_bias": bias,
        "mlp_bias": False if v3 else _get(c, "mlp_bias", False),
    }
    if experts:
        if per_token is None:
            raise EngineInputError(
                "num_experts_per_tok is required for a deepseek_v2 config with routed experts"
            )
        # transformers 5.x: every layer from first_k_dense_replace on is MoE (moe_layer_freq is
        # not read by the modeling code).
        out |= {
            "num_experts": experts,
            "experts_per_token": per_token,
            "expert_intermediate_size": moe_size,
            "num_shared_experts": shared,
            "shared_expert_intermediate_size": moe_size if shared else 0,
            "first_dense_layers": min(first_dense or 0, arch["num_layers"]),
        }
    return out


def _gpt2(c: _Config) -> dict[str, Any]:
    hidden = _get(c, "n_embd", 768)
    heads = _get(c, "n_head", 12)
    inner = _get(c, "n_inner", None)
    return {
        "vocab_size": _get(c, "vocab_size", 50257),
        "hidden_size": hidden,
        "intermediate_size": inner if inner is not None else 4 * hidden,
        "num_layers": _get(c, "n_layer", 12),
        "num_attention_heads": heads,
        "num_kv_heads": heads,
        "max_position_embeddings": _get(c, "n_positions", 1024),
        "tie_word_embeddings": _get(c, "tie_word_embeddings", True),
        "attention_qkv_bias": True,
        "attention_out_bias": True,
        "mlp": "plain",
        "mlp_bias": True,
        "norm": "layernorm",
        "position_embedding": "learned",
    }


def _gpt_neox(c: _Config) -> dict[str, Any]:
    heads = _get(c, "num_attention_heads", 64)
    bias = _get(c, "attention_bias", True)
    return {
        "vocab_size": _get(c, "vocab_size", 50432),
        "hidden_size": _get(c, "hidden_size", 6144),
        "intermediate_size": _get(c, "intermediate_size", 24576),
        "num_layers": _get(c, "num_hidden_layers", 44),
        "num_attention_heads": heads,
        "num_kv_heads": heads,
        "max_position_embeddings": _get(c, "max_position_embeddings", 2048),
        "tie_word_embeddings": _get(c, "tie_word_embeddings", False),
        "attention_qkv_bias": bias,
        "attention_out_bias": bias,
        "mlp": "plain",
        "mlp_bias": True,
        "norm": "layernorm",
    }


FAMILIES: dict[str, Callable[[_Config], dict[str, Any]]] = {
    "llama": _llama,
    "mistral": _mistral,
    "mixtral": _mixtral,
    "qwen2": _qwen2,
    "qwen2_moe": _qwen2_moe,
    "qwen3": _qwen3,
    "qwen3_moe": _qwen3_moe,
    "gemma2": _gemma2,
    "phi3": _phi3,
    "deepseek_v2": lambda c: _deepseek(c, v3=False),
    "deepseek_v3": lambda c: _deepseek(c, v3=True),
    "gpt2": _gpt2,
    "gpt_neox": _gpt_neox,
}


# Keys the families read, by the JSON type transformers' strict config classes require. Checked
# before mapping: a string "768" would otherwise be coerced by pydantic after gpt2's 4 * n_embd had
# already repeated it, and the string "false" is truthy where the importer branches on a flag.
_INT_KEYS = frozenset({
    "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "max_position_embeddings", "head_dim", "n_embd", "n_head", "n_layer",
    "n_positions", "n_inner", "num_local_experts", "num_experts", "num_experts_per_tok",
    "moe_intermediate_size", "shared_expert_intermediate_size", "decoder_sparse_step",
    "n_routed_experts", "n_shared_experts", "first_k_dense_replace", "q_lora_rank", "kv_lora_rank",
    "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "sliding_window", "max_window_layers",
})
_BOOL_KEYS = frozenset({
    "tie_word_embeddings", "attention_bias", "mlp_bias", "qkv_bias", "use_sliding_window",
})


def _check_types(config: _Config, model_type: str) -> None:
    problems = []
    for key, value in config.items():
        if key in _INT_KEYS and value is not None and (
            isinstance(value, bool) or not isinstance(value, int)
        ):
            problems.append(f"{key} must be a whole number or null (got {value!r})")
        elif key in _BOOL_KEYS and value is not None and not isinstance(value, bool):
            problems.append(f"{key} must be true or false (got {value!r})")
    layers = config.get("mlp_only_layers")
    if layers is not None and not (
        isinstance(layers, list)
        and all(isinstance(i, int) and not isinstance(i, bool) for i in layers)
    ):
        problems.append(f"mlp_only_layers must be a list of layer numbers (got {layers!r})")
    if problems:
        raise EngineInputError(f"{model_type} config: " + "; ".join(problems))


def architecture_from_hf_config(config: _Config, name: str | None = None) -> Architecture:
    """Map a parsed Hugging Face config.json to an Architecture; raise EngineInputError if unusable."""
    if not isinstance(config, Mapping):
        raise EngineInputError("a Hugging Face config must be a JSON object")
    model_type = config.get("model_type")
    if model_type is None:
        raise EngineInputError(
            f"the config has no model_type; supported families: {', '.join(FAMILIES)}"
        )
    if not isinstance(model_type, str) or model_type not in FAMILIES:
        raise EngineInputError(
            f"unsupported model_type {model_type!r}; supported families: {', '.join(FAMILIES)}"
        )
    _check_types(config, model_type)
    try:
        fields = FAMILIES[model_type](config)
    except TypeError as exc:  # e.g. arithmetic on a string where a number belongs
        raise EngineInputError(f"{model_type} config has a value of the wrong type: {exc}") from None
    fields["family"] = model_type
    fields["name"] = name or _display_name(config, model_type)
    try:
        return Architecture(**fields)
    except ValidationError as exc:
        raise EngineInputError(describe_validation_error(exc, prefix="model")) from None


def _display_name(config: _Config, model_type: str) -> str:
    for key in ("_name_or_path", "name_or_path"):
        value = config.get(key)
        if isinstance(value, str) and value:
            return value.rstrip("/").rsplit("/", 1)[-1][:200]
    return model_type
