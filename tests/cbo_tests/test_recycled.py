"""Trainings in recycled child processes give the in-process results, and a child's failures become failed trials."""

import os
import signal
import threading

import numpy as np
import pytest

from cbo.tinyml import TEMPLATES, KFoldObjective, get_template
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


def test_a_dask_workers_objective_trains_in_its_own_recycled_child(objective):
    # the P0 issue: Dask workers trained in long-lived processes that grow; each worker now trains as the
    # in-process search does, in a child replaced every few trainings
    import pickle

    from cbo.tinyml.recycled import WorkerRecycled, close_worker_children

    sent = pickle.loads(pickle.dumps(WorkerRecycled(objective, client=object(), trainings_per_process=2)))
    assert sent.client is None and sent._children == {}  # children are never pickled: each worker starts its own
    assert sent(SMALL) == objective(SMALL)
    (child,) = sent._children.values()
    assert child.pid not in (None, os.getpid())
    assert RuntimeError in sent.training_errors()
    assert close_worker_children() >= 1 and child.pid is None


def test_a_child_ends_with_its_parent_even_when_the_parent_is_killed(tmp_path):
    # a Dask worker ended for a trial timeout (os._exit) or killed must not leave its training child behind
    import subprocess
    import sys
    import time

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = ("import os, pickle, threading\n"
            "from cbo.tinyml.recycled import _Child\n"
            "from tests._sleepy import Sleeper\n"
            "child = _Child(pickle.dumps(Sleeper()))\n"
            "print(child.process.pid, flush=True)\n"
            "threading.Timer(2, os._exit, (1,)).start()\n"
            "child.ask({'seconds': 600})\n")  # killed mid-training: the child is still in time.sleep(600)
    parent = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=root, env={**os.environ, "PYTHONPATH": root})
    pid = int(parent.stdout.split()[0])
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    pytest.fail("the training child outlived its killed parent")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_built_in_templates_objective_reaches_the_training_child(name):
    # ds-cnn-1d's builder was a lambda, which pickle cannot send: `search --space ds-cnn-1d` crashed at its first
    # training once trainings ran in a child
    import pickle

    from cbo.tinyml import load_dataset

    objective = KFoldObjective(get_template(name), load_dataset("har-basicmotions"), k=2, epochs=1)
    again = pickle.loads(pickle.dumps(objective))
    config = get_template(name).baseline
    assert again.template.spec(config, (100, 1, 6), 4) == objective.template.spec(config, (100, 1, 6), 4)
    RecycledObjective(objective)  # pickles the objective as the search does
