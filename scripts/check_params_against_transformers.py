"""Check engine.parameters against Hugging Face transformers' own model classes (development only).

    /path/to/devvenv/bin/python scripts/check_params_against_transformers.py [--random N] [--seed S]

Needs torch and transformers, which the project does not depend on: run it from a separate
virtual environment (`python -m venv devvenv && devvenv/bin/pip install torch transformers &&
devvenv/bin/pip install -e .`). For every config it builds the model with
`AutoModelForCausalLM.from_config` on the meta device (no memory is allocated), sums the unique
parameters (tied embeddings once; buffers such as DeepSeek-V3's `e_score_correction_bias` are not
parameters) and compares, to the integer, with what `engine.hf_import` + `engine.parameters` make
of the same config.json: the total and each component (embedding, attention, MLP, experts, shared
experts, router, norms, output head), classified by parameter name.

It checks:
  1. every file in tests/fixtures/hf_configs/ (the integers it prints for these are the ones
     recorded in that folder's README.md and tested without torch);
  2. every `raw_config` in shared/reference/models.json, against its `computed_params_hf_impl`
     as well;
  3. N random valid configs per family, with keys randomly left out so that the importer's
     per-family defaults are compared with the defaults transformers applies.
Exit status 1 if anything differs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import warnings
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

from llmscope.engine.errors import EngineInputError
from llmscope.engine.hf_import import FAMILIES, architecture_from_hf_config
from llmscope.engine.parameters import count_parameters

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "hf_configs"
MODELS_JSON = ROOT.parent / "shared" / "reference" / "models.json"

COMPONENTS = (
    "embedding", "attention", "mlp", "experts", "shared_experts", "router", "norms", "output_head",
)


def component_of(name: str) -> str:
    """Which engine component a transformers parameter name belongs to."""
    leaf = name.rsplit(".", 2)
    if name.startswith("lm_head.") or name.startswith("embed_out."):
        return "output_head"
    if any(k in name for k in ("embed_tokens", ".wte.", ".wpe.", "embed_in")):
        return "embedding"
    if "norm" in name or ".ln_" in name:
        return "norms"
    if "shared_expert" in name:  # Qwen2-MoE shared_expert(_gate), DeepSeek shared_experts
        return "shared_experts"
    if ".experts." in name:
        return "experts"
    if name.endswith("mlp.gate.weight") or name.endswith("mlp.router.weight"):
        return "router"
    if ".mlp." in name:
        return "mlp"
    if any(k in name for k in (".self_attn.", ".attn.", ".attention.")):
        return "attention"
    raise ValueError(f"unclassified parameter {name} ({leaf})")


def hf_counts(config: dict[str, Any]) -> dict[str, int]:
    """Unique parameters of transformers' model for `config`, total and by component."""
    raw = {k: v for k, v in config.items() if k not in ("auto_map", "quantization_config")}
    cfg = AutoConfig.for_model(**raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(cfg)
    counts = dict.fromkeys(COMPONENTS, 0)
    for name, param in model.named_parameters():  # remove_duplicate=True: tied weights once
        counts[component_of(name)] += param.numel()
    counts["total"] = sum(counts[c] for c in COMPONENTS)
    return counts


def engine_counts(config: dict[str, Any]) -> dict[str, int]:
    counts = count_parameters(architecture_from_hf_config(config))
    out = {c: getattr(counts, c) for c in COMPONENTS}
    out["total"] = counts.total
    return out


def compare(label: str, config: dict[str, Any], expected_total: int | None = None) -> bool:
    theirs = hf_counts(config)
    ours = engine_counts(config)
    diffs = [k for k in ("total", *COMPONENTS) if theirs[k] != ours[k]]
    if expected_total is not None and theirs["total"] != expected_total:
        diffs.append(f"models.json says {expected_total}")
    status = "ok  " if not diffs else "DIFF"
    print(f"{status} {label:<34} transformers {theirs['total']:>16,d}  engine {ours['total']:>16,d}")
    for key in diffs:
        if key in theirs:
            print(f"       {key}: transformers {theirs[key]:,d} engine {ours[key]:,d}")
        else:
            print(f"       {key}")
    return not diffs


# --- random valid configs ------------------------------------------------------------------------


def _maybe(rng: random.Random, config: dict[str, Any], key: str, value: Any, p: float = 0.25) -> None:
    """Set `key`, or leave it out with probability p so that the family default applies."""
    if rng.random() >= p:
        config[key] = value


def random_config(family: str, rng: random.Random) -> dict[str, Any]:
    """A small, valid config.json for `family`, with some keys left to the family defaults."""
    heads = rng.choice([1, 2, 4, 8])
    kv = rng.choice([d for d in (1, 2, 4, 8) if heads % d == 0])
    head_dim = rng.choice([8, 16, 32])
    hidden = heads * head_dim * rng.choice([1, 1, 2])
    c: dict[str, Any] = {"model_type": family}
    layers = rng.randint(1, 6)
    vocab = rng.randint(10, 500)
    inter = rng.randint(1, 300)
    if family == "gpt2":
        c |= {"n_embd": hidden, "n_head": heads, "n_layer": layers, "vocab_size": vocab}
        _maybe(rng, c, "n_positions", rng.randint(1, 300))
        _maybe(rng, c, "n_inner", rng.choice([None, inter]))
        _maybe(rng, c, "tie_word_embeddings", rng.random() < 0.5)
        return c
    c |= {"hidden_size": hidden, "num_attention_heads": heads, "num_hidden_layers": layers,
          "vocab_size": vocab, "intermediate_size": inter}
    _maybe(rng, c, "max_position_embeddings", rng.randint(1, 300))
    _maybe(rng, c, "tie_word_embeddings", rng.random() < 0.5)
    if family == "gpt_neox":
        _maybe(rng, c, "attention_bias", rng.random() < 0.5)
        return c
    if family in ("deepseek_v2", "deepseek_v3"):
        c["num_key_value_heads"] = heads
        _maybe(rng, c, "q_lora_rank", rng.choice([None, rng.randint(1, 64)]))
        _maybe(rng, c, "kv_lora_rank", rng.randint(1, 64))
        _maybe(rng, c, "qk_nope_head_dim", rng.choice([8, 16]))
        _maybe(rng, c, "qk_rope_head_dim", rng.choice([8, 16]))
        _maybe(rng, c, "v_head_dim", rng.choice([8, 16, 24]))
        _maybe(rng, c, "attention_bias", rng.random() < 0.3)
        # At least one routed expert: with 0, transformers builds a router over no experts,
        # whose forward pass cannot run (the importer reads 0 or null as a dense model).
        experts = rng.randint(1, 8)
        c["n_routed_experts"] = experts
        c["num_experts_per_tok"] = rng.randint(1, max(experts, 1))
        _maybe(rng, c, "n_shared_experts", rng.randint(0, 2))
        _maybe(rng, c, "moe_intermediate_size", rng.randint(1, 100))
        _maybe(rng, c, "first_k_dense_replace", rng.randint(0, layers))
        if family == "deepseek_v2":
            _maybe(rng, c, "mlp_bias", rng.random() < 0.3)
        if family == "deepseek_v3":
            c["n_group"] = 1
            c["topk_group"] = 1
        return c
    _maybe(rng, c, "num_key_value_heads", kv)
    if family in ("llama", "mistral", "mixtral"):  # these accept an explicit null
        _maybe(rng, c, "head_dim", rng.choice([None, head_dim, 2 * head_dim]))
    elif family != "qwen2":
        _maybe(rng, c, "head_dim", rng.choice([head_dim, 2 * head_dim]))
    if family in ("llama", "qwen3", "qwen3_moe", "gemma2", "phi3"):
        _maybe(rng, c, "attention_bias", rng.random() < 0.3)
    if family == "llama":
        _maybe(rng, c, "mlp_bias", rng.random() < 0.3)
    if family == "phi3":  # Phi3Config's pad/eos ids (32000) must lie inside the vocabulary
        c |= {"pad_token_id": 0, "eos_token_id": 0, "bos_token_id": 0}
    if family in ("mistral", "mixtral", "phi3"):
        _maybe(rng, c, "sliding_window", rng.choice([None, rng.randint(1, 100)]))
    if family == "gemma2":
        _maybe(rng, c, "sliding_window", rng.randint(1, 100))
    if family == "mixtral":
        experts = rng.randint(1, 8)
        c["num_local_experts"] = experts
        c["num_experts_per_tok"] = rng.randint(1, experts)
    if family in ("qwen2_moe", "qwen3_moe"):
        experts = rng.randint(1, 8)
        c["num_experts"] = experts
        c["num_experts_per_tok"] = rng.randint(1, experts)
        _maybe(rng, c, "moe_intermediate_size", rng.randint(1, 100))
        _maybe(rng, c, "decoder_sparse_step", rng.randint(1, 3))
        _maybe(rng, c, "mlp_only_layers", rng.sample(range(layers), rng.randint(0, layers)))
    if family == "qwen2_moe":
        _maybe(rng, c, "shared_expert_intermediate_size", rng.choice([0, rng.randint(1, 100)]))
        _maybe(rng, c, "qkv_bias", rng.random() < 0.7)
    return c


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--random", type=int, default=30, help="random configs per family")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--table", action="store_true",
        help="only print the fixtures' transformers counts as a Markdown table (for the README)",
    )
    args = parser.parse_args()
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    if args.table:
        print("\n| file | total | " + " | ".join(COMPONENTS) + " |")
        print("| --- " * (len(COMPONENTS) + 2) + "|")
        for path in sorted(FIXTURES.glob("*.json")):
            theirs = hf_counts(json.loads(path.read_text()))
            cells = [f"{theirs[k]:,d}" for k in ("total", *COMPONENTS)]
            print(f"| {path.name} | " + " | ".join(cells) + " |")
        return 0
    ok = True

    print("\n# fixtures (tests/fixtures/hf_configs)")
    for path in sorted(FIXTURES.glob("*.json")):
        ok &= compare(path.name, json.loads(path.read_text()))

    print("\n# shared/reference/models.json")
    if MODELS_JSON.exists():
        for model in json.loads(MODELS_JSON.read_text())["models"]:
            ok &= compare(model["id"], model["raw_config"], model["computed_params_hf_impl"])
    else:
        print(f"(not found: {MODELS_JSON})")

    print(f"\n# random configs ({args.random} per family, seed {args.seed})")
    rng = random.Random(args.seed)
    for family in FAMILIES:
        for n in range(args.random):
            config = random_config(family, rng)
            label = f"{family} #{n}"
            try:
                engine_counts(config)
            except EngineInputError as exc:
                # The engine refuses: fine only if transformers cannot build it either, or if
                # the model it builds cannot run (more KV heads than query heads: a default
                # num_key_value_heads above a small head count gives n_rep = 0 in repeat_kv).
                if "num_kv_heads" in str(exc):
                    print(f"ok   {label:<34} refused: {exc}")
                    continue
                try:
                    hf_counts(config)
                except Exception:  # noqa: BLE001 - any refusal by transformers agrees
                    continue
                print(f"DIFF {label}: engine refuses ({exc}) but transformers builds it\n"
                      f"       {json.dumps(config)}")
                ok = False
                continue
            try:
                good = compare(label, config)
            except Exception as exc:  # noqa: BLE001 - transformers refuses what the engine takes
                print(f"NOTE {label}: transformers cannot build it ({type(exc).__name__}: {exc})")
                continue
            if not good:
                print(f"       {json.dumps(config)}")
            ok &= good
    print("\nall equal" if ok else "\nDIFFERENCES FOUND")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
