"""Trials on a real Dask LocalCluster (2 worker processes), and batch proposals through ask/tell."""

import os
import time
from pathlib import Path

import numpy as np
import pytest

import cbo

pytestmark = pytest.mark.dask

distributed = pytest.importorskip("distributed",
                                  reason="Dask distributed is not installed (pip install 'dask[distributed]')")

SPACE = cbo.Space([cbo.Real("x", low=0, high=1), cbo.Real("y", low=0, high=1)])


def bowl(c):
    return float(1 - (c["x"] - 0.3) ** 2 - (c["y"] - 0.6) ** 2)


class Slow:
    """The bowl after a pause (a stand-in for a training, picklable to the workers)."""

    def __init__(self, seconds=0.3):
        self.seconds = seconds

    def __call__(self, c):
        time.sleep(self.seconds)
        return bowl(c)


class MisbehavesOnce(Slow):
    """The first call on any worker kills its process (a machine lost mid-training) or hangs far longer than any
    timeout; the marker file tells later calls, on any worker, that it happened."""

    def __init__(self, marker: Path, how: str):
        super().__init__(0.5)
        self.marker, self.how = str(marker), how

    def __call__(self, c):
        if not os.path.exists(self.marker):
            Path(self.marker).write_text(self.how)
            if self.how == "die":
                time.sleep(0.5)
                os._exit(1)
            time.sleep(600)
        return super().__call__(c)


class DiesRightOfHalf(Slow):
    """Kills its worker on every configuration with x > 0.5 (a configuration that crashes the process), after the
    pause: a worker that dies the instant it starts can outrun its nanny's restart, which then gives up on it
    (the cluster-without-workers test below covers that end)."""

    def __call__(self, c):
        if c["x"] > 0.5:
            time.sleep(self.seconds)
            os._exit(1)
        return super().__call__(c)


@pytest.fixture(scope="module")
def client():
    from cbo._distributed import local_cluster

    with local_cluster(2) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture
def fresh_client():
    """A cluster of its own, for tests that kill workers: the next test does not meet workers still restarting."""
    from cbo._distributed import local_cluster

    with local_cluster(2) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture
def dying_client():
    """A cluster of its own whose scheduler gives up on a training after 2 worker deaths, not Dask's 4: each death
    is a chance for a Dask nanny race in which the dead worker is never restarted (dask/distributed#3955, #7312;
    seen here on a loaded machine), so the test that kills workers on purpose kills as few as it can."""
    import dask

    from cbo._distributed import local_cluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with local_cluster(2) as cluster, distributed.Client(cluster) as c:
            yield c


def _finished(study):
    return [t for t in study.trials if t.state in (cbo.TrialState.COMPLETE, cbo.TrialState.FAIL)]


def test_a_search_on_two_workers_stores_every_result(client, tmp_path):
    storage = cbo.SQLiteStorage(tmp_path / "s.sqlite")
    study = cbo.Study(SPACE, cbo.GPUCBSampler(seed=0), storage=storage, seed=0)
    best = study.optimize(Slow(), 10, client=client)
    storage.close()
    stored = cbo.SQLiteStorage(tmp_path / "s.sqlite").trials()
    assert len(stored) == 10 and all(t.state == cbo.TrialState.COMPLETE for t in stored)
    assert all(t.value == pytest.approx(bowl(t.config)) for t in stored)  # each result with its own configuration
    assert len({SPACE.key(t.config) for t in stored}) == 10  # no configuration trained twice
    assert best.value == max(t.value for t in stored) and study.pending == []


class Logged(Slow):
    """Slow, writing when each training started and ended (on the worker) to a folder."""

    def __init__(self, folder: Path, seconds: float):
        super().__init__(seconds)
        self.folder = folder

    def __call__(self, c):
        start = time.time()
        value = super().__call__(c)
        (self.folder / f"{os.getpid()}-{start}").write_text(f"{start} {time.time()}")
        return value


def test_trainings_run_at_the_same_time(client, tmp_path):
    # two trainings overlap in time (one's start before the other's end), on two different processes
    study = cbo.Study(SPACE, cbo.RandomSampler(seed=1), seed=1)
    study.optimize(Logged(tmp_path, 1.0), 4, client=client)
    spans = [(p.name.split("-")[0], *map(float, p.read_text().split())) for p in tmp_path.iterdir()]
    assert len(spans) == 4
    assert any(a[0] != b[0] and a[1] < b[2] and b[1] < a[2] for a in spans for b in spans)


def test_a_worker_killed_mid_training_loses_nothing_and_the_search_completes(fresh_client, tmp_path):
    client = fresh_client
    storage = cbo.SQLiteStorage(tmp_path / "s.sqlite")
    study = cbo.Study(SPACE, cbo.RandomSampler(seed=2), storage=storage, seed=2)
    study.optimize(MisbehavesOnce(tmp_path / "died", "die"), 6, client=client)
    storage.close()
    assert (tmp_path / "died").exists()  # a worker process really died
    stored = cbo.SQLiteStorage(tmp_path / "s.sqlite").trials()
    assert len(stored) == 6 and all(t.state == cbo.TrialState.COMPLETE for t in stored)  # retried, not lost


