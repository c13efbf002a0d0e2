"""memsim's xcubeai profile against real X-CUBE-AI >= 7.2 / ST Edge AI float32 reports.

Each architecture is rebuilt from its report's per-layer table (params and
MACC pin down kernel, stride and padding). Figures are copied from the
reports in shared/reference/xcube-reports (index.json names repo, path and
commit of each). ONNX models get a tool-added NCHW->NHWC transpose before the
flatten (its MACC is listed per report); channels-last models have none.
"""

import pytest

import memsim
from memsim.profiles import get_profile


def I(*shape):
    return {"type": "Input", "shape": list(shape)}


def C2(f, k, s=1, pad="valid", act="relu", **kw):
    return {"type": "Conv2D", "filters": f, "kernel_size": k, "strides": s, "padding": pad, "activation": act, **kw}


def C1(f, k, s=1, pad="valid", act="relu"):
    return {"type": "Conv1D", "filters": f, "kernel_size": k, "strides": s, "padding": pad, "activation": act}


def D(u, act="relu"):
    return {"type": "Dense", "units": u, "activation": act}


MP = {"type": "MaxPooling2D", "pool_size": 2}
RELU = {"type": "Activation", "activation": "relu"}  # ONNX Relu nodes are layers of their own
MP1 = {"type": "MaxPooling1D", "pool_size": 2}
F = {"type": "Flatten"}
BN = {"type": "BatchNormalization"}
LEAKY = {"type": "LeakyReLU", "negative_slope": 0.3}

# id: (layers, compression, report macc, tool-added transpose macc, report weights B, report activations B)
REPORTS = {
    "wangqing_har_medium_v7_2": ([I(90, 3, 1), C2(128, 2), MP, {"type": "Dropout", "rate": 0.2}, F, D(128), D(128),
                                  D(6, "softmax")], "medium", 875_232, 0, 375_448, 25_600),
    "longstudy_har_conv1d_v7_2": ([I(26, 3), C1(16, 3), C1(8, 3), F, D(64), D(3, "softmax")],
                                  "none", 24_120, 0, 48_300, 1_708),
    "jingye_iegm_high_v7_2": ([I(1250, 1, 1), C2(3, (10, 1), (4, 1), act=None), RELU, BN,
                               C2(5, (5, 1), (2, 1), act=None), RELU, BN,
                               {"type": "MaxPooling2D", "pool_size": (3, 1), "strides": 1, "padding": "same"},
                               C2(5, (4, 1), (3, 1), act=None), RELU, BN, C2(5, (3, 1), (2, 1), act=None), RELU, BN,
                               {"type": "MaxPooling2D", "pool_size": (3, 1), "strides": 1, "padding": "same"},
                               C2(5, (3, 1), (2, 1), act=None), RELU, BN, F, D(10, None), RELU, D(2, None)], "high", 38_534, 0, 2_188, 5_108),
    "lanove_mlp_v7_3": ([I(2), D(64), D(64), D(5, "softmax")], "none", 4_880, 0, 18_708, 512),
    "rich143_har_ign24_v8_1": ([I(24, 3, 1), C2(24, (16, 1), act=None), {"type": "Activation", "activation": "relu"},
                                {"type": "MaxPooling2D", "pool_size": (3, 1)}, F, D(12, None), D(4, "softmax")],
                               "none", 14_404, 0, 12_256, 2_880),
    "floatkyun_mnist_low_v8_1": ([I(28, 28, 1), C2(16, 3, pad="same", act=None), RELU, MP,
                                  C2(32, 3, pad="same", act=None), RELU, MP, C2(64, 3, pad="same", act=None), RELU,
                                  F, D(128, None), RELU, D(10, "softmax")],
                                 "low", 2_364_784, 1_568, 501_288, 53_312),
    "hengbote_digit_cnn_bn_v8_1": ([I(32, 20, 3), BN, C2(64, 3, pad="same", act=None), LEAKY, BN, MP,
                                    C2(128, 3, pad="same", act=None), LEAKY, BN, MP, C2(64, 3, pad="same", act=None),
                                    LEAKY, BN, MP, F, D(256, None), LEAKY, D(64, None), LEAKY, D(10, "softmax")],
                                   "none", 16_388_640, 0, 1_193_536, 171_520),
    "bluemelony12_mnist_cnn_v9_0": ([I(28, 28, 1), C2(32, 3, pad="same"), MP, C2(64, 3, pad="same"), MP, F,
                                     D(100), D(10, "softmax")], "none", 4_228_784, 0, 1_334_104, 39_744),
    "kiki442002_audio_cnn_e1_0": ([I(32, 30, 1), C2(4, 3, pad="same", act=None), RELU, MP,
                                   C2(16, 3, pad="same", act=None), RELU, MP, F, D(40, None), RELU, D(32, None), RELU,
                                   D(8, None), RELU, D(4, "softmax")], "none", 226_004, 448, 152_496, 19_344),
    "freireg_mlp_e1_0": ([I(4), D(128), D(128), D(128), D(128), D(1, None)], "none", 50_817, 0, 201_220, 1_024),
    "tanhaoxuan_har_conv1d_e2_0": ([I(26, 3), C1(16, 3), C1(8, 3), F, D(64), D(3, "softmax")],
                                   "none", 24_120, 0, 48_300, 1_760),
    "hannasvenssoon_conv1d_gap_e2_2": ([I(128, 3), C1(16, 5, pad="same"), MP1, C1(32, 5, pad="same"), MP1,
                                        C1(64, 3, pad="same"), {"type": "GlobalAveragePooling1D"}, D(64),
                                        D(3, "softmax")], "none", 408_032, 0, 53_644, 9_472),
    "mayssajr_mnist_cnn_e2_2": ([I(28, 28, 1), C2(8, 3), C2(16, 3), MP, F, D(64), D(10, "softmax")],
                                "none", 884_472, 0, 597_672, 25_760),
}
# Activations within this fraction of the report (goal 10 %), and never under it. kiki442002 and freireg were
# generated with ST's `-O time`, which keeps a convolution's output apart from its input: profile xcubeai-time.
ACTIVATION_TOLERANCE = 0.10
TIME_OPTIMISED = {"kiki442002_audio_cnn_e1_0", "freireg_mlp_e1_0"}


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_macc_and_weights_are_exact(report):
    layers, compression, macc, transpose, weights, _ = REPORTS[report]
    fp = memsim.footprint(layers, compression=compression)
    assert fp.macc + transpose == macc
    assert fp.weights_bytes == weights


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_activations_within_ten_percent_and_never_under(report):
    layers, _, _, _, _, activations = REPORTS[report]
    profile = get_profile("xcubeai-time" if report in TIME_OPTIMISED else "xcubeai")
    pool = profile.activation_plan(memsim.graph_from_spec(layers), "float32").pool_bytes
    assert activations <= pool <= (1 + ACTIVATION_TOLERANCE) * activations, (pool, activations)


