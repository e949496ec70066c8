"""The one input of the engine: a Scenario, the whole what-if a user explores.

Sections and their dotted keys (`cluster.count`, `serving.weight_dtype`, ...) are shared by presets,
the CLI's `--set key=value` and the app's editor. Every model is frozen: an edit makes a new
Scenario (`with_value`), never mutates one.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmscope.engine.architecture import Architecture
from llmscope.engine.errors import EngineInputError, describe_validation_error

Dtype = Literal["fp32", "bf16", "fp16", "fp8", "int8", "int4"]
_FROZEN = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class Cluster(BaseModel):
    """The accelerators a run uses, and what they cost to run."""

    model_config = _FROZEN

    accelerator: str = Field(
        "nvidia-h100-sxm", min_length=1, max_length=100, description="Catalog id of the accelerator."
    )
    count: int = Field(8, ge=1, le=10_000_000, description="Accelerators in the cluster.")
    per_node: int = Field(8, ge=1, le=1024, description="Accelerators per node (one NVLink domain).")
    mfu: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Model FLOPs utilisation for training (achieved model FLOPs / dense bf16 "
        "peak). None (the default): predicted from the layout by the step-time model "
        "(engine.performance); a number overrides the prediction and shows as 'set'.",
    )
    price_usd_per_hour: float | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description="Price per accelerator-hour in USD; None uses the catalog's dated figure.",
    )
    pue: float = Field(
        1.2,
        ge=1,
        le=5,
        description="Power usage effectiveness of the data centre (facility / IT power); ~1.1-1.2 "
        "for hyperscale (Google 2023 fleet average 1.10), 1.5+ for older sites.",
    )
    carbon_kg_per_kwh: float = Field(
        0.4,
        ge=0,
        le=2,
        description="Grid carbon intensity in kg CO2e per kWh (world average ~0.48, IEA 2023; "
        "US ~0.37; France ~0.06).",
    )
    inter_node_gbs: float = Field(
        50.0,
        gt=0,
        le=100_000,
        description="Network bandwidth between nodes per accelerator in GB/s (400 Gb/s InfiniBand "
        "NDR per GPU = 50 GB/s).",
    )

    @property
    def accelerators_per_node(self) -> int:
        """Accelerators of one node that the cluster has: per_node, capped by the count (a
        cluster of 2 has 2 per node whatever per_node says), so count and per_node may be edited
        in any order."""
        return min(self.per_node, self.count)


class TrainingSetup(BaseModel):
    """How the model is (or would be) trained."""

    model_config = _FROZEN

    tokens: float = Field(
        2e12, ge=1e3, le=1e17, description="Training tokens D (tokens seen, repeats included)."
    )
    sequence_length: int = Field(4096, ge=1, le=100_000_000, description="Training sequence length.")
    global_batch_size: int = Field(
        1024, ge=1, le=100_000_000, description="Sequences per optimizer step, all replicas."
    )
    micro_batch_size: int = Field(1, ge=1, le=1_000_000, description="Sequences per microbatch.")
    optimizer: Literal["adam", "adam_8bit", "sgd_momentum"] = Field(
        "adam", description="Optimizer: mixed-precision Adam, 8-bit Adam or SGD with momentum."
    )
    master_weights: bool = Field(True, description="Keep fp32 master weights (mixed precision).")
    zero_stage: Literal[0, 1, 2, 3] = Field(
        1, description="ZeRO stage: 1 shards optimizer state, 2 also gradients, 3 also weights."
    )
    tensor_parallel: int = Field(1, ge=1, le=1024, description="Tensor-parallel degree t.")
    pipeline_parallel: int = Field(1, ge=1, le=4096, description="Pipeline-parallel degree p.")
    expert_parallel: int = Field(1, ge=1, le=65536, description="Expert-parallel degree (MoE).")
    sequence_parallel: bool = Field(
        True, description="Megatron sequence parallelism (shards norm/dropout activations by t)."
    )
    recompute: Literal["none", "selective", "full"] = Field(
        "selective", description="Activation recomputation: none, selective (attention) or full."
    )
    context_parallel: int = Field(
        1,
        ge=1,
        le=65536,
        description="Context-parallel degree cp: each sequence split over cp ranks (Llama 3's "
        "all-gather of K/V); data parallel = count / (t x p x cp).",
    )
    virtual_pipeline_stages: int = Field(
        1,
        ge=1,
        le=1024,
        description="Virtual pipeline stages v per rank (interleaved 1F1B, Narayanan et al. "
        "2021): bubble (p - 1) / (v m), more point-to-point traffic.",
    )
    precision: Literal["bf16", "fp8"] = Field(
        "bf16",
        description="GEMM precision: bf16, or fp8 (GEMMs at the fp8 peak, the rest in bf16, fp8 "
        "weight copies kept in memory).",
    )
    flash_attention: bool = Field(
        True,
        description="Flash attention (Dao et al. 2022): never stores the s x s scores and runs "
        "the attention core at the accelerator's flash efficiency; off = the 2020-22 batched-GEMM "
        "attention with its softmax traffic.",
    )
    dropout: bool = Field(
        False,
        description="Hidden and attention dropout (GPT-2/3-era Megatron: masks stored, more "
        "element-wise traffic); today's LLMs train without it.",
    )
    overlap_tensor_communication: bool = Field(
        False,
        description="Tensor-parallel collectives overlapped with the GEMMs (Transformer Engine "
        "userbuffers); off = exposed, as Megatron-LM 2021-22 ran them.",
    )
    overlap_expert_communication: bool = Field(
        False,
        description="Expert all-to-all overlapped with another micro-batch's compute (DeepSeek-V3 "
        "DualPipe), at the cost of the SMs given to communication.",
    )
    framework_overhead_gib: float = Field(
        2.0,
        ge=0,
        le=1024,
        description="Per-accelerator allowance for the CUDA context, communication buffers and "
        "allocator fragmentation (GiB); ~2 GiB is typical of PyTorch + NCCL on Hopper.",
    )
    reference_accelerator_hours: float | None = Field(
        None,
        gt=0,
        le=1e13,
        description="Accelerator-hours a real run of this scenario took (a preset's published "
        "GPU-hours fill it): the readouts show the MFU they imply beside the predicted one.",
    )
    deadline_days: float | None = Field(
        None,
        gt=0,
        le=36_525,
        description="A deadline for the run in days: the readouts give the accelerators that "
        "finish it in time at this MFU (compute only; the memory bar tells whether it fits).",
    )
    budget_usd: float | None = Field(
        None,
        gt=0,
        le=1e13,
        description="A budget in US dollars: the readouts give the training tokens it buys at "
        "this accelerator's price per hour and MFU.",
    )


class ServingSetup(BaseModel):
    """How the model is served."""

    model_config = _FROZEN

    weight_dtype: Dtype = Field("bf16", description="Precision of the transformer-block weights.")
    embedding_dtype: Dtype | None = Field(
        None, description="Precision of the input embedding; None = weight_dtype."
    )
    head_dtype: Dtype | None = Field(
        None, description="Precision of the output head; None = weight_dtype."
    )
    quant_group_size: int = Field(
        128, ge=0, le=1_000_000, description="Weights per quantization scale (0 = per tensor)."
    )
    quant_scale_bytes: float = Field(
        2.0, ge=0, le=16, description="Bytes per quantization group (scale, plus zero point)."
    )
    kv_dtype: Dtype = Field("bf16", description="Precision of the KV cache.")
    batch_size: int = Field(
        1, ge=1, le=1_000_000, description="Requests in flight (continuous batching)."
    )
    prompt_tokens: int = Field(1024, ge=1, le=100_000_000, description="Input tokens per request.")
    output_tokens: int = Field(256, ge=1, le=100_000_000, description="Output tokens per request.")
    tensor_parallel: int = Field(
        1, ge=1, le=1024, description="Accelerators one replica spans (tensor parallel)."
    )
    expert_parallel: bool = Field(
        False,
        description="Mixture of experts: whole experts on each of the replica's accelerators "
        "and data-parallel attention (each keeps its own requests and a copy of the dense "
        "weights; all-to-all per MoE layer) instead of slicing every matrix TP ways.",
    )
    compute_efficiency: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Achieved / dense peak FLOP/s of the matmuls; None = predicted from the "
        "accelerator's measured maximum achievable matmul FLOPS x 0.75 (engine.serving).",
    )
    bandwidth_efficiency: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Achieved / datasheet memory bandwidth; None = predicted per accelerator "
        "generation (0.85 NVIDIA, 0.80 AMD/Intel; engine.serving).",
    )
    min_tokens_per_s_per_user: float = Field(
        20.0,
        gt=0,
        le=100_000,
        description="Per-user speed the cheapest serving setup must reach (tokens/s); the "
        "readouts and the summary give the cheapest TP and batch at or above it.",
    )
    target_requests_per_s: float = Field(
        1.0, gt=0, le=1e9, description="Load to size the deployment for (requests per second)."
    )


class ScalingSetup(BaseModel):
    """Which scaling law and which curve the scaling pane shows."""

    model_config = _FROZEN

    law: Literal["besiroglu2024", "hoffmann2022", "kaplan2020", "deepseek2024"] = Field(
        "besiroglu2024", description="Scaling law for loss and the compute-optimal allocation."
    )
    view: Literal["frontier", "loss_vs_params", "isoflop", "serving"] = Field(
        "frontier",
        description="Curve shown: compute frontier, loss vs N at fixed D, iso-FLOP, or the "
        "serving frontier (output tokens/s per accelerator against tokens/s per user).",
    )
    compute_budget_flops: float | None = Field(
        None,
        gt=0,
        le=1e40,
        description="A compute budget C in FLOPs: the compute-optimal N* and D* for it under "
        "every law (none: off).",
    )


class Scenario(BaseModel):
    """Everything one what-if needs: model, hardware, training, serving and scaling choices."""

    model_config = _FROZEN

    model: Architecture = Field(default_factory=Architecture)
    cluster: Cluster = Field(default_factory=Cluster)
    training: TrainingSetup = Field(default_factory=TrainingSetup)
    serving: ServingSetup = Field(default_factory=ServingSetup)
    scaling: ScalingSetup = Field(default_factory=ScalingSetup)

    def with_value(self, dotted_key: str, value: Any) -> Scenario:
        """A new Scenario with one field changed; raises EngineInputError naming the field."""
        return self.with_values({dotted_key: value})

    def with_values(self, updates: dict[str, Any]) -> Scenario:
        data = self.model_dump()
        for dotted_key, value in updates.items():
            section, _, field = dotted_key.partition(".")
            if not field or section not in SECTIONS:
                raise EngineInputError(
                    f"{dotted_key}: not a setting; keys look like section.field with section one "
                    f"of {', '.join(SECTIONS)}"
                )
            if field not in SECTIONS[section].model_fields:
                raise EngineInputError(f"{dotted_key}: {section} has no setting {field!r}")
            data[section][field] = value
        try:
            return Scenario.model_validate(data)
        except ValidationError as exc:
            raise EngineInputError(describe_validation_error(exc)) from None

    def value(self, dotted_key: str) -> Any:
        section, _, field = dotted_key.partition(".")
        return getattr(getattr(self, section), field)

    def differing_keys(self, other: Scenario) -> list[str]:
        """The dotted keys whose values differ from `other`'s, in `all_keys()` order."""
        return [key for key in all_keys() if self.value(key) != other.value(key)]


SECTIONS: dict[str, type[BaseModel]] = {
    "model": Architecture,
    "cluster": Cluster,
    "training": TrainingSetup,
    "serving": ServingSetup,
    "scaling": ScalingSetup,
}


def all_keys() -> list[str]:
    """Every dotted key a preset, `--set` or the editor may use."""
    return [f"{section}.{name}" for section, model in SECTIONS.items() for name in model.model_fields]
