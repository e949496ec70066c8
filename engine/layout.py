"""One validation of the whole parallel layout, with the field and the reason.

A Scenario accepts every layout setting on its own (each within its range); whether the degrees
fit together (t divides the heads, t x p x cp divides the accelerators, the global batch splits
into whole micro-batches, ...) is judged here, on the whole scenario, and `evaluate` turns a
layout that breaks a rule into a readout that says "invalid layout: <field>: <reason>" instead of
training numbers. Judging the whole scenario rather than each edit keeps the editor's edits
order-independent: changing the model's heads, the cluster's count or the batch never becomes
impossible because the layout was chosen for the old value; the reason shows until the layout is
valid again.

Rules, as Megatron-LM enforces them (Shoeybi et al. 2019; Narayanan et al. 2021; Korthikanti et
al. 2022; Megatron-Core's parallel_state):
- tensor parallel t divides the attention heads, and divides the kv heads or is a multiple of
  them (each rank then keeps a replica of one kv head, as Megatron and vLLM do for GQA);
- pipeline stages p at most the layers; interleaving (v > 1) needs p > 1 and a layer per virtual
  stage, p x v <= layers;
- context parallel cp splits the sequence into 2 cp chunks (load-balanced causal attention);
- t x p x cp divides the accelerators; data parallel d = count / (t x p x cp);
- expert parallel e divides the routed experts and the data-parallel degree (expert ranks are
  carved out of the data-parallel group); inert for a dense model (like the architecture's MoE
  fields), so swapping in a dense model keeps a valid layout;
- micro-batch x d divides the global batch (every replica runs whole micro-batches), and under
  interleaving the micro-batches per replica are a multiple of p (Megatron-LM's interleaved
  schedule);
- fp8 precision needs fp8 tensor cores;
- serving tensor parallel divides the heads like training's.
A tensor-parallel group wider than a node is valid but slow (its collectives cross the network):
`layout_notes` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmscope.engine.scenario import Scenario


@dataclass(frozen=True, slots=True)
class LayoutProblem:
    """A rule the layout breaks: the dotted key to change and why."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def data_parallel_degree(scenario: Scenario) -> int:
    """Replicas: accelerators / (tensor x pipeline x context parallel), at least 1."""
    t = scenario.training
    group = t.tensor_parallel * t.pipeline_parallel * t.context_parallel
    return max(1, scenario.cluster.count // group)


def _heads_problem(key: str, t: int, heads: int, kv_heads: int, mla: bool) -> LayoutProblem | None:
    if heads % t:
        return LayoutProblem(key, f"{t} must divide the {heads} attention heads")
    if not mla and kv_heads % t and t % kv_heads:
        return LayoutProblem(
            key,
            f"{t} must divide the {kv_heads} kv heads or be a multiple of them (each rank then "
            "keeps a replica of one)",
        )
    return None


def training_layout_problems(
    scenario: Scenario, accelerator: Any | None = None
) -> tuple[LayoutProblem, ...]:
    """Every rule the training layout breaks (empty when valid); `accelerator` (a catalog entry)
    lets the fp8 rule be checked."""
    arch, train, cluster = scenario.model, scenario.training, scenario.cluster
    t, p, cp = train.tensor_parallel, train.pipeline_parallel, train.context_parallel
    v, e, b = train.virtual_pipeline_stages, train.expert_parallel, train.micro_batch_size
    problems: list[LayoutProblem] = []
    heads = _heads_problem(
        "training.tensor_parallel", t, arch.num_attention_heads, arch.num_kv_heads,
        arch.attention == "mla",
    )  # fmt: skip
    if heads:
        problems.append(heads)
    layers = arch.num_layers
    if p > layers:
        problems.append(
            LayoutProblem(
                "training.pipeline_parallel",
                f"{p} stages for {layers} layers: a stage needs at least one layer",
            )
        )
    if v > 1 and p == 1:
        problems.append(
            LayoutProblem(
                "training.virtual_pipeline_stages",
                f"{v} virtual stages need a pipeline (pipeline_parallel > 1) to interleave",
            )
        )
    elif v > 1 and p * v > layers:
        problems.append(
            LayoutProblem(
                "training.virtual_pipeline_stages",
                f"p x v = {p} x {v} = {p * v} virtual stages for {layers} layers: each needs at "
                "least one layer",
            )
        )
    s = train.sequence_length
    if cp > 1 and s % (2 * cp):
        problems.append(
            LayoutProblem(
                "training.context_parallel",
                f"the sequence ({s} tokens) must split into 2 x cp = {2 * cp} equal chunks "
                "(load-balanced causal attention)",
            )
        )
    group = t * p * cp
    count = cluster.count
    if count % group:
        problems.append(
            LayoutProblem(
                "cluster.count",
                f"t x p x cp = {t} x {p} x {cp} = {group} must divide the {count} accelerators "
                "(data parallel = count / (t x p x cp))",
            )
        )
    d = count // group
    if arch.is_moe:
        if arch.num_experts % e:
            problems.append(
                LayoutProblem(
                    "training.expert_parallel",
                    f"{e} must divide the {arch.num_experts} routed experts",
                )
            )
        elif d >= 1 and d % e:
            problems.append(
                LayoutProblem(
                    "training.expert_parallel",
                    f"{e} must divide the data-parallel degree {d} (expert ranks are carved out "
                    "of the data-parallel group)",
                )
            )
    B = train.global_batch_size
    if d >= 1 and not count % group and B % (b * d):
        problems.append(
            LayoutProblem(
                "training.global_batch_size",
                f"{B} sequences must be a multiple of micro_batch_size x data parallel = {b} x "
                f"{d} = {b * d}, so every replica runs whole micro-batches",
            )
        )
    elif d >= 1 and not count % group and v > 1 and p > 1 and (B // (b * d)) % p:
        m = B // (b * d)
        problems.append(
            LayoutProblem(
                "training.virtual_pipeline_stages",
                f"the interleaved schedule needs the {m} micro-batches per replica to be a "
                f"multiple of the {p} pipeline stages",
            )
        )
    if (
        train.precision == "fp8"
        and accelerator is not None
        and getattr(accelerator, "fp8_tflops", None) is None
    ):
        problems.append(
            LayoutProblem(
                "training.precision",
                f"fp8 needs fp8 tensor cores; {accelerator.name} has none in the catalog",
            )
        )
    return tuple(problems)


def serving_layout_problems(scenario: Scenario) -> tuple[LayoutProblem, ...]:
    """The serving layout's broken rules: its tensor parallel must divide the heads."""
    arch = scenario.model
    problem = _heads_problem(
        "serving.tensor_parallel", scenario.serving.tensor_parallel, arch.num_attention_heads,
        arch.num_kv_heads, arch.attention == "mla",
    )  # fmt: skip
    return (problem,) if problem else ()


def layout_notes(scenario: Scenario) -> tuple[str, ...]:
    """What a valid layout should know: a tensor-parallel group wider than a node."""
    per_node = scenario.cluster.accelerators_per_node
    notes = []
    for key, t in (
        ("training.tensor_parallel", scenario.training.tensor_parallel),
        ("serving.tensor_parallel", scenario.serving.tensor_parallel),
    ):
        if t > per_node:
            nodes = -(-t // per_node)
            notes.append(
                f"{key}: {t} spans {nodes} nodes of {per_node}; its collectives cross the network"
            )
    return tuple(notes)
