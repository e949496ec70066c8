"""`evaluate(scenario)`: every number the panes, the CLI and reports show, from one Scenario.

One pass, no search beyond two short bisections (the smallest cluster and the smallest
tensor-parallel replica that fit), so a full evaluation stays far under a 16 ms frame
(`benchmarks/bench_engine.py` measures it).

Training time follows the layout: the layout is judged whole (`engine.layout`); a valid one gets
the step-time model (`engine.performance`), whose MFU drives the economics unless `cluster.mfu`
sets one; an invalid one gets `layout_problems` and no predicted numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from llmscope.engine.architecture import Architecture
from llmscope.engine.flops import FlopsPerToken, flops_per_token
from llmscope.engine.hardware import Accelerator, Catalog, builtin_catalog
from llmscope.engine.layout import (
    LayoutProblem,
    data_parallel_degree,
    layout_notes,
    serving_layout_problems,
    training_layout_problems,
)
from llmscope.engine.memory import (
    GIB,
    ActivationMemory,
    TrainingStateMemory,
    WeightMemory,
    activation_bytes,
    kv_cache_bytes,
    kv_cache_bytes_per_token,
    training_state_bytes,
    weight_bytes,
)
from llmscope.engine.parameters import ParameterCounts, count_parameters
from llmscope.engine.performance import RECOMPUTE_MODES, Layout, StepTime, device_rates, step_time
from llmscope.engine.scaling import BudgetOptimum, ScalingAssessment, assess, budget_optima
from llmscope.engine.scenario import Scenario
from llmscope.engine.serving import (
    FRONTIER_POINT_KEYS,
    USABLE_MEMORY_FRACTION,
    FitStatus,
    ServingEconomics,
    ServingFrontier,
    ServingModel,
    fit_status,
    serving_economics,
    serving_frontier,
    smallest_tensor_parallel,
)
from llmscope.engine.training import (
    MAX_SEARCH_ACCELERATORS,
    TrainingEconomics,
    TrainingTargets,
    implied_mfu,
    smallest_data_parallel_that_fits,
    training_economics,
    training_targets,
)


@dataclass(frozen=True, slots=True)
class KvCacheReadout:
    bytes_per_token: float  # all layers, before sliding-window caps, at serving.kv_dtype
    serving_bytes: float  # serving.batch_size x (prompt + output) tokens, windows applied
    context_length: int


@dataclass(frozen=True, slots=True)
class TrainingMemoryReadout:
    """Per accelerator, for the training layout in the scenario."""

    states: TrainingStateMemory
    activations: ActivationMemory
    overhead_bytes: float
    total_bytes: float
    data_parallel: int


@dataclass(frozen=True, slots=True)
class MemoryFit:
    """Memory on one accelerator against its capacity, by component, for the memory bars.

    Status: "fits" up to 90% of capacity, "tight" up to 100%, "over" beyond
    (`engine.serving.fit_status`)."""

    components: tuple[tuple[str, float], ...]  # (name, bytes per accelerator), in bar order
    used_bytes: float
    capacity_bytes: float
    status: FitStatus
    # Training: the smallest accelerator count (t x p x data-parallel) that fits at the scenario's
    # t and p. Serving: the smallest tensor-parallel replica that holds weights + the batch's KV.
    # None when nothing up to the search limit fits.
    min_accelerators: int | None

    @property
    def fraction(self) -> float:
        return self.used_bytes / self.capacity_bytes


@dataclass(frozen=True, slots=True)
class Readout:
    """The evaluated scenario. Plain data: panes and reports only format it."""

    params: ParameterCounts
    flops: FlopsPerToken
    kv_cache: KvCacheReadout
    weights: WeightMemory  # at serving precision
    training_memory: TrainingMemoryReadout
    accelerator: Accelerator
    # None when the training layout is invalid (`layout_problems` says why): no silent numbers
    training: TrainingEconomics | None
    training_targets: TrainingTargets | None
    serving: ServingEconomics
    serving_frontier: ServingFrontier  # TP x batch sweep and the cheapest point at the target
    scaling: ScalingAssessment
    training_fit: MemoryFit  # per accelerator, the scenario's training layout
    serving_fit: MemoryFit  # per accelerator, serving.tensor_parallel as set (before any raise)
    # scaling.compute_budget_flops answered under every law (LAWS order); () without a budget.
    budget: tuple[BudgetOptimum, ...] = ()

    # The step-time model at the scenario's layout (engine.performance); None when invalid.
    performance: StepTime | None = None
    mfu_source: str = "predicted"  # "predicted" (from `performance`) or "set" (cluster.mfu)
    layout_problems: tuple[LayoutProblem, ...] = ()  # training and serving rules broken
    layout_notes: tuple[str, ...] = ()
    # MFU a real run implies: model FLOPs / (training.reference_accelerator_hours x peak)
    implied_mfu: float | None = None

    @property
    def budget_under_law(self) -> BudgetOptimum | None:
        """The budget's optimum under the scenario's law, or None without a budget."""
        return next((b for b in self.budget if b.law_id == self.scaling.law_id), None)

    def _best_at_target(self) -> dict[str, Any]:
        """`serving.best_at_target.*`: the cheapest frontier point at or above
        serving.min_tokens_per_s_per_user (all null when none reaches it)."""
        best = self.serving_frontier.best_at_target
        keys = FRONTIER_POINT_KEYS
        values = dict.fromkeys(keys) if best is None else best.to_dict()
        flat = {f"serving.best_at_target.{key}": values[key] for key in keys}
        flat["serving.best_at_target.min_tokens_per_s_per_user"] = (
            self.serving_frontier.min_tokens_per_s_per_user
        )
        return flat

    @property
    def training_problems(self) -> tuple[LayoutProblem, ...]:
        return tuple(p for p in self.layout_problems if not p.field.startswith("serving."))

    @property
    def serving_problems(self) -> tuple[LayoutProblem, ...]:
        return tuple(p for p in self.layout_problems if p.field.startswith("serving."))

    def to_flat_dict(self) -> dict[str, Any]:
        """Stable dotted keys for `--json` output (documented in README). Values are JSON numbers,
        strings or null (null: unknown, e.g. a cost without a price)."""
        s, sc = self.serving, self.scaling
        return {
            "params.total": self.params.total,
            "params.active": self.params.active,
            "params.embedding": self.params.embedding,
            "params.non_embedding": self.params.non_embedding,
            "params.attention": self.params.attention,
            "params.mlp": self.params.mlp,
            "params.experts": self.params.experts,
            "params.shared_experts": self.params.shared_experts,
            "params.router": self.params.router,
            "params.norms": self.params.norms,
            "params.output_head": self.params.output_head,
            "kv_cache.bytes_per_token": self.kv_cache.bytes_per_token,
            "kv_cache.serving_bytes": self.kv_cache.serving_bytes,
            "flops.forward_per_token": self.flops.forward,
            "flops.training_per_token": self.flops.training,
            "flops.training_hardware_per_token": self.flops.training_hardware,
            "flops.six_n_per_token": self.flops.six_n,
            "flops.training_over_six_n": self.flops.training_over_six_n,
            "flops.sequence_length": self.flops.sequence_length,
            "memory.weights_bytes": self.weights.total_bytes,
            "memory.training_states_bytes": self.training_memory.states.total_bytes,
            "memory.activations_bytes": self.training_memory.activations.total_bytes,
            "memory.training_total_bytes": self.training_memory.total_bytes,
            "accelerator.id": self.accelerator.id,
            "accelerator.memory_bytes": self.accelerator.memory_bytes,
            **self._training_flat(),
            "serving.tensor_parallel": s.tensor_parallel,
            "serving.tensor_parallel_needed": s.tensor_parallel_needed,
            "serving.compute_dtype": s.compute_dtype,
            "serving.prefill_s": s.prefill_s,
            "serving.ttft_s": s.ttft_s,
            "serving.decode_s_per_token": s.decode_s_per_token,
            "serving.decode_bound": s.decode_bound,
            "serving.decode_tokens_per_s": s.decode_tokens_per_s,
            "serving.tokens_per_s_per_accelerator": s.tokens_per_s_per_accelerator,
            "serving.request_latency_s": s.request_latency_s,
            "serving.max_batch": s.max_batch,
            "serving.price_source": s.price_source,
            "serving.usd_per_million_input_tokens": s.usd_per_million_input_tokens,
            "serving.usd_per_million_output_tokens": s.usd_per_million_output_tokens,
            "serving.usd_per_million_output_tokens_all_in": (
                s.usd_per_million_output_tokens_all_in
            ),
            "serving.batch_running": s.batch_running,
            "serving.decode_step_s": s.decode_step_s,
            **self._best_at_target(),
            "serving.accelerators_for_target_load": s.accelerators_for_target_load,
            "training.data_parallel": self.training_memory.data_parallel,
            "layout.valid": not self.layout_problems,
            "layout.problems": [str(p) for p in self.layout_problems] or None,
            "fit.training_status": self.training_fit.status,
            "fit.training_used_bytes": self.training_fit.used_bytes,
            "fit.training_min_accelerators": self.training_fit.min_accelerators,
            "fit.serving_status": self.serving_fit.status,
            "fit.serving_used_bytes": self.serving_fit.used_bytes,
            "fit.serving_min_tensor_parallel": self.serving_fit.min_accelerators,
            "scaling.loss": sc.loss,
            "scaling.optimal_params": sc.optimal_params,
            "scaling.optimal_tokens": sc.optimal_tokens,
            "scaling.tokens_per_param": sc.tokens_per_param,
            "scaling.optimal_tokens_per_param": sc.optimal_tokens_per_param,
            "scaling.overtraining_ratio": sc.overtraining_ratio,
            "scaling.loss_at_optimum": sc.loss_at_optimum,
            "scaling.loss_with_10x_compute": sc.loss_with_10x_compute,
            **self._budget_keys(),
        }

    def _training_flat(self) -> dict[str, Any]:
        """The training.* keys; null where the layout is invalid."""
        t, targets, perf = self.training, self.training_targets, self.performance
        keys: dict[str, Any] = {
            "training.flops": None if t is None else t.flops,
            "training.hardware_flops": None if t is None else t.hardware_flops,
            "training.six_nd_flops": None if t is None else t.six_nd_flops,
            "training.mfu": None if t is None else t.mfu,
            "training.mfu_source": self.mfu_source,
            "training.hfu": None if t is None else t.hfu,
            "training.wall_clock_s": None if t is None else t.wall_clock_s,
            "training.wall_clock_days": None if t is None else t.wall_clock_days,
            "training.accelerator_hours": None if t is None else t.accelerator_hours,
            "training.accelerator_years": None if t is None else t.accelerator_years,
            "training.price_usd_per_hour": None if t is None else t.price_usd_per_hour,
            "training.price_source": None if t is None else t.price_source,
            "training.cost_usd": None if t is None else t.cost_usd,
            "training.energy_mwh": None if t is None else t.energy_mwh,
            "training.co2_tonnes": None if t is None else t.co2_tonnes,
            "training.accelerators_for_deadline": None
            if targets is None
            else targets.accelerators_for_deadline,
            "training.tokens_for_budget": None if targets is None else targets.tokens_for_budget,
            "training.predicted_mfu": None if perf is None else float(perf.mfu),
            "training.implied_mfu": self.implied_mfu,
            "training.tokens_per_s": None if perf is None else float(perf.tokens_per_s),
            "training.tokens_per_s_per_accelerator": None
            if perf is None
            else float(perf.tokens_per_s_per_accelerator),
            "training.step_time_s": None if perf is None else float(perf.step_s),
            "training.bubble_fraction": None if perf is None else float(perf.bubble_fraction),
            "training.microbatches": None if perf is None else int(perf.microbatches),
        }
        for name, seconds in perf.parts() if perf is not None else ():
            keys[f"training.step_s.{name.replace(' ', '_').replace('-', '_')}"] = float(seconds)
        return keys

    def _budget_keys(self) -> dict[str, Any]:
        """The budget's optimum under the scenario's law (null without a budget) and, with a
        budget, under each law as `scaling.<law>.budget_...`."""
        chosen = self.budget_under_law
        keys: dict[str, Any] = {
            "scaling.budget_flops": chosen.compute_flops if chosen else None,
            "scaling.budget_optimal_params": chosen.optimal_params if chosen else None,
            "scaling.budget_optimal_tokens": chosen.optimal_tokens if chosen else None,
            "scaling.budget_loss": chosen.loss if chosen else None,
        }
        for b in self.budget:
            keys[f"scaling.{b.law_id}.budget_optimal_params"] = b.optimal_params
            keys[f"scaling.{b.law_id}.budget_optimal_tokens"] = b.optimal_tokens
            keys[f"scaling.{b.law_id}.budget_loss"] = b.loss
        return keys


def frontier_json(frontier: ServingFrontier) -> list[dict[str, Any]]:
    """`serving.frontier` in `--json`: every point of the sweep, by TP then batch."""
    return [point.to_dict() for point in frontier.points]


def _training_memory(
    scenario: Scenario, arch: Architecture, params: ParameterCounts, data_parallel: int
) -> TrainingMemoryReadout:
    """Per-accelerator training memory at a data-parallel degree (the scenario's t, p, e)."""
    train = scenario.training
    states = training_state_bytes(
        params.total,
        train.optimizer,
        train.master_weights,
        train.zero_stage,
        data_parallel,
        train.tensor_parallel,
        train.pipeline_parallel,
        expert_params=params.experts,
        expert_parallel=train.expert_parallel,
        fp8_weight_copies=train.precision == "fp8",
    )
    microbatches = max(1, train.global_batch_size // (train.micro_batch_size * data_parallel))
    activations = activation_bytes(
        arch,
        train.sequence_length,
        train.micro_batch_size,
        train.tensor_parallel,
        train.pipeline_parallel,
        microbatches,
        train.sequence_parallel,
        train.recompute,
        train.flash_attention,
        context_parallel=train.context_parallel,
        virtual_stages=train.virtual_pipeline_stages,
        dropout=train.dropout,
    )
    overhead = train.framework_overhead_gib * GIB
    return TrainingMemoryReadout(
        states=states,
        activations=activations,
        overhead_bytes=overhead,
        total_bytes=states.total_bytes + activations.total_bytes + overhead,
        data_parallel=data_parallel,
    )


def _training_fit(
    scenario: Scenario,
    arch: Architecture,
    params: ParameterCounts,
    memory: TrainingMemoryReadout,
    capacity: float,
) -> MemoryFit:
    train = scenario.training
    # Expert data parallelism needs the data-parallel degree to be a multiple of e (Megatron-Core).
    step = train.tensor_parallel * train.pipeline_parallel * train.context_parallel
    e = train.expert_parallel if params.experts else 1
    limit = MAX_SEARCH_ACCELERATORS // (step * e)

    def used_at(k: int) -> float:
        return _training_memory(scenario, arch, params, k * e).total_bytes

    found = smallest_data_parallel_that_fits(used_at, capacity, limit)
    states = memory.states
    return MemoryFit(
        components=(
            ("weights", states.weights_bytes),
            ("gradients", states.gradients_bytes),
            ("optimizer", states.optimizer_bytes),
            ("activations", memory.activations.total_bytes),
            ("overhead", memory.overhead_bytes),
        ),
        used_bytes=memory.total_bytes,
        capacity_bytes=capacity,
        status=fit_status(memory.total_bytes, capacity),
        min_accelerators=None if found is None else found * e * step,
    )


def _serving_fit(
    scenario: Scenario,
    arch: Architecture,
    weights_total: float,
    kv_total: float,
    capacity: float,
    model: ServingModel,
) -> MemoryFit:
    tp = scenario.serving.tensor_parallel
    # Per accelerator as the serving model places them: sliced TP ways, or under expert
    # parallelism dense weights replicated, experts and requests split (engine.serving).
    weights = float(model.weights_per_accelerator(np.float64(tp)))
    kv = kv_total / float(model.shards(np.float64(tp)))
    return MemoryFit(
        components=(("weights", weights), ("kv_cache", kv)),
        used_bytes=weights + kv,
        capacity_bytes=capacity,
        status=fit_status(weights + kv, capacity),
        # "Fits" here means within the share a server reserves for weights + KV (vLLM's default
        # 0.9), the same rule the serving numbers use to raise the tensor parallel they assume;
        # "tight" does not count, or the two would name different degrees.
        min_accelerators=smallest_tensor_parallel(
            weights_total, kv_total, arch, USABLE_MEMORY_FRACTION * capacity
        ),
    )


def scaling_params(params: ParameterCounts) -> tuple[int, int]:
    """The (total, non-embedding) N a scaling law places a model at. The laws were fitted on
    dense models with C = 6ND: a mixture of experts enters with the parameters each token uses
    (active; for a dense model active == total)."""
    return params.active, params.active - params.embedding


def _price(scenario: Scenario, accelerator: Accelerator) -> tuple[float | None, str]:
    """The scenario's price if set, else the catalog's dated figure, else none."""
    if scenario.cluster.price_usd_per_hour is not None:
        return scenario.cluster.price_usd_per_hour, "scenario"
    if accelerator.price_usd_per_hour is not None:
        return accelerator.price_usd_per_hour, f"catalog ({accelerator.price_date or 'undated'})"
    return None, "none"


def evaluate(scenario: Scenario, catalog: Catalog | None = None) -> Readout:
    """Evaluate every formula for the scenario; `catalog` (default: the built-in one, which
    includes the user's overrides only when the caller loads them) supplies the accelerator."""
    arch = scenario.model
    params = count_parameters(arch)
    train = scenario.training
    serve = scenario.serving
    cluster = scenario.cluster
    accelerator = (catalog if catalog is not None else builtin_catalog()).get(cluster.accelerator)
    capacity = accelerator.memory_bytes
    price, price_source = _price(scenario, accelerator)

    flops = flops_per_token(arch, params, train.sequence_length, train.recompute)

    context = serve.prompt_tokens + serve.output_tokens
    kv = KvCacheReadout(
        bytes_per_token=kv_cache_bytes_per_token(arch, serve.kv_dtype),
        serving_bytes=kv_cache_bytes(arch, serve.batch_size, context, serve.kv_dtype),
        context_length=context,
    )
    weights = weight_bytes(
        params,
        serve.weight_dtype,
        serve.embedding_dtype,
        serve.head_dtype,
        serve.quant_group_size,
        serve.quant_scale_bytes,
    )

    training_memory = _training_memory(scenario, arch, params, data_parallel_degree(scenario))
    problems = training_layout_problems(scenario, accelerator)
    performance = None if problems else _performance(scenario, accelerator, params, flops)
    mfu_source = "set" if cluster.mfu is not None else "predicted"
    mfu = cluster.mfu if cluster.mfu is not None else (
        None if performance is None else float(performance.mfu)
    )
    # A set MFU does not read the layout, so its economics stand even beside an invalid layout
    # (which the readout still reports); a predicted one exists only for a valid layout.
    training = targets = None
    if mfu is not None:
        training = training_economics(
            training_flops_per_token=flops.training,
            hardware_flops_per_token=flops.training_hardware,
            six_n_per_token=flops.six_n,
            tokens=train.tokens,
            accelerator_count=cluster.count,
            peak_flops=accelerator.peak_flops("bf16"),
            mfu=mfu,
            tdp_w=accelerator.tdp_w,
            pue=cluster.pue,
            carbon_kg_per_kwh=cluster.carbon_kg_per_kwh,
            price_usd_per_hour=price,
            price_source=price_source,
        )
        targets = training_targets(
            deadline_days=train.deadline_days,
            budget_usd=train.budget_usd,
            total_flops=training.flops,
            training_flops_per_token=flops.training,
            peak_flops=training.peak_flops_per_accelerator,
            mfu=mfu,
            price_usd_per_hour=price,
        )
    implied = None
    if train.reference_accelerator_hours is not None:
        implied = implied_mfu(
            flops.training * train.tokens,
            train.reference_accelerator_hours,
            accelerator.peak_flops("bf16"),
        )
    serving_model = ServingModel(arch, params, serve, accelerator)
    serving = serving_economics(
        arch, params, serve, accelerator, price, price_source, model=serving_model
    )
    frontier = serving_frontier(
        arch, params, serve, accelerator, price, cluster.per_node, model=serving_model
    )
    scaling = assess(scenario.scaling.law, *scaling_params(params), train.tokens)
    budget_flops = scenario.scaling.compute_budget_flops
    budget = budget_optima(budget_flops) if budget_flops is not None else ()
    return Readout(
        params=params,
        flops=flops,
        kv_cache=kv,
        weights=weights,
        training_memory=training_memory,
        accelerator=accelerator,
        training=training,
        training_targets=targets,
        serving=serving,
        serving_frontier=frontier,
        scaling=scaling,
        training_fit=_training_fit(scenario, arch, params, training_memory, capacity),
        serving_fit=_serving_fit(
            scenario, arch, weights.total_bytes, kv.serving_bytes, capacity, serving_model
        ),
        budget=budget,
        performance=performance,
        mfu_source=mfu_source,
        layout_problems=problems + serving_layout_problems(scenario),
        layout_notes=layout_notes(scenario),
        implied_mfu=implied,
    )


def layout_of(scenario: Scenario) -> Layout:
    """The scenario's training layout as the step-time model reads it (one layout, numbers)."""
    train, cluster = scenario.training, scenario.cluster
    return Layout(
        tensor_parallel=train.tensor_parallel,
        pipeline_parallel=train.pipeline_parallel,
        data_parallel=data_parallel_degree(scenario),
        context_parallel=train.context_parallel,
        expert_parallel=train.expert_parallel if scenario.model.is_moe else 1,
        virtual_stages=train.virtual_pipeline_stages,
        micro_batch_size=train.micro_batch_size,
        zero_stage=train.zero_stage,
        recompute=RECOMPUTE_MODES.index(train.recompute),
        sequence_length=train.sequence_length,
        global_batch_size=train.global_batch_size,
        per_node=cluster.accelerators_per_node,
        sequence_parallel=train.sequence_parallel,
        flash_attention=train.flash_attention,
        fp8=train.precision == "fp8",
        dropout=train.dropout,
        overlap_tensor=train.overlap_tensor_communication,
        overlap_expert=train.overlap_expert_communication,
    )


def _performance(
    scenario: Scenario, accelerator: Accelerator, params: ParameterCounts, flops: FlopsPerToken
) -> StepTime:
    """The step-time model at the scenario's (valid) layout."""
    rates = device_rates(accelerator, scenario.cluster.inter_node_gbs)
    return step_time(
        scenario.model,
        params,
        rates,
        layout_of(scenario),
        flops.training,
        flops.training_hardware / flops.training,
    )
