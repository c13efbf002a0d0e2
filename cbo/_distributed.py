"""Trials in parallel on a Dask cluster: the driver proposes and stores, workers only train.

The study (its storage and memsim's labels) stays with the driver. Each free worker slot gets the next proposal
at once (asynchronous; no waiting for the slowest training of a batch); proposals made while others are still
training see them as pending (kriging believer in the GP samplers), so they spread out. Dask is imported only
here, and only when a client is passed.

Faults: a training whose worker dies is rescheduled by Dask as many times as the scheduler's
``distributed.scheduler.allowed-failures`` allows (Dask's default: 3 retries). Dask counts a death against every
training assigned to that worker, also one only queued there behind the training that killed it, so a training
that exhausts its retries while others ran is run once more alone on the cluster (nothing else is handed out
meanwhile) and recorded as a failed trial only if its worker dies then too. A training that runs past
``trial_timeout`` is recorded as failed (not retried: it would run as long again) and its worker process ended,
which stops it (the worker's nanny starts a new one). Either way the search goes on. A cluster left with no
worker for WORKER_WAIT_SECONDS stops the search with a CBOError. A ``KeyboardInterrupt`` cancels the running
trainings; everything finished is already stored.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from typing import Any, Callable

from cbo._errors import CBOError
from cbo._storage import FrozenTrial
from cbo._view import AskTell

__all__ = ["local_cluster", "worker_slots", "optimize_on_cluster"]

POLL_SECONDS = 0.5  # how often the driver looks at trainings' clocks while waiting for a result
WORKER_WAIT_SECONDS = 120  # how long a search waits for a first worker (workers may be starting or restarting)
# A worker resource of one per training slot, so a worker runs one training at a time. (Dask still assigns a
# training with a resource restriction to a busy worker at once, to wait there; hence the solo retry.)
TRAINING = "training"


def local_cluster(n_workers: int, threads_per_training: int | None = None):
    """A Dask ``LocalCluster`` of ``n_workers`` processes, one training each, TensorFlow limited to
    ``threads_per_training`` threads in each (default: this machine's cores shared out, at least 1, so N workers
    on N cores do not fight over them). A training whose worker dies is retried as Dask's ``allowed-failures``
    says (3 by default), then once more alone (see the module's notes on faults)."""
    from distributed import LocalCluster

    if n_workers < 1:
        raise CBOError(f"A local cluster needs at least 1 worker, got {n_workers}.")
    threads = str(int(threads_per_training or max(1, (os.cpu_count() or 1) // n_workers)))
    env = {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": threads,
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    # No dashboard; the scheduler's small HTTP server on a free port, not 8787, so two clusters on one machine
    # (two searches, or a test beside a search) start without a "port already in use" warning. Dask's own logs
    # only at CRITICAL: a worker whose heartbeat meets the scheduler already closed at the end logs an ERROR with
    # a traceback (seen in a 2-worker search test on a busy machine); what goes wrong in a training
    # reaches the search through its future, and a lost worker as KilledWorker.
    return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, env=env,
                        dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                        silence_logs=logging.CRITICAL, resources={TRAINING: 1})


def worker_slots(client) -> int:
    """Trainings the cluster can run at once (its worker threads)."""
    return sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())


def run_objective(objective: Callable[[dict], Any], config: dict) -> Any:
    """What a worker runs: the objective on one configuration."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return objective(config)


def optimize_on_cluster(study: AskTell, objective: Callable[[dict], Any], n_trainings: int, client, *,
                        q: int | None = None, trial_timeout: float | None = None,
                        callback: "Callable[[AskTell, FrozenTrial], None] | None" = None,
                        catch: "tuple[type[BaseException], ...]" = ()) -> None:
    """Keep up to ``q`` trainings running on ``client``'s workers until ``n_trainings`` are spent in the study."""
    from distributed import KilledWorker, wait

    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except TimeoutError:
        raise CBOError(f"The Dask cluster has had no worker for {WORKER_WAIT_SECONDS} s; start some "
                       "(dask worker ADDRESS) or use --workers N.") from None
    q = q or worker_slots(client)
    workers = client.scheduler_info()["workers"].values()
    needs = {TRAINING: 1} if any(TRAINING in w.get("resources", {}) for w in workers) else None
    # sent once, not with every training; a task rather than scattered data, so the scheduler recomputes it if the
    # worker holding it dies (scattered data would be lost with it, and every training that needs it cancelled)
    # (with the same resource, so it is not computed on a worker that is running a training; if Dask still gives
    # up on it after deaths, it is submitted again rather than failing every later training)
    objective_future = [None]
    workerless = _WorkerWatch()
    running: dict = {}  # future -> [trial, time its training was first seen running, whether it runs alone]
    suspects: list = []  # trials whose worker died while other trainings ran: each is run once more alone

    def remote_objective():
        if objective_future[0] is None or objective_future[0].status in ("error", "cancelled"):
            objective_future[0] = client.submit(_identity, objective, pure=False, resources=needs)
        return objective_future[0]

    def submit(trial, alone: bool = False) -> None:
        future = client.submit(run_objective, remote_objective(), dict(trial.config), pure=False, resources=needs)
        running[future] = [trial, None, alone]

    def finish(future, frozen) -> None:
        del running[future]
        if callback is not None:
            callback(study, frozen)

    try:
        while True:
            if suspects:
                if not running:
                    submit(suspects.pop(0), alone=True)
            else:
                while len(running) < q and study.n_trained + len(running) < n_trainings:
                    submit(study.ask())
            if not running:
                return
            done, _ = _wait_quietly(wait, running)
            if not done:
                workerless.check(client)
            if done and all(f.status == "lost" for f in done):
                time.sleep(POLL_SECONDS)
            for future in done:
                if future.status == "lost":  # finished, but its result died with its worker: Dask recomputes it
                    continue
                trial, _, alone = running[future]
                if future.status == "finished":
                    finish(future, study.tell_result(trial, future.result()))
                    continue
                exc = future.exception() if future.status == "error" else None
                if isinstance(exc, KilledWorker) and not alone:
                    del running[future]  # perhaps only queued behind the training that killed the worker
                    suspects.append(trial)
                    continue
                if isinstance(exc, KilledWorker):
                    error = "its Dask worker died during the training, also when it ran alone on the cluster"
                elif exc is not None and isinstance(exc, catch):
                    error = traceback.format_exception_only(type(exc), exc)[-1].strip()
                elif exc is None:
                    error = f"the Dask task ended as {future.status!r}"
                else:
                    raise exc  # a programming error: stop, as the in-process search does
                finish(future, study.tell(trial, None, error=error))
            if trial_timeout is not None:
                _enforce_timeout(study, client, running, trial_timeout, finish)
    except BaseException:
        client.cancel(list(running))
        for trial in [entry[0] for entry in running.values()] + suspects:
            study.abandon(trial)
        raise


def _identity(x):
    return x


class _WorkerWatch:
    """Stops a search whose cluster has had no worker for WORKER_WAIT_SECONDS, rather than wait forever: a Dask
    nanny does not restart a worker that dies while the nanny is still starting it (seen with a configuration
    that kills its worker at once, on a loaded machine), so a cluster can lose every worker for good."""

    CHECK_SECONDS = 5.0  # asking the scheduler is a round trip: not at every poll

    def __init__(self):
        self.last_check = time.monotonic()
        self.none_since = None

    def check(self, client) -> None:
        now = time.monotonic()
        if now - self.last_check < self.CHECK_SECONDS:
            return
        self.last_check = now
        if client.scheduler_info()["workers"]:
            self.none_since = None
        elif self.none_since is None:
            self.none_since = now
        elif now - self.none_since >= WORKER_WAIT_SECONDS:
            raise CBOError(f"The Dask cluster has had no worker for {WORKER_WAIT_SECONDS} s during the search (its "
                           "workers died and were not restarted); every finished trial is kept: start workers "
                           "(dask worker ADDRESS), or run the same command again.")


def _wait_quietly(wait, running):
    """``distributed.wait`` for the first result; after one poll interval nothing, instead of an exception; futures
    the scheduler cancelled count as done (their trials are then recorded as failed)."""
    from distributed.client import FuturesCancelledError

    try:
        return wait(list(running), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
    except TimeoutError:
        return set(), set(running)
    except FuturesCancelledError:
        return {f for f in running if f.status == "cancelled"}, set()


def _enforce_timeout(study, client, running, limit, finish) -> None:
    """Record trainings running longer than ``limit`` seconds as failed and restart their workers."""
    now = time.monotonic()
    by_key = {future.key: future for future in running}
    late_workers = []
    for worker, keys in client.processing().items():
        for key in keys:
            future = by_key.get(key)
            if future is None:
                continue
            entry = running[future]
            entry[1] = entry[1] or now
            if now - entry[1] > limit:
                late_workers.append(worker)
                future.cancel()
                finish(future, study.tell(entry[0], None, error=f"ran past the trial timeout of {limit:g} s"))
    if late_workers:
        # Ended at once, not asked to close: a graceful close waits for the training thread, which would keep
        # the driver waiting as long as the training. The worker's nanny starts a fresh process.
        client.run(_end_process, workers=late_workers, wait=False)


async def _end_process():  # a coroutine: Dask runs only those without waiting for an answer
    os._exit(1)

