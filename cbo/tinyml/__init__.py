"""The neural-network side of the search: templates, datasets, the k-fold objective and the memsim constraint.

The optimiser core (cbo.Space, cbo.Study, samplers) does not import this package.
"""

from cbo.tinyml.constraint import MemsimConstraint
from cbo.tinyml.datasets import DATASETS, Dataset, load_dataset
from cbo.tinyml.objective import KFoldObjective
from cbo.tinyml.optuna_adapter import OptunaDeployability
from cbo.tinyml.templates import TEMPLATES, Template, get_template, space_for_data
from cbo.tinyml.tuner import DeployableTuner
from cbo.tinyml.search import SearchOptions, SearchSummary, load_space, run_search

__all__ = ["DeployableTuner", "MemsimConstraint", "DATASETS", "Dataset", "load_dataset", "KFoldObjective", "OptunaDeployability",
           "TEMPLATES", "Template", "get_template", "space_for_data", "SearchOptions", "SearchSummary", "load_space", "run_search"]
