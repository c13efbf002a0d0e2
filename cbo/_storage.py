"""Study storage: every finished trial is written as it finishes, so nothing is lost.

SQLite (standard library) in WAL mode; one transaction per trial; finished
trials are never changed. A ``schema_version`` table guards the format.
Non-finite numbers are stored as text ('nan', 'inf') so they survive.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Protocol

from cbo._errors import StorageError

__all__ = ["TrialState", "FrozenTrial", "Storage", "InMemoryStorage", "SQLiteStorage", "read_study_meta"]

SCHEMA_VERSION = 1


class TrialState(IntEnum):
    """What became of a trial."""

    RUNNING = 0
    COMPLETE = 1      # trained and scored
    FAIL = 2          # training raised or gave NaN; the error is kept
    INFEASIBLE = 3    # found undeployable before training; a label for the SVM only
    LABELLED = 4      # found deployable, not trained (a Phase-1 label)


@dataclass(frozen=True)
class FrozenTrial:
    """A finished trial, as stored."""

    number: int
    state: TrialState
    config: dict
    phase: str = ""
    value: float | None = None          # mean k-fold accuracy
    value_std: float | None = None
    fold_scores: tuple = ()
    feasible: bool | None = None        # deployable, as far as known
    footprint: dict = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    seed: int | None = None
    attrs: dict = field(default_factory=dict)


class Storage(Protocol):
    """What a study stores its trials in (``InMemoryStorage``, ``SQLiteStorage``, or your own): finished trials,
    appended as they finish and never changed, and the study's settings."""

    def add(self, trial: FrozenTrial) -> FrozenTrial: ...
    def trials(self) -> list[FrozenTrial]: ...
    def set_meta(self, meta: dict) -> None: ...
    def get_meta(self) -> dict: ...
    def close(self) -> None: ...


def _num(v):
    if v is None:
        return None
    v = float(v)
    return repr(v) if not math.isfinite(v) else v


def _unnum(v):
    return None if v is None else float(v)


class InMemoryStorage:
    """Trials kept in a list (tests, throw-away runs)."""

    def __init__(self):
        self._trials: list[FrozenTrial] = []
        self.meta: dict = {}

    def add(self, trial: FrozenTrial) -> FrozenTrial:
        self._trials.append(trial)
        return trial

    def trials(self) -> list[FrozenTrial]:
        return list(self._trials)

    def set_meta(self, meta: dict) -> None:
        self.meta = dict(meta)

    def get_meta(self) -> dict:
        return dict(self.meta)

    def close(self) -> None:
        pass


