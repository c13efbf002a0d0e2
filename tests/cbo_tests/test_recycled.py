"""Trainings in recycled child processes give the in-process results, and a child's failures become failed trials."""

import os
import signal
import threading

import numpy as np
import pytest

from cbo.tinyml import KFoldObjective, get_template
from cbo.tinyml.datasets import Dataset
from cbo.tinyml.recycled import RecycledObjective, TrainingProcessError

pytestmark = pytest.mark.toolchain

SMALL = {"filters": 4, "conv_activation": "relu", "kernel": 2, "pool": 2, "dropout": 0.1, "units": 8,
         "dense_activation": "relu", "optimizer": "adam"}


@pytest.fixture(scope="module")
def objective():
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    X = rng.normal(size=(60, 20, 3)).astype("float32") + y[:, None, None]
    return KFoldObjective(get_template("paper-har"), Dataset("tiny", X, y, (0, 1, 2)), k=2, epochs=1, seed=0)


def test_results_equal_the_in_process_ones_and_the_child_is_replaced(objective):
    configs = [SMALL, {**SMALL, "filters": 8}, {**SMALL, "units": 4}]
    with RecycledObjective(objective, trainings_per_process=2) as train:
        pids, results = [], []
        for config in configs:
            results.append(train(config))
            pids.append(train.pid)
    assert results == [objective(c) for c in configs]
    assert pids[0] == pids[1] != pids[2]  # a new child after two trainings
    assert train.pid is None  # closed with the block


def test_a_training_error_is_a_failed_trial_and_a_bug_stops(objective):
    with RecycledObjective(objective) as train:
        train(SMALL)
        child = train.pid
        with pytest.raises(RuntimeError, match="dropout rate 1.5"):
            train({**SMALL, "dropout": 1.5})  # memsim refuses the rate when the network is built
        with pytest.raises(TrainingProcessError, match="KeyError"):
            train({k: v for k, v in SMALL.items() if k != "filters"})  # the template itself breaks: a bug
        assert RuntimeError in train.training_errors() and TrainingProcessError not in train.training_errors()
        assert train({**SMALL, "units": 4}) == objective({**SMALL, "units": 4}) and train.pid == child  # it goes on


def test_a_child_killed_mid_training_is_a_failed_trial_and_the_next_training_gets_a_new_child(objective):
    with RecycledObjective(objective) as train:
        train(SMALL)
        first = train.pid
        threading.Timer(0.3, lambda: os.kill(first, signal.SIGKILL)).start()
        with pytest.raises(RuntimeError, match="died"):
            train({**SMALL, "filters": 64, "units": 64})
        assert train(SMALL) == objective(SMALL) and train.pid != first
