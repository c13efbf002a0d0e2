"""The networks of real X-CUBE-AI / ST Edge AI reports, rebuilt as layer descriptions, with the reports' figures.

Each architecture is rebuilt from its report's per-layer table (params and MACC pin down kernel, stride and
padding). Figures are copied from the reports in tests/validation_tests/assets/xcube-reports (from
shared/reference/xcube-reports, whose index.json names repo, path and commit of each). ONNX models get a tool-added
NCHW->NHWC transpose before the flatten (its MACC is listed per report); channels-last models have none. The tests
(tests/memsim_tests/test_xcube_reports.py) and ``benchmarks/xcube_reports.py`` read them from here.
"""

from __future__ import annotations

__all__ = ["INT8_REPORTS", "REPORTS", "SOLOMIA_INT8"]


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
INT8_REPORTS = {
    "laithalarmouti_can_ids_e2_2": ([I(11), D(64), D(32), D(5, None), {"type": "Softmax"}], 3_316, 740),
    "bulicp_mnist_mlp_e1_0": ([I(784), D(128), D(64), D(10, None)], 109_992, 3_760),
}

SOLOMIA_INT8 = [I(96, 3), BN, C1(32, 5), MP1, BN, C1(64, 5), BN, C1(96, 3), {"type": "GlobalAveragePooling1D"},
                D(64), D(5, None), {"type": "Softmax"}]
