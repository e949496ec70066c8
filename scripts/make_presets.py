"""Regenerate presets/*.toml from real Hugging Face configs (run from the repository root).

    python scripts/make_presets.py [path/to/models.json]

The model section of each preset is what `engine.hf_import` makes of the model's config.json:
taken from the reference file's `raw_config` where the model is there, else from the config
written out below (copied from the model's Hugging Face repository). Published figures and
training facts carry their sources. The generated TOML is committed; this script only keeps it
reproducible.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from llmscope.engine.hf_import import architecture_from_hf_config
from llmscope.engine.scenario import Scenario
from llmscope.presets.files import preset_from_text, scenario_to_toml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS_JSON = ROOT.parent / "shared" / "reference" / "models.json"

# Configs of models that the reference file does not hold: verbatim config.json from each
# model's Hugging Face repository (keys that do not affect the architecture left out).
CONFIGS = {
    "gpt2-xl": {  # openai-community/gpt2-xl
        "model_type": "gpt2",
        "n_ctx": 1024,
        "n_embd": 1600,
        "n_head": 25,
        "n_layer": 48,
        "n_positions": 1024,
        "vocab_size": 50257,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-05,
    },
    "mixtral-8x22b": {  # mistralai/Mixtral-8x22B-v0.1
        "model_type": "mixtral",
        "hidden_act": "silu",
        "hidden_size": 6144,
        "intermediate_size": 16384,
        "max_position_embeddings": 65536,
        "num_attention_heads": 48,
        "num_experts_per_tok": 2,
        "num_hidden_layers": 56,
        "num_key_value_heads": 8,
        "num_local_experts": 8,
        "rms_norm_eps": 1e-05,
        "rope_theta": 1000000,
        "sliding_window": None,
        "tie_word_embeddings": False,
        "vocab_size": 32000,
    },
    "qwen3-235b-a22b": {  # Qwen/Qwen3-235B-A22B
        "model_type": "qwen3_moe",
        "attention_bias": False,
        "decoder_sparse_step": 1,
        "head_dim": 128,
        "hidden_act": "silu",
        "hidden_size": 4096,
        "intermediate_size": 12288,
        "max_position_embeddings": 40960,
        "max_window_layers": 94,
        "mlp_only_layers": [],
        "moe_intermediate_size": 1536,
        "norm_topk_prob": True,
        "num_attention_heads": 64,
        "num_experts": 128,
        "num_experts_per_tok": 8,
        "num_hidden_layers": 94,
        "num_key_value_heads": 4,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "sliding_window": None,
        "tie_word_embeddings": False,
        "use_sliding_window": False,
        "vocab_size": 151936,
    },
    "gemma2-27b": {  # google/gemma-2-27b
        "model_type": "gemma2",
        "attention_bias": False,
        "attn_logit_softcapping": 50.0,
        "final_logit_softcapping": 30.0,
        "head_dim": 128,
        "hidden_activation": "gelu_pytorch_tanh",
        "hidden_size": 4608,
        "intermediate_size": 36864,
        "max_position_embeddings": 8192,
        "num_attention_heads": 32,
        "num_hidden_layers": 46,
        "num_key_value_heads": 16,
        "query_pre_attn_scalar": 144,
        "rms_norm_eps": 1e-06,
        "rope_theta": 10000.0,
        "sliding_window": 4096,
        "vocab_size": 256000,
    },
}

LLAMA2_CARD = "https://github.com/meta-llama/llama-models/blob/main/models/llama2/MODEL_CARD.md"
LLAMA31_CARD = "https://github.com/meta-llama/llama-models/blob/main/models/llama3_1/MODEL_CARD.md"

# name -> (reference id or None, meta, published extras, scenario settings)
PRESETS: dict[str, dict] = {
    "gpt2-xl": dict(
        ref=None,
        config="gpt2-xl",
        title="GPT-2 XL (1.5B)",
        tags=["dense", "gpt2", "openai"],
        published=dict(
            params_total=1_558_000_000,
            source="openai/gpt-2 download_model.py names the largest checkpoint 1558M "
            "(https://github.com/openai/gpt-2); Radford et al. 2019 Table 2 lists it as 1542M",
        ),
        settings={"training.sequence_length": 1024},
    ),
    "gpt3-175b": dict(
        ref="gpt3-175b",
        title="GPT-3 175B (davinci)",
        tags=["dense", "gpt3", "openai"],
        published=dict(
            training_tokens=300e9,
            training_hardware="NVIDIA V100 (Microsoft cluster)",
            training_source="Brown et al. 2020, 'Language Models are Few-Shot Learners', "
            "Sec. 2.2-2.3 "
            "and Table D.1 (300B tokens, 3.14e23 FLOPs)",
        ),
        settings={
            "training.tokens": 300e9,
            "training.sequence_length": 2048,
            "cluster.accelerator": "nvidia-v100-sxm2",
            # Trained in 2020 (Brown et al. 2020), before FlashAttention (Dao et al., May 2022;
            # in Megatron-LM from 2023), with the GPT-2/Megatron layer's dropout (0.1); the
            # Megatron-LM 2021-22 runs of this architecture ran the same way.
            "training.flash_attention": False,
            "training.dropout": True,
        },
        description_note="Trained in 2020 (Brown et al. 2020), before FlashAttention (Dao et "
        "al. 2022; in Megatron-LM from 2023): flash_attention = false, with the GPT-2/Megatron "
        "layer's dropout.",
    ),
    "llama2-7b": dict(
        ref="llama-2-7b",
        title="Llama 2 7B",
        tags=["dense", "llama", "meta"],
        published=dict(
            training_tokens=2e12,
            training_gpu_hours=184_320,
            training_hardware="NVIDIA A100-80GB",
            training_source=LLAMA2_CARD,
        ),
        settings={
            "training.tokens": 2e12,
            "training.sequence_length": 4096,
            "training.global_batch_size": 1024,
            "cluster.accelerator": "nvidia-a100-sxm-80gb",
        },
    ),
    "llama2-70b": dict(
        ref="llama-2-70b",
        title="Llama 2 70B",
        tags=["dense", "gqa", "llama", "meta"],
        published=dict(
            training_tokens=2e12,
            training_gpu_hours=1_720_320,
            training_hardware="NVIDIA A100-80GB",
            training_source=LLAMA2_CARD,
        ),
        settings={
            "training.tokens": 2e12,
            "training.sequence_length": 4096,
            "training.global_batch_size": 1024,
            "cluster.accelerator": "nvidia-a100-sxm-80gb",
        },
    ),
    "llama3.1-8b": dict(
        ref="llama-3-8b",
        title="Llama 3.1 8B",
        tags=["dense", "gqa", "llama", "meta"],
        # Llama 3.1 8B has Llama 3 8B's shapes with a 128k context (rope scaling "llama3").
        config_overrides={"max_position_embeddings": 131072},
        published=dict(
            params_total=8_030_000_000,
            source=LLAMA31_CARD + " (8B; 8.03B in the Llama 3 paper's Table 3 family)",
            training_tokens=15e12,
            training_gpu_hours=1_460_000,
            training_hardware="NVIDIA H100-80GB",
            training_source=LLAMA31_CARD,
        ),
        settings={
            "training.tokens": 15e12,
            "training.sequence_length": 8192,
            "cluster.accelerator": "nvidia-h100-sxm",
        },
    ),
    "llama3.1-70b": dict(
        ref="llama-3.1-70b",
        title="Llama 3.1 70B",
        tags=["dense", "gqa", "llama", "meta"],
        published=dict(
            training_tokens=15e12,
            training_gpu_hours=7_000_000,
            training_hardware="NVIDIA H100-80GB",
            training_source=LLAMA31_CARD,
        ),
        settings={
            "training.tokens": 15e12,
            "training.sequence_length": 8192,
            "cluster.accelerator": "nvidia-h100-sxm",
        },
    ),
    "llama3.1-405b": dict(
        ref="llama-3.1-405b",
        title="Llama 3.1 405B",
        tags=["dense", "gqa", "llama", "meta"],
        published=dict(
            training_tokens=15e12,
            training_gpu_hours=30_840_000,
            training_gpus=16_384,
            training_hardware="NVIDIA H100-80GB",
            training_source=LLAMA31_CARD + "; Dubey et al. 2024 (Llama 3 paper) Sec. 3.3 "
            "(up to 16K H100s, 38-43% BF16 MFU)",
        ),
        settings={
            "training.tokens": 15e12,
            "training.sequence_length": 8192,
            "cluster.accelerator": "nvidia-h100-sxm",
            "cluster.count": 16_384,
            "training.tensor_parallel": 8,
            "training.pipeline_parallel": 16,
            "training.global_batch_size": 2048,
            # Meta's interleaved 1F1B (Dubey et al. 2024 Sec. 3.3.2); v is not published: 4, about
            # 2 layers per virtual stage, the middle of what 126 layers on 16 stages allow.
            "training.virtual_pipeline_stages": 4,
        },
    ),
    "mistral-7b": dict(
        ref="mistral-7b-v0.1",
        title="Mistral 7B v0.1",
        tags=["dense", "gqa", "sliding-window"],
        published=dict(),
        settings={},
    ),
    "mixtral-8x7b": dict(
        ref="mixtral-8x7b-v0.1",
        title="Mixtral 8x7B v0.1",
        tags=["moe", "gqa", "mistral"],
        published=dict(),
        settings={},
    ),
    "mixtral-8x22b": dict(
        ref=None,
        config="mixtral-8x22b",
        title="Mixtral 8x22B v0.1",
        tags=["moe", "gqa", "mistral"],
        published=dict(
            params_total=141e9,
            params_active=39e9,
            source="https://mistral.ai/news/mixtral-8x22b ('uses only 39B active parameters out "
            "of 141B')",
        ),
        settings={},
    ),
    "qwen2.5-7b": dict(
        ref="qwen2.5-7b",
        title="Qwen2.5 7B",
        tags=["dense", "gqa", "qwen"],
        published=dict(
            training_tokens=18e12,
            training_source="Qwen2.5 Technical Report, arXiv 2412.15115, Sec. 3.1 "
            "(pre-training data scaled to 18 trillion tokens)",
        ),
        settings={"training.tokens": 18e12},
    ),
    "qwen2.5-72b": dict(
        ref="qwen2.5-72b-instruct",
        title="Qwen2.5 72B (Instruct config)",
        tags=["dense", "gqa", "qwen"],
        published=dict(
            training_tokens=18e12,
            training_source="Qwen2.5 Technical Report, arXiv 2412.15115, Sec. 3.1 "
            "(pre-training data scaled to 18 trillion tokens)",
        ),
        settings={"training.tokens": 18e12},
    ),
    "qwen3-30b-a3b": dict(
        ref="qwen3-30b-a3b",
        title="Qwen3 30B-A3B",
        tags=["moe", "gqa", "qwen"],
        published=dict(
            training_tokens=36e12,
            training_source="Qwen3 Technical Report, arXiv 2505.09388, Sec. 3 "
            "(about 36 trillion tokens)",
        ),
        settings={"training.tokens": 36e12},
    ),
    "qwen3-235b-a22b": dict(
        ref=None,
        config="qwen3-235b-a22b",
        title="Qwen3 235B-A22B",
        tags=["moe", "gqa", "qwen"],
        published=dict(
            params_total=235e9,
            params_active=22e9,
            source="https://huggingface.co/Qwen/Qwen3-235B-A22B model card (235B total, 22B "
            "activated, 94 layers, 128 experts with 8 activated)",
            training_tokens=36e12,
            training_source="Qwen3 Technical Report, arXiv 2505.09388, Sec. 3 (about 36 trillion "
            "tokens)",
        ),
        settings={"training.tokens": 36e12},
    ),
    "deepseek-v3": dict(
        ref="deepseek-v3",
        title="DeepSeek-V3 (671B)",
        tags=["moe", "mla", "deepseek"],
        published=dict(
            training_tokens=14.8e12,
            training_gpus=2048,
            training_gpu_hours=2_788_000,
            training_hardware="NVIDIA H800",
            training_source="DeepSeek-V3 Technical Report, arXiv 2412.19437, Sec. 1 and "
            "Table 1 (14.8T tokens; 2.788M H800 GPU hours in all; 2048 H800 GPUs)",
        ),
        settings={
            "training.tokens": 14.8e12,
            "training.sequence_length": 4096,
            "cluster.accelerator": "nvidia-h800-sxm",
            "cluster.count": 2048,
            "training.pipeline_parallel": 16,
            "training.expert_parallel": 64,
            "training.global_batch_size": 15360,
            # DeepSeek-V3 report Sec. 3.2-3.3: FP8 training, DualPipe overlapping the all-to-all
            "training.precision": "fp8",
            "training.overlap_expert_communication": True,
        },
    ),
    "gemma2-9b": dict(
        ref="gemma-2-9b",
        title="Gemma 2 9B",
        tags=["dense", "gqa", "sliding-window", "google"],
        published=dict(
            training_tokens=8e12,
            training_chips=4096,
            training_hardware="TPUv4",
            training_source="Gemma Team 2024, 'Gemma 2', arXiv 2408.00118, Sec. 3 and "
            "Table 3 (8T tokens; 4096 TPUv4 chips)",
        ),
        settings={
            "training.tokens": 8e12,
            "training.sequence_length": 8192,
            "cluster.accelerator": "google-tpu-v4",
            "cluster.count": 4096,
            "cluster.per_node": 4,
            # Gemma 2 paper Table 3: 1,024-way data replication, 4-way model sharding
            "training.tensor_parallel": 4,
        },
    ),
    "gemma2-27b": dict(
        ref=None,
        config="gemma2-27b",
        title="Gemma 2 27B",
        tags=["dense", "gqa", "sliding-window", "google"],
        published=dict(
            params_total=27e9,
            params_non_embedding=26_047_480_320,
            source="Gemma Team 2024, 'Gemma 2', arXiv 2408.00118, Table 1 (27B; 26,047,480,320 "
            "non-embedding parameters)",
            training_tokens=13e12,
            training_chips=6144,
            training_hardware="TPUv5p",
            training_source="Gemma 2 paper Sec. 3 and Table 3 (13T tokens; 6144 TPUv5p chips)",
        ),
        settings={
            "training.tokens": 13e12,
            "training.sequence_length": 8192,
            "cluster.accelerator": "google-tpu-v5p",
            "cluster.count": 6144,
            "cluster.per_node": 4,
            # Gemma 2 paper Table 3: 768-way data replication, 8-way model sharding; the batch is
            # not published: 2 sequences per replica
            "training.tensor_parallel": 8,
            "training.global_batch_size": 1536,
        },
    ),
}


def _whole(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def build(name: str, spec: dict, models: dict[str, dict]) -> str:
    ref = models.get(spec["ref"]) if spec["ref"] else None
    if spec["ref"] and ref is None:
        raise SystemExit(f"{spec['ref']} is not in models.json")
    config = dict(ref["raw_config"] if ref else CONFIGS[spec["config"]])
    config.update(spec.get("config_overrides", {}))
    arch = architecture_from_hf_config(config, name=spec["title"])
    scenario = Scenario(model=arch).with_values(spec["settings"])

    published: dict = {}
    if ref:
        published["params_total"] = _whole(ref["published_params"])
        if ref.get("published_active_params"):
            published["params_active"] = _whole(ref["published_active_params"])
        published["source"] = ref["published_params_source"]
        if ref.get("hf_repo"):
            published["hf_repo"] = f"https://huggingface.co/{ref['hf_repo']}"
    for key, value in spec["published"].items():
        published[key] = _whole(value) if isinstance(value, float) else value

    description = (
        f"{spec['title']}: architecture from its Hugging Face config.json"
        + (" (" + ref["raw_config_fidelity"] + ")" if ref else "")
        + "; training figures where published."
        + (" " + spec["description_note"] if spec.get("description_note") else "")
    )
    meta = {
        "name": name,
        "description": description,
        "author": "llmscope",
        "created": "2026-11-23",
        "tags": spec["tags"],
    }
    # The whole model section is written (all fields the design uses), not only what differs
    # from the defaults, so the preset reads as the architecture and survives a change of defaults.
    header = (
        f"# {spec['title']}: generated by scripts/make_presets.py from the model's config.json.\n"
    )
    text = header + scenario_to_toml(scenario, meta, published, full_sections=("model",))
    preset = preset_from_text(text, f"{name}.toml")
    # loading fills training.reference_accelerator_hours from the published GPU-hours
    hours = published.get("training_gpu_hours")
    if hours:
        scenario = scenario.with_value("training.reference_accelerator_hours", float(hours))
    assert preset.scenario == scenario, name
    return text


def main(argv: list[str]) -> None:
    models_json = Path(argv[0]) if argv else DEFAULT_MODELS_JSON
    models = {m["id"]: m for m in json.loads(models_json.read_text())["models"]}
    out = ROOT / "presets"
    for name, spec in PRESETS.items():
        (out / f"{name}.toml").write_text(build(name, spec, models), encoding="utf-8")
        print(f"wrote presets/{name}.toml")


if __name__ == "__main__":
    main(sys.argv[1:])
