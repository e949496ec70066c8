"""Scaling laws: predicted loss, the compute-optimal model size and tokens, and curves to plot.

Four published fits, each with its paper (coefficients copied below as constants, with the place
they were read; tests/test_scaling.py compares them with shared/reference/scaling_laws.json):

- ``besiroglu2024``: Besiroglu, Erdil, Barnett, You 2024, "Chinchilla Scaling: A replication
  attempt" (arXiv 2404.10102): the Approach-3 form refitted to data reconstructed from Hoffmann
  et al.'s Fig. 4. Consistent with Chinchilla itself (~70B parameters on ~1.4T tokens).
- ``hoffmann2022``: Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models"
  (arXiv 2203.15556), Approach 3 parametric loss with the coefficients as printed in the paper.
- ``kaplan2020``: Kaplan et al. 2020, "Scaling Laws for Neural Language Models" (arXiv
  2001.08361), L(N), L(D) and the combined L(N, D) (Eq. 1.5).
- ``deepseek2024``: DeepSeek-AI 2024, "DeepSeek LLM" (arXiv 2401.02954) Sec. 3.2: only the
  compute-optimal allocation M_opt(C), D_opt(C); the paper gives no loss formula, so no loss.

Which N each law uses (the N it was fitted on):
- Chinchilla family (Hoffmann, Besiroglu): total parameters, embeddings included (Hoffmann Sec. 3).
- Kaplan: non-embedding parameters (Kaplan Sec. 2.1); its compute C = 6 N_non_embedding D.
- DeepSeek: "model scale" M = non-embedding FLOPs per token (72 n_layer d^2 + 6 n_layer d l_seq);
  we take M = 6 N_non_embedding, leaving out the attention term that needs the sequence length.

Compute is C = 6 N D FLOPs throughout (Kaplan Sec. 2.1; Hoffmann Sec. 3), and every
compute-optimal point returned satisfies C = 6 N* D* exactly: N* comes from the law and
D* = C / (6 N*).

Losses are in nats per token on the law's own data set (MassiveText for the Chinchilla family,
WebText2 for Kaplan), so losses from different laws are not comparable with one another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from llmscope.engine.errors import EngineInputError

LAW_IDS = ("besiroglu2024", "hoffmann2022", "kaplan2020", "deepseek2024")
VIEWS = ("frontier", "loss_vs_params", "isoflop")

# Training compute per parameter per token: 2 forward + 4 backward (Kaplan et al. 2020 Sec. 2.1,
# Hoffmann et al. 2022 Sec. 3: C ~ 6ND).
FLOPS_PER_PARAM_TOKEN = 6.0

# The headline rule of Hoffmann et al. 2022 (Approaches 1 and 2, Table 3; Chinchilla: 70B
# parameters on 1.4T tokens): about 20 training tokens per parameter.
CHINCHILLA_TOKENS_PER_PARAM = 20.0

# --- Coefficients, with their sources -------------------------------------------------------

# Besiroglu et al. 2024, refit of L = E + A/N^alpha + B/D^beta; values as printed by
# epoch-research/analyzing-chinchilla data_analysis.ipynb (commit 92258837):
# "A: 482.00572 B: 2085.43420 E: 1.81686 alpha: 0.34781 beta: 0.36585".
BESIROGLU2024_E = 1.81686
BESIROGLU2024_A = 482.00572
BESIROGLU2024_B = 2085.4342
BESIROGLU2024_ALPHA = 0.34781
BESIROGLU2024_BETA = 0.36585

# Hoffmann et al. 2022 Approach 3 (Sec. 3.3) as printed in the paper body:
# E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28.
HOFFMANN2022_E = 1.69
HOFFMANN2022_A = 406.4
HOFFMANN2022_B = 410.7
HOFFMANN2022_ALPHA = 0.34
HOFFMANN2022_BETA = 0.28

# Kaplan et al. 2020 Table 5 / Eq. 1.1-1.2 and the combined form Eq. 1.5, with the constants of
# the single-variable fits (N_c = 8.8e13 non-embedding parameters, D_c = 5.4e13 tokens).
KAPLAN2020_N_C = 8.8e13
KAPLAN2020_ALPHA_N = 0.076
KAPLAN2020_D_C = 5.4e13
KAPLAN2020_ALPHA_D = 0.095
# Kaplan Sec. 6 reports N_opt ~ C_min^0.73 from its early-stopping analysis; kept for the
# help text (the L(N, D) optimum below has a different exponent, see `_kaplan_optimal_params`).
KAPLAN2020_PUBLISHED_PARAMS_EXPONENT = 0.73

# DeepSeek LLM 2024 Sec. 3.2 (C = M D): M_opt = 0.1715 C^0.5243, D_opt = 5.8316 C^0.4757.
DEEPSEEK2024_M_COEFF = 0.1715
DEEPSEEK2024_M_EXP = 0.5243
DEEPSEEK2024_D_COEFF = 5.8316
DEEPSEEK2024_D_EXP = 0.4757

HOFFMANN_INCONSISTENCY_NOTE = (
    "Hoffmann et al. 2022's Approach 3 fit, with its coefficients as published (E=1.69, "
    "A=406.4, B=410.7, alpha=0.34, beta=0.28), puts the compute-optimal model for Chinchilla's "
    "own budget (5.76e23 FLOPs) at about 32B parameters on about 3T tokens (~90 tokens per "
    "parameter; its unrounded coefficients from the paper's TeX source give about 40B), while "
    "the paper's Approaches 1 and 2 and the 70B-parameter, 1.4T-token "
    "Chinchilla model itself agree on about 20 tokens per parameter. Besiroglu et al. 2024 "
    "(arXiv 2404.10102) reconstructed the data, showed the published Approach-3 fit is "
    "inconsistent with it (and with Approaches 1-2), and refit it (E=1.82, A=482.01, "
    "B=2085.43, alpha=0.3478, beta=0.3658), which gives about 70B parameters for that budget. "
    "llmscope's default law is that refit (besiroglu2024)."
)


# --- Laws -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChinchillaFit:
    """L(N, D) = E + A / N^alpha + B / D^beta, nats/token (Hoffmann et al. 2022 Eq. 2)."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float

    @property
    def params_exponent(self) -> float:
        """a in N* ~ C^a: beta / (alpha + beta) (Hoffmann et al. 2022 Eq. 4)."""
        return self.beta / (self.alpha + self.beta)

    @property
    def tokens_exponent(self) -> float:
        """b in D* ~ C^b: alpha / (alpha + beta) (Hoffmann et al. 2022 Eq. 4)."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def G(self) -> float:
        """G = (alpha A / (beta B))^(1 / (alpha + beta)); N* = G (C/6)^a (Hoffmann Eq. 4)."""
        return (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta))


@dataclass(frozen=True, slots=True)
class KaplanFit:
    """L(N, D) = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D (Kaplan et al. 2020 Eq. 1.5).

    N is non-embedding parameters; its limits are L(N) = (N_c/N)^alpha_N (Eq. 1.1, D -> inf)
    and L(D) = (D_c/D)^alpha_D (Eq. 1.2, N -> inf).
    """

    N_c: float
    alpha_N: float
    D_c: float
    alpha_D: float


@dataclass(frozen=True, slots=True)
class AllocationFit:
    """M_opt = M_coeff C^M_exp, D_opt = D_coeff C^D_exp, C = M D (DeepSeek LLM 2024 Sec. 3.2).

    M is non-embedding FLOPs per token; no loss formula is published with it.
    """

    M_coeff: float
    M_exp: float
    D_coeff: float
    D_exp: float


@dataclass(frozen=True, slots=True)
class ScalingLaw:
    """One published scaling law and the coefficients llmscope uses for it."""

    id: str
    title: str
    citation: str
    params_counted: Literal["total", "non_embedding"]
    """Which parameter count N the law was fitted on."""
    loss_data: str | None
    """Data set the loss is measured on (nats/token); None without a loss fit."""
    fit: ChinchillaFit | KaplanFit | AllocationFit

    @property
    def has_loss(self) -> bool:
        return not isinstance(self.fit, AllocationFit)


LAWS: dict[str, ScalingLaw] = {
    "besiroglu2024": ScalingLaw(
        id="besiroglu2024",
        title="Besiroglu et al. 2024 (Chinchilla replication)",
        citation="Besiroglu, Erdil, Barnett, You 2024, 'Chinchilla Scaling: A replication "
        "attempt', arXiv 2404.10102, refit of Hoffmann et al.'s Approach 3",
        params_counted="total",
        loss_data="MassiveText",
        fit=ChinchillaFit(
            E=BESIROGLU2024_E,
            A=BESIROGLU2024_A,
            B=BESIROGLU2024_B,
            alpha=BESIROGLU2024_ALPHA,
            beta=BESIROGLU2024_BETA,
        ),
    ),
    "hoffmann2022": ScalingLaw(
        id="hoffmann2022",
        title="Hoffmann et al. 2022 (Chinchilla, Approach 3 as published)",
        citation="Hoffmann et al. 2022, 'Training Compute-Optimal Large Language Models', "
        "arXiv 2203.15556, Sec. 3.3 (Approach 3)",
        params_counted="total",
        loss_data="MassiveText",
        fit=ChinchillaFit(
            E=HOFFMANN2022_E,
            A=HOFFMANN2022_A,
            B=HOFFMANN2022_B,
            alpha=HOFFMANN2022_ALPHA,
            beta=HOFFMANN2022_BETA,
        ),
    ),
    "kaplan2020": ScalingLaw(
        id="kaplan2020",
        title="Kaplan et al. 2020 (OpenAI scaling laws)",
        citation="Kaplan et al. 2020, 'Scaling Laws for Neural Language Models', arXiv 2001.08361, "
        "Eq. 1.1, 1.2, 1.5 and Table 5",
        params_counted="non_embedding",
        loss_data="WebText2",
        fit=KaplanFit(
            N_c=KAPLAN2020_N_C,
            alpha_N=KAPLAN2020_ALPHA_N,
            D_c=KAPLAN2020_D_C,
            alpha_D=KAPLAN2020_ALPHA_D,
        ),
    ),
    "deepseek2024": ScalingLaw(
        id="deepseek2024",
        title="DeepSeek LLM 2024 (compute-optimal allocation)",
        citation="DeepSeek-AI 2024, 'DeepSeek LLM: Scaling Open-Source Language Models with "
        "Longtermism', arXiv 2401.02954, Sec. 3.2",
        params_counted="non_embedding",
        loss_data=None,
        fit=AllocationFit(
            M_coeff=DEEPSEEK2024_M_COEFF,
            M_exp=DEEPSEEK2024_M_EXP,
            D_coeff=DEEPSEEK2024_D_COEFF,
            D_exp=DEEPSEEK2024_D_EXP,
        ),
    ),
}

_LAW_NOTES = {
    "besiroglu2024": (
        "Besiroglu et al. 2024 refit of Chinchilla's Approach 3; N = total parameters; loss in "
        "nats/token on MassiveText; compute-optimal at about 20 tokens per parameter."
    ),
    "hoffmann2022": "N = total parameters; loss in nats/token on MassiveText. "
    + HOFFMANN_INCONSISTENCY_NOTE,
    "kaplan2020": (
        "Kaplan et al. 2020 L(N, D); N = non-embedding parameters and C = 6 N D with that N; loss "
        "in nats/token on WebText2, not comparable with the Chinchilla-family losses. The "
        "compute-optimal point is the minimum of L(N, D) at fixed C = 6ND (N* ~ C^0.56); the "
        "paper's own allocation, N ~ C^0.73, comes from its early-stopping analysis and favours "
        "still larger models."
    ),
    "deepseek2024": (
        "DeepSeek LLM 2024 fits only the compute-optimal allocation (M_opt, D_opt), not a loss, "
        "so no loss is predicted. N = non-embedding parameters, with model scale M = 6N "
        "(the paper's M also counts attention FLOPs, which this leaves out)."
    ),
}


def get_law(law_id: str) -> ScalingLaw:
    """The law with this id; EngineInputError naming the known ids otherwise."""
    try:
        return LAWS[law_id]
    except (KeyError, TypeError):
        raise EngineInputError(
            f"scaling.law: unknown scaling law {law_id!r}; choose one of {', '.join(LAW_IDS)}"
        ) from None


# --- Input guards -------------------------------------------------------------------------------


def _positive(name: str, value: float | np.ndarray) -> np.ndarray:
    """`value` as a float array; EngineInputError naming `name` unless all positive and finite."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise EngineInputError(f"{name}: must be a number (got {value!r})") from None
    ok = np.isfinite(array) & (array > 0)
    if not ok.all():
        bad = array[~ok].flat[0] if array.ndim else array.item()
        raise EngineInputError(
            f"{name}: must be a positive finite number, since a scaling law is a power law in it "
            f"(got {bad!r})"
        )
    return array


