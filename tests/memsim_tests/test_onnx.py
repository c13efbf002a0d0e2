"""memsim's ONNX front-end: ONNX files written with onnx's helper API (channels-first, PyTorch's layout), read
back and compared with the same networks as layer descriptions, as Keras models, and with ST's reports of the
networks that reached X-CUBE-AI / ST Edge AI as ONNX files."""

import onnx
import pytest

import memsim
from memsim.frontends.onnx import graph_from_onnx
from memsim.profiles import get_profile
from _onnx import onnx_from_spec
from validation.xcube_networks import INT8_REPORTS, REPORTS

# The reports whose model file was .onnx (their "model file" line), and the profile each was generated with
# (kiki442002: ST's `-O time`, see test_xcube_reports.py).
ONNX_REPORTS = {"jingye_iegm_high_v7_2": "xcubeai", "floatkyun_mnist_low_v8_1": "xcubeai",
                "kiki442002_audio_cnn_e1_0": "xcubeai-time"}
RESIDUAL = {"name": "residual", "layers": [
    {"type": "Input", "name": "x", "shape": [24, 24, 3]},
    {"type": "Conv2D", "name": "stem", "filters": 16, "kernel_size": 3, "strides": 2, "padding": "same",
     "activation": "relu"},
    {"type": "DepthwiseConv2D", "name": "dw", "kernel_size": 3, "padding": "same", "use_bias": False},
    {"type": "BatchNormalization", "name": "bn"},
    {"type": "ReLU", "name": "relu6", "max_value": 6},
    {"type": "Conv2D", "name": "pw", "filters": 16, "kernel_size": 1},
    {"type": "Add", "name": "add", "inputs": ["stem", "pw"]},
    {"type": "Conv2D", "name": "side", "filters": 8, "kernel_size": 1, "inputs": ["add"]},
    {"type": "Concatenate", "name": "cat", "inputs": ["add", "side"]},
    {"type": "AveragePooling2D", "name": "pool", "pool_size": 3, "strides": 2, "padding": "valid"},
    {"type": "GlobalAveragePooling2D", "name": "gap"},
    {"type": "Dense", "name": "out", "units": 5, "activation": "softmax"}]}


def _read(spec, tmp_path, **kw):
    path = tmp_path / f"{spec['name']}.onnx"
    onnx.save(onnx_from_spec(spec, **kw), path)
    return path


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_every_report_network_reads_as_its_layer_description(report, tmp_path):
    layers, compression, *_ = REPORTS[report]
    path = _read({"name": report, "layers": layers}, tmp_path)
    for runtime, dtype in (("xcubeai", "float32"), ("tflm", "float32"), ("tflm", "int8")):
        theirs = memsim.footprint(layers, runtime=runtime, dtype=dtype, compression=compression if
                                  runtime == "xcubeai" else "none")
        ours = memsim.footprint(path, runtime=runtime, dtype=dtype, compression=theirs.compression)
        assert (ours.macc, ours.weights_bytes, ours.params) == (theirs.macc, theirs.weights_bytes, theirs.params)
        if runtime == "tflm":  # the converter fuses an activation into its conv either way
            assert ours.activations_bytes == theirs.activations_bytes


@pytest.mark.parametrize("report", sorted(ONNX_REPORTS))
def test_the_networks_st_read_as_onnx_match_their_reports(report, tmp_path):
    """ST's reports of ONNX models: MACC (plus the NCHW->NHWC transpose the tool adds before a flatten) and weights
    exact, the activation pool within the profile's tolerance and never under it."""
    layers, compression, macc, transpose, weights, activations = REPORTS[report]
    graph = graph_from_onnx(_read({"name": report, "layers": layers}, tmp_path))
    fp = memsim.footprint(graph, runtime="xcubeai", compression=compression)
    assert fp.macc + transpose == macc and fp.weights_bytes == weights
    pool = get_profile(ONNX_REPORTS[report]).activation_plan(graph, "float32").pool_bytes
    assert activations <= pool <= 1.10 * activations


