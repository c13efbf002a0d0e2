"""`autotinyml experiment paper-har --quick`: the papers' pipeline end to end, in the slides' layout."""

import csv

import pytest

from autotinyml_cli.main import main


@pytest.mark.toolchain
@pytest.mark.slow
def test_quick_paper_har_experiment_writes_the_slides_tables(tmp_path, capsys):
    out = tmp_path / "exp"
    assert main(["experiment", "paper-har", "--quick", "--out", str(out)]) == 0
    md = (out / "tables.md").read_text()
    # the baseline deploys where the slides say it does: big board only with weight sharing, never the tiny one
    assert "| Deployable paper-big | NO [NO] | YES [YES] | YES [YES] |" in md
    assert "| Deployable paper-tiny | NO [NO] | NO [NO] | NO [NO] |" in md
    # every board x compression cell got a confirmed, deployable winner
    assert "| Seeds without a confirmed winner | 0/1 | 0/1 | 0/1 | 0/1 |" in md
    rows = list(csv.DictReader((out / "tables.csv").open()))
    roms = {(r["board"], r["compression"]): float(r["value"]) for r in rows
            if r["section"] == "autotinyml" and r["metric"] == "rom_kib"}
    assert roms[("paper-tiny", "x8")] <= 60_000 / 1024 and roms[("paper-tiny", "x4")] <= 60_000 / 1024
    for cell in ("paper-big-none", "paper-big-x4", "paper-tiny-x4", "paper-tiny-x8"):
        assert (out / cell / "report" / "index.html").exists()
        assert (out / cell / "export-seed0" / "report.json").exists()
    # a second run reuses the baseline and continues the finished studies (only the finalists are retrained)
    capsys.readouterr()
    assert main(["experiment", "paper-har", "--quick", "--out", str(out)]) == 0
    assert "Continuing study" in capsys.readouterr().err
    # another method fills the same tables beside SVM-CBO's, reusing the baseline, leaving SVM-CBO's files alone
    before = (out / "tables.md").read_text()
    assert main(["experiment", "paper-har", "--quick", "--method", "exact-ei", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "exact-ei on paper-tiny, compression x8, seed 0" in err and "Continuing study" not in err
    md = (out / "tables-exact-ei.md").read_text()
    assert "## AutoTinyML (exact-ei) per board and compression" in md
    assert "| Seeds without a confirmed winner | 0/1 | 0/1 | 0/1 | 0/1 |" in md
    assert md.split("## AutoTinyML")[0] == before.split("## AutoTinyML")[0]  # the same baseline rows
    assert (out / "tables.md").read_text() == before
    assert (out / "paper-tiny-x8-exact-ei" / "export-seed0" / "report.json").exists()
