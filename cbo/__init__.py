"""cbo: deployability-constrained Bayesian optimisation (SVM-CBO) and its baselines.

The core (spaces, samplers, study, storage) knows nothing of neural networks:
it takes a space, an objective and an optional cheap constraint.

>>> import cbo
>>> space = cbo.Space([cbo.Real("x", low=0, high=1)])
>>> study = cbo.Study(space, cbo.RandomSampler(seed=0), seed=0)
>>> best = study.optimize(lambda c: 1 - (c["x"] - 0.3) ** 2, n_trainings=5)
"""

from cbo._errors import CBOError, DatasetError, SpaceError, StorageError
from cbo._samplers import (
    DEFAULT_METHOD, METHOD_HELP, SAMPLERS, BaseSampler, Proposal, ExactCBOSampler, FeasibleRandomSampler, GPUCBSampler, GridSampler, RandomSampler, SVMCBOSampler,
)
from cbo._space import Categorical, Integer, Ordinal, Param, Real, Space
from cbo._storage import FrozenTrial, InMemoryStorage, SQLiteStorage, Storage, TrialState, read_study_meta
from cbo._study import Study, Trial
from cbo._view import StudyView
from cbo._distributed import local_cluster, worker_slots

__all__ = [
    "CBOError", "DatasetError", "SpaceError", "StorageError",
    "DEFAULT_METHOD", "METHOD_HELP", "SAMPLERS", "BaseSampler", "Proposal", "StudyView", "Storage", "ExactCBOSampler", "FeasibleRandomSampler", "GPUCBSampler", "GridSampler", "RandomSampler",
    "SVMCBOSampler", "Categorical", "Integer", "Ordinal", "Param", "Real", "Space",
    "FrozenTrial", "InMemoryStorage", "SQLiteStorage", "TrialState", "read_study_meta", "Study", "Trial",
    "local_cluster", "worker_slots",
]