class SQLiteStorage:
    """Trials in an SQLite file; reopening the file continues the study.

    One process at a time: opening takes an exclusive lock on the file
    (``flock``, released when the process ends, even by a crash), and a second
    process that opens it with ``exclusive=True`` stops at once with a
    StorageError naming the holder. ``exclusive=False`` opens for reading.
    """

    def __init__(self, path: "str | Path", exclusive: bool = True):
        self.path = Path(path)
        self._lock_fd = None
        if exclusive:
            self._lock()
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript("""
                CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS trials (
                    number INTEGER PRIMARY KEY, state INTEGER NOT NULL, phase TEXT, config TEXT NOT NULL,
                    value, value_std, fold_scores TEXT, feasible INTEGER, footprint TEXT, error TEXT,
                    seconds REAL, seed INTEGER, attrs TEXT, finished_at REAL);
                CREATE TABLE IF NOT EXISTS holder (pid INTEGER, host TEXT, since REAL);
            """)
            row = self._db.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                self._db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise StorageError(f"Study file {str(self.path)!r} has schema version {row[0]}, this AutoTinyML "
                                   f"writes version {SCHEMA_VERSION}; start a new study file.")
            if self._lock_fd is not None:
                self._record_holder()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StorageError(f"Study file {str(self.path)!r} cannot be opened as an SQLite database ({exc}); "
                               "pass another --study path.") from None

    def _lock(self) -> None:
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"Cannot open study file {str(self.path)!r} ({exc.strerror}); pass a --study path "
                               "in a folder you can write to.") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise _in_use(self.path) from None
        self._lock_fd = fd

    def _record_holder(self) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM holder")
            self._db.execute("INSERT INTO holder VALUES (?, ?, ?)", (os.getpid(), socket.gethostname(), time.time()))

    def add(self, t: FrozenTrial) -> FrozenTrial:
        with self._db:  # one transaction per finished trial
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO trials VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (t.number, int(t.state), t.phase, json.dumps(t.config), _num(t.value), _num(t.value_std),
                 json.dumps([_num(v) for v in t.fold_scores]), None if t.feasible is None else int(t.feasible),
                 json.dumps(t.footprint), t.error, t.seconds, t.seed, json.dumps(t.attrs), time.time()))
        return t

    def trials(self) -> list[FrozenTrial]:
        rows = self._db.execute(
            "SELECT number, state, phase, config, value, value_std, fold_scores, feasible, footprint, error, "
            "seconds, seed, attrs FROM trials ORDER BY number").fetchall()
        return [FrozenTrial(
            number=r[0], state=TrialState(r[1]), phase=r[2] or "", config=json.loads(r[3]), value=_unnum(r[4]),
            value_std=_unnum(r[5]), fold_scores=tuple(_unnum(v) for v in json.loads(r[6] or "[]")),
            feasible=None if r[7] is None else bool(r[7]), footprint=json.loads(r[8] or "{}"), error=r[9] or "",
            seconds=r[10] or 0.0, seed=r[11], attrs=json.loads(r[12] or "{}")) for r in rows]

    def set_meta(self, meta: dict) -> None:
        with self._db:
            self._db.execute("BEGIN")
            for k, v in meta.items():
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (k, json.dumps(v)))

    def get_meta(self) -> dict:
        return {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}

    def close(self) -> None:
        if getattr(self, "_db", None) is not None:
            self._db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None


def read_study_meta(path: "str | Path") -> dict:
    """A study file's settings, read without writing to it ({} for a file that is missing or empty): a search
    compares them with its own before it opens the file, so a file it refuses is left byte-identical."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        if path.is_dir():
            raise StorageError(f"Study path {str(path)!r} is a folder; pass a file path, e.g. --study my-study.sqlite.")
        return {}
    _refuse_if_held(path)
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"schema_version", "meta", "trials"} <= tables:
                raise StorageError(f"Study file {str(path)!r} is an SQLite database but not an AutoTinyML study; "
                                   "pass another --study path.")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            if row is not None and row[0] != SCHEMA_VERSION:
                raise StorageError(f"Study file {str(path)!r} has schema version {row[0]}, this AutoTinyML writes "
                                   f"version {SCHEMA_VERSION}; start a new study file.")
            return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"Study file {str(path)!r} cannot be opened as an SQLite database ({exc}); pass another "
                           "--study path.") from None
    except OSError as exc:
        raise StorageError(f"Cannot read study file {str(path)!r} ({exc.strerror}); pass another --study path.") from None


def _refuse_if_held(path: Path) -> None:
    """The exclusive lock's answer, asked without keeping the lock (nor creating or writing the file)."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # the open for writing says why, later
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise _in_use(path) from None
    finally:
        os.close(fd)  # releases the probe's lock, if it got one


def _in_use(path: Path) -> StorageError:
    return StorageError(f"Study file {str(path)!r} is in use by another search{_holder(path)}; wait for it to finish "
                        "(then run the same command to continue) or pass another --study.")


def _holder(path: Path) -> str:
    """' (process 123 on host, since 12:00:01)' from the study file, or '' when it cannot be read."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
        row = db.execute("SELECT pid, host, since FROM holder").fetchone()
        db.close()
    except sqlite3.DatabaseError:
        return ""
    if not row:
        return ""
    return f" (process {row[0]} on {row[1]}, since {time.strftime('%H:%M:%S', time.localtime(row[2]))})"
