"""Trainings in a child process that is replaced every few trainings, so a long search stays as fast as a short one.

TensorFlow 2.21 with Keras 3 keeps every compiled training step alive in the process that built it: the function
graphs of ``model.fit`` (``one_step_on_data`` and the optimizer's conditionals, 18 graphs for a two-layer model)
survive ``keras.backend.clear_session()`` and ``gc.collect()``, held from outside Python's reach. A search that
trains in one process therefore grows by about 15 MiB per training and slows down, because every garbage
collection walks the growing heap (benchmarks/RESULTS.md, "A long search"). No in-process call frees them, so the
trainings run in a child process that exits after ``trainings_per_process`` of them, taking the graphs along.

The child trains exactly as the search would in-process (same objective, same seeds): the results are the same.
Ctrl-C and SIGTERM are the parent's to handle; the child runs in its own session and is ended when the parent
stops (or, if the parent is killed, when its pipe closes).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import weakref
from multiprocessing.connection import Connection
from typing import Any, Callable

__all__ = ["RecycledObjective", "TrainingProcessError", "WorkerRecycled", "close_worker_children"]

TRAININGS_PER_PROCESS = 10  # a process grows ~15 MiB per training of paper-har (benchmarks/RESULTS.md, "A long search")


class TrainingProcessError(Exception):
    """The objective raised an error that is not a training error (a bug): the search must stop on it."""


def _leave_with_parent() -> None:
    """The child ends when its parent does, even mid-training: a Dask worker ended for a trial timeout (os._exit)
    or killed cannot stop it, and it runs in its own session, out of reach of the terminal's signals."""
    import threading
    import time

    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _serve(requests: Connection, answers: Connection) -> None:
    """The child: receive the objective, then answer configurations with results until told to stop."""
    _leave_with_parent()
    objective = pickle.loads(requests.recv_bytes())
    # training_errors() imports TensorFlow: done now, while the predecessor still trains
    catchable = tuple(objective.training_errors()) if hasattr(objective, "training_errors") else ()
    while True:
        try:
            config = requests.recv()
        except EOFError:  # the parent is gone
            return
        if config is None:
            return
        try:
            answer = ("ok", objective(config))
        except catchable as exc:
            answer = ("training error", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which stops the search
            answer = ("bug", f"{type(exc).__name__}: {exc}")
        try:
            answers.send(answer)
        except OSError:  # the parent left while this training ran: nobody to answer, nothing to say
            return


class _Child:
    """One training process and its two pipes."""

    def __init__(self, payload: bytes):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cbo.tinyml.recycled", str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w), start_new_session=True, stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3"})
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.requests = Connection(to_child_w, readable=False)
        self.answers = Connection(from_child_r, writable=False)
        self.requests.send_bytes(payload)  # it loads the objective and imports TensorFlow while it waits
        self.served = 0

    def ask(self, config: dict):
        self.served += 1
        self.requests.send(dict(config))
        while not self.answers.poll(0.2):
            if self.process.poll() is not None:
                raise EOFError
        return self.answers.recv()

    def stop(self) -> None:
        """Asked to exit when idle, ended when it does not answer (e.g. mid-training)."""
        try:
            self.requests.send(None)
        except OSError:
            pass
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.requests.close()
        self.answers.close()


