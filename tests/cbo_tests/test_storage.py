"""Nothing finished is lost: SQLite storage and resume after SIGKILL."""

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import cbo

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    import cbo
    space = cbo.Space([cbo.Real("x", low=0, high=1), cbo.Ordinal("k", choices=(1, 2, 3))])
    def feasible(c):
        return c["x"] < 0.8, {{"ram_bytes": int(c["x"] * 1000)}}
    def objective(c):
        time.sleep({sleep})
        return {{"accuracy": 1 - abs(c["x"] - 0.5) + 0.01 * c["k"], "fold_scores": [0.1, 0.2]}}
    study = cbo.Study(space, cbo.SVMCBOSampler(n_init=4, n_phase1=4, n_init_train=2, seed=5),
                      storage=cbo.SQLiteStorage({path!r}), constraint=feasible, seed=5)
    study.optimize(objective, {n})
    print("done", study.n_trained, flush=True)
""")


def _script(path, n, sleep):
    return SCRIPT.format(root=str(ROOT), path=str(path), n=n, sleep=sleep)


def test_resume_after_sigkill_keeps_every_finished_trial(tmp_path):
    db = tmp_path / "study.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", _script(db, 40, 0.4)])
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.3)
        if db.exists() and cbo.SQLiteStorage(db, exclusive=False).trials() and \
                sum(t.state == cbo.TrialState.COMPLETE for t in cbo.SQLiteStorage(db, exclusive=False).trials()) >= 3:
            break
    time.sleep(0.2)  # now in the middle of a training
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = cbo.SQLiteStorage(db, exclusive=False).trials()
    trained_before = sum(t.state == cbo.TrialState.COMPLETE for t in before)
    assert trained_before >= 3
    for t in before:
        if t.state == cbo.TrialState.COMPLETE:
            assert t.value is not None and t.fold_scores == (0.1, 0.2) and "ram_bytes" in t.footprint
    # continue the same study to 6 trainings: the finished ones are kept, not redone
    out = subprocess.run([sys.executable, "-c", _script(db, max(6, trained_before + 2), 0.0)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    after = cbo.SQLiteStorage(db, exclusive=False).trials()
    assert after[: len(before)] == before
    # the resumed study equals one that was never interrupted
    fresh = tmp_path / "fresh.sqlite"
    subprocess.run([sys.executable, "-c", _script(fresh, max(6, trained_before + 2), 0.0)], check=True,
                   capture_output=True, timeout=300)
    uninterrupted = cbo.SQLiteStorage(fresh, exclusive=False).trials()
    assert [(t.config, t.state) for t in after] == [(t.config, t.state) for t in uninterrupted]


def test_storage_round_trip_and_non_finite_values(tmp_path):
    store = cbo.SQLiteStorage(tmp_path / "s.sqlite")
    t = cbo.FrozenTrial(0, cbo.TrialState.COMPLETE, {"a": 1}, phase="p", value=0.5, fold_scores=(float("inf"), 0.5),
                        feasible=True, footprint={"ram_bytes": 10}, error="", seconds=1.5, seed=3)
    store.add(t)
    store.set_meta({"space": {"a": 1}})
    again = cbo.SQLiteStorage(tmp_path / "s.sqlite", exclusive=False)
    assert again.trials() == [t]
    assert again.get_meta() == {"space": {"a": 1}}


def test_a_file_that_is_not_a_database(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(cbo.StorageError, match="bad.sqlite"):
        cbo.SQLiteStorage(bad).trials()
