"""memsim as Optuna's constraint: real Optuna TPE, a cheap stand-in objective, no training."""

import pytest

import memsim
from cbo.tinyml import OptunaDeployability, get_template

optuna = pytest.importorskip("optuna")


def test_tpe_with_memsim_never_trains_an_undeployable_network_and_returns_one_that_fits():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    template = get_template("paper-har")
    dep = OptunaDeployability(template, (100, 6, 1), 4, "stm32f303k8", runtime="tflm")
    trained = []

    def objective(trial):
        config = dep.suggest(trial)
        if not dep.check(trial, config):
            return 0.0  # told to Optuna as infeasible through the constraint, without training
        trained.append(config)
        return config["filters"] / 256 + config["units"] / 1024  # bigger is "more accurate"

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(objective, n_trials=120)
    infeasible = [t for t in study.trials if max(t.user_attrs["autotinyml_constraints"]) > 0]
    assert infeasible and trained  # the tiny board cuts the space: some samples did not fit
    assert len(trained) + len(infeasible) == 120
    for config in trained:  # every "training" was on a network memsim judges deployable
        spec = template.spec(config, (100, 6, 1), 4)
        assert memsim.footprint(spec, "stm32f303k8", "tflm", "int8").deployable
    best = max((t for t in study.trials if max(t.user_attrs["autotinyml_constraints"]) <= 0), key=lambda t: t.value)
    # Optuna itself sees the constraints (set_constraint) and picks a feasible best trial
    assert study.best_trial.value == best.value
    assert max(study.best_trial.constraints.values() if isinstance(study.best_trial.constraints, dict)
               else study.best_trial.constraints) <= 0
    assert best.user_attrs["autotinyml_footprint"]["region_headroom_bytes"] >= 0
    assert set(best.params) == set(template.space.names)
