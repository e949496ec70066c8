"""Timing shared by the benchmarks: medians of repeated runs, since these machines are noisy."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_s(fn: Callable[[], object], repeats: int = 15, inner: int = 1) -> float:
    """Median over `repeats` samples of the mean time of `inner` back-to-back calls of fn."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)
