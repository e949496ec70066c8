"""How long a 1,000-point scaling-law curve takes: numpy `curve()` against a plain-Python loop.

Run: `python benchmarks/bench_scaling.py` (from the repository root or anywhere).

For every law and view, `engine.scaling.curve()` (vectorized, input checks and labels included)
is timed against a loop over the same x values in plain Python (`math`, one point at a time),
which computes the same y values; the two are checked to agree before timing. The budget that
matters is one 16 ms frame: the curves pane redraws after each edit. Medians of repeated runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmscope.engine.scaling import (  # noqa: E402
    FLOPS_PER_PARAM_TOKEN,
    LAW_IDS,
    LAWS,
    VIEWS,
    AllocationFit,
    ChinchillaFit,
    KaplanFit,
    curve,
)
from timing import median_s  # noqa: E402  benchmarks/timing.py (the script's directory)

POINTS = 1000
FRAME_S = 1 / 60  # 16.7 ms
# A Llama-2-7B-like scenario: 6.7B total / 6.5B non-embedding parameters on 2T tokens.
SCENARIO = (6.7e9, 6.5e9, 2e12)


def loss_loop(fit, n: float, d: float) -> float:
    """One point of the law's loss in plain Python (same formulas as engine.scaling)."""
    if isinstance(fit, ChinchillaFit):
        return fit.E + fit.A * n**-fit.alpha + fit.B * d**-fit.beta
    return ((fit.N_c / n) ** (fit.alpha_N / fit.alpha_D) + fit.D_c / d) ** fit.alpha_D


def optimal_params_loop(fit, c: float) -> float:
    """N*(C) in plain Python (Hoffmann Eq. 4; Kaplan L(N, D) minimum; DeepSeek Eq. 4)."""
    if isinstance(fit, ChinchillaFit):
        return fit.G * (c / 6.0) ** fit.params_exponent
    if isinstance(fit, KaplanFit):
        p = fit.alpha_N / fit.alpha_D
        return (p * fit.N_c**p * c / (6.0 * fit.D_c)) ** (1.0 / (1.0 + p))
    assert isinstance(fit, AllocationFit)
    return fit.M_coeff * c**fit.M_exp / 6.0


def baseline(law_id: str, view: str, xs: list[list[float]]) -> list[list[float]]:
    """The same curve's y values, one point at a time, for the x values curve() chose."""
    law = LAWS[law_id]
    fit = law.fit
    total, non_embedding, d = SCENARIO
    n_scenario = total if law.params_counted == "total" else non_embedding
    # The iso-FLOP budgets curve() plots: C x 10^-2 .. 10^2 around the scenario's C = 6ND.
    budgets = [FLOPS_PER_PARAM_TOKEN * n_scenario * d * 10.0**k for k in (-2, -1, 0, 1, 2)]
    out = []
    for i, series_x in enumerate(xs):
        ys = []
        for x in series_x:
            if not law.has_loss:
                ys.append(optimal_params_loop(fit, x))
            elif view == "frontier":
                n = optimal_params_loop(fit, x)
                ys.append(loss_loop(fit, n, x / (FLOPS_PER_PARAM_TOKEN * n)))
            elif view == "loss_vs_params":
                ys.append(loss_loop(fit, x, d))
            else:
                ys.append(loss_loop(fit, x, budgets[i] / (FLOPS_PER_PARAM_TOKEN * x)))
        out.append(ys)
    return out




def main() -> None:
    total, non_embedding, tokens = SCENARIO
    print(
        f"curve() with {POINTS} points per series; scenario N = {total:.3g} total, "
        f"{non_embedding:.3g} non-embedding, D = {tokens:.3g}; medians"
    )
    print(
        f"{'law':14} {'view':15} {'points':>6} {'curve()':>10} {'python loop':>12} "
        f"{'speed-up':>9} {'of 16 ms':>9}"
    )
    totals = {view: 0.0 for view in VIEWS}
    for law_id in LAW_IDS:
        for view in VIEWS:
            result = curve(law_id, view, *SCENARIO, points=POINTS)
            xs = [s.x.tolist() for s in result.series]
            expected = baseline(law_id, view, xs)
            for s, ys in zip(result.series, expected):
                np.testing.assert_allclose(s.y, ys, rtol=1e-9)
            fast = median_s(lambda: curve(law_id, view, *SCENARIO, points=POINTS), inner=20)
            slow = median_s(lambda: baseline(law_id, view, xs), repeats=7, inner=3)
            totals[view] += fast
            n_points = sum(len(s.x) for s in result.series)
            print(
                f"{law_id:14} {view:15} {n_points:6d} {fast * 1e6:8.1f}us {slow * 1e6:10.1f}us "
                f"{slow / fast:8.1f}x {fast / FRAME_S:9.2%}"
            )
    for view, total_s in totals.items():
        print(
            f"{'all four laws':14} {view:15} {'':6} {total_s * 1e6:8.1f}us {'':>12} {'':>9} "
            f"{total_s / FRAME_S:9.2%}"
        )


if __name__ == "__main__":
    main()
