"""llmscope's engine: pure functions from a Scenario to the numbers every pane shows.

No terminal, no Textual, no Rich here (tests/test_import_hygiene.py enforces it); inputs are
frozen pydantic models, outputs plain dataclasses.
"""

from llmscope.engine.architecture import Architecture
from llmscope.engine.errors import EngineInputError
from llmscope.engine.evaluate import MemoryFit, Readout, evaluate
from llmscope.engine.hardware import (
    Accelerator,
    Catalog,
    CatalogLoad,
    builtin_catalog,
    find_accelerator,
    load_catalog,
)
from llmscope.engine.hf_import import architecture_from_hf_config
from llmscope.engine.layout import LayoutProblem, training_layout_problems
from llmscope.engine.parameters import ParameterCounts, count_parameters
from llmscope.engine.performance import StepTime, step_time
from llmscope.engine.scenario import Cluster, ScalingSetup, Scenario, ServingSetup, TrainingSetup
from llmscope.engine.serving import ServingEconomics, serving_economics
from llmscope.engine.training import (
    TrainingEconomics,
    TrainingTargets,
    accelerators_for_deadline,
    implied_mfu,
    tokens_for_budget,
    training_economics,
    training_targets,
)

__all__ = [
    "Accelerator",
    "Architecture",
    "Catalog",
    "CatalogLoad",
    "Cluster",
    "EngineInputError",
    "LayoutProblem",
    "MemoryFit",
    "ParameterCounts",
    "Readout",
    "ScalingSetup",
    "Scenario",
    "ServingEconomics",
    "ServingSetup",
    "StepTime",
    "TrainingEconomics",
    "TrainingSetup",
    "TrainingTargets",
    "accelerators_for_deadline",
    "architecture_from_hf_config",
    "builtin_catalog",
    "count_parameters",
    "evaluate",
    "find_accelerator",
    "implied_mfu",
    "load_catalog",
    "serving_economics",
    "step_time",
    "tokens_for_budget",
    "training_economics",
    "training_layout_problems",
    "training_targets",
]
