"""Every file of two real model corpora reads: a footprint, or one sentence that names what memsim lacks.

The MLTK wheel's zoo (keyword spotting, MobileNetV2, anomaly detection, visual wake words, ...) and the ST model
zoo files (every int8 MobileNet v1/v2 and MiniResNet among them) are the networks users bring. A PAD operator once
crashed the reader on 27 of them (the P0 issue's regression); these tests iterate every file, both runtimes, and
measure the MLTK .tflite files with the real tflite-micro interpreter.
"""

import os
from pathlib import Path

import pytest

import memsim
from memsim.frontends.tflite import SUPPORTED_OPS, read_tflite
from targets import AutoTinyMLError
from tests._corpora import mltk_models, model_files, stzoo_models

BOARD = "STM32H743ZI"  # 2 MiB Flash, 1 MiB RAM: the verdict is not the point here, reading is
REFUSAL_WORDS = ("not supported", "not a layer memsim knows", "shared layer", "weights only")


def _corpus(finder):
    folder, why = finder()
    if folder is None:
        if os.environ.get("CI") == "true" and finder is mltk_models:
            pytest.fail(why)
        pytest.skip(why)
    return model_files(folder)


def _read_all(files: list[Path]) -> tuple[dict, dict]:
    """file -> Footprint per runtime, and file -> refusal message."""
    read, refused = {}, {}
    for path in files:
        for runtime in ("tflm", "xcubeai"):
            try:
                read[(path, runtime)] = memsim.footprint(path, target=BOARD, runtime=runtime)
            except AutoTinyMLError as exc:  # anything else (KeyError, ...) fails the test with its traceback
                refused[(path, runtime)] = str(exc)
    return read, refused


def _check(files: list[Path]):
    read, refused = _read_all(files)
    for (path, runtime), fp in read.items():
        assert fp.ram_bytes > 0 and fp.flash_bytes > 0 and fp.macc > 0, (path.name, runtime)
    for (path, runtime), message in refused.items():
        assert "\n" not in message and message.rstrip().endswith("."), (path.name, message)
        assert any(w in message for w in REFUSAL_WORDS), (path.name, message)
        if path.suffix == ".tflite":  # a file of supported operators only is never refused
            ops = set(read_tflite(path).op_types)
            missing = sorted(ops - SUPPORTED_OPS)
            assert missing and any(op in message for op in missing), (path.name, message)
    return read, refused


def test_every_file_of_the_mltk_zoo_reads_or_is_refused_in_one_sentence():
    files = _corpus(mltk_models)
    assert len(files) >= 40  # 0.20.0 holds 45 .tflite / .h5 files
    read, refused = _check(files)
    names = {p.name for p, _ in read}
    # the MobileNetV2 keyword spotters: their PAD operators crashed the reader (KeyError: 'padding')
    assert {"keyword_spotting_mobilenetv2.tflite", "keyword_spotting_with_transfer_learning.tflite"} <= names
    assert len(read) >= 2 * 39


def test_every_file_of_the_st_model_zoo_reads_or_is_refused_in_one_sentence():
    files = _corpus(stzoo_models)
    read, refused = _check(files)
    padded = [p for p in files if p.suffix == ".tflite" and "PAD" in read_tflite(p).op_types
              and set(read_tflite(p).op_types) <= SUPPORTED_OPS]
    assert len(padded) >= 25 and all((p, "tflm") in read for p in padded)  # every MobileNet and MiniResNet


@pytest.mark.toolchain
def test_mltk_tflite_files_measured_by_tflite_micro_match_memsim():
    """The arena's head (activations) exactly, the whole arena within -1 % .. +20 % (the verdict's margin covers
    the small under-count of the runtime's own tail), the flatbuffer at the file's size."""
    from validation.tflm import measure

    files = [p for p in _corpus(mltk_models) if p.suffix == ".tflite"]
    rows = []
    for path in files:
        fp = memsim.footprint(path, target=BOARD, runtime="tflm")
        got = measure(path.read_bytes(), max_arena=16 * 1024 * 1024)
        predicted = fp.activations_bytes + fp.runtime_ram_bytes
        rows.append((path.name, fp.activations_bytes, got.head, predicted, got.total, fp.model_bytes,
                     path.stat().st_size))
    wrong = [r for r in rows if r[1] != r[2] or not (-0.01 <= r[3] / r[4] - 1 <= 0.20) or r[5] != r[6]]
    assert not wrong, wrong
    assert len(rows) >= 20
