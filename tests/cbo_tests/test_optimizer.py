"""SVM-CBO and the baselines on synthetic problems with a known feasible region."""

import math
import zlib

import numpy as np
import pytest

import cbo

SPACE = cbo.Space([cbo.Real("x", low=0, high=1), cbo.Real("y", low=0, high=1)])
CENTER, RADIUS = (0.3, 0.3), 0.2


def in_disc(c):
    return (c["x"] - CENTER[0]) ** 2 + (c["y"] - CENTER[1]) ** 2 <= RADIUS**2


def disc(c):
    return in_disc(c), {"distance": math.dist((c["x"], c["y"]), CENTER)}


def accuracy(c):
    return float(np.exp(-((c["x"] - 0.8) ** 2 + (c["y"] - 0.8) ** 2) / 0.1))


OPTIMUM = accuracy({"x": 0.3 + RADIUS / math.sqrt(2), "y": 0.3 + RADIUS / math.sqrt(2)})


def test_phase1_recovers_a_disc_from_few_labels():
    sampler = cbo.SVMCBOSampler(n_init=10, n_phase1=30, seed=0)
    study = cbo.Study(SPACE, sampler, constraint=disc, seed=0)
    proposal = sampler.propose(cbo.StudyView(study))  # Phase 1 with a cheap oracle: labels, returned, not stored
    assert len(proposal.labels) == 40 and not study.trials  # only the study writes
    for label in proposal.labels:
        study.label(label.config, label.phase)
    assert sum(t.feasible is not None for t in study.trials) == 40 and study.n_trained == 0
    g = np.linspace(0, 1, 60)
    X = np.array([[a, b] for a in g for b in g])
    truth = np.array([in_disc({"x": a, "y": b}) for a, b in X])
    predicted = sampler._predict_feasible(X)
    assert (predicted == truth).mean() >= 0.95


def _run(name, seed, n=12):
    study = cbo.Study(SPACE, cbo.SAMPLERS[name](seed=seed), constraint=disc, seed=seed)
    study.optimize(accuracy, n)
    return study


def test_phase2_beats_random_at_equal_budget_over_seeds():
    svm = [_run("svmcbo", s).best_trial.value for s in range(5)]
    rnd = [(_run("random", s).best_trial or cbo.FrozenTrial(0, cbo.TrialState.COMPLETE, {}, value=0.0)).value
           for s in range(5)]
    frnd = [_run("feasible-random", s).best_trial.value for s in range(5)]
    assert np.mean(svm) > np.mean(rnd) and np.mean(svm) > np.mean(frnd)
    assert np.mean(svm) >= 0.9 * OPTIMUM


@pytest.mark.parametrize("name", ["svmcbo", "feasible-random"])
def test_no_undeployable_configuration_is_ever_trained(name):
    for seed in range(3):
        study = _run(name, seed, n=8)
        trained = [t for t in study.trials if t.state in (cbo.TrialState.COMPLETE, cbo.TrialState.FAIL)]
        assert len(trained) == 8 and all(in_disc(t.config) for t in trained)
        assert study.n_wasted == 0


def test_unconstrained_baselines_do_waste_trainings():
    assert sum(_run("bo", s, n=8).n_wasted for s in range(2)) > 0


@pytest.mark.parametrize("name", sorted(cbo.SAMPLERS))
def test_same_seed_same_trials(name):
    a, b = _run(name, 3, n=6), _run(name, 3, n=6)
    assert [(t.config, t.state, t.value) for t in a.trials] == [(t.config, t.state, t.value) for t in b.trials]


def test_failed_trainings_are_recorded_and_the_search_goes_on():
    calls = []

    def flaky(c):
        calls.append(c)
        if len(calls) == 2:
            raise RuntimeError("out of memory")
        if len(calls) == 3:
            return float("nan")
        return accuracy(c)

    study = cbo.Study(SPACE, cbo.RandomSampler(seed=0), constraint=disc, seed=0)
    study.optimize(flaky, 5, catch=(RuntimeError,))
    states = [t.state for t in study.trials if t.state != cbo.TrialState.INFEASIBLE]
    assert states.count(cbo.TrialState.FAIL) == 2 and states.count(cbo.TrialState.COMPLETE) == 3
    errors = [t.error for t in study.trials if t.state == cbo.TrialState.FAIL]
    assert "RuntimeError: out of memory" in errors[0] and "nan" in errors[1]