def _out(array: np.ndarray) -> float | np.ndarray:
    return float(array) if array.ndim == 0 else array


# --- Formulas -------------------------------------------------------------------------------------


def _chinchilla_loss(fit: ChinchillaFit, n: np.ndarray, d: np.ndarray) -> np.ndarray:
    # Hoffmann et al. 2022 Eq. 2: irreducible loss + finite-model term + finite-data term.
    return fit.E + fit.A * np.power(n, -fit.alpha) + fit.B * np.power(d, -fit.beta)


def _kaplan_loss(fit: KaplanFit, n: np.ndarray, d: np.ndarray) -> np.ndarray:
    # Kaplan et al. 2020 Eq. 1.5: [(N_c/N)^(aN/aD) + D_c/D]^aD.
    return np.power(np.power(fit.N_c / n, fit.alpha_N / fit.alpha_D) + fit.D_c / d, fit.alpha_D)


def predicted_loss(
    law_id: str, params: float | np.ndarray, tokens: float | np.ndarray
) -> float | np.ndarray:
    """Loss in nats/token predicted at N = `params` (the law's N, see module doc), D = `tokens`.

    Vectorized: arrays broadcast together. Raises EngineInputError for a law without a loss fit
    (deepseek2024) or for non-positive / non-finite inputs.
    """
    law = get_law(law_id)
    n = _positive("params", params)
    d = _positive("tokens", tokens)
    return _out(_loss(law, n, d))


