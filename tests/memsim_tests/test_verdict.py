"""The one deployability rule: TFLM's whole arena in one region, measured figures judged alike, .tflite types."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memsim
from memsim import headroom_pct, judge
from targets import custom_target, get_target

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _net(filters: int, units: int) -> list:
    return [{"type": "Input", "shape": [90, 3, 1]},
            {"type": "Conv2D", "filters": filters, "kernel_size": 2, "activation": "relu"},
            {"type": "MaxPooling2D", "pool_size": 2}, {"type": "Flatten"},
            {"type": "Dense", "units": units, "activation": "relu"},
            {"type": "Dense", "units": 6, "activation": "softmax"}]


def test_tflm_arena_is_head_plus_tail_in_one_region():
    fp = memsim.footprint(_net(16, 32), runtime="tflm", dtype="int8")
    tail = fp.runtime_ram_bytes  # no board: the runtime RAM is the arena tail (+ prepare scratch)
    assert fp.region_bytes == fp.activations_bytes + tail and fp.region_bytes % 16 == 0
    # a region that holds the head but not head + tail: not deployable, and the arena is named
    board = custom_target(flash="1MiB", ram=fp.activations_bytes + tail // 2)
    judged = memsim.footprint(_net(16, 32), board, runtime="tflm", dtype="int8", margin=0)
    assert judged.deployable is False
    assert any(v.startswith("TFLM arena (head + tail)") for v in judged.violations), judged.violations
    fits = memsim.footprint(_net(16, 32), custom_target(flash="1MiB", ram=fp.region_bytes), runtime="tflm",
                            dtype="int8", margin=0)
    assert fits.deployable and fits.region_headroom_bytes == 0


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([4, 8, 16, 32, 64]), st.sampled_from([8, 16, 32, 64, 128]),
       st.sampled_from(["float32", "int8"]), st.integers(4_000, 40_000))
def test_verdict_is_exactly_the_three_limits(filters, units, dtype, ram):
    board = custom_target(flash="256KiB", ram=ram, overhead="cortex-m4")
    fp = memsim.footprint(_net(filters, units), board, runtime="tflm", dtype=dtype)
    ram_ok = fp.ram_bytes + fp.ram_safety_bytes <= board.ram_bytes
    region_ok = fp.region_headroom_bytes >= 0
    flash_ok = fp.flash_bytes + fp.flash_safety_bytes <= board.flash_bytes
    assert fp.deployable == (ram_ok and region_ok and flash_ok)
    assert fp.region_bytes >= fp.activations_bytes  # the arena is never smaller than its head


def test_a_measured_figure_over_the_board_is_not_deployable():
    board = get_target("stm32f303k8")
    ok = judge(board, ram_bytes=10_800, region_bytes=10_800, flash_bytes=53_104, region_what="TFLM arena")
    assert ok.deployable and ok.region_headroom_bytes == 12_288 - 10_800
    # 12,336 B measured against the 12,288 B SRAM region: fits the 16 KiB total, not the region
    over = judge(board, ram_bytes=12_336, region_bytes=12_336, flash_bytes=53_104, region_what="TFLM arena")
    assert not over.deployable and over.violations == ("TFLM arena 12,336 B > largest SRAM region 12,288 B",)
    assert over.region_headroom_bytes == -48
    assert headroom_pct(over.region_headroom_bytes, board.largest_region_bytes) == pytest.approx(-0.39)


def test_a_tflite_file_decides_its_own_type():
    path = EXAMPLES / "har_small_int8.tflite"
    fp = memsim.footprint(path, runtime="tflm")
    assert fp.dtype == "int8"
    with pytest.raises(memsim.SpecError, match=r"fixed by the file \(int8\), not float32; drop --dtype"):
        memsim.footprint(path, runtime="tflm", dtype="float32")
    # the per-layer table names the real operators, not "relu" for everything
    types = [r["type"] for r in fp.layers]
    assert "CONV_2D" in types and "relu (fused)" in types and "TANH" in types and "SOFTMAX" in types


def test_compression_needs_float32():
    with pytest.raises(memsim.SpecError, match="float32 models only"):
        memsim.footprint(_net(8, 8), runtime="xcubeai", dtype="int8", compression="x8")


def test_a_prediction_says_what_it_leaves_out():
    conv = _net(8, 16)
    note = memsim.footprint(conv, runtime="xcubeai", dtype="int8").notes
    assert len(note) == 1 and "int8 convolution scratch is reserved by an envelope" in note[0]
    assert memsim.footprint(conv, runtime="xcubeai", dtype="float32").notes == ()
    assert memsim.footprint(conv, runtime="tflm", dtype="int8").notes == ()
    mlp = [{"type": "Input", "shape": [11]}, {"type": "Dense", "units": 8}]
    assert memsim.footprint(mlp, runtime="xcubeai", dtype="int8").notes == ()  # dense scratch is modelled


def test_a_violation_is_a_value_with_a_kind_and_its_sentence():
    # callers used to classify violations by how their sentence began; each now carries its kind
    import pickle

    board = get_target("stm32f303k8")
    v = judge(board, ram_bytes=10**6, region_bytes=10**6, flash_bytes=10**7, region_what="TFLM arena",
              unsupported=["SELU is not an op TFLM runs"], latency_ms=50.0, latency_budget_ms=10.0, energy_uj=9.0,
              energy_budget_uj=1.0)
    assert [x.kind for x in v.violations] == ["unsupported", "ram", "region", "flash", "latency", "energy"]
    assert all(isinstance(x, str) and isinstance(x, memsim.Violation) for x in v.violations)
    assert v.violations[1].startswith("RAM 1,000,000 B") and pickle.loads(pickle.dumps(v.violations[4])).kind == \
        "latency"
    with pytest.raises(ValueError, match="kind"):
        memsim.Violation("too big", "size")
    fp = memsim.footprint([{"type": "Input", "shape": [4096]}, {"type": "Dense", "units": 4096}], "stm32f303k8",
                          latency_budget_ms=0.001)
    assert set(fp.to_dict()["violation_kinds"]) == {"ram", "region", "flash", "latency"}


def test_nothing_classifies_a_violation_by_its_words():
    import re

    root = Path(__file__).resolve().parents[2]
    by_words = re.compile(r"TIME_VIOLATIONS|in v for v in .*violations|v\.startswith\(")
    found = [f"{p.relative_to(root)}:{n}" for folder in ("memsim", "cbo", "validation", "autotinyml_cli")
             for p in sorted((root / folder).rglob("*.py"))
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if by_words.search(line)]
    assert not found, found