def test_ask_tell_by_hand():
    study = cbo.Study(SPACE, cbo.SVMCBOSampler(n_init=4, n_phase1=4, seed=1), constraint=disc, seed=1)
    for _ in range(4):
        trial = study.ask()
        assert in_disc(trial.config)
        frozen = study.tell(trial, accuracy=accuracy(trial.config), fold_scores=[0.5, 0.7])
        assert frozen.state == cbo.TrialState.COMPLETE and frozen.feasible is True
        assert frozen.value_std == pytest.approx(0.1)
    assert study.n_trained == 4 and study.best_trial is not None


def test_toolchain_oracle_labels_come_from_the_objective():
    """Without a cheap constraint (the papers' black-box setting) every point is trained and labelled."""
    study = cbo.Study(SPACE, cbo.SVMCBOSampler(n_init=4, n_phase1=3, seed=0), seed=0)
    study.optimize(lambda c: {"accuracy": accuracy(c), "feasible": in_disc(c)}, 10)
    phases = [t.phase for t in study.trials]
    assert phases[:4] == ["phase1-init"] * 4 and phases[4:7] == ["phase1"] * 3 and phases[7] == "phase2-init"
    assert study.n_trained == 10


def test_an_error_not_listed_in_catch_propagates_and_keeps_finished_trials():
    calls = []

    def buggy(c):
        calls.append(c)
        if len(calls) == 3:
            raise TypeError("unsupported operand")  # a programming error, not a bad configuration
        return accuracy(c)

    study = cbo.Study(SPACE, cbo.RandomSampler(seed=0), constraint=disc, seed=0)
    with pytest.raises(TypeError, match="unsupported operand"):
        study.optimize(buggy, 5, catch=(RuntimeError,))
    assert study.n_trained == 2 and all(t.state != cbo.TrialState.FAIL for t in study.trials)


@pytest.mark.parametrize("make,message", [
    (lambda: cbo.SVMCBOSampler(n_init=-5), "n_init must be at least 2, got -5"),
    (lambda: cbo.SVMCBOSampler(beta=-3), "beta must be at least 0, got -3"),
    (lambda: cbo.SVMCBOSampler(n_phase1=2.5), "n_phase1 must be an integer, got 2.5"),
    (lambda: cbo.GPUCBSampler(n_candidates=0), "n_candidates must be at least 1, got 0"),
    (lambda: cbo.GridSampler(n_points=0), "n_points must be at least 1, got 0"),
    (lambda: cbo.RandomSampler(seed="zero"), "seed must be an integer or None"),
    (lambda: cbo.ExactCBOSampler(acquisition="pi"), "acquisition must be one of ucb, ei, got 'pi'"),
])
def test_sampler_arguments_are_validated(make, message):
    with pytest.raises(cbo.SpaceError, match=message):
        make()


@pytest.mark.parametrize("acquisition", cbo.ExactCBOSampler.ACQUISITIONS)
def test_exact_search_trains_only_deployable_configurations_and_climbs_to_the_border(acquisition):
    sampler = cbo.ExactCBOSampler(acquisition=acquisition, capacity_features=False, seed=0)
    study = cbo.Study(SPACE, sampler, constraint=disc, seed=0)
    best = study.optimize(accuracy, 12)
    trained = [t for t in study.trials if t.value is not None]
    assert len(trained) == 12 and all(in_disc(t.config) for t in trained)
    assert best.value >= 0.8 * OPTIMUM  # the best deployable point sits on the disc's border toward (0.8, 0.8)


