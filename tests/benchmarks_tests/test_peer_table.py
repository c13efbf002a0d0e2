"""bench_peers' table: the figures RESULTS.md quotes come from it, so its arithmetic is checked on a known cache."""

import json

import pytest

import _harness
import bench_peers  # benchmarks/ is on the path (tests/conftest.py)

SETTING = {"dataset": "digits", "label": None, "space": "paper-har", "target": "stm32f303k8", "runtime": "tflm",
           "dtype": "int8", "epochs": 10, "k": 3}


COMMITTED = bench_peers.CACHE_DIR


@pytest.fixture(autouse=True)
def _no_committed_caches(tmp_path_factory, monkeypatch):
    """Caches here are built from known rows: the committed caches, whose accuracies every Cache reads, stay out."""
    monkeypatch.setattr(bench_peers, "CACHE_DIR", tmp_path_factory.mktemp("committed-caches"))


def _trace(accs, deployable=None):
    deployable = deployable or [True] * len(accs)
    return [{"key": f"c{i}", "accuracy": a, "deployable": d} for i, (a, d) in enumerate(zip(accs, deployable))]


def _cache(tmp_path, runs):
    path = tmp_path / "peers.jsonl"
    rows = [{"method": m, "seed": s, "trace": tr, "setting": SETTING, "rule": bench_peers.TOOLCHAIN_RULE,
             "version": v} for m, s, tr, v in runs]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return bench_peers.Cache(path, SETTING)


def test_rows_per_budget_come_from_the_longest_run_and_count_wins_seed_by_seed(tmp_path):
    ucb_v = bench_peers.method_version("exact-ucb@4")
    cache = _cache(tmp_path, [
        ("exact-ucb@4", 0, _trace([0.5, 0.9, 0.6, 0.95]), ucb_v),
        ("exact-ucb@4", 1, _trace([0.7, 0.8, 0.8, 0.8]), ucb_v),
        ("svmcbo@4", 0, _trace([0.6, 0.7, 0.99, 0.2], [True, True, False, True]), 1),
        ("svmcbo@4", 1, _trace([0.8, 0.1, 0.1, 0.85]), 1),
        ("exact-ucb@8", 1, _trace([0.99] * 8), ucb_v - 1),  # an older version's (longer) run: never reported
    ])
    text = bench_peers.table(cache, ["exact-ucb", "svmcbo"], [2, 4], 2, SETTING)
    rows = {(b, line.split("|")[1].strip()): [c.strip() for c in line.split("|")[1:-1]]
            for b, part in zip([2, 4], text.split("**Budget")[1:]) for line in part.splitlines()
            if line.startswith("| exact-ucb") or line.startswith("| svmcbo")}
    # budget 2 = the first two trainings of the 4-training runs: exact-ucb 0.9 / 0.8, svmcbo 0.7 / 0.8
    assert rows[(2, "exact-ucb")][2] == "85.00 ± 7.07"
    assert rows[(2, "svmcbo")][2] == "75.00 ± 7.07"
    assert rows[(2, "svmcbo")][7] == "1/1/0"  # exact-ucb vs svmcbo: seed 0 won, seed 1 tied
    # budget 4: the undeployable 0.99 does not count; exact-ucb 0.95 / 0.8, svmcbo 0.7 / 0.85
    assert rows[(4, "exact-ucb")][2] == "87.50 ± 10.61"
    assert rows[(4, "svmcbo")][7] == "1/0/1"
    assert rows[(4, "svmcbo")][3] == "0.5"  # wasted trainings, mean per run: one in seed 0, none in seed 1
    assert "Per seed (best deployable %, seeds 0-1): exact-ucb 95.00 / 80.00; svmcbo 70.00 / 85.00" in text


