"""Keras Tuner, deployability-aware: a tuner that never trains a model memsim finds undeployable on the board.

Wrap any Keras Tuner tuner (RandomSearch, BayesianOptimization, Hyperband, ...)::

    tuner = DeployableTuner(keras_tuner.RandomSearch(build, objective="val_accuracy", max_trials=10),
                            target="stm32f303k8", runtime="tflm")
    tuner.search(x, y, epochs=5, validation_data=(x_val, y_val))

Before a trial starts, its model is built (no training) and memsim judges it on the target, with the runtime,
dtype, safety margin and time budgets the command line uses; an undeployable proposal is set aside (the oracle
never proposes it again) and another one is asked for. Everything else is the wrapped tuner's (``get_best_models``,
``results_summary``, ...). keras-tuner is an optional extra (``pip install keras-tuner``).
"""

from __future__ import annotations

from typing import Any

import memsim
from memsim import check_board, resolve
from targets import get_target

from cbo._errors import CBOError

__all__ = ["DeployableTuner"]


class DeployableTuner:
    """A Keras Tuner tuner whose oracle proposes only models that deploy on ``target`` (see the module).

    Parameters
    ----------
    tuner : keras_tuner.Tuner
        Any tuner; it is changed in place (its oracle asks memsim before a trial starts).
    target : str or Target
        The board, as ``autotinyml search --target`` names it.
    runtime, dtype, compression, margin, latency_ms, energy_uj
        As ``autotinyml search``'s options, with its defaults (tflm: int8; xcubeai: float32 with x8 sharing).
    max_rejections : int
        Undeployable proposals set aside for one trial before the search is ended (nothing deploys nearby).

    Attributes
    ----------
    rejected : list of (values, violations)
        Each proposal set aside, with memsim's reasons; none of them was trained.
    """

    def __init__(self, tuner: Any, target: Any, runtime=None, dtype: "str | None" = None,
                 compression: "str | None" = None, margin: "float | None" = None,
                 latency_ms: "float | None" = None, energy_uj: "float | None" = None, max_rejections: int = 200):
        self.tuner = tuner
        self.target = get_target(target)
        settings = resolve(runtime, dtype, compression, margin)  # resolved once (None: memsim's defaults)
        check_board(settings, self.target)
        self.runtime, self.dtype, self.compression = settings.runtime, settings.dtype, settings.compression
        self.margin, self.latency_ms, self.energy_uj = margin, latency_ms, energy_uj
        self.max_rejections = max_rejections
        self.rejected: list[tuple[dict, list[str]]] = []
        self._verdicts: dict[str, tuple[bool, list[str]]] = {}
        oracle = tuner.oracle
        propose = oracle.populate_space

        def populate_space(trial_id):
            return self._deployable_proposal(oracle, propose, trial_id)

        oracle.populate_space = populate_space  # on this instance only: the tuner's class is untouched

    def __getattr__(self, name: str):  # search, get_best_models, results_summary, ...: the wrapped tuner's
        return getattr(self.__dict__["tuner"], name)

    def footprint(self, values: dict) -> "memsim.Footprint":
        """memsim's figures and verdict for the model the tuner's hypermodel builds with ``values``."""
        from memsim.frontends.keras import quiet_keras

        keras = quiet_keras()
        keras.backend.clear_session(free_memory=False)
        hp = self.tuner.oracle.get_space()
        hp.values = dict(values)
        model = self.tuner.hypermodel.build(hp)
        return memsim.footprint(model, self.target, self.runtime, self.dtype, self.compression, margin=self.margin,
                                latency_budget_ms=self.latency_ms, energy_budget_uj=self.energy_uj)

    def is_deployable(self, values: dict) -> tuple[bool, list[str]]:
        key = repr(sorted(values.items()))
        if key not in self._verdicts:
            fp = self.footprint(values)
            self._verdicts[key] = (bool(fp.deployable), list(fp.violations))
        return self._verdicts[key]

    def _deployable_proposal(self, oracle, propose, trial_id) -> dict:
        """The oracle's proposal where it deploys; else, once the oracle repeats itself, random deployable ones.

        Uses three of the base Oracle's members that Keras Tuner does not document (``_random_values``,
        ``_tried_so_far``, ``_compute_values_hash``; keras-tuner 1.4), the way its own oracles avoid duplicates;
        tests/cbo_tests/test_keras_tuner.py runs against the installed version."""
        seen: set = set()
        for _ in range(self.max_rejections):
            proposal = propose(trial_id)
            if proposal.get("status") != "RUNNING" or not proposal.get("values"):
                return proposal
            values = proposal["values"]
            key = repr(sorted(values.items()))
            if key in seen:  # a model-based oracle insists on its optimum: ask for random values instead
                values = oracle._random_values()
                if values is None:  # the space is exhausted
                    return {"status": "STOPPED", "values": None}
                proposal, key = {"status": "RUNNING", "values": values}, repr(sorted(values.items()))
            seen.add(key)
            ok, violations = self.is_deployable(values)
            if ok:
                return proposal
            self.rejected.append((dict(values), violations))
            oracle._tried_so_far.add(oracle._compute_values_hash(values))  # never proposed again
        raise CBOError(f"{self.max_rejections} proposal{'s' * (self.max_rejections != 1)} in a row do not deploy on {self.target.name} under "
                       f"{self.runtime} (the last: {'; '.join(self.rejected[-1][1])}); narrow the space to smaller "
                       "models, choose a larger board, or raise max_rejections.")
