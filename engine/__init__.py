"""llmscope's engine: pure functions from a Scenario to the numbers every pane shows.

No terminal, no Textual, no Rich here (tests/test_import_hygiene.py enforces it); inputs are
frozen pydantic models, outputs plain dataclasses.
"""

from engine.architecture import Architecture
from engine.errors import EngineInputError
from engine.evaluate import MemoryFit, Readout, evaluate
from engine.hardware import (
    Accelerator,
    Catalog,
    CatalogLoad,
    builtin_catalog,
    find_accelerator,
    load_catalog,
)
from engine.hf_import import architecture_from_hf_config
from engine.parameters import ParameterCounts, count_parameters
from engine.scenario import Cluster, Scenario, ScalingSetup, ServingSetup, TrainingSetup
from engine.serving import ServingEconomics, serving_economics
from engine.training import (
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
    "MemoryFit",
    "ParameterCounts",
    "Readout",
    "ScalingSetup",
    "Scenario",
    "ServingEconomics",
    "ServingSetup",
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
    "tokens_for_budget",
    "training_economics",
    "training_targets",
]
