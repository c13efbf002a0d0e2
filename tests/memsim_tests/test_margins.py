"""Safety margins: each profile's calibrated default, the override, and their effect on the verdict."""

import math

import pytest

import memsim
from memsim.profiles import get_profile
from targets import custom_target

NET = [{"type": "Input", "shape": [64]}, {"type": "Dense", "units": 64, "activation": "relu"},
       {"type": "Dense", "units": 4, "activation": "softmax"}]


@pytest.mark.parametrize("runtime", ["xcubeai", "tflm"])
@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_the_default_margin_is_the_profiles_and_is_added_to_memsims_own_figures(runtime, dtype):
    # That each default covers the real toolchain is tested against live conversions (test_tflm_real.py) and
    # the X-CUBE-AI reports (test_xcube_reports.py); here: the verdict adds it, rounded up, to memsim's figures.
    pct = get_profile(runtime).safety_margin_pct(dtype)
    fp = memsim.footprint(NET, runtime=runtime, dtype=dtype)
    assert fp.safety_margin_pct == (pct["ram"], pct["flash"])
    assert fp.flash_safety_bytes == math.ceil(fp.model_bytes * pct["flash"] / 100)
    assert fp.ram_safety_bytes == math.ceil(fp.ram_bytes * pct["ram"] / 100)  # no board: no library RAM


@pytest.mark.parametrize("runtime", ["xcubeai", "tflm"])
def test_a_network_that_just_fits_fails_with_a_larger_margin(runtime):
    bare = memsim.footprint(NET, runtime=runtime, margin=0)
    assert bare.ram_safety_bytes == bare.flash_safety_bytes == 0
    board = custom_target(flash=bare.model_bytes, ram=bare.ram_bytes, overhead="none")
    assert memsim.footprint(NET, board, runtime, margin=0).deployable
    tight = memsim.footprint(NET, board, runtime, margin=5)
    assert not tight.deployable
    assert tight.ram_headroom_bytes == -tight.ram_safety_bytes < 0
    assert any("safety margin (5 %)" in v for v in tight.violations)
    # per figure: RAM margin only
    only_ram = memsim.footprint(NET, board, runtime, margin=(5, 0))
    assert only_ram.flash_headroom_bytes == 0 and only_ram.ram_headroom_bytes < 0


def test_margin_applies_to_the_network_not_to_the_runtime_library():
    board = custom_target(flash="1MiB", ram="256KiB", overhead="cortex-m4")
    fp = memsim.footprint(NET, board, "xcubeai", margin=10)
    library = board.overhead("xcubeai", "float32").ram_bytes
    assert fp.ram_safety_bytes == -(-(fp.ram_bytes - library) * 10 // 100)


@pytest.mark.parametrize("bad", [-1, 100, (1, 2, 3), "5"])
def test_bad_margins_are_one_sentence(bad):
    with pytest.raises(memsim.SpecError, match="Safety margin .* must be a percentage"):
        memsim.footprint(NET, margin=bad)


def test_xcubeai_int8_has_its_own_margin_from_the_int8_reports():
    # the int8 reports give their own margin (not the float32 one); both are what the verdicts use
    f32 = memsim.footprint(NET, runtime="xcubeai", dtype="float32").safety_margin_pct
    i8 = memsim.footprint(NET, runtime="xcubeai", dtype="int8").safety_margin_pct
    assert f32 != i8