@pytest.mark.parametrize("report, exact", [("hannasvenssoon_conv1d_gap_e2_2", 9_472), ("kiki442002_audio_cnn_e1_0", 19_344)])
def test_conv_overlap_and_im2col_scratch_are_exact_where_the_tool_is(report, exact):
    layers = REPORTS[report][0]
    profile = get_profile("xcubeai-time" if report in TIME_OPTIMISED else "xcubeai")
    assert profile.activation_plan(memsim.graph_from_spec(layers), "float32").pool_bytes == exact


def test_overlap_never_costs_more_than_no_overlap():
    for layers, *_ in REPORTS.values():
        g = memsim.graph_from_spec(layers)
        with_overlap = get_profile("xcubeai").activation_plan(g, "float32").pool_bytes
        assert with_overlap <= get_profile("xcubeai-time").activation_plan(g, "float32").pool_bytes


# int8 reports (ST Edge AI Core): (layers, report weights B, report activations B). Weights: int8 kernels plus
# int32 biases. laith 2.2 is a TFLite int8 MLP; bulicp 1.0 is an ONNX QDQ MLP whose output layer has no softmax.
INT8_REPORTS = {
    "laithalarmouti_can_ids_e2_2": ([I(11), D(64), D(32), D(5, None), {"type": "Softmax"}], 3_316, 740),
    "bulicp_mnist_mlp_e1_0": ([I(784), D(128), D(64), D(10, None)], 109_992, 3_760),
}


@pytest.mark.parametrize("report", sorted(INT8_REPORTS))
def test_int8_dense_scratch_follows_the_reports(report):
    layers, weights, activations = INT8_REPORTS[report]
    fp = memsim.footprint(layers, runtime="xcubeai", dtype="int8")
    assert fp.weights_bytes == weights
    # never under the report; exact where no softmax scratch is involved (laith's softmax took 4 B, memsim
    # reserves the 992 B another 2.2 report needed)
    assert fp.activations_bytes >= activations
    if report == "bulicp_mnist_mlp_e1_0":
        assert fp.activations_bytes == activations
    else:
        assert fp.activations_bytes - activations <= 992


SOLOMIA_INT8 = [I(96, 3), BN, C1(32, 5), MP1, BN, C1(64, 5), BN, C1(96, 3), {"type": "GlobalAveragePooling1D"},
                D(64), D(5, None), {"type": "Softmax"}]


def test_int8_conv_scratch_envelope_covers_the_int8_conv_report():
    """Solomia200 (ST Edge AI 2.2, int8 Conv1D net): 13,760 B of activations. Without the conv scratch memsim said
    6,528 B (-53 %, a verdict the tool would refute); the envelope must never be under, and not far over."""
    fp = memsim.footprint(SOLOMIA_INT8, runtime="xcubeai", dtype="int8")
    assert 13_760 <= fp.activations_bytes <= 1.15 * 13_760
    assert abs(fp.weights_bytes - 36_860) <= 4  # the report's 36,860 B (2 B of padding memsim does not count)
    assert fp.notes  # the envelope is not ST's rule: the verdict says so
