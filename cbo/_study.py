"""The study: ask/tell around a sampler, with a pluggable deployability oracle."""

from __future__ import annotations

import dataclasses
import math
import time
import traceback
from dataclasses import dataclass, field
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from cbo._errors import CBOError
from cbo._samplers import DEFAULT_METHOD, SAMPLERS, BaseSampler, SVMCBOSampler
from cbo._space import Space
from cbo._storage import FrozenTrial, InMemoryStorage, Storage, TrialState
from cbo._view import Proposal, StudyView

__all__ = ["Trial", "Study"]

# A constraint (deployability oracle): config -> (deployable, footprint figures).
Constraint = Callable[[Mapping], "tuple[bool, dict]"]


@dataclass
class Trial:
    """A configuration handed out by ``ask`` and not yet told."""

    config: dict
    phase: str = ""
    feasible: bool | None = None
    footprint: dict = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)


class Study:
    """Constrained search over a space.

    Parameters
    ----------
    space : Space
    sampler : BaseSampler, optional
        Defaults to the command line's default method (``cbo.DEFAULT_METHOD``, exact-ei) when a constraint is
        given, and to SVMCBOSampler (the papers' black-box method) without one.
    storage : Storage, optional
        Finished trials are written here as they finish (``InMemoryStorage`` by default, ``SQLiteStorage``, or
        anything with the ``cbo.Storage`` methods); a storage that already holds trials continues that study.
    constraint : callable, optional
        Cheap deployability oracle ``config -> (bool, footprint)`` (memsim).
        With it, samplers that pre-check never train an undeployable
        configuration. Without it, deployability comes from the objective.
    seed : int, optional
        Makes the whole study repeatable.
    budget : int, optional
        Planned number of trainings (the grid sampler sizes its grid by it).
    """

    def __init__(self, space: Space, sampler: BaseSampler | None = None, *, storage: "Storage | None" = None,
                 constraint: Constraint | None = None, seed: int | None = None, budget: int | None = None):
        self.space = space
        if sampler is None:
            sampler = SAMPLERS[DEFAULT_METHOD](seed=seed) if constraint is not None else SVMCBOSampler(seed=seed)
        self.sampler = sampler
        self.storage = storage or InMemoryStorage()
        self.constraint = constraint
        self.seed = seed
        self.budget = budget
        self._trials = self.storage.trials()
        self._keys = {space.key(t.config) for t in self._trials}
        self._checked: dict[str, tuple[bool, dict]] = {}  # the constraint's answers, asked once per configuration
        self._pending: dict[str, Trial] = {}  # handed out by ask(), not yet told (running on a worker)

    # -- reading -------------------------------------------------------------------
    @property
    def trials(self) -> list[FrozenTrial]:
        return self._trials

    def seen_keys(self) -> set[str]:
        """Keys of every stored configuration and of those being trained: never proposed again."""
        return self._keys | self._pending.keys() if self._pending else self._keys

    @property
    def pending(self) -> list[dict]:
        """Configurations handed out by ``ask`` whose results are not yet told (batch and parallel runs)."""
        return [t.config for t in self._pending.values()]

    @property
    def n_trained(self) -> int:
        """Trainings spent (completed or failed)."""
        return sum(1 for t in self._trials if t.state in (TrialState.COMPLETE, TrialState.FAIL))

    @property
    def n_wasted(self) -> int:
        """Trainings spent on configurations that turned out undeployable."""
        return sum(1 for t in self._trials if t.state in (TrialState.COMPLETE, TrialState.FAIL) and t.feasible is False)

    @property
    def best_trial(self) -> FrozenTrial | None:
        """The most accurate deployable trained trial."""
        ok = [t for t in self._trials if t.state == TrialState.COMPLETE and t.feasible is not False
              and t.value is not None]
        return max(ok, key=lambda t: (t.value, -t.number)) if ok else None

    def ranked(self, k: int = 5, deployable_only: bool = True) -> list[FrozenTrial]:
        ok = [t for t in self._trials if t.state == TrialState.COMPLETE and t.value is not None
              and (t.feasible is not False or not deployable_only)]
        return sorted(ok, key=lambda t: (-t.value, t.number))[:k]

    def check_many(self, configs: list[Mapping]) -> tuple[np.ndarray, list[dict]]:
        """The constraint's verdicts and figures for many configurations (nothing stored; answers cached).

        A constraint with a ``many(configs)`` method answers a whole candidate set in one call (memsim's
        batch path); otherwise it is asked once per configuration.
        """
        if self.constraint is None:
            raise CBOError("Checking deployability needs a constraint (deployability oracle).")
        keys = [self.space.key(c) for c in configs]
        todo = {k: c for k, c in zip(keys, configs) if k not in self._checked}
        if todo:
            many = getattr(self.constraint, "many", None)
            answers = many(list(todo.values())) if many else [self.constraint(c) for c in todo.values()]
            for k, (ok, fp) in zip(todo, answers):
                self._checked[k] = (bool(ok), dict(fp or {}))
        return np.array([self._checked[k][0] for k in keys], bool), [self._checked[k][1] for k in keys]

    # -- writing -------------------------------------------------------------------
    def _store(self, trial: FrozenTrial) -> FrozenTrial:
        self.storage.add(trial)
        self._trials.append(trial)
        self._keys.add(self.space.key(trial.config))
        return trial

    def _check(self, config: Mapping) -> tuple[bool, dict]:
        feasible, footprint = self.constraint(config)
        return bool(feasible), dict(footprint or {})

    def label(self, config: Mapping, phase: str = "label") -> FrozenTrial:
        """Ask the cheap oracle about a configuration and store the answer (no training)."""
        if self.constraint is None:
            raise CBOError("Labelling without training needs a constraint (deployability oracle).")
        feasible, footprint = self._check(config)
        return self._store(FrozenTrial(
            number=len(self._trials), state=TrialState.LABELLED if feasible else TrialState.INFEASIBLE,
            config=dict(config), phase=phase, feasible=feasible, footprint=footprint, seed=self.seed))

    def ask(self, max_attempts: int = 500) -> Trial:
        """The next configuration to train (undeployable proposals are labelled and skipped)."""
        for _ in range(max_attempts):
            proposal = self.sampler.propose(StudyView(self))
            config, phase, labels = proposal if isinstance(proposal, Proposal) else Proposal(*proposal)
            for trial in labels:  # the sampler's labels (SVM-CBO's Phase 1), stored in the order it made them
                self._store(dataclasses.replace(trial, number=len(self._trials)))
            config = self.space.validate_config(config)
            if self.sampler.prechecks and self.constraint is not None:
                feasible, footprint = self._check(config)
                if not feasible:
                    self._store(FrozenTrial(number=len(self._trials), state=TrialState.INFEASIBLE, config=config,
                                            phase=phase, feasible=False, footprint=footprint, seed=self.seed))
                    continue
                return self._hand_out(Trial(config, phase, True, footprint))
            return self._hand_out(Trial(config, phase))
        raise CBOError(f"No deployable configuration found in {max_attempts} proposals; the target may be too "
                       "small for this search space.")

    def _hand_out(self, trial: Trial) -> Trial:
        self._pending[self.space.key(trial.config)] = trial
        return trial

    def abandon(self, trial: Trial) -> None:
        """Forget a handed-out configuration without recording it (a training cancelled before it finished)."""
        self._pending.pop(self.space.key(trial.config), None)

    def tell(self, trial: "Trial | Mapping", value: float | None = None, *, accuracy: float | None = None,
             fold_scores=(), feasible: bool | None = None, footprint: Mapping | None = None, error: str = "",
             seconds: float | None = None, attrs: Mapping | None = None) -> FrozenTrial:
        """Record a finished training. A NaN or missing value, or an error, makes it a failed trial."""
        if not isinstance(trial, Trial):
            trial = Trial(dict(trial))
        self.abandon(trial)
        value = accuracy if value is None else value
        if feasible is None:
            feasible = trial.feasible
        fp = dict(trial.footprint)
        fp.update(footprint or {})
        if feasible is None and self.constraint is not None:
            feasible, more = self._check(trial.config)
            fp.update(more)
        failed = bool(error) or value is None or not math.isfinite(float(value))
        if failed and not error:
            error = f"objective returned {value!r}"
        scores = tuple(float(s) for s in fold_scores)
        return self._store(FrozenTrial(
            number=len(self._trials), state=TrialState.FAIL if failed else TrialState.COMPLETE,
            config=dict(trial.config), phase=trial.phase, value=None if failed else float(value),
            value_std=float(np.std(scores)) if len(scores) > 1 else None, fold_scores=scores, feasible=feasible,
            footprint=fp, error=error, seed=self.seed, attrs=dict(attrs or {}),
            seconds=time.perf_counter() - trial.started if seconds is None else seconds))

    def tell_result(self, trial: "Trial", result) -> FrozenTrial:
        """Record what an objective returned: the accuracy, or a dict with ``accuracy`` and optionally
        ``fold_scores``, ``feasible``, ``footprint`` and ``attrs``."""
        if isinstance(result, Mapping):
            return self.tell(trial, result.get("accuracy"), fold_scores=result.get("fold_scores", ()),
                             feasible=result.get("feasible"), footprint=result.get("footprint"),
                             attrs=result.get("attrs"))
        return self.tell(trial, result)

    def optimize(self, objective: Callable[[dict], Any], n_trainings: int,
                 callback: Callable[["Study", FrozenTrial], None] | None = None,
                 catch: "tuple[type[BaseException], ...]" = (), *, client=None, q: int | None = None,
                 trial_timeout: float | None = None) -> FrozenTrial | None:
        """Train until ``n_trainings`` trainings are spent in this study (resumed trainings count).

        ``objective(config)`` returns the accuracy, or a dict with ``accuracy``
        and optionally ``fold_scores``, ``feasible`` and ``footprint``. An
        exception of a type in ``catch`` is recorded as a failed trial and the
        search goes on; any other propagates (as in Optuna), so a programming
        error is not mistaken for a bad configuration. A NaN result is a
        failed trial either way.

        With a Dask ``client`` the trainings run on its workers, up to ``q`` at
        once (default: the cluster's worker threads), the objective pickled to
        them once; ``trial_timeout`` (seconds, cluster only) records a longer
        training as failed and restarts its worker. See ``cbo._distributed``.
        """
        self.budget = self.budget or n_trainings
        if client is not None:
            from cbo._distributed import optimize_on_cluster

            optimize_on_cluster(self, objective, n_trainings, client, q=q, trial_timeout=trial_timeout,
                                callback=callback, catch=catch)
            return self.best_trial
        if trial_timeout is not None or q is not None:
            raise CBOError("q and trial_timeout need a Dask client: in-process trainings run one at a time and "
                           "cannot be stopped from outside.")
        while self.n_trained < n_trainings:
            trial = self.ask()
            try:
                frozen = self.tell_result(trial, objective(dict(trial.config)))
            except catch as exc:  # a failed training is data, not the end of the search
                detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
                frozen = self.tell(trial, None, error=detail)
            if callback is not None:
                callback(self, frozen)
        return self.best_trial
