"""`autotinyml validate`: memsim against reports beside their models, and against live TFLM."""

import json
import shutil
from pathlib import Path

import pytest

from autotinyml_cli.main import main
from validation.compare import ComparisonRow, report_pairs, summarise

ASSETS = Path(__file__).parent / "assets" / "xcube-reports"
WANGQING = ASSETS / "WangQing-hub_STM32F469-MNIST__network_generate_report.txt"   # the slides' HAR baseline, x8
HAR = [{"type": "Input", "shape": [90, 3, 1]}, {"type": "Conv2D", "filters": 128, "kernel_size": 2, "activation": "relu"},
       {"type": "MaxPooling2D", "pool_size": 2}, {"type": "Dropout", "rate": 0.2}, {"type": "Flatten"},
       {"type": "Dense", "units": 128, "activation": "relu"}, {"type": "Dense", "units": 128, "activation": "relu"},
       {"type": "Dense", "units": 6, "activation": "softmax"}]


def test_summary_medians_worst_and_under_prediction():
    rows = [ComparisonRow("a", "x", "tflm", "float32", {"flash": (99, 100), "arena_required": (110, 100)}),
            ComparisonRow("b", "x", "tflm", "float32", {"flash": (102, 100), "arena_required": (97, 100)}),
            ComparisonRow("c", "x", "tflm", "int8", {"flash": (100, 100), "arena_required": (100, 100)})]
    s = summarise(rows)
    assert s["flash"] == {"n": 3, "median_abs_error_pct": 1.0, "worst_error_pct": 2.0, "worst_under_prediction_pct": 1.0}
    assert s["arena_required"]["worst_error_pct"] == 10.0 and s["arena_required"]["worst_under_prediction_pct"] == 3.0
    assert s["observed_margin_pct"] == {"ram": 3.093, "flash": 1.01}  # relative to memsim's figure


def test_speed_summary_leaves_out_rows_without_finite_timings():
    figures = {"flash": (100, 100)}
    rows = [ComparisonRow("a", "x", "tflm", "int8", figures, toolchain_s=2.0, memsim_s=0.001),
            ComparisonRow("b", "x", "tflm", "int8", figures, toolchain_s=4.0, memsim_s=0.001),
            ComparisonRow("c", "x", "tflm", "int8", figures, toolchain_s=float("nan"), memsim_s=0.001),
            ComparisonRow("d", "x", "tflm", "int8", figures, toolchain_s=None, memsim_s=0.001)]
    speed = summarise(rows)["speed"]
    assert speed == {"n": 2, "median_toolchain_s": 3.0, "median_memsim_s": 0.001, "median_ratio": 3000.0}


