"""`autotinyml report`: plots and a page from study files, checked in a real browser where one is installed."""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import cbo
from autotinyml_cli.main import main
from autotinyml_cli.report import write_report
from cbo.tinyml.study_plots import board_table, load_study
from cbo.tinyml import MemsimConstraint, get_template

SHAPE, N_CLASSES = (8, 8, 1), 10


def _study(path: Path, method: str, seed: int, target="STM32F303K8", trainings=6) -> Path:
    """A study as `autotinyml search` stores it, with a made-up accuracy instead of training (fast, repeatable)."""
    template = get_template("paper-har")
    constraint = MemsimConstraint(template, SHAPE, N_CLASSES, target, "tflm", "int8")
    storage = cbo.SQLiteStorage(path)
    storage.set_meta({"dataset": "digits", "space": template.space.to_dict(), "template": template.name,
                      "target": target, "runtime": "tflm", "dtype": "int8", "compression": "none",
                      "method": method, "seed": seed, "k": 3, "epochs": 1, "input_shape": list(SHAPE),
                      "n_classes": N_CLASSES})
    sampler = cbo.SAMPLERS[method](seed=seed)
    study = cbo.Study(template.space, sampler, storage=storage, constraint=constraint, seed=seed)
    rng = np.random.default_rng(seed)
    study.optimize(lambda c: 0.5 + 0.4 * np.log2(c["filters"]) / 8 + 0.05 * rng.random(), trainings)
    storage.close()
    return path


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    d = tmp_path_factory.mktemp("studies")
    return [_study(d / f"{m}-{s}.sqlite", m, s) for m in ("svmcbo", "feasible-random") for s in (0, 1)]


def test_report_writes_every_plot_and_a_page_that_names_them(studies, tmp_path):
    page = write_report(studies, tmp_path / "rep")
    html = page.read_text()
    images = re.findall(r'<img src="([^"]+)"', html)
    assert sorted(images) == sorted(["convergence.png", "accuracy_vs_ram.png", "accuracy_vs_flash.png",
                                     "region.png", "memory_timeline.png"])
    for name in images:
        data = (tmp_path / "rep" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name
    assert "svmcbo seed 0" in html and "feasible-random seed 1" in html


def test_board_table_gives_each_board_the_best_trial_that_fits_it(studies):
    records = [load_study(p) for p in studies]
    rows = {r["board"]: r for r in board_table(records)}
    tiny, big = rows["STM32F303K8"], rows["STM32L476RG"]
    # every trained trial of these studies was chosen to fit the tiny board, so a bigger board does at least as well
    assert tiny["trial"] is not None and big["accuracy"] >= tiny["accuracy"]
    best = max((t.value for r in records for t in r.trained() if t.value is not None))
    assert big["accuracy"] == best
    # and the chosen trial really fits, re-judged by memsim on that board
    rec = next(r for r in records if r.path.name == big["study"])
    trial = next(t for t in rec.trials if t.number == big["trial"])
    assert rec.constraint("STM32L476RG")(trial.config)[0]


def test_report_refuses_studies_of_different_boards(studies, tmp_path):
    other = _study(tmp_path / "big.sqlite", "svmcbo", 0, target="STM32L476RG", trainings=3)
    code = main(["report", str(studies[0]), str(other), "--out", str(tmp_path / "r")])
    assert code == 2 and not (tmp_path / "r").exists()


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)")
def test_report_page_loads_every_image_in_headless_chromium(studies, tmp_path):
    page = write_report(studies, tmp_path / "rep")
    base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000"]
    dom = subprocess.run(base + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    loaded = re.search(r'data-images-loaded="(\d+)/(\d+)"', dom)
    assert loaded, "the page's load handler did not run"
    assert loaded.group(1) == loaded.group(2) == "5"
    shot = tmp_path / "shot.png"
    subprocess.run(base + ["--window-size=1100,2400", f"--screenshot={shot}", page.as_uri()], capture_output=True,
                   timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20000


def test_a_search_without_labels_still_gets_memsims_exact_region(tmp_path):
    study = _study(tmp_path / "exact.sqlite", "exact-ucb", 0)
    record = load_study(study)
    assert not any(t.feasible is False for t in record.trials)  # exact-ucb asks memsim; it stores no undeployable label
    page = write_report([study], tmp_path / "rep")
    assert "region.png" in page.read_text() and (tmp_path / "rep" / "region.png").stat().st_size > 5000


def test_a_study_with_an_energy_budget_reports_boards_whose_power_is_unpublished(tmp_path):
    # the P0 probe: `search --energy-uj` exported, then "no report written (... paper-tiny's power ...)" and left a
    # report folder without index.html; a board with no published power cannot judge the budget: its row says so
    path = _study(tmp_path / "energy.sqlite", "feasible-random", 0, target="STM32L4R5ZI")
    store = cbo.SQLiteStorage(path)
    store.set_meta({**store.get_meta(), "energy_uj": 1e6})
    store.close()
    rows = {r["board"]: r for r in board_table([load_study(path)])}
    assert rows["paper-tiny"]["trial"] is None and "no published power" in rows["paper-tiny"]["none"]
    assert rows["STM32L4R5ZI"]["trial"] is not None
    page = write_report([path], tmp_path / "report")
    assert page.name == "index.html" and page.exists()


def test_a_report_that_cannot_be_written_leaves_no_half_written_folder(tmp_path, monkeypatch):
    import autotinyml_cli.report as report

    path = _study(tmp_path / "s.sqlite", "feasible-random", 0)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(report, "plot_accuracy_vs", broken)
    with pytest.raises(OSError):
        write_report([path], tmp_path / "report")
    assert not (tmp_path / "report").exists()
