"""Keras files as users have them: TF 2.x .h5 configs that Keras 3 refuses, nested models, custom layers.

The fixtures write the model config JSON the way TF 2.x Keras did (``batch_input_shape``, ``groups`` in
DepthwiseConv2D, list-form inbound nodes, a Sequential nested in a functional model) with h5py, rather than
depending on an old TensorFlow.
"""

import json

import pytest

import memsim
from autotinyml_cli.main import main

h5py = pytest.importorskip("h5py")


def _write_h5(path, config: dict, with_config: bool = True) -> None:
    with h5py.File(path, "w") as f:
        if with_config:
            f.attrs["model_config"] = json.dumps(config).encode()
        f.attrs["keras_version"] = b"2.13.1"
        f.attrs["backend"] = b"tensorflow"
        f.create_group("model_weights")


def _layer(cls, name, **config):
    return {"class_name": cls, "config": {"name": name, "trainable": True, "dtype": "float32", **config}}


TF2_SEQUENTIAL = {"class_name": "Sequential", "config": {"name": "kws", "layers": [
    _layer("Conv2D", "conv2d", batch_input_shape=[None, 49, 10, 1], filters=16, kernel_size=[3, 3], strides=[2, 2],
           padding="same", data_format="channels_last", dilation_rate=[1, 1], groups=1, activation="linear",
           use_bias=False),
    _layer("BatchNormalization", "batch_normalization", axis=[3], momentum=0.99, epsilon=0.001, center=True,
           scale=True),
    _layer("Activation", "activation", activation="relu"),
    _layer("DepthwiseConv2D", "depthwise_conv2d", kernel_size=[3, 3], strides=[1, 1], padding="same",
           depth_multiplier=1, data_format="channels_last", dilation_rate=[1, 1], groups=1, activation="relu",
           use_bias=True),
    _layer("Flatten", "flatten", data_format="channels_last"),
    _layer("Dense", "dense", units=12, activation="softmax", use_bias=True),
]}}

SAME_AS_SPEC = [{"type": "Input", "shape": [49, 10, 1]},
                {"type": "Conv2D", "filters": 16, "kernel_size": 3, "strides": 2, "padding": "same",
                 "use_bias": False},
                {"type": "BatchNormalization"}, {"type": "Activation", "activation": "relu"},
                {"type": "DepthwiseConv2D", "kernel_size": 3, "padding": "same", "activation": "relu"},
                {"type": "Flatten"}, {"type": "Dense", "units": 12, "activation": "softmax"}]


def _node(*names):  # TF 2.x inbound node: [[name, node_index, tensor_index, kwargs], ...]
    return [[[n, 0, 0, {}] for n in names]]


TF2_FUNCTIONAL_NESTED = {"class_name": "Functional", "config": {
    "name": "har", "input_layers": [["x", 0, 0]], "output_layers": [["out", 0, 0]],
    "layers": [
        {**_layer("InputLayer", "x", batch_input_shape=[None, 90, 3, 1], sparse=False), "name": "x",
         "inbound_nodes": []},
        {**_layer("Conv2D", "conv", filters=8, kernel_size=[2, 2], strides=[1, 1], padding="valid",
                  activation="relu", use_bias=True, groups=1), "name": "conv", "inbound_nodes": _node("x")},
        {"class_name": "Sequential", "name": "head", "inbound_nodes": _node("conv"), "config": {"name": "head", "layers": [
            _layer("InputLayer", "head_in", batch_input_shape=[None, 89, 2, 8]),
            _layer("MaxPooling2D", "pool", pool_size=[2, 2], strides=[2, 2], padding="valid"),
            _layer("Flatten", "flat"),
            _layer("Dense", "hidden", units=16, activation="relu", use_bias=True)]}},
        {**_layer("Dense", "out", units=6, activation="softmax", use_bias=True), "name": "out",
         "inbound_nodes": _node("head")},
    ]}}

NESTED_AS_SPEC = [{"type": "Input", "shape": [90, 3, 1]},
                  {"type": "Conv2D", "filters": 8, "kernel_size": 2, "activation": "relu"},
                  {"type": "MaxPooling2D", "pool_size": 2}, {"type": "Flatten"},
                  {"type": "Dense", "units": 16, "activation": "relu"}, {"type": "Dense", "units": 6,
                                                                         "activation": "softmax"}]