def _loss(law: ScalingLaw, n: np.ndarray, d: np.ndarray) -> np.ndarray:
    fit = law.fit
    if isinstance(fit, ChinchillaFit):
        return _chinchilla_loss(fit, n, d)
    if isinstance(fit, KaplanFit):
        return _kaplan_loss(fit, n, d)
    raise EngineInputError(
        f"scaling.law: {law.id} ({law.title}) fits only the compute-optimal allocation, not a "
        "loss; choose besiroglu2024, hoffmann2022 or kaplan2020 for a predicted loss"
    )


def _optimal_params(law: ScalingLaw, c: np.ndarray) -> np.ndarray:
    """N*(C) under the law; evaluated in logs so that no power overflows over C in 1e-3..1e36."""
    fit = law.fit
    log_c = np.log(c)
    if isinstance(fit, ChinchillaFit):
        # Hoffmann et al. 2022 Eq. 4: N* = G (C/6)^a, a = beta/(alpha+beta).
        return np.exp(math.log(fit.G) + fit.params_exponent * (log_c - math.log(6.0)))
    if isinstance(fit, KaplanFit):
        return _kaplan_optimal_params(fit, log_c)
    # DeepSeek LLM 2024 Sec. 3.2: M_opt = 0.1715 C^0.5243 FLOPs/token, and M = 6N.
    return np.exp(math.log(fit.M_coeff / FLOPS_PER_PARAM_TOKEN) + fit.M_exp * log_c)


