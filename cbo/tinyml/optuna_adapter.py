"""memsim for Optuna users: a template's space as ``trial.suggest_*`` calls, and deployability as Optuna's
constraint, checked before any training.

>>> dep = OptunaDeployability(get_template("paper-har"), (100, 6, 1), 4, "stm32f303k8")   # doctest: +SKIP
>>> def objective(trial):
...     config = dep.suggest(trial)
...     if not dep.check(trial, config):   # memsim says it does not fit: no training
...         return 0.0
...     return train_and_score(config)
>>> study = optuna.create_study(direction="maximize")   # Optuna >= 5 reads the constraints check() set

Optuna 5 takes constraints through ``trial.set_constraint`` (``constraints_func`` is deprecated there); older
Optuna needs ``TPESampler(constraints_func=dep.constraints)``. ``check`` serves both. Optuna counts a trial
feasible when every constraint value is <= 0; here they are the bytes over the board's
RAM, largest SRAM region and Flash (after memsim's safety margin), so a negative value is headroom, and a fourth
that is 1 when the runtime cannot run an op of the network (e.g. TFLM has no int8 EXP for SELU). Optuna itself
is not imported here: the adapter only calls the trial's methods.
"""

from __future__ import annotations

from typing import Any

from cbo._space import Categorical, Integer, Ordinal, Real
from cbo.tinyml.constraint import MemsimConstraint
from cbo.tinyml.templates import Template

__all__ = ["OptunaDeployability"]

ATTR = "autotinyml_constraints"
NAMES = ("ram_over_bytes", "region_over_bytes", "flash_over_bytes", "unsupported_op")


class OptunaDeployability:
    """Deployability of a template's configurations on a target, in Optuna's terms.

    Parameters are those of :class:`cbo.tinyml.MemsimConstraint` (template, input shape, number of classes,
    target, runtime, dtype, compression, margin).
    """

    def __init__(self, template: Template, input_shape: tuple, n_classes: int, target, runtime=None,
                 dtype: "str | None" = None, compression: "str | None" = None, margin: "float | None" = None):
        self.template = template
        self.constraint = MemsimConstraint(template, input_shape, n_classes, target, runtime, dtype, compression,
                                           margin)

    def suggest(self, trial: Any) -> dict:
        """A configuration of the template's space, drawn through ``trial.suggest_*`` (inactive parameters skipped)."""
        config: dict = {}
        space = self.template.space
        for p in space.params:
            if not space.is_active(p, config):
                continue
            if isinstance(p, (Categorical, Ordinal)):
                config[p.name] = trial.suggest_categorical(p.name, list(p.choices))
            elif isinstance(p, Integer):
                config[p.name] = trial.suggest_int(p.name, p.low, p.high, log=p.log)
            elif isinstance(p, Real):
                config[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
        return config

    def check(self, trial: Any, config: dict) -> bool:
        """memsim's verdict on ``config``; records the constraint values and figures on the trial."""
        feasible, fp = self.constraint(config)
        if "error" in fp:  # shapes that cannot be built: as far from fitting as it gets
            values = [1.0, 1.0, 1.0, 1.0]
        else:
            values = [float(-fp["ram_headroom_bytes"]), float(-fp["region_headroom_bytes"]),
                      float(-fp["flash_headroom_bytes"])]
            values.append(1.0 if not feasible and max(values) <= 0 else 0.0)  # fits, but an op cannot run
        trial.set_user_attr(ATTR, values)
        if hasattr(trial, "set_constraint"):  # Optuna >= 5
            for name, value in zip(NAMES, values):
                trial.set_constraint(name, value)
        trial.set_user_attr("autotinyml_footprint", {k: v for k, v in fp.items() if k != "violations"})
        return bool(feasible)

    def constraints(self, frozen_trial: Any) -> list[float]:
        """``constraints_func`` for Optuna < 5: the values ``check`` recorded (a trial never checked counts
        feasible)."""
        return list(frozen_trial.user_attrs.get(ATTR, [0.0, 0.0, 0.0, 0.0]))
