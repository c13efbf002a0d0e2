"""memsim.footprint_many: the one batch entry, with footprint's figures and verdicts, and its error rules."""

import re
from pathlib import Path

import pytest

import memsim
from memsim._footprint import _full_footprint

ROOT = Path(__file__).resolve().parents[2]


def _chain(name, filters, kernel=3, act="relu"):
    return {"name": name, "layers": [
        {"type": "Input", "name": "x", "shape": [32, 3]},
        {"type": "Conv1D", "name": "c", "filters": filters, "kernel_size": kernel, "activation": act},
        {"type": "MaxPooling1D", "name": "p", "pool_size": 2}, {"type": "Flatten", "name": "f"},
        {"type": "Dense", "name": "d", "units": 4, "activation": "softmax"}]}


RESIDUAL = {"name": "res", "layers": [
    {"type": "Input", "name": "x", "shape": [16, 16, 3]},
    {"type": "Conv2D", "name": "a", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
    {"type": "Conv2D", "name": "b", "filters": 8, "kernel_size": 3, "padding": "same"},
    {"type": "Add", "name": "s", "inputs": ["a", "b"]}, {"type": "GlobalAveragePooling2D", "name": "g"},
    {"type": "Dense", "name": "o", "units": 3}]}


@pytest.mark.parametrize("runtime, dtype", [("tflm", "int8"), ("tflm", "float32"), ("xcubeai", "float32"),
                                            ("xcubeai", "int8")])
def test_many_networks_get_what_footprint_gives_each_one(runtime, dtype):
    models = [_chain("a", 4), _chain("a", 64, 5), RESIDUAL, _chain("b", 8, act="selu"), _chain("a", 4, kernel=40),
              _chain("a", 16), _chain("a", 4)]
    answers = memsim.footprint_many(models, "stm32f303k8", runtime, dtype)
    assert len(answers) == len(models)
    for model, answer in zip(models, answers):
        try:
            expected = _full_footprint(model, "stm32f303k8", runtime, dtype, "none", None, None)
        except memsim.ShapeError as exc:  # a window of 40 on 32 samples: the entry is the error, the rest answered
            assert isinstance(answer, memsim.ShapeError) and str(answer) == str(exc)
            continue
        assert answer.to_dict() == expected.to_dict()
    assert answers[0].to_dict() == answers[6].to_dict()


def test_footprint_raises_what_footprint_many_returns():
    with pytest.raises(memsim.ShapeError, match="does not fit"):
        memsim.footprint(_chain("a", 4, kernel=40), "stm32f303k8", "tflm")
    with pytest.raises(memsim.SpecError, match="Unknown runtime"):  # a bad option is raised, never returned
        memsim.footprint_many([_chain("a", 4)], "stm32f303k8", "tflite")
    assert memsim.footprint_many([], "stm32f303k8") == []


def test_latency_comes_from_the_time_model_on_both_paths():
    from targets import get_target

    board = get_target("stm32f303k8")
    fast = memsim.footprint(_chain("a", 8), board, "tflm", "int8")  # the batch kernel
    slow = memsim.footprint(memsim.load_graph(_chain("a", 8)), board, "tflm", "int8")  # the graph path
    assert fast.time_features == slow.time_features and 0 < sum(fast.time_features[:4]) <= fast.macc
    est = memsim.time_model().estimate(fast.time_features, board.clock_hz, board.core_class, "tflm", "int8")
    assert (fast.latency_ms, fast.latency_low_ms, fast.latency_high_ms) == (est.ms, est.low_ms, est.high_ms)
    assert (slow.latency_ms, slow.latency_high_ms, slow.latency_basis) == (fast.latency_ms, fast.latency_high_ms,
                                                                            fast.latency_basis)
    assert fast.latency_low_ms < fast.latency_ms < fast.latency_high_ms
    own = memsim.footprint(_chain("a", 8), board, "tflm", "int8", cycles_per_macc=4.0)  # the user's measurement
    assert own.latency_ms == own.latency_high_ms == memsim.latency_ms(own.macc, board.clock_hz, "int8", 4.0)
    assert memsim.latency_ms(1000, 1e6, "int8", digits=None) == 3.0


def test_no_package_outside_memsim_reaches_into_its_private_names():
    private = re.compile(r"from memsim[\w.]* import [^\n]*\b_\w+|memsim\.\w+\._(family|encode_slot|safety)\b")
    for package in ("cbo", "validation", "autotinyml_cli", "targets"):
        for path in (ROOT / package).rglob("*.py"):
            hits = [line for line in path.read_text().splitlines() if private.search(line)]
            assert not hits, (path, hits)
