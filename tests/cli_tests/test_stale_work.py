"""Stored work never answers for other work: a study or a shrink state continues only on the same data, space,
board and runtime. Each test makes the work once, changes one thing, and checks the refusal: one sentence naming
what changed, exit code 2, nothing trained, the stored file byte-identical."""

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cbo
from autotinyml_cli.main import main

pytestmark = pytest.mark.toolchain

QUICK = ["--trainings", "1", "--epochs", "1", "--k", "2", "--confirm", "0", "--batch-size", "32"]
BOARD = """[[board]]
name = "my-board"
flash_bytes = "64KiB"
ram_regions = "16KiB"
clock_hz = {clock}
"""
SPACE = """template = "paper-har"
[params.filters]
choices = [{filters}]
"""


def _data(path: Path, seed: int) -> None:
    """Sensor-like windows, 3 classes, 60 samples: the same shape and classes for every seed, other content."""
    rng = np.random.default_rng(seed)
    y = np.arange(60) % 3
    X = rng.normal(size=(60, 20, 3)).astype("float32") + y[:, None, None]
    np.savez(path, X=X, y=y)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One study made once: data, a board file, a space file; the tests copy it and change one thing."""
    folder = tmp_path_factory.mktemp("made")
    _data(folder / "mine.npz", seed=0)
    (folder / "board.toml").write_text(BOARD.format(clock=72_000_000))
    (folder / "space.toml").write_text(SPACE.format(filters="4, 8"))
    argv = ["search", "--dataset", "mine.npz", "--target", "my-board", "--target-file", "board.toml",
            "--space", "space.toml", *QUICK]
    done = subprocess.run([sys.executable, "-m", "autotinyml_cli.main", *argv], cwd=folder, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    studies = list((folder / "autotinyml-studies").glob("*.sqlite"))
    assert len(studies) == 1
    return folder, argv, studies[0].relative_to(folder)


@pytest.fixture
def work(made, tmp_path, monkeypatch):
    folder, argv, study = made
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path, list(argv), tmp_path / study


def _refused(argv, study: Path, capsys, *expected) -> str:
    before = _digest(study)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.startswith("autotinyml:")]
    assert len(lines) == 1 and "Traceback" not in err and "trainings" not in err.split("autotinyml:")[0], err
    for phrase in expected:
        assert phrase in lines[0], lines[0]
    assert _digest(study) == before  # a refused study file is left byte-identical (no holder row written)
    return lines[0]


def test_the_same_command_continues_the_study(work, capsys):
    folder, argv, study = work
    assert main(argv) == 0
    assert "Continuing study" in capsys.readouterr().err


def test_other_data_under_the_same_file_name_is_refused(work, capsys):
    folder, argv, study = work
    _data(folder / "mine.npz", seed=1)  # cp other.npz mine.npz
    _refused(argv, study, capsys, "the data's content", "mine", "start anew")


def test_another_board_figure_is_refused(work, capsys):
    folder, argv, study = work
    (folder / "board.toml").write_text(BOARD.format(clock=48_000_000))
    _refused(argv, study, capsys, "the figures of board my-board")


def test_an_edited_space_file_is_refused(work, capsys):
    folder, argv, study = work
    (folder / "space.toml").write_text(SPACE.format(filters="4, 16"))
    _refused(argv, study, capsys, "the space")


def test_another_runtime_on_the_same_study_file_is_refused(work, capsys):
    folder, argv, study = work
    _refused(argv + ["--study", str(study), "--runtime", "xcubeai"], study, capsys, "runtime (stored 'tflm'")


def test_another_runtime_without_study_path_starts_its_own_study(work, capsys):
    folder, argv, study = work
    assert main(argv + ["--runtime", "xcubeai", "--dtype", "int8", "--compression", "none"]) == 0
    err = capsys.readouterr().err
    assert "Continuing study" not in err and "Study database:" in err
    assert len(list(study.parent.glob("*.sqlite"))) == 2


def test_a_study_made_before_studies_recorded_their_data_is_refused(work, capsys):
    folder, argv, study = work
    store = cbo.SQLiteStorage(study)
    meta = store.get_meta()
    store.close()
    import sqlite3

    with sqlite3.connect(study) as db:
        db.execute("DELETE FROM meta WHERE key = 'data_digest'")
    assert "data_digest" in meta
    _refused(argv, study, capsys, "before studies recorded their data's content")


def test_a_study_file_that_is_not_a_study_is_refused_untouched(work, capsys):
    folder, argv, study = work
    import sqlite3

    other = folder / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    _refused(argv + ["--study", str(other)], other, capsys, "not an AutoTinyML study")
    json_file = folder / "other.json"
    json_file.write_text(json.dumps({"a": 1}))
    _refused(argv + ["--study", str(json_file)], json_file, capsys, "cannot be opened as an SQLite database")
