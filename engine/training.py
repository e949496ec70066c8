"""Training economics: FLOPs -> wall clock, accelerator-hours, dollars, energy and CO2, and the
inverse questions (accelerators for a deadline, tokens for a budget, MFU implied by a known run).

Sources and conventions:
- Total training FLOPs are model FLOPs: 3 x forward FLOPs per token (matmuls with the active
  parameters, attention included) x tokens (`engine.flops`; Kaplan et al. 2020 Sec. 2.1,
  Narayanan et al. 2021 eq. 3). MFU counts model FLOPs against the dense peak, so recomputation is
  not "useful" work (Chowdhery et al. 2022, PaLM, Appendix B); the hardware FLOPs (with
  recomputation) are kept beside them and give the hardware FLOPs utilisation (HFU).
- Wall clock = model FLOPs / (accelerators x dense peak x MFU) (PaLM Appendix B defines MFU as
  achieved model FLOP/s over peak; we invert it). The MFU is the step-time model's prediction for
  the scenario's layout (`engine.performance`), which loses MFU at scale as real runs do (Llama 3
  paper, Dubey et al. 2024, Table 4: 43% on 8k H100s, 41% on 16k), unless `cluster.mfu` sets one;
  at a set MFU the accelerator-hours do not depend on the count.
- Energy = accelerators x TDP x power fraction x wall clock x PUE. The default power fraction 1.0
  (average board power = TDP under training load) is the convention of the published accounts we
  check against: Luccioni et al. 2022 ("Estimating the Carbon Footprint of BLOOM") and
  Meta's Llama 2 and Llama 3.1 model cards multiply GPU-hours by TDP. Host CPUs, memory and network
  are not counted beyond what the PUE covers.
- CO2 = energy x grid carbon intensity (location-based accounting, as in the same sources).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from llmscope.engine.errors import EngineInputError

SECONDS_PER_HOUR = 3600.0
HOURS_PER_YEAR = 24.0 * 365.25  # Julian year, as accelerator-years are usually quoted
SECONDS_PER_DAY = 86400.0

DEFAULT_POWER_FRACTION_OF_TDP = 1.0
"""Average accelerator power under training load as a fraction of TDP (see module docstring)."""


@dataclass(frozen=True, slots=True)
class TrainingEconomics:
    """What a training run costs, for the scenario's model, tokens and cluster."""

    flops: float  # total model FLOPs (3 x forward, attention included): what MFU counts
    hardware_flops: float  # with activation recomputation: what the accelerators execute
    six_nd_flops: float  # 6 x active parameters x tokens, the rule of thumb, for comparison
    tokens: float
    accelerator_count: int
    peak_flops_per_accelerator: float  # dense bf16 FLOP/s
    mfu: float
    hfu: float  # hardware FLOPs utilisation implied by the MFU and the recomputation
    wall_clock_s: float
    accelerator_hours: float
    accelerator_years: float
    price_usd_per_hour: float | None  # per accelerator-hour
    price_source: str  # "scenario", "catalog (<date>)" or "none"
    cost_usd: float | None  # None when no price is known (never 0 for "unknown")
    power_fraction_of_tdp: float
    average_power_w: float | None  # whole cluster, facility included (x PUE); None without a TDP
    energy_mwh: float | None
    co2_tonnes: float | None

    @property
    def wall_clock_days(self) -> float:
        return self.wall_clock_s / SECONDS_PER_DAY


def _positive(name: str, value: float | None, why: str) -> None:
    if value is None or not (value > 0) or math.isinf(value):
        raise EngineInputError(
            f"{name}: must be a finite number greater than 0 (got {value!r}); {why}"
        )


def training_economics(
    *,
    training_flops_per_token: float,
    hardware_flops_per_token: float,
    six_n_per_token: float,
    tokens: float,
    accelerator_count: int,
    peak_flops: float,
    mfu: float,
    tdp_w: float | None,
    pue: float,
    carbon_kg_per_kwh: float,
    price_usd_per_hour: float | None,
    price_source: str = "scenario",
    power_fraction_of_tdp: float = DEFAULT_POWER_FRACTION_OF_TDP,
) -> TrainingEconomics:
    """Time, accelerator-hours, dollars, energy and CO2 of training on `tokens` tokens.

    `peak_flops` is one accelerator's dense bf16 peak in FLOP/s; `mfu` the model FLOPs utilisation
    (PaLM Appendix B). See the module docstring for the energy convention."""
    _positive("cluster.count", accelerator_count, "a run needs at least one accelerator")
    _positive(
        "accelerator peak FLOP/s", peak_flops, "the accelerator has no bf16 peak in the catalog"
    )
    _positive("cluster.mfu", mfu, "MFU is achieved / peak FLOP/s, in (0, 1]")
    total = training_flops_per_token * tokens
    hardware = hardware_flops_per_token * tokens
    wall_clock_s = total / (accelerator_count * peak_flops * mfu)
    accelerator_hours = accelerator_count * wall_clock_s / SECONDS_PER_HOUR
    if price_usd_per_hour is None:
        cost, price_source = None, "none"
    else:
        cost = accelerator_hours * price_usd_per_hour
    if tdp_w is None:
        power_w = energy_mwh = co2 = None
    else:
        power_w = accelerator_count * tdp_w * power_fraction_of_tdp * pue
        energy_mwh = power_w * wall_clock_s / SECONDS_PER_HOUR / 1e6
        co2 = energy_mwh * 1000.0 * carbon_kg_per_kwh / 1000.0  # MWh -> kWh, kg -> tonnes
    return TrainingEconomics(
        flops=total,
        hardware_flops=hardware,
        six_nd_flops=six_n_per_token * tokens,
        tokens=tokens,
        accelerator_count=accelerator_count,
        peak_flops_per_accelerator=peak_flops,
        mfu=mfu,
        hfu=mfu * hardware_flops_per_token / training_flops_per_token,
        wall_clock_s=wall_clock_s,
        accelerator_hours=accelerator_hours,
        accelerator_years=accelerator_hours / HOURS_PER_YEAR,
        price_usd_per_hour=price_usd_per_hour,
        price_source=price_source,
        cost_usd=cost,
        power_fraction_of_tdp=power_fraction_of_tdp,
        average_power_w=power_w,
        energy_mwh=energy_mwh,
        co2_tonnes=co2,
    )