def _kaplan_optimal_params(fit: KaplanFit, log_c: np.ndarray) -> np.ndarray:
    # Minimum of Kaplan Eq. 1.5 along C = 6ND: with p = alpha_N/alpha_D, minimise
    # (N_c/N)^p + 6 D_c N / C, whose derivative vanishes at N^(1+p) = p N_c^p C / (6 D_c).
    # Hence N* ~ C^(1/(1+p)) = C^(alpha_D/(alpha_N+alpha_D)) ~ C^0.556.
    p = fit.alpha_N / fit.alpha_D
    log_n = (math.log(p) + p * math.log(fit.N_c) + log_c - math.log(6.0 * fit.D_c)) / (1.0 + p)
    return np.exp(log_n)


def compute_optimal(
    law_id: str, compute_flops: float | np.ndarray
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """(N*, D*) for a compute budget C in FLOPs under the law, with C = 6 N* D* exactly.

    Analytic for every law (no search): Chinchilla family per Hoffmann Eq. 4, Kaplan by the
    minimum of L(N, D) at fixed C, DeepSeek per its Sec. 3.2. N* is in the law's own parameter
    count.
    """
    law = get_law(law_id)
    c = _positive("compute_flops", compute_flops)
    n_opt = _optimal_params(law, c)
    d_opt = c / (FLOPS_PER_PARAM_TOKEN * n_opt)
    return _out(n_opt), _out(d_opt)


@dataclass(frozen=True, slots=True)
class BudgetOptimum:
    """The compute-optimal model for a given compute budget under one law."""

    law_id: str
    compute_flops: float
    """The budget C in FLOPs."""
    optimal_params: float
    """N* in the law's own parameter count (total, or non-embedding for Kaplan and DeepSeek)."""
    optimal_tokens: float
    """D* = C / (6 N*)."""
    loss: float | None
    """Predicted loss of (N*, D*) in nats/token on the law's data; None without a loss fit."""


def budget_optimum(law_id: str, compute_flops: float) -> BudgetOptimum:
    """What compute_optimal answers for a budget, with the loss the law predicts there."""
    law = get_law(law_id)
    c = float(_positive("scaling.compute_budget_flops", compute_flops))
    n_opt = float(_optimal_params(law, np.asarray(c)))
    d_opt = c / (FLOPS_PER_PARAM_TOKEN * n_opt)
    loss = float(_loss(law, np.asarray(n_opt), np.asarray(d_opt))) if law.has_loss else None
    return BudgetOptimum(law.id, c, n_opt, d_opt, loss)


def budget_optima(compute_flops: float) -> tuple[BudgetOptimum, ...]:
    """The compute-optimal model for a budget under every law, in LAWS order: the laws disagree
    (Kaplan's N* ~ C^0.56 against Chinchilla's ~ C^0.5), and seeing all of them is the answer."""
    return tuple(budget_optimum(law_id, compute_flops) for law_id in LAWS)


def chinchilla_rule_optimal(
    compute_flops: float | np.ndarray, tokens_per_param: float = CHINCHILLA_TOKENS_PER_PARAM
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """(N*, D*) by the rule of thumb D = k N (k = 20, Hoffmann et al. 2022 Table 3).

    From C = 6 N D = 6 k N^2: N* = sqrt(C / (6 k)), i.e. sqrt(C / 120) for k = 20 (not the
    often-quoted 20 sqrt(C), which is dimensionally wrong).
    """
    c = _positive("compute_flops", compute_flops)
    k = float(_positive("tokens_per_param", tokens_per_param))
    n_opt = np.sqrt(c / (FLOPS_PER_PARAM_TOKEN * k))
    return _out(n_opt), _out(c / (FLOPS_PER_PARAM_TOKEN * n_opt))


# --- Assessment of a scenario -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScalingAssessment:
    """Where a (N, D) training run sits under one scaling law."""

    law_id: str
    params: float
    """N the law uses: total parameters (Chinchilla family) or non-embedding (Kaplan, DeepSeek)."""
    tokens: float
    """Training tokens D."""
    compute_flops: float
    """C = 6 N D with the law's N, in FLOPs."""
    loss: float | None
    """Predicted loss at (N, D) in nats/token; None if the law has no loss fit (see note)."""
    optimal_params: float
    """Compute-optimal N* for the same C."""
    optimal_tokens: float
    """Compute-optimal D* for the same C (C = 6 N* D*)."""
    tokens_per_param: float
    """D / N of the scenario."""
    optimal_tokens_per_param: float
    """D* / N* at the scenario's C."""
    overtraining_ratio: float
    """tokens_per_param / optimal_tokens_per_param: > 1 over-trained, < 1 under-trained."""
    loss_at_optimum: float | None
    """Loss of the compute-optimal (N*, D*) at the same C; None without a loss fit."""
    loss_with_10x_compute: float | None
    """Loss of the compute-optimal model at 10 C; None without a loss fit."""
    note: str
    """What N means for this law, the data set of its loss, and its caveats."""


def law_params(law_id: str, params_total: float, params_non_embedding: float) -> float:
    """The parameter count the law was fitted on (see module doc)."""
    law = get_law(law_id)
    return params_total if law.params_counted == "total" else params_non_embedding


def assess(
    law_id: str, params_total: float, params_non_embedding: float, tokens: float
) -> ScalingAssessment:
    """Predicted loss, compute-optimal N* and D*, over-/under-training and what 10x would buy.

    Each law uses the N it was fitted on: total parameters for besiroglu2024 and hoffmann2022,
    non-embedding parameters for kaplan2020 and deepseek2024; C = 6 N D with that N. The laws
    were fitted on dense models: for a mixture-of-experts model pass the active counts, since
    C = 6 N D counts the parameters each token uses.
    """
    law = get_law(law_id)
    total = float(_positive("params_total", params_total))
    non_embedding = float(_positive("params_non_embedding", params_non_embedding))
    d = float(_positive("tokens", tokens))
    n = total if law.params_counted == "total" else non_embedding
    c = FLOPS_PER_PARAM_TOKEN * n * d
    n_opt = float(_optimal_params(law, np.asarray(c)))
    d_opt = c / (FLOPS_PER_PARAM_TOKEN * n_opt)
    tpp = d / n
    tpp_opt = d_opt / n_opt
    loss = loss_opt = loss_10x = None
    if law.has_loss:
        loss = float(_loss(law, np.asarray(n), np.asarray(d)))
        loss_opt = float(_loss(law, np.asarray(n_opt), np.asarray(d_opt)))
        c10 = 10.0 * c
        n10 = _optimal_params(law, np.asarray(c10))
        loss_10x = float(_loss(law, n10, c10 / (FLOPS_PER_PARAM_TOKEN * n10)))
    return ScalingAssessment(
        law_id=law.id,
        params=n,
        tokens=d,
        compute_flops=c,
        loss=loss,
        optimal_params=n_opt,
        optimal_tokens=d_opt,
        tokens_per_param=tpp,
        optimal_tokens_per_param=tpp_opt,
        overtraining_ratio=tpp / tpp_opt,
        loss_at_optimum=loss_opt,
        loss_with_10x_compute=loss_10x,
        note=_LAW_NOTES[law.id],
    )


def describe_training(overtraining_ratio: float, tolerance: float = 1.25) -> str:
    """Words for an over-training ratio: within `tolerance`x of the optimum counts as optimal."""
    if not math.isfinite(overtraining_ratio) or overtraining_ratio <= 0:
        raise EngineInputError(
            f"overtraining_ratio: must be a positive finite number (got {overtraining_ratio!r})"
        )
    if overtraining_ratio >= tolerance:
        return f"over-trained {overtraining_ratio:.3g}x (more tokens per parameter than optimal)"
    if overtraining_ratio <= 1.0 / tolerance:
        return (
            f"under-trained {1.0 / overtraining_ratio:.3g}x (fewer tokens per parameter than "
            "optimal)"
        )
    return "about compute-optimal"


# --- Curves -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurveSeries:
    label: str
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True, slots=True)
class Curve:
    title: str
    x_label: str
    y_label: str
    series: tuple[CurveSeries, ...]
    point: tuple[float, float] | None
    """The scenario's (x, y), or None."""
    log_x: bool
    log_y: bool


# Span of the frontier view around the scenario's compute, in decades each side (the issue:
# about 1e-3..1e3 x C), and of the loss-vs-N view around the scenario's N.
FRONTIER_DECADES = 3.0
PARAMS_DECADES = 3.0
# Iso-FLOP budgets: C x 10^k (five profiles), each spanning N*/10^2..N* 10^2 (Hoffmann Fig. 3).
ISOFLOP_BUDGET_DECADES = (-2.0, -1.0, 0.0, 1.0, 2.0)
ISOFLOP_PARAMS_DECADES = 2.0


def _log_grid(center: float, decades: float, points: int) -> np.ndarray:
    log_center = math.log10(center)
    return np.logspace(log_center - decades, log_center + decades, points)


def curve(
    law_id: str,
    view: str,
    params_total: float,
    params_non_embedding: float,
    tokens: float,
    points: int = 200,
) -> Curve:
    """Arrays to plot for one view, with the scenario's point on it (see module doc for N).

    - "frontier": loss of the compute-optimal model against C, over 1e-3..1e3 x the scenario's C;
      point = (C, loss at the scenario's N, D), on the curve when the scenario is compute-optimal.
    - "loss_vs_params": loss against N at the scenario's D, N over 1e-3..1e3 x the scenario's N.
    - "isoflop": loss against N for five budgets C x 10^-2..10^2, D = C / (6N) along each.
    For a law without a loss fit (deepseek2024) every view is N* against C, as its y_label says.
    """
    law = get_law(law_id)
    if view not in VIEWS:
        raise EngineInputError(
            f"scaling.view: unknown view {view!r}; choose one of {', '.join(VIEWS)}"
        )
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or not (
        2 <= points <= 1_000_000
    ):
        raise EngineInputError(f"points: must be an integer from 2 to 1000000 (got {points!r})")
    total = float(_positive("params_total", params_total))
    non_embedding = float(_positive("params_non_embedding", params_non_embedding))
    d = float(_positive("tokens", tokens))
    n = total if law.params_counted == "total" else non_embedding
    c = FLOPS_PER_PARAM_TOKEN * n * d
    n_label = (
        "total parameters N" if law.params_counted == "total" else "non-embedding parameters N"
    )
    loss_label = f"loss (nats/token, {law.loss_data})"

    if not law.has_loss:
        cs = _log_grid(c, FRONTIER_DECADES, points)
        return Curve(
            title=f"{law.title}: compute-optimal model size",
            x_label="training compute C (FLOPs)",
            y_label=f"compute-optimal {n_label} (no loss fit in this law)",
            series=(CurveSeries("N*(C)", cs, _optimal_params(law, cs)),),
            point=(c, n),
            log_x=True,
            log_y=True,
        )

    point_loss = float(_loss(law, np.asarray(n), np.asarray(d)))
    if view == "frontier":
        cs = _log_grid(c, FRONTIER_DECADES, points)
        ns = _optimal_params(law, cs)
        losses = _loss(law, ns, cs / (FLOPS_PER_PARAM_TOKEN * ns))
        return Curve(
            title=f"{law.title}: loss along the compute-optimal frontier",
            x_label="training compute C = 6ND (FLOPs)",
            y_label=loss_label,
            series=(CurveSeries("compute-optimal", cs, losses),),
            point=(c, point_loss),
            log_x=True,
            log_y=True,
        )
    if view == "loss_vs_params":
        ns = _log_grid(n, PARAMS_DECADES, points)
        losses = _loss(law, ns, np.full_like(ns, d))
        return Curve(
            title=f"{law.title}: loss against model size at D = {d:.3g} tokens",
            x_label=n_label,
            y_label=loss_label,
            series=(CurveSeries(f"D = {d:.3g} tokens", ns, losses),),
            point=(n, point_loss),
            log_x=True,
            log_y=False,
        )
    # iso-FLOP profiles (Hoffmann et al. 2022 Sec. 3.2, Fig. 3): at fixed C, D = C / (6N).
    budgets = c * np.power(10.0, np.asarray(ISOFLOP_BUDGET_DECADES))
    n_opts = _optimal_params(law, budgets)
    # One 2-D evaluation for all profiles: row i spans N*_i / 10^2 .. N*_i x 10^2; the profile at
    # the scenario's C is widened if needed so that it covers the scenario's N.
    unit = np.linspace(-ISOFLOP_PARAMS_DECADES, ISOFLOP_PARAMS_DECADES, points)
    log_lo = np.log10(n_opts) - ISOFLOP_PARAMS_DECADES
    log_hi = np.log10(n_opts) + ISOFLOP_PARAMS_DECADES
    middle = ISOFLOP_BUDGET_DECADES.index(0.0)
    log_n = math.log10(n)
    log_lo[middle] = min(log_lo[middle], log_n - 0.5)
    log_hi[middle] = max(log_hi[middle], log_n + 0.5)
    fraction = (unit + ISOFLOP_PARAMS_DECADES) / (2.0 * ISOFLOP_PARAMS_DECADES)
    grid = np.power(10.0, log_lo[:, None] + (log_hi - log_lo)[:, None] * fraction[None, :])
    losses = _loss(law, grid, budgets[:, None] / (FLOPS_PER_PARAM_TOKEN * grid))
    series = tuple(
        CurveSeries(f"C = {budget:.2g} FLOPs", grid[i], losses[i])
        for i, budget in enumerate(budgets)
    )
    return Curve(
        title=f"{law.title}: iso-FLOP profiles around C = {c:.3g} FLOPs",
        x_label=n_label,
        y_label=loss_label,
        series=series,
        point=(n, point_loss),
        log_x=True,
        log_y=False,
    )
