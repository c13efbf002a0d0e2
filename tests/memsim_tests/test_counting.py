"""Exact MACC and weight bytes against real X-CUBE-AI reports and the seeds."""

import pytest
from _networks import HAR_BASELINE

import memsim
from memsim.metrics import total_macc, weight_bytes
from memsim.profiles import get_profile


def test_har_baseline_matches_the_seeds_and_both_reports():
    g = memsim.graph_from_spec(HAR_BASELINE)
    assert total_macc(g) == 875_232  # wangqing 7.2 report
    assert total_macc(g, "5") == 874_970  # getz1165 5.2 report and the slides
    assert sum(weight_bytes(g, "float32", "none")) == 2_955_800
    assert sum(weight_bytes(g, "float32", "x4")) == 794_136  # slides: 794.14 KB
    assert sum(weight_bytes(g, "float32", "x8")) == 375_448  # both reports
    assert g.params == 738_950


def test_har_baseline_activations_against_both_tool_versions():
    g = memsim.graph_from_spec(HAR_BASELINE)
    assert get_profile("xcubeai-5").activation_plan(g, "float32").pool_bytes == 24_576  # 5.2 exact
    pool = get_profile("xcubeai").activation_plan(g, "float32").pool_bytes
    assert abs(pool - 25_600) / 25_600 < 0.01  # 7.2 report: 25,600


def test_ign_example_from_the_reference_note():
    # rich143 report, stm.ai 8.1: input 24x3x1, conv (16,1) x24, relu, maxpool (3,1), dense 12, dense 4 softmax
    spec = [
        {"type": "Input", "shape": [24, 3, 1]},
        {"type": "Conv2D", "filters": 24, "kernel_size": [16, 1]},
        {"type": "Activation", "activation": "relu"},
        {"type": "MaxPooling2D", "pool_size": [3, 1]},
        {"type": "Flatten"},
        {"type": "Dense", "units": 12},
        {"type": "Dense", "units": 4, "activation": "softmax"},
    ]
    fp = memsim.footprint(spec, runtime="xcubeai")  # the reference note's X-CUBE-AI float32 figures
    assert fp.macc == 14_404
    assert fp.weights_bytes == 12_256
    assert [l["macc"] for l in fp.layers if l["macc"]] == [10_392, 648, 648, 2_604, 52, 60]


def test_int8_weights_are_one_byte_plus_int32_biases():
    g = memsim.graph_from_spec([{"type": "Input", "shape": [11]}, {"type": "Dense", "units": 64, "activation": "relu"},
                                {"type": "Dense", "units": 32, "activation": "relu"}, {"type": "Dense", "units": 5}])
    # laithalarmouti CAN-IDS report (ST Edge AI 2.2, int8): 3,316 B = 2,912 int8 + 101 int32
    assert sum(weight_bytes(g, "int8")) == 3_316
    assert total_macc(g) == 11 * 64 + 64 + 64 + 64 * 32 + 32 + 32 + 32 * 5 + 5


def test_batch_norm_folds_after_conv_and_is_kept_after_an_activation():
    folded = memsim.graph_from_spec([{"type": "Input", "shape": [8, 8, 3]}, {"type": "Conv2D", "filters": 4, "kernel_size": 3,
                                     "use_bias": False}, {"type": "BatchNormalization"}])
    conv, bn = folded.layers[1], folded.layers[2]
    assert bn.attrs["folded"] and bn.params == 0 and bn.macc == 0
    assert conv.biases == 4  # the BN shift becomes the conv bias
    kept = memsim.graph_from_spec([{"type": "Input", "shape": [8, 8, 3]}, {"type": "Conv2D", "filters": 4, "kernel_size": 3,
                                   "activation": "relu"}, {"type": "BatchNormalization"}])
    bn = kept.layers[-1]
    assert not bn.attrs["folded"] and bn.params == 8 and bn.macc == 2 * 6 * 6 * 4
    assert kept.keras_params == 3 * 3 * 3 * 4 + 4 + 16


def test_compression_needs_float32_and_skips_the_classifier():
    g = memsim.graph_from_spec(HAR_BASELINE)
    with pytest.raises(memsim.SpecError, match="float32"):
        weight_bytes(g, "int8", "x8")
    fp = memsim.footprint(HAR_BASELINE, runtime="xcubeai", compression="high")
    assert [l["name"] for l in fp.layers if l["compressed"]] == ["dense_1", "dense_2"]