def test_exact_search_needs_a_constraint():
    study = cbo.Study(SPACE, cbo.ExactCBOSampler(seed=0), seed=0)
    with pytest.raises(cbo.CBOError, match="needs a constraint"):
        study.ask()


# Most networks at chance level: the har-watch failure (issue 10) in miniature. Only one activation learns.
PLATEAU_SPACE = cbo.Space([cbo.Categorical("act", choices=("relu", "sigmoid", "selu", "tanh")),
                           cbo.Categorical("opt", choices=("adam", "sgd", "rmsprop", "adadelta", "adamax")),
                           cbo.Ordinal("width", choices=(8, 16, 32, 64, 128)),
                           cbo.Ordinal("dropout", choices=(0.1, 0.2, 0.3))])


def _plateau(c):
    jitter = 0.004 * (zlib.crc32(repr(sorted(c.items())).encode()) % 1000) / 1000  # chance-level noise
    if c["act"] != "relu":
        return 0.10 + jitter
    return 0.5 + 0.02 * PLATEAU_SPACE.params[2].choices.index(c["width"]) + jitter


@pytest.mark.parametrize("method", ["exact-ucb", "exact-ei"])
def test_exact_search_leaves_a_chance_level_plateau(method):
    found = []
    for seed in range(8):
        study = cbo.Study(PLATEAU_SPACE, cbo.SAMPLERS[method](seed=seed), constraint=lambda c: (True, {}), seed=seed)
        study.optimize(_plateau, 8)
        found.append(study.best_trial.value)
    assert min(found) >= 0.5, found


@pytest.mark.parametrize("method", ["exact-ucb", "exact-ei"])
def test_exact_search_spreads_its_first_trainings(method):
    for seed in range(5):
        study = cbo.Study(PLATEAU_SPACE, cbo.SAMPLERS[method](seed=seed), constraint=lambda c: (True, {}), seed=seed)
        study.optimize(lambda c: 0.1, 3)
        assert len({t.config["act"] for t in study.trials}) == 3  # one-hot distance keeps them apart
        assert len({t.config["opt"] for t in study.trials}) == 3


def test_with_floors_an_unexplored_region_outbids_chance_level_results():
    from cbo._acquisitions import ucb
    from cbo._surrogates import fit_gp

    for seed in range(5):
        rng = np.random.default_rng(seed)
        X = rng.random((8, 3))
        y = 0.10 + 0.004 * rng.random(8)  # eight trainings, all at chance level
        far = np.full((1, 3), 2.0)
        free = fit_gp(X, y, np.random.default_rng(1))
        floored = fit_gp(X, y, np.random.default_rng(1), noise_floor=0.005, scale_floor=0.02)
        assert ucb(free, far, 2.0)[0] - ucb(free, X, 2.0).max() < 0.002  # the noise's 'peaks' compete with it
        assert ucb(floored, far, 2.0)[0] - ucb(floored, X, 2.0).max() > 0.01  # > 1 accuracy point ahead


class _Belief:
    """A stand-in for a fitted GP with the given mean and standard deviation at every input."""

    def __init__(self, mu, sd):
        self.mu, self.sd = np.asarray(mu, float), np.asarray(sd, float)

    def predict(self, X, return_std=False):
        return (self.mu, self.sd) if return_std else self.mu


def test_expected_improvement_is_the_mean_gain_over_the_incumbent():
    from cbo._acquisitions import expected_improvement

    rng = np.random.default_rng(0)
    mu, sd, best = np.array([0.40, 0.50, 0.55, 0.50]), np.array([0.05, 0.01, 0.0, 0.10]), 0.5
    ei = expected_improvement(_Belief(mu, sd), np.zeros((4, 1)), best)
    draws = mu + sd * rng.standard_normal((400_000, 4))
    assert ei == pytest.approx(np.maximum(draws - best, 0).mean(0), abs=3e-4)  # Monte Carlo of E[max(f - best, 0)]
    assert ei[2] == pytest.approx(0.05)  # no uncertainty: exactly the gain
    assert ei[3] > ei[1] > 0  # at the incumbent's level, the wider belief is worth more