# --- inverse questions ---------------------------------------------------------------------------


def accelerators_for_deadline(
    total_flops: float, deadline_s: float, peak_flops: float, mfu: float
) -> int:
    """The fewest accelerators that finish `total_flops` model FLOPs within `deadline_s` seconds
    at the given MFU (the wall-clock formula above, solved for the count and rounded up)."""
    _positive("deadline", deadline_s, "a run cannot finish in no time")
    _positive("accelerator peak FLOP/s", peak_flops, "the accelerator has no bf16 peak")
    _positive("mfu", mfu, "MFU is achieved / peak FLOP/s, in (0, 1]")
    needed = total_flops / (deadline_s * peak_flops * mfu)
    # Guard against 3.0000000000000004 -> 4 from floating-point noise.
    return max(1, math.ceil(needed * (1 - 1e-12)))


def tokens_for_budget(
    budget_usd: float,
    training_flops_per_token: float,
    peak_flops: float,
    mfu: float,
    price_usd_per_hour: float,
) -> float:
    """Training tokens a dollar budget buys: budget / price = accelerator-hours, x 3600 x peak x
    MFU = model FLOPs, / FLOPs per token = tokens. Independent of the accelerator count."""
    _positive("budget", budget_usd, "a budget buys nothing below 0")
    _positive(
        "price per accelerator-hour", price_usd_per_hour, "a free accelerator has no budget limit"
    )
    _positive("FLOPs per token", training_flops_per_token, "every token costs some FLOPs")
    accelerator_hours = budget_usd / price_usd_per_hour
    return accelerator_hours * SECONDS_PER_HOUR * peak_flops * mfu / training_flops_per_token


@dataclass(frozen=True, slots=True)
class TrainingTargets:
    """The inverse questions a scenario asks (`training.deadline_days`, `training.budget_usd`)
    and their answers at the scenario's accelerator and MFU; None where it asks none."""

    deadline_days: float | None
    accelerators_for_deadline: int | None  # compute only: memory fit is the training bar's
    budget_usd: float | None
    tokens_for_budget: float | None  # None also when no price is known


def training_targets(
    *,
    deadline_days: float | None,
    budget_usd: float | None,
    total_flops: float,
    training_flops_per_token: float,
    peak_flops: float,
    mfu: float,
    price_usd_per_hour: float | None,
) -> TrainingTargets:
    """`accelerators_for_deadline` and `tokens_for_budget` for the targets that are set."""
    accelerators = None
    if deadline_days is not None:
        deadline_s = deadline_days * SECONDS_PER_DAY
        accelerators = accelerators_for_deadline(total_flops, deadline_s, peak_flops, mfu)
    tokens = None
    if budget_usd is not None and price_usd_per_hour is not None and price_usd_per_hour > 0:
        tokens = tokens_for_budget(
            budget_usd, training_flops_per_token, peak_flops, mfu, price_usd_per_hour
        )
    return TrainingTargets(deadline_days, accelerators, budget_usd, tokens)


def implied_mfu(total_flops: float, accelerator_hours: float, peak_flops: float) -> float:
    """MFU implied by a known run: model FLOPs / (accelerator-hours x 3600 x dense peak).

    Published hours usually include restarts, evaluation and idle time, so this is a lower bound
    on the MFU the run reached while training (PaLM reports 46.2% MFU, Chowdhery et al. 2022
    Table 3, while its published chip-hours include downtime)."""
    _positive("accelerator-hours", accelerator_hours, "a run takes some time")
    _positive("accelerator peak FLOP/s", peak_flops, "the accelerator has no bf16 peak")
    return total_flops / (accelerator_hours * SECONDS_PER_HOUR * peak_flops)


# --- memory fit ----------------------------------------------------------------------------------

MAX_SEARCH_ACCELERATORS = 1_000_000


def smallest_data_parallel_that_fits(
    bytes_per_accelerator: Callable[[int], float],
    capacity_bytes: float,
    max_data_parallel: int,
) -> int | None:
    """The smallest data-parallel degree whose per-accelerator memory fits `capacity_bytes`.

    `bytes_per_accelerator(dp)` must not grow with dp, which holds for ZeRO (states shrink as 1/dp,
    Rajbhandari et al. 2020 Sec. 5) and for 1F1B activations (microbatches in flight shrink as the
    global batch spreads over more replicas, Korthikanti et al. 2022 Sec. 4); so a bisection finds
    it in ~20 evaluations. None when even `max_data_parallel` does not fit."""
    if max_data_parallel < 1 or bytes_per_accelerator(max_data_parallel) > capacity_bytes:
        return None
    low, high = 1, max_data_parallel  # invariant: high fits
    if bytes_per_accelerator(low) <= capacity_bytes:
        return low
    while high - low > 1:
        mid = (low + high) // 2
        if bytes_per_accelerator(mid) <= capacity_bytes:
            high = mid
        else:
            low = mid
    return high
