"""The contract every sampler in ``cbo.SAMPLERS`` keeps (as Optuna's test_samplers.py holds all of its samplers):
the same proposals for the same seed and history, no configuration proposed twice, no undeployable network trained
by a sampler that pre-checks, distinct proposals while others are still training, and nothing written by a sampler."""

from __future__ import annotations

import math

import numpy as np
import pytest

import cbo

SPACE = cbo.Space([cbo.Integer("filters", 2, 64, log=True), cbo.Ordinal("kernel", [1, 3, 5]),
                   cbo.Categorical("act", ["relu", "tanh"]), cbo.Real("rate", 0.0, 0.5)])


def fits(config) -> tuple[bool, dict]:
    """A cheap oracle with a region that is neither all nor nothing: the big-and-wide networks do not fit."""
    size = config["filters"] * config["kernel"] ** 2
    return size <= 200, {"params": size, "macc": 10 * size}


def accuracy(config) -> float:
    return (0.5 + 0.3 * math.exp(-((math.log2(config["filters"]) - 4) ** 2) / 4)
            + 0.05 * (config["act"] == "relu") - 0.1 * config["rate"] + 0.01 * config["kernel"])


def _study(name: str, seed: int = 3) -> cbo.Study:
    sampler = cbo.SAMPLERS[name](seed=seed)
    if name == "svmcbo":  # the papers' 80 Phase-1 labels would be most of this small space; fewer keep it a search
        sampler = cbo.SVMCBOSampler(n_init=8, n_phase1=8, seed=seed)
    return cbo.Study(SPACE, sampler, constraint=fits, seed=seed, budget=10)


def _history(study: cbo.Study) -> list:
    return [(t.number, t.state, SPACE.key(t.config), t.phase, t.value, t.feasible) for t in study.trials]


ALL = sorted(cbo.SAMPLERS)


@pytest.mark.parametrize("name", ALL)
def test_the_same_seed_and_history_give_the_same_proposals(name):
    a, b = _study(name), _study(name)
    a.optimize(accuracy, 8)
    b.optimize(accuracy, 8)
    assert _history(a) == _history(b)
    # a study resumed from the stored trials proposes what the uninterrupted one did
    half = _study(name)
    half.optimize(accuracy, 4)
    resumed = cbo.Study(SPACE, _study(name).sampler, storage=half.storage, constraint=fits, seed=3, budget=10)
    resumed.optimize(accuracy, 8)
    assert _history(resumed) == _history(a)


@pytest.mark.parametrize("name", ALL)
def test_no_configuration_is_proposed_twice(name):
    study = _study(name)
    study.optimize(accuracy, 12)
    keys = [SPACE.key(t.config) for t in study.trials]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("name", [n for n in ALL if cbo.SAMPLERS[n](seed=0).prechecks])
def test_a_sampler_that_prechecks_never_trains_an_undeployable_network(name):
    study = _study(name)
    study.optimize(accuracy, 12)
    trained = [t for t in study.trials if t.state in (cbo.TrialState.COMPLETE, cbo.TrialState.FAIL)]
    assert len(trained) == 12 and all(fits(t.config)[0] for t in trained)
    assert study.n_wasted == 0


@pytest.mark.parametrize("name", ALL)
def test_proposals_while_others_train_are_distinct(name):
    study = _study(name)
    study.optimize(accuracy, 3)
    batch = [study.ask() for _ in range(4)]  # handed out, none told yet: a parallel run's batch
    keys = {SPACE.key(t.config) for t in batch}
    assert len(keys) == 4 and not keys & {SPACE.key(t.config) for t in study.trials}
    for t in batch:
        study.tell(t, accuracy(t.config))
    assert study.n_trained == 7


@pytest.mark.parametrize("name", ALL)
def test_a_sampler_only_proposes_it_never_writes(name):
    study = _study(name)
    study.optimize(accuracy, 3)
    before = _history(study)
    proposal = study.sampler.propose(cbo.StudyView(study))
    assert isinstance(proposal, cbo.Proposal) and SPACE.validate_config(proposal.config)
    assert _history(study) == before  # labels come back in the proposal; the study stores them
    assert all(t.state in (cbo.TrialState.LABELLED, cbo.TrialState.INFEASIBLE) for t in proposal.labels)
    assert not hasattr(cbo.StudyView(study), "tell") and not hasattr(cbo.StudyView(study), "ask")


def test_a_study_defaults_to_the_command_lines_method_and_a_new_sampler_must_propose():
    assert type(cbo.Study(SPACE, constraint=fits).sampler) is type(cbo.SAMPLERS[cbo.DEFAULT_METHOD]())
    assert cbo.Study(SPACE).sampler.name == "svmcbo"  # no oracle: the papers' black-box method

    class Incomplete(cbo.BaseSampler):
        pass

    with pytest.raises(TypeError, match="propose"):
        Incomplete()

    class Mine(cbo.BaseSampler):  # a user's sampler: a plain (config, phase) answer is a Proposal too
        def propose(self, view):
            return SPACE.sample(np.random.default_rng(len(view.trials)), 1)[0], "mine"

    study = cbo.Study(SPACE, Mine(), seed=0)
    study.optimize(accuracy, 3)
    assert [t.phase for t in study.trials] == ["mine"] * 3
