"""compare_runs: which re-runs took the committed runs' path, and where the others left it."""

import json

import pytest

import compare_runs  # benchmarks/ is on the path (tests/conftest.py)
from test_peer_table import SETTING


def _write(folder, runs):
    folder.mkdir()
    rows = [{"method": m, "seed": s, "best": max(a for a, _ in trace), "setting": SETTING, "version": 1,
             "trace": [{"key": k, "accuracy": a, "deployable": True} for a, k in trace]} for m, s, trace in runs]
    (folder / "peers-digits-stm32f303k8.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_same_paths_and_where_the_others_left(tmp_path):
    _write(tmp_path / "old", [("tpe+memsim@4", 0, [(0.5, "a"), (0.6, "b"), (0.7, "c"), (0.9, "d")]),
                              ("tpe+memsim@4", 1, [(0.5, "a"), (0.6, "b"), (0.7, "c"), (0.8, "e")])])
    _write(tmp_path / "new", [("tpe+memsim@4", 0, [(0.5, "a"), (0.6, "b"), (0.7, "c"), (0.9, "d")]),
                              ("tpe+memsim@4", 1, [(0.5, "a"), (0.6, "b"), (0.4, "x"), (0.95, "y")])])
    rows = compare_runs.compare(tmp_path / "new", tmp_path / "old", [2, 4])
    two, four = ([c.strip("| ") for c in next(r for r in rows if f"| {b} |" in r).split(" | ")] for b in (2, 4))
    assert two[3:6] == ["2", "2", "-"]                 # both seeds identical over their first two trainings
    assert four[3:6] == ["2", "1", "3"]                # seed 1 left the path at its third training
    assert four[6] == "85.00 ± 7.07" and four[7] == "92.50 ± 3.54"  # best then 0.9 / 0.8, now 0.9 / 0.95


def test_a_folder_that_is_not_there_is_one_sentence(tmp_path):
    with pytest.raises(SystemExit) as e:
        compare_runs.main([str(tmp_path / "missing")])
    assert "is not a folder of bench_peers caches" in str(e.value)
