from pathlib import Path

import pytest

from memsim import get_runtime  # which boards a runtime runs on is the runtime's to say

from targets import (
    InvalidSizeError, TargetFileError, UnknownTargetError, custom_target, get_target, list_targets,
    load_target_file, parse_size,
)


def test_catalogue_has_the_reference_boards_with_sources():
    names = {t.name for t in list_targets()}
    for board in ("STM32L476RG", "STM32F303K8", "STM32F401RE", "STM32F411RE", "STM32F446RE", "STM32L4R5ZI",
                  "STM32U585AI", "STM32H743ZI", "paper-big", "paper-tiny"):
        assert board in names
    assert all(t.source for t in list_targets())


@pytest.mark.parametrize("alias", ["stm32f303k8", "NUCLEO-F303K8", "Stm32F303K8T6"])
def test_aliases_are_case_insensitive(alias):
    t = get_target(alias)
    assert t.name == "STM32F303K8"
    assert t.flash_bytes == 64 * 1024
    assert [r.bytes for r in t.ram_regions] == [12 * 1024, 4 * 1024]
    assert t.largest_region_bytes == 12 * 1024


def test_paper_budgets_are_decimal_kilobytes_without_overhead():
    big, tiny = get_target("paper-big"), get_target("paper-tiny")
    assert (big.ram_bytes, big.flash_bytes) == (128_000, 1_990_000)
    assert (tiny.ram_bytes, tiny.flash_bytes) == (16_000, 60_000)
    assert tiny.overhead("xcubeai").ram_bytes == 0


def test_unknown_target_suggests_close_names():
    with pytest.raises(UnknownTargetError, match="did you mean 'stm32f303k8'"):
        get_target("stm32f303")


@pytest.mark.parametrize("text,expected", [("64KiB", 65536), ("16 KB", 16000), ("1.5MB", 1_500_000),
                                           ("2MiB", 2 * 1024 * 1024), ("4096", 4096), ("512B", 512), (100, 100)])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["-5KB", -1, "12 parsecs", "KB", ""])
def test_bad_sizes_are_rejected_in_one_sentence(bad):
    with pytest.raises(InvalidSizeError) as info:
        parse_size(bad, what="ram")
    assert "ram" in str(info.value) and "\n" not in str(info.value)


def test_custom_target_from_sizes():
    t = custom_target(flash="64KiB", ram="16KiB", overhead="cortex-m4")
    assert (t.flash_bytes, t.ram_bytes) == (65536, 16384)
    assert t.overhead("xcubeai", "float32").code_flash_bytes > 0
    with pytest.raises(InvalidSizeError):
        custom_target(flash="-64KiB", ram="16KiB")


def test_user_target_file(tmp_path):
    path = tmp_path / "my.toml"
    path.write_text('[[board]]\nname = "MyBoard"\naliases = ["mine"]\nflash_bytes = "256KiB"\n'
                    'ram_regions = [{name = "SRAM", bytes = "64KiB"}]\noverhead = "cortex-m4"\n')
    (board,) = load_target_file(path)
    assert board.flash_bytes == 262144 and board.ram_bytes == 65536
    assert get_target("MINE", [board]) is board


def test_the_documented_board_file_reads():
    """docs/your-own-model.md's example board: its regions, core and vendor are what the page says."""
    (board,) = load_target_file(Path(__file__).resolve().parents[2] / "examples" / "my_board.toml")
    assert (board.flash_bytes, board.ram_bytes, board.largest_region_bytes) == (262_144, 65_536, 49_152)
    assert board.core_class == "cortex-m4" and get_runtime("xcubeai").runs_on(board)
    assert get_target("my-m4", [board]) is board


def test_broken_target_files_name_the_problem(tmp_path):
    with pytest.raises(TargetFileError, match="does not exist"):
        load_target_file(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[board]\nname=")
    with pytest.raises(TargetFileError, match="not valid TOML"):
        load_target_file(bad)
    incomplete = tmp_path / "incomplete.toml"
    incomplete.write_text('[[board]]\nname = "X"\nflash_bytes = 1\n')
    with pytest.raises(TargetFileError, match="ram_regions"):
        load_target_file(incomplete)


MLPERF_AND_TFLM_BOARDS = {  # name: (core class, clock MHz, Flash B, RAM B, vendor runs X-CUBE-AI)
    "STM32U575ZI": ("cortex-m33", 160, 2 * 1024**2, 784 * 1024, True),
    "STM32H7A3ZI": ("cortex-m7", 280, 2 * 1024**2, 1312 * 1024, True),
    "STM32F746NG": ("cortex-m7", 216, 1024**2, 320 * 1024, True),
    "STM32G0B1RE": ("cortex-m0plus", 64, 512 * 1024, 144 * 1024, True),
    "nRF52840": ("cortex-m4", 64, 1024**2, 256 * 1024, False),
    "nRF5340": ("cortex-m33", 128, 1024**2, 512 * 1024, False),
    "RP2040": ("cortex-m0plus", 133, 2 * 1024**2, 264 * 1024, False),
    "ESP32-S3": ("xtensa-lx7", 240, 8 * 1024**2, 480 * 1024, False),
    "EFR32MG24": ("cortex-m33", 78, 1536 * 1024, 256 * 1024, False),
    "RA6M4": ("cortex-m33", 200, 1024**2, 256 * 1024, False),
    "MIMXRT1062": ("cortex-m7", 600, 7936 * 1024, 1024 * 1024, False),
}


@pytest.mark.parametrize("name", sorted(MLPERF_AND_TFLM_BOARDS))
def test_the_boards_users_have_with_core_clock_memory_and_source(name):
    core, mhz, flash, ram, stm32 = MLPERF_AND_TFLM_BOARDS[name]
    t = get_target(name)
    assert (t.core_class, t.clock_hz, t.flash_bytes, t.ram_bytes, get_runtime("xcubeai").runs_on(t)) == (
        core, mhz * 10**6, flash, ram, stm32)
    assert t.vendor and len(t.source) > 40 and t.overhead("tflm", "int8").code_flash_bytes > 0


def test_xcubeai_on_a_board_of_another_vendor_is_refused_in_one_sentence_before_any_work():
    import memsim

    net = [{"type": "Input", "shape": [8]}, {"type": "Dense", "units": 2}]
    with pytest.raises(memsim.SpecError, match="X-CUBE-AI generates code for STMicroelectronics microcontrollers only, and nRF52840 is a Nordic "):
        memsim.footprint(net, "nrf52840", "xcubeai")
    with pytest.raises(memsim.SpecError, match="use --runtime tflm"):
        memsim.footprint_many([net, net], "rp2040", "xcubeai")
    assert memsim.footprint(net, "nrf52840", "tflm", "int8").deployable
    assert memsim.footprint(net, "stm32g0b1re", "xcubeai").deployable
