"""memsim's xcubeai profile against real X-CUBE-AI >= 7.2 / ST Edge AI reports (the networks and the reports'
figures: validation/xcube_networks.py)."""

import pytest

import memsim
from memsim.profiles import get_profile
from validation.xcube_networks import INT8_REPORTS, REPORTS, SOLOMIA_INT8


# Activations within this fraction of the report (goal 10 %), and never under it. kiki442002 and freireg were
# generated with ST's `-O time`, which keeps a convolution's output apart from its input: profile xcubeai-time.
ACTIVATION_TOLERANCE = 0.10
TIME_OPTIMISED = {"kiki442002_audio_cnn_e1_0", "freireg_mlp_e1_0"}


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_macc_and_weights_are_exact(report):
    layers, compression, macc, transpose, weights, _ = REPORTS[report]
    fp = memsim.footprint(layers, runtime="xcubeai", dtype="float32", compression=compression)
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




def test_int8_conv_scratch_envelope_covers_the_int8_conv_report():
    """Solomia200 (ST Edge AI 2.2, int8 Conv1D net): 13,760 B of activations. Without the conv scratch memsim said
    6,528 B (-53 %, a verdict the tool would refute); the envelope must never be under, and not far over."""
    fp = memsim.footprint(SOLOMIA_INT8, runtime="xcubeai", dtype="int8")
    assert 13_760 <= fp.activations_bytes <= 1.15 * 13_760
    assert abs(fp.weights_bytes - 36_860) <= 4  # the report's 36,860 B (2 B of padding memsim does not count)
    assert fp.notes  # the envelope is not ST's rule: the verdict says so
