"""How close the step-time model comes to published training runs, at their published layouts.

Run: `python benchmarks/bench_fidelity.py` (from the repository root or anywhere).

Each case of tests/data/training_throughput.json is a bundled preset plus dotted settings (as
`llmscope show PRESET --set key=value` takes them) and the tokens/s per accelerator its source
published. The script prints predicted / published per case, the predicted MFU and the share of
the step that is not compute, then the median and the worst error. tests/test_fidelity.py holds
every case within the tolerance (+-15%, median <= 7%).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT.parent))

from llmscope.engine import evaluate  # noqa: E402
from llmscope.presets.library import find_preset  # noqa: E402

CASES = ROOT / "tests" / "data" / "training_throughput.json"


def predicted(case: dict) -> tuple[float, float, float]:
    """(tokens/s per accelerator, predicted MFU, bubble fraction) of one case."""
    scenario = find_preset(case["preset"]).scenario.with_values(case["set"])
    perf = evaluate(scenario).performance
    if perf is None:
        raise SystemExit(f"{case['id']}: the layout is invalid")
    return float(perf.tokens_per_s_per_accelerator), float(perf.mfu), float(perf.bubble_fraction)


def main() -> None:
    cases = json.loads(CASES.read_text())["cases"]
    print(f"{'case':26} {'predicted':>10} {'published':>10} {'pred/publ':>10} {'MFU':>6} "
          f"{'bubble':>7}")  # fmt: skip
    errors = []
    for case in cases:
        tps, mfu, bubble = predicted(case)
        published = case["published_tokens_per_s_per_accelerator"]
        errors.append(tps / published - 1)
        print(f"{case['id']:26} {tps:10.1f} {published:10.1f} {tps / published:10.3f} "
              f"{mfu:6.1%} {bubble:7.1%}")  # fmt: skip
    absolute = [abs(e) for e in errors]
    worst = max(range(len(cases)), key=lambda i: absolute[i])
    print(f"\nmedian |error| {statistics.median(absolute):.1%}; worst {errors[worst]:+.1%} "
          f"({cases[worst]['id']}); within 15%: {sum(a <= 0.15 for a in absolute)}/{len(cases)}")


if __name__ == "__main__":
    main()