def test_a_configuration_that_keeps_killing_workers_is_a_failed_trial(dying_client):
    client = dying_client
    study = cbo.Study(SPACE, cbo.GridSampler(n_points=4, seed=0), seed=0)
    study.optimize(DiesRightOfHalf(0.1), 4, client=client)
    done = _finished(study)
    assert len(done) == 4
    for t in done:
        if t.config["x"] > 0.5:
            assert t.state == cbo.TrialState.FAIL and "worker died" in t.error
        else:
            assert t.state == cbo.TrialState.COMPLETE
    assert any(t.state == cbo.TrialState.FAIL for t in done) and any(t.state == cbo.TrialState.COMPLETE for t in done)


def test_a_cluster_left_without_workers_stops_the_search_and_keeps_the_finished_trials(monkeypatch):
    import cbo._distributed as dist
    from cbo._distributed import local_cluster

    monkeypatch.setattr(dist, "WORKER_WAIT_SECONDS", 3)
    monkeypatch.setattr(dist._WorkerWatch, "CHECK_SECONDS", 0.5)
    with local_cluster(1) as cluster, distributed.Client(cluster) as client:
        study = cbo.Study(SPACE, cbo.RandomSampler(seed=4), seed=4)
        with pytest.raises(cbo.CBOError, match="has had no worker for 3 s during the search"):
            study.optimize(Slow(0.3), 4, client=client, callback=lambda s, t: cluster.scale(0))
    assert [t.state for t in _finished(study)] == [cbo.TrialState.COMPLETE]  # the one finished before is kept
    assert study.pending == []


def test_a_training_past_the_timeout_is_failed_and_its_worker_freed(fresh_client, tmp_path):
    client = fresh_client
    study = cbo.Study(SPACE, cbo.RandomSampler(seed=3), seed=3)
    study.optimize(MisbehavesOnce(tmp_path / "hung", "hang"), 5, client=client, trial_timeout=3)
    done = _finished(study)
    assert len(done) == 5
    late = [t for t in done if t.state == cbo.TrialState.FAIL]
    assert len(late) == 1 and "trial timeout of 3 s" in late[0].error


def test_a_programming_error_on_a_worker_stops_the_search(client):
    def broken(c):
        raise KeyError("typo")

    study = cbo.Study(SPACE, cbo.RandomSampler(seed=0), seed=0)
    with pytest.raises(KeyError):
        study.optimize(broken, 3, client=client, catch=(ValueError,))
    assert study.pending == []  # nothing left handed out


def test_timeouts_and_q_need_a_cluster():
    study = cbo.Study(SPACE, cbo.RandomSampler(seed=0), seed=0)
    with pytest.raises(cbo.CBOError, match="Dask client"):
        study.optimize(bowl, 2, trial_timeout=5)


# -- batch proposals (no cluster: ask/tell with results told in a fixed order) --------------------------------------

def _batch_run(sampler_factory, q, n, constraint=None):
    """Keep q configurations out at once; tell them back first-in first-out. Returns the configurations in the
    order they were proposed."""
    study = cbo.Study(SPACE, sampler_factory(), constraint=constraint, seed=0)
    out, proposed = [], []
    while len(_finished(study)) + len(out) < n or out:
        while len(out) < q and len(_finished(study)) + len(out) < n:
            trial = study.ask()
            out.append(trial)
            proposed.append(SPACE.key(trial.config))
        trial = out.pop(0)
        study.tell(trial, bowl(trial.config))
    return proposed, study


@pytest.mark.parametrize("factory", [lambda: cbo.GPUCBSampler(seed=4), lambda: cbo.SVMCBOSampler(seed=4),
                                     lambda: cbo.ExactCBOSampler(seed=4)], ids=["bo", "svmcbo", "exact-ei"])
def test_batch_proposals_are_distinct_and_repeatable(factory):
    constraint = lambda c: (c["x"] + c["y"] <= 1.4, {"params": 10, "macc": 100})  # noqa: E731
    first, study = _batch_run(factory, 3, 12, constraint)
    again, _ = _batch_run(factory, 3, 12, constraint)
    assert first == again  # same q, same order of results: the same proposals
    assert len(set(first)) == len(first) == 12  # none proposed while it was still out
    assert study.pending == []


def test_kriging_believer_moves_the_next_proposal_away_from_a_pending_one():
    rng = np.random.default_rng(0)
    X = rng.random((8, 2))
    y = np.array([bowl({"x": a, "y": b}) for a, b in X])
    point = np.array([[0.3, 0.6]])
    _, sd_before = cbo._surrogates.fit_gp(X, y, np.random.default_rng(1)).predict(point, return_std=True)
    _, sd_after = cbo._surrogates.fit_gp(X, y, np.random.default_rng(1), X_pending=point).predict(point,
                                                                                                return_std=True)
    assert sd_after[0] < 0.5 * sd_before[0]  # the pending point's uncertainty is spent