@pytest.mark.parametrize("config,same_as", [(TF2_SEQUENTIAL, SAME_AS_SPEC), (TF2_FUNCTIONAL_NESTED, NESTED_AS_SPEC)])
@pytest.mark.parametrize("runtime,dtype", [("xcubeai", "float32"), ("tflm", "int8")])
def test_tf2_h5_configs_give_the_figures_of_the_same_network(tmp_path, config, same_as, runtime, dtype):
    path = tmp_path / "legacy.h5"
    _write_h5(path, config)
    fp, ref = memsim.footprint(path, runtime=runtime, dtype=dtype), memsim.footprint(same_as, runtime=runtime,
                                                                                      dtype=dtype)
    assert (fp.macc, fp.params, fp.weights_bytes, fp.activations_bytes) == \
        (ref.macc, ref.params, ref.weights_bytes, ref.activations_bytes)


def test_reading_a_legacy_h5_needs_no_tensorflow(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "legacy.h5"
    _write_h5(path, TF2_SEQUENTIAL)
    code = ("import sys, memsim; fp = memsim.footprint(sys.argv[1]); "
            "print(fp.macc, 'tensorflow' in sys.modules or 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(memsim.footprint(SAME_AS_SPEC).macc), "False"]


def test_a_custom_layer_is_named_with_the_tflite_route(tmp_path, capsys):
    config = json.loads(json.dumps(TF2_SEQUENTIAL))
    config["config"]["layers"].insert(3, _layer("MyAttention", "attention", heads=2))
    path = tmp_path / "custom.h5"
    _write_h5(path, config)
    assert main(["footprint", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "Layer 'attention' of type MyAttention is not a layer memsim knows" in err
    assert "export the model to .tflite and pass that" in err and len(err.splitlines()) == 1


def test_weights_only_and_shared_layers_are_explained(tmp_path, capsys):
    weights = tmp_path / "weights.h5"
    _write_h5(weights, {}, with_config=False)
    assert main(["footprint", str(weights)]) == 2
    assert "holds weights only (no model config)" in capsys.readouterr().err
    shared = json.loads(json.dumps(TF2_FUNCTIONAL_NESTED))
    shared["config"]["layers"][-1]["inbound_nodes"] = _node("head") + _node("head")
    path = tmp_path / "shared.h5"
    _write_h5(path, shared)
    assert main(["footprint", str(path)]) == 2
    assert "Layer 'out' is called 2 times (a shared layer)" in capsys.readouterr().err


@pytest.mark.toolchain
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras3_files_read_through_their_config_equal_the_live_model(tmp_path, suffix):
    from validation.zoo import build_zoo_model

    model = build_zoo_model("resnet8_cifar")  # functional, with residual adds and 1x1 shortcuts
    path = tmp_path / f"resnet8{suffix}"
    model.save(path)
    for runtime, dtype in (("xcubeai", "float32"), ("tflm", "int8")):
        a = memsim.footprint(path, runtime=runtime, dtype=dtype)
        b = memsim.footprint(model, runtime=runtime, dtype=dtype)
        assert (a.macc, a.weights_bytes, a.activations_bytes, a.ram_bytes) == \
            (b.macc, b.weights_bytes, b.activations_bytes, b.ram_bytes)


@pytest.mark.toolchain
def test_keras_from_spec_accepts_the_aliases_graph_from_spec_accepts():
    from memsim.frontends.keras import keras_from_spec

    spec = [{"type": "Input", "shape": [8, 8, 1]}, {"type": "Conv2D", "filters": 4, "kernel_size": 3},
            {"type": "MaxPool2D", "pool_size": 2}, {"type": "GlobalAvgPool2D"}, {"type": "Dense", "units": 2}]
    model = keras_from_spec(spec)
    assert [type(l).__name__ for l in model.layers[1:]] == ["Conv2D", "MaxPooling2D", "GlobalAveragePooling2D",
                                                            "Dense"]
    assert memsim.footprint(model).macc == memsim.footprint(spec).macc


@pytest.mark.toolchain
def test_a_keras_models_description_builds_it_again_with_its_batchnorm_momentum():
    """shrink rebuilds a user's Keras model from its description: a BatchNormalization's moving statistics must
    keep the user's momentum (Keras' default 0.99 does not converge in a short fine-tuning)."""
    from memsim.frontends.keras import keras_from_spec, quiet_keras, spec_from_keras

    keras = quiet_keras()
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
                              keras.layers.BatchNormalization(momentum=0.9), keras.layers.Flatten(),
                              keras.layers.Dense(3)])
    again = keras_from_spec(spec_from_keras(model))
    assert [layer.momentum for layer in again.layers if isinstance(layer, keras.layers.BatchNormalization)] == [0.9]
    assert memsim.footprint(again).ram_bytes == memsim.footprint(model).ram_bytes
