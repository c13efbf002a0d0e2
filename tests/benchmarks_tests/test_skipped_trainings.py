"""bench_peers does not run an undeployable training for a method that never reads its accuracy; this checks the
premise: those methods propose the same configurations whether or not such trainings are run."""

import hashlib

import pytest

import bench_peers  # benchmarks/ is on the path (tests/conftest.py)
from cbo.tinyml import MemsimConstraint, OptunaDeployability, get_template

pytest.importorskip("optuna", reason="Optuna is not installed (pip install '.[optuna]')")

TARGET = "stm32f303k8"  # the tiny board, where many of paper-har's configurations do not fit
DATA_SHAPE, N_CLASSES = (100, 3), 10  # windows of 100 samples x 3 axes, like har-watch's


def _fake_accuracy(config, template):
    """A stand-in for a training: a fixed number per configuration."""
    digest = hashlib.sha256(template.space.key(config).encode()).digest()
    return 0.5 + digest[0] / 512


def _run(method, seed, budget, skip):
    template = get_template("paper-har")
    shape = template.input_shape(DATA_SHAPE)
    constraint = MemsimConstraint(template, shape, N_CLASSES, TARGET, "tflm", "int8")
    dep = OptunaDeployability(template, shape, N_CLASSES, TARGET, "tflm", "int8")
    harness = bench_peers.Harness(template, constraint, dep, lambda c: _fake_accuracy(c, template),
                                  template.space.key, trained=(lambda key: False) if skip else None)
    return harness.run(method, seed, budget)


@pytest.mark.parametrize("method", ["random", "tpe-blind", "nsga2", "svmcbo-blind"])
def test_a_method_that_ignores_undeployable_accuracies_proposes_the_same_without_those_trainings(method):
    budget = 24  # past TPE's 10 random start-up trials and NSGA-II's first population of 10
    full = _run(method, 0, budget, skip=False)
    skipped = _run(method, 0, budget, skip=True)
    assert [t["key"] for t in skipped] == [t["key"] for t in full]
    not_run = [t for t in skipped if not t.get("trained", True)]
    assert not_run and all(not t["deployable"] for t in not_run)  # some were skipped, only undeployable ones
    assert bench_peers.curve(skipped) == bench_peers.curve(full)


def test_a_method_that_reads_them_would_propose_otherwise(monkeypatch):
    # the check above can fail: GP-UCB blind fits its GP to every training, so skipping changes its proposals
    monkeypatch.setattr(bench_peers, "IGNORES_UNDEPLOYABLE", bench_peers.IGNORES_UNDEPLOYABLE | {"bo"})
    full = _run("bo", 0, 16, skip=False)
    skipped = _run("bo", 0, 16, skip=True)
    assert [t["key"] for t in skipped] != [t["key"] for t in full]