def test_shrinks_search_reference_reads_every_peer_cache_and_only_current_versions(tmp_path, monkeypatch):
    import bench_shrink

    setting = {**SETTING, "epochs": bench_shrink.SEARCH_EPOCHS, "k": bench_shrink.SEARCH_FOLDS}
    n = bench_shrink.SEARCH_BUDGET
    ucb_v = bench_peers.method_version("exact-ucb@1")
    rows = {"peers-digits-a.jsonl": [("exact-ucb", f"@{2 * n}", 0, [0.5] * (n - 1) + [0.9] + [0.99] * n, ucb_v)],
            "peers-digits-b.jsonl": [("exact-ucb", f"@{n}", 1, [0.7] * n, ucb_v),
                                     ("exact-ucb", f"@{n}", 2, [0.95] * n, ucb_v - 1)]}  # an older version: left out
    for name, runs in rows.items():
        (tmp_path / name).write_text("".join(json.dumps({"method": m + b, "seed": s, "trace": _trace(tr), "version": v,
                                                         "setting": setting}) + "\n" for m, b, s, tr, v in runs))
    monkeypatch.setattr(bench_shrink, "CACHE_DIR", tmp_path)
    overall, _ = bench_shrink.search_reference("exact-ucb", "digits", None, "stm32f303k8", 1e9)
    assert overall == [0.9, 0.7]  # seed 0: the first SEARCH_BUDGET trainings of the longer run
    # runs on another objective (more epochs) are not this one's reference
    assert bench_shrink.search_reference("exact-ucb", "digits", None, "stm32f303k8", 1e9, epochs=20)[0] == []


def test_float32_rounding_is_a_tie(tmp_path):
    v = bench_peers.method_version("exact-ucb@2")
    cache = _cache(tmp_path, [("exact-ucb@2", 0, _trace([0.5, 0.9753086566925049]), v),
                              ("svmcbo@2", 0, _trace([0.5, 0.9753086368242899]), 1)])  # 79/81 summed in two orders
    row = next(line.split("|") for line in bench_peers.table(cache, ["exact-ucb", "svmcbo"], [2], 1, SETTING).splitlines()
               if line.startswith("| svmcbo"))
    assert row[8].strip() == "0/1/0"  # exact-ucb vs svmcbo: a tie


def test_a_command_without_cache_continues_the_committed_runs(monkeypatch):
    monkeypatch.setattr(bench_peers, "CACHE_DIR", COMMITTED)
    for dataset, target in (("digits", "stm32f303k8"), ("digits", "stm32l476rg"), ("har-watch", "stm32f303k8"),
                            ("har-watch", "stm32l476rg"), ("har-basicmotions", "stm32f303k8")):
        assert bench_peers.default_cache(dataset, target).exists(), (dataset, target)


def test_summary_counts_the_first_methods_wins_and_marks_missing_seeds(tmp_path, monkeypatch):
    import peer_summary

    runs = [("exact-ei@4", 0, [0.5, 0.9, 0.6, 0.95]), ("exact-ei@4", 1, [0.7, 0.8, 0.8, 0.8]),
            ("svmcbo@4", 0, [0.6, 0.7, 0.7, 0.7]), ("svmcbo@4", 1, [0.8, 0.1, 0.1, 0.85]),
            ("tpe+memsim@4", 0, [0.93, 0.93, 0.93, 0.93])]  # one seed of two stored
    undeployable = {("svmcbo@4", 1): [True, False, False, True]}  # its two 0.1 trainings did not fit
    (tmp_path / "peers-digits-stm32f303k8.jsonl").write_text("".join(
        json.dumps({"method": m, "seed": s, "trace": _trace(tr, undeployable.get((m, s))), "setting": SETTING,
                    "rule": bench_peers.TOOLCHAIN_RULE, "version": bench_peers.method_version(m)}) + "\n"
        for m, s, tr in runs))
    monkeypatch.setattr(peer_summary, "SETTINGS", [("digits", None, "stm32f303k8", "digits, tiny")])
    rows = peer_summary.summary_rows(["exact-ei", "svmcbo", "tpe+memsim", "nsga2"], [2, 4], 2, cache_dir=tmp_path)
    cells = [[c.strip() for c in row.split("|")[1:-1]] for row in rows]
    # budget 2: exact-ei 0.9 / 0.8, svmcbo 0.7 / 0.8 -> exact-ei wins seed 0, ties seed 1
    assert cells[0] == ["digits, tiny", "2", "85.00 ± 7.07", "75.00 ± 7.07 (1/1/0)", "93.00 ± 0.00 [1 seed] (0/0/1)", "-"]
    # budget 4: exact-ei 0.95 / 0.8, svmcbo 0.7 / 0.85
    assert cells[1][3] == "77.50 ± 10.61 (1/0/1)"
    wasted = [[c.strip() for c in row.split("|")[1:-1]]
              for row in peer_summary.summary_rows(["exact-ei", "svmcbo", "tpe+memsim"], [2, 4], 2, wasted=True,
                                                          cache_dir=tmp_path)]
    assert wasted[0][2:] == ["0.0 (0 %)", "0.5 (25 %)", "0.0 (0 %) [1 seed]"]  # svmcbo: 0 and 1 of 2 trainings
    assert wasted[1][3] == "1.0 (25 %)"  # 0 and 2 of 4


