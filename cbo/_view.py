"""What a sampler sees of a study: a read-only view, so samplers propose and only the study writes.

Optuna's samplers get the study and read its trials; here they get a ``StudyView``, which has the reading half of
``Study`` and nothing that stores. A sampler that wants labels first (SVM-CBO's Phase 1 with a cheap oracle) asks
the oracle through the view, carries on from ``view.extended(labels)`` as if they were stored, and returns them in
its ``Proposal``; the study stores them, in order, before it hands the proposal out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

from cbo._space import Space
from cbo._storage import FrozenTrial, TrialState

__all__ = ["AskTell", "Proposal", "StudyView"]


class Proposal(NamedTuple):
    """A sampler's answer: the configuration to train, the phase it was chosen in, and the labels (configurations
    only checked by the oracle, never trained) the study stores first. A plain ``(config, phase)`` tuple is one too."""

    config: dict
    phase: str
    labels: "tuple[FrozenTrial, ...]" = ()


class _Reader(Protocol):
    space: Space
    seed: "int | None"
    budget: "int | None"
    constraint: Any

    @property
    def trials(self) -> Sequence[FrozenTrial]: ...
    @property
    def pending(self) -> list[dict]: ...
    def seen_keys(self) -> set[str]: ...
    def check_many(self, configs: list[Mapping]) -> "tuple[np.ndarray, list[dict]]": ...


class StudyView:
    """The study as a sampler may read it: space, seed, budget, trials, configurations in flight, and the oracle."""

    __slots__ = ("_study", "_extra", "_extra_keys")

    def __init__(self, study: _Reader, extra: "tuple[FrozenTrial, ...]" = ()):
        self._study = study
        self._extra = extra
        self._extra_keys = frozenset(study.space.key(t.config) for t in extra)

    @property
    def space(self) -> Space:
        return self._study.space

    @property
    def seed(self) -> "int | None":
        return self._study.seed

    @property
    def budget(self) -> "int | None":
        return self._study.budget

    @property
    def has_constraint(self) -> bool:
        """Whether a cheap deployability oracle (memsim) answers ``check``/``check_many``."""
        return self._study.constraint is not None

    @property
    def trials(self) -> "tuple[FrozenTrial, ...]":
        """Stored trials (trained, failed and labelled), then the labels this proposal made so far."""
        return tuple(self._study.trials) + self._extra

    @property
    def pending(self) -> list[dict]:
        """Configurations handed out and still training (batch and parallel runs)."""
        return self._study.pending

    def seen_keys(self) -> set[str]:
        """Keys never to propose again: stored, in flight, or labelled by this proposal."""
        keys = self._study.seen_keys()
        return keys | self._extra_keys if self._extra_keys else keys

    def check_many(self, configs: list[Mapping]) -> "tuple[np.ndarray, list[dict]]":
        """The oracle's verdicts and figures (asked once per configuration; nothing stored)."""
        return self._study.check_many(configs)

    def label(self, config: Mapping, phase: str) -> FrozenTrial:
        """A label as the study will store it (the oracle's answer), not yet stored: hand it back in the
        Proposal; ``extended`` gives the view that counts it."""
        ok, figures = self.check_many([config])
        return FrozenTrial(number=len(self.trials), state=TrialState.LABELLED if ok[0] else TrialState.INFEASIBLE,
                           config=dict(config), phase=phase, feasible=bool(ok[0]), footprint=dict(figures[0]),
                           seed=self.seed)

    def extended(self, labels: "Sequence[FrozenTrial]") -> "StudyView":
        """This view with more labels counted as stored."""
        return StudyView(self._study, self._extra + tuple(labels))


class AskTell(Protocol):
    """What a runner (``cbo._distributed``) drives: ask, tell and abandon, and the count of trainings spent."""

    n_trained: int

    def ask(self) -> Any: ...
    def tell(self, trial: Any, value: "float | None" = None, **kwargs) -> FrozenTrial: ...
    def tell_result(self, trial: Any, result: Any) -> FrozenTrial: ...
    def abandon(self, trial: Any) -> None: ...
