"""How long a full `engine.evaluate()` takes, against a baseline measured in the same run.

Run: `python benchmarks/bench_engine.py` (from the repository root or anywhere).

Baseline: the back-of-envelope a spreadsheet does for the same model, in plain Python:
parameters from the config, 6ND training FLOPs, the KV-cache formula and a bandwidth-bound decode
speed. `evaluate()` does all of that and much more (exact parameter anatomy, attention FLOPs,
training memory under ZeRO/TP/PP with a bisection for the smallest cluster, the serving model
and its TP x batch frontier, scaling-law assessment), so the ratio says what the full readout
costs over the bare minimum. The
budget that matters is the 16 ms frame: an edit re-evaluates once per key press.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmscope.engine import Scenario, evaluate  # noqa: E402
from llmscope.engine.hf_import import architecture_from_hf_config  # noqa: E402
from timing import median_s  # benchmarks/timing.py (the script's directory)

REFERENCE = ROOT / "tests" / "data" / "models.json"
MODELS = {
    "Llama-3.1-70B": "llama-3.1-70b",
    "Mixtral-8x7B": "mixtral-8x7b-v0.1",
    "DeepSeek-V3": "deepseek-v3",
}
FRAME_S = 1 / 60  # 16.7 ms


def baseline(config: dict) -> tuple[float, float, float]:
    """Spreadsheet arithmetic: 12 L h^2 + V h parameters, 6ND, KV bytes, bandwidth-bound decode."""
    h = config["hidden_size"]
    layers = config["num_hidden_layers"]
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    params = 12 * layers * h * h + config["vocab_size"] * h
    flops = 6 * params * 2e12
    kv_bytes = 2 * layers * kv_heads * (h // heads) * 2 * (1024 + 256)
    decode_tokens_per_s = 3.35e12 * 0.8 / (2 * params + kv_bytes)
    return flops, kv_bytes, decode_tokens_per_s




def main() -> None:
    if not REFERENCE.exists():
        sys.exit(f"model configs not found: {REFERENCE} (the copy the tests read)")
    configs = {m["id"]: m["raw_config"] for m in json.loads(REFERENCE.read_text())["models"]}
    evaluate(Scenario())  # warm up: imports and the catalog load once
    print(f"{'model':16} {'evaluate()':>12} {'baseline':>10} {'ratio':>8} {'of 16 ms frame':>15}")
    for label, model_id in MODELS.items():
        config = configs[model_id]
        scenario = Scenario(model=architecture_from_hf_config(config))
        full = median_s(lambda: evaluate(scenario), repeats=15, inner=50)
        base = median_s(lambda: baseline(config), repeats=15, inner=2000)
        print(
            f"{label:16} {full * 1e6:10.1f}us {base * 1e6:8.2f}us {full / base:7.0f}x "
            f"{full / FRAME_S:14.2%}"
        )


if __name__ == "__main__":
    main()