def test_accuracies_are_shared_across_boards_but_runs_are_not(tmp_path):
    other = {**SETTING, "target": "stm32l476rg"}
    (tmp_path / "peers-digits-stm32l476rg.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        {"config_key": "c1", "accuracy": 0.9, "seconds": 12.0, "setting": {k: other[k] for k in bench_peers.ACCURACY_KEYS}},
        {"config_key": "c2", "accuracy": 0.8, "seconds": 5.0, "setting": {**other, "epochs": 1}},  # another objective
        {"method": "random@2", "seed": 0, "trace": _trace([0.9, 0.9]), "setting": other, "version": 1}]))
    cache = bench_peers.Cache(tmp_path / "peers-digits-stm32f303k8.jsonl", SETTING)
    assert cache.accuracy == {"c1": 0.9} and cache.training_seconds("c1") == 12.0
    assert cache.results == {}  # the other board's runs judged deployability on that board
    assert cache.accuracy_of("c1", lambda: 1 / 0) == 0.9  # not trained again


def test_a_stored_run_keeps_the_cpu_and_library_versions_it_ran_with(tmp_path):
    cache = bench_peers.Cache(tmp_path / "peers.jsonl", SETTING)
    cache.store({"method": "random@2", "seed": 0, "best": 0.9, "trace": _trace([0.9, 0.8])})
    row = json.loads((tmp_path / "peers.jsonl").read_text().splitlines()[-1])
    import numpy
    import scipy
    assert row["libraries"]["numpy"] == numpy.__version__ and row["libraries"]["scipy"] == scipy.__version__
    assert set(row["libraries"]) == set(_harness.LIBRARIES) and row["libraries"]["tensorflow"]  # or -cpu
    assert row["cpu"] and row["cpu"] != "?"  # another CPU can take another path (RESULTS.md)
    assert bench_peers.Cache(tmp_path / "peers.jsonl", SETTING).results[("random@2", 0)]["trace"][0]["accuracy"] == 0.9


def test_a_trained_accuracy_keeps_the_cpu_it_was_trained_on(tmp_path):
    cache = bench_peers.Cache(tmp_path / "peers.jsonl", SETTING)
    cache.accuracy_of("c1", lambda: 0.5)
    row = json.loads((tmp_path / "peers.jsonl").read_text().splitlines()[-1])
    assert row["config_key"] == "c1" and row["cpu"] == _harness.cpu_model()
    assert bench_peers.Cache(tmp_path / "peers.jsonl", SETTING).accuracy == {"c1": 0.5}


def test_the_cpu_name_tells_avx2_and_avx512_machines_apart():
    assert _harness.simd_level({"fpu", "avx2"}) == "AVX2"
    assert _harness.simd_level({"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}) == "AVX-512 BF16"
    assert _harness.simd_level({"avx2", "avx512f"}) == "AVX-512"
    assert _harness.simd_level({"sse4_2"}) == ""


def test_a_cache_in_another_folder_reads_the_committed_accuracies_but_not_their_runs(tmp_path, monkeypatch):
    committed = tmp_path / "cache"
    committed.mkdir()
    (committed / "peers-digits-stm32f303k8.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        {"config_key": "c1", "accuracy": 0.9, "seconds": 12.0, "setting": {k: SETTING[k] for k in bench_peers.ACCURACY_KEYS}},
        {"method": "random@2", "seed": 0, "trace": _trace([0.9, 0.9]), "setting": SETTING, "version": 1}]))
    monkeypatch.setattr(bench_peers, "CACHE_DIR", committed)
    (tmp_path / "rerun").mkdir()
    cache = bench_peers.Cache(tmp_path / "rerun" / "peers-digits-stm32f303k8.jsonl", SETTING)
    assert cache.accuracy == {"c1": 0.9} and cache.results == {}