def test_an_int8_qdq_graph_is_int8_and_matches_st_edge_ai(tmp_path):
    """bulicp's MNIST MLP reached ST Edge AI 1.0 as an ONNX QDQ file: weights and activations exact."""
    layers, weights, activations = INT8_REPORTS["bulicp_mnist_mlp_e1_0"]
    graph = graph_from_onnx(_read({"name": "bulicp", "layers": layers}, tmp_path, int8=True))
    assert graph.dtype_hint == "int8"
    fp = memsim.footprint(graph, runtime="xcubeai")  # the file's type, without asking
    assert fp.dtype == "int8" and fp.weights_bytes == weights and fp.activations_bytes == activations


def test_depthwise_add_concat_clip_and_pools_read_exactly(tmp_path):
    for int8 in (False, True):
        path = _read(RESIDUAL, tmp_path, int8=int8)
        dtype = "int8" if int8 else "float32"
        for runtime in ("tflm", "xcubeai"):
            ours, theirs = memsim.footprint(path, runtime=runtime), memsim.footprint(RESIDUAL, runtime=runtime,
                                                                                     dtype=dtype)
            assert ours.dtype == dtype
            assert (ours.macc, ours.weights_bytes) == (theirs.macc, theirs.weights_bytes)
            # ONNX keeps GlobalAveragePool's 1x1 dims and flattens after it: one more (in-place) layer
            assert abs(ours.activations_bytes - theirs.activations_bytes) <= 0.02 * theirs.activations_bytes


@pytest.mark.toolchain
def test_onnx_and_keras_agree_on_the_same_network(tmp_path):
    """The issue's acceptance: float32 weights and MACC exact, activations within 2 %, against the Keras model of
    the same network (TFLM; under X-CUBE-AI too where the Keras model fuses no activation into a conv, since ST's
    importer keeps an ONNX Relu a layer of its own: see test_the_networks_st_read_as_onnx_match_their_reports)."""
    from memsim.frontends.keras import keras_from_spec

    for report in ("floatkyun_mnist_low_v8_1", "hengbote_digit_cnn_bn_v8_1", "hannasvenssoon_conv1d_gap_e2_2"):
        spec = {"name": report, "layers": REPORTS[report][0]}
        model, path = keras_from_spec(spec), _read(spec, tmp_path)
        for runtime in ("tflm", "xcubeai"):
            k, o = (memsim.footprint(m, runtime=runtime, dtype="float32") for m in (model, path))
            assert (o.macc, o.weights_bytes) == (k.macc, k.weights_bytes), (report, runtime)
            assert abs(o.activations_bytes - k.activations_bytes) <= 0.02 * k.activations_bytes, (report, runtime)


def test_what_memsim_cannot_read_is_one_sentence(tmp_path):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    lstm = helper.make_model(helper.make_graph([helper.make_node("Erf", ["x"], ["y"], name="erf1")], "g", [x], [y]))
    onnx.save(lstm, tmp_path / "erf.onnx")
    with pytest.raises(memsim.UnsupportedLayerError, match="ONNX node 'erf1' \\(Erf\\) is not an operator memsim knows"):
        memsim.footprint(tmp_path / "erf.onnx")
    free = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "length"])
    onnx.save(helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [free], [y])),
              tmp_path / "free.onnx")
    with pytest.raises(memsim.ModelFileError, match="has no fixed shape"):
        memsim.footprint(tmp_path / "free.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00not a protobuf at all" * 3)
    with pytest.raises(memsim.ModelFileError, match="is not a readable ONNX file"):
        memsim.footprint(tmp_path / "junk.onnx")
    grouped = dict(RESIDUAL, layers=RESIDUAL["layers"][:2])
    model = onnx_from_spec(grouped)
    conv = next(n for n in model.graph.node if n.op_type == "Conv")
    next(a for a in conv.attribute if a.name == "group").i = 2  # half the channels per group
    w = next(t for t in model.graph.initializer if t.name == "stem_w")
    w.dims[1] = 1
    del w.float_data[:]
    w.raw_data = w.raw_data[: len(w.raw_data) // 3]
    onnx.save(model, tmp_path / "grouped.onnx")
    with pytest.raises(memsim.UnsupportedLayerError, match="grouped convolution \\(group=2 of 3 channels\\)"):
        memsim.footprint(tmp_path / "grouped.onnx")
