"""The main job searches a space chosen for the data's shape, says which, and `--space` still chooses."""

import numpy as np
import pytest

from autotinyml_cli.main import main
from cbo.tinyml import space_for_data

QUICK = ["--trainings", "1", "--epochs", "1", "--k", "2", "--confirm", "0", "--batch-size", "32"]


@pytest.mark.parametrize("shape, chosen", [((100, 6), "ds-cnn-1d"), ((24, 1), "ds-cnn-1d"), ((32, 32, 3), "ds-cnn"),
                                           ((8, 8), "paper-har"), ((8, 8, 1), "paper-har"), ((13,), "paper-har"),
                                           ((8, 6), "paper-har")])
def test_the_space_follows_the_datas_shape(shape, chosen):
    name, why = space_for_data(shape)
    assert name == chosen and "x".join(map(str, shape)) in why


def test_search_without_space_says_what_it_chose_and_the_papers_space_stays_one_flag_away(tmp_path, capsys,
                                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["search", *QUICK]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("AutoTinyML search: ds-cnn-1d (chosen for 100x6 sensor windows; --space chooses "
                            "another) on har-basicmotions"), first
    assert main(["search", *QUICK, "--space", "paper-har"]) == 0
    assert capsys.readouterr().err.startswith("AutoTinyML search: paper-har on har-basicmotions")
    studies = sorted(p.name for p in (tmp_path / "autotinyml-studies").glob("*.sqlite"))
    assert [s.split("-STM32")[0] for s in studies] == ["har-basicmotions-ds-cnn-1d", "har-basicmotions-paper-har"]


def test_long_one_dimensional_samples_get_a_hint_to_save_them_as_one_sensors_series(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "series.npz", X=rng.normal(size=(60, 96)).astype(np.float32), y=np.arange(60) % 2)
    assert main(["search", "--dataset", "series.npz", *QUICK]) == 0
    err = capsys.readouterr().err
    assert "paper-har (chosen for 96 feature vectors" in err
    assert "note: samples of 96 values are searched as feature vectors; if they are one sensor's time series, save X " \
           "with shape (N, 96, 1)" in err