def test_reports_folder_pairs_by_stem_and_lists_lonely_reports(tmp_path, capsys):
    shutil.copy(WANGQING, tmp_path / WANGQING.name)
    (tmp_path / f"{WANGQING.stem}.json").write_text(json.dumps({"name": "har", "layers": HAR}))
    lonely = tmp_path / "other_analyze_report.txt"
    shutil.copy(ASSETS / "Lanove_XCube_AITest__network_generate_report.txt", lonely)
    (tmp_path / "network_analyze_report.txt").write_text((ASSETS / WANGQING.name).read_text())
    (tmp_path / "network.json").write_text(json.dumps({"name": "har", "layers": HAR}))  # stem without the suffix
    pairs, alone = report_pairs(tmp_path)
    assert {r.name for r, _ in pairs} == {WANGQING.name, "network_analyze_report.txt"} and alone == [lonely]

    assert main(["validate", "--reports", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["rows"]) == 2 and out["skipped"] == [str(lonely)]
    for row in out["rows"]:
        assert row["figures"]["macc"] == {"predicted": 875_232, "reference": 875_232, "error_pct": 0.0}
        assert row["figures"]["weights"] == {"predicted": 375_448, "reference": 375_448, "error_pct": 0.0}  # x8
        assert abs(row["figures"]["activations"]["error_pct"]) < 1.0
    assert out["summary"]["weights"]["worst_error_pct"] == 0.0
    assert main(["validate", "--reports", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "875,232/875,232 +0.0%" in text and "summary, 2 rows" in text and "skipped: " in text


def test_reports_folder_errors_are_one_sentence(tmp_path, capsys):
    assert main(["validate", "--reports", str(tmp_path / "missing")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    shutil.copy(WANGQING, tmp_path / WANGQING.name)
    assert main(["validate", "--reports", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "has its model beside it" in err and err.count("\n") == 1


@pytest.mark.toolchain
def test_validate_user_models_live(tmp_path, capsys):
    from validation.corpus import CORPUS, build_model
    from validation.tflm import convert

    spec = next(s for s in CORPUS if s["name"] == "cnn2d_strided")
    model = build_model(spec)
    keras_path = tmp_path / "cnn.keras"
    model.save(keras_path)
    tflite_path = tmp_path / "cnn_int8.tflite"
    tflite_path.write_bytes(convert(model, "int8"))
    assert main(["validate", str(keras_path), str(tflite_path), "--dtype", "float32", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    keras_row, tflite_row = out["rows"]
    assert keras_row["dtype"] == "float32" and tflite_row["dtype"] == "int8"
    for row in out["rows"]:
        assert row["figures"]["arena_head"]["error_pct"] == 0.0
        assert abs(row["figures"]["arena_total"]["error_pct"]) <= 5.0
    assert abs(keras_row["figures"]["flash"]["error_pct"]) <= 2.0
    assert tflite_row["figures"]["flash"]["error_pct"] == 0.0  # the file's own size
    assert keras_row["toolchain_s"] > keras_row["memsim_s"] > 0
    assert set(out["summary"]) >= {"flash", "arena_head", "arena_tail", "arena_total", "arena_required", "speed"}


@pytest.mark.toolchain
def test_corpus_rows_record_refusals_memsim_predicted():
    from validation.compare import compare_corpus

    rows = compare_corpus(("int8",), names=["har_selu", "mnist_tiny"])
    assert "memsim agrees" in rows[0].note and not rows[0].figures  # int8 SELU: TFLM refuses, memsim predicted it
    assert rows[1].figures["arena_head"][0] == rows[1].figures["arena_head"][1]


@pytest.mark.toolchain
def test_a_model_the_toolchain_refuses_says_so_in_the_summary(tmp_path, capsys):
    from _networks import har_template

    from memsim.frontends.keras import keras_from_spec

    path = tmp_path / "selu.keras"
    keras_from_spec({"name": "selu", "layers": har_template(filters=4, units=8, conv_act="selu",
                                                             input_shape=(20, 3, 1))}).save(path)
    assert main(["validate", str(path), "--dtype", "int8"]) == 0
    out = capsys.readouterr().out
    assert "TFLM refuses it" in out and "memsim agrees: TFLM has no int8 kernel for EXP" in out
    assert "nothing to compare: the toolchain refused every model (see the notes above)" in out


@pytest.mark.toolchain
def test_int8_body_with_float_io_is_an_int8_model(tmp_path, capsys):
    """What TFLiteConverter gives for int8 without inference_input_type: QUANTIZE first, DEQUANTIZE last."""
    import numpy as np
    import tensorflow as tf

    from memsim.frontends.keras import keras_from_spec

    model = keras_from_spec([{"type": "Input", "shape": [20]}, {"type": "Dense", "units": 16, "activation": "relu"},
                             {"type": "Dense", "units": 4, "activation": "softmax"}])
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    samples = np.random.default_rng(0).uniform(0, 1, (16, 20)).astype(np.float32)
    conv.representative_dataset = lambda: ([s[None]] for s in samples)
    path = tmp_path / "mixed.tflite"
    path.write_bytes(conv.convert())
    capsys.readouterr()  # the converter's own chatter
    assert main(["footprint", str(path), "--runtime", "tflm", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dtype"] == "int8"
    assert main(["validate", str(path), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert row["dtype"] == "int8"


@pytest.mark.toolchain
@pytest.mark.parametrize("name,variant", [("ds_cnn_kws", "float32"), ("ds_cnn_kws", "int8_float_io"),
                                          ("ds_cnn_kws", "int8"), ("ds_cnn_kws", "int16x8"),
                                          ("fc_autoencoder", "int8"), ("multibranch_tcn", "int8")])
def test_real_world_networks_read_back_from_tflite(name, variant):
    """Held out from the calibration: the head is exact and the arena a board needs is never under-predicted
    beyond the profile's safety margin (the fc autoencoder's arena is set by prepare-time temporaries, the
    multi-branch net's by the planner's tie order)."""
    from memsim.profiles import TFLMProfile
    from validation.compare import compare_zoo

    (row,) = compare_zoo([variant], names=[name])
    assert row.dtype == variant
    head, required = row.figures["arena_head"], row.figures["arena_required"]
    assert head[0] == head[1]
    assert required[0] * (1 + TFLMProfile.SAFETY_MARGIN_PCT["ram"] / 100) >= required[1]
    assert abs(row.error_pct("arena_required")) <= 5.0
    assert row.figures["flash"][0] == row.figures["flash"][1]  # a .tflite's Flash is its own size