class RecycledObjective:
    """``objective(config)`` run in a child process that is replaced after ``trainings_per_process`` calls.

    The successor is started when the current child begins its last training, so its start-up (TensorFlow's
    import, a few seconds) runs beside that training instead of before the next one. A training error in the
    child (``objective.training_errors()``) comes back as a RuntimeError, which the study records as a failed
    trial; a child that dies (killed, out of memory) does too. Any other error raises TrainingProcessError. Use
    as a context manager, or call ``close()``, so no child outlives the search. A child is a plain
    ``python -m cbo.tinyml.recycled`` in its own session: it never re-imports the caller's main module and never
    sees the terminal's Ctrl-C, which is the parent's to handle.
    """

    def __init__(self, objective: Callable[[dict], Any], trainings_per_process: int = TRAININGS_PER_PROCESS):
        if trainings_per_process < 1:
            raise ValueError(f"trainings_per_process must be at least 1, got {trainings_per_process}.")
        self.objective = objective
        self.trainings_per_process = trainings_per_process
        self._payload = pickle.dumps(objective)
        self._child: _Child | None = None
        self._next: _Child | None = None

    @property
    def pid(self) -> "int | None":
        """The current child's process id (None between children)."""
        return None if self._child is None else self._child.process.pid

    @property
    def pids(self) -> tuple:
        """Process ids of the live children: the one training and, during its last training, its successor."""
        return tuple(c.process.pid for c in (self._child, self._next) if c is not None)

    def training_errors(self) -> tuple:
        """What a call can raise for a failed training (the study's ``catch``)."""
        inner = self.objective.training_errors() if hasattr(self.objective, "training_errors") else ()
        return (*inner, RuntimeError)

    def __call__(self, config: dict) -> Any:
        if self._child is None or self._child.served >= self.trainings_per_process:
            if self._child is not None:
                self._child.stop()
            self._child, self._next = (self._next or _Child(self._payload)), None
        if self._child.served == self.trainings_per_process - 1 and self._next is None:
            self._next = _Child(self._payload)
        try:
            status, payload = self._child.ask(config)
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            code = self._child.process.poll()
            self._child.stop()
            self._child = None
            raise RuntimeError(f"the training process died (exit code {code})") from None
        if status == "ok":
            return payload
        if status == "training error":
            raise RuntimeError(payload)
        raise TrainingProcessError(payload)

    def close(self) -> None:
        """Stop the children (the one training and its successor)."""
        for child in (self._child, self._next):
            if child is not None:
                child.stop()
        self._child = self._next = None

    def __enter__(self) -> "RecycledObjective":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


class WorkerRecycled:
    """``objective`` for Dask workers, trained as the in-process search trains: in each worker process (and each of
    its threads) a ``RecycledObjective`` child replaced every ``trainings_per_process`` trainings, so a many-hour
    ``--workers`` search does not slow down as the worker processes grow (benchmarks/RESULTS.md, "A long search").

    Pickled to each worker once (the child processes are not: each worker starts its own); ``close_on(client)``
    stops every worker's children when the search ends (a ``with`` block does it)."""

    def __init__(self, objective: Callable[[dict], Any], client=None,
                 trainings_per_process: int = TRAININGS_PER_PROCESS):
        self.objective = objective
        self.client = client
        self.trainings_per_process = trainings_per_process
        self._children: dict = {}

    def __getstate__(self) -> dict:
        return {"objective": self.objective, "trainings_per_process": self.trainings_per_process}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["objective"], None, state["trainings_per_process"])

    def training_errors(self) -> tuple:
        inner = self.objective.training_errors() if hasattr(self.objective, "training_errors") else ()
        return (*inner, RuntimeError)

    def __call__(self, config: dict) -> Any:
        import threading

        key = threading.get_ident()  # a worker with several threads trains in as many children
        if key not in self._children:
            self._children[key] = RecycledObjective(self.objective, self.trainings_per_process)
            _WORKER_OBJECTIVES.add(self)
        return self._children[key](config)

    def close(self) -> None:
        for child in list(self._children.values()):
            child.close()
        self._children.clear()

    def __enter__(self) -> "WorkerRecycled":
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            try:
                self.client.run(close_worker_children)
            except Exception:  # noqa: BLE001 - a cluster already gone took its workers' children with it
                pass


_WORKER_OBJECTIVES: "weakref.WeakSet[WorkerRecycled]" = weakref.WeakSet()  # those with children, in this process


def close_worker_children() -> int:
    """Run on a worker (``client.run``): stop the training children of every WorkerRecycled it holds."""
    live = list(_WORKER_OBJECTIVES)
    for objective in live:
        objective.close()
    return len(live)


if __name__ == "__main__":  # the child: python -m cbo.tinyml.recycled READ_FD WRITE_FD
    _serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False))
