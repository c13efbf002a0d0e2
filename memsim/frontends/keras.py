"""Build the IR from a Keras 3 model or a .keras/.h5 file.

TensorFlow/Keras is imported only when one of these functions is called.
Each Keras layer is turned into the same layer description that
``memsim.frontends.spec`` reads, so both front-ends share one set of rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memsim._errors import ModelFileError, UnsupportedLayerError
from memsim.frontends.spec import SUPPORTED_LAYERS, graph_from_spec
from memsim.graph import Graph

__all__ = ["graph_from_keras", "keras_from_spec", "load_keras_model", "quiet_keras", "spec_from_keras"]

_KEEP = ("filters", "kernel_size", "strides", "padding", "activation", "use_bias", "units", "pool_size",
         "rate", "target_shape", "axis", "depth_multiplier", "dilation_rate", "groups", "keepdims",
         "center", "scale", "momentum", "max_value", "negative_slope")
_SUPPORTED = {name.lower() for name in SUPPORTED_LAYERS} | {"input"}


def quiet_keras():
    """Import Keras lazily, with TensorFlow's start-up chatter (C++ logging on fd 2) silenced.

    Lazy on purpose: ``import memsim`` must not load TensorFlow.
    """
    import os
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # TensorFlow's default CPU allocator maps and unmaps every large tensor, so training a network with a
    # multi-megabyte layer spends half its time in page faults; its pooling (BFC) allocator reuses the memory:
    # 2.2x faster on paper-har's largest networks, the same accuracies bit for bit (benchmarks/RESULTS.md).
    os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
    if "keras" not in sys.modules:
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            import tensorflow as tf  # noqa: PLC0415

            tf.get_logger().setLevel("ERROR")
            import absl.logging  # noqa: PLC0415  (Keras warns through absl, e.g. on the .h5 ST Edge AI reads)

            absl.logging.set_verbosity(absl.logging.ERROR)
            import keras  # noqa: F401, PLC0415
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
    import keras  # noqa: PLC0415

    return keras


_keras = quiet_keras


KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def load_keras_model(path: "str | Path", command: str = "this command", also: str = "") -> Any:
    """Load a .keras or .h5 file without compiling it. ``command`` names who asks, for the sentence that refuses
    another kind of file (``also``: the other kinds it takes, e.g. " or .tflite")."""
    suffix = Path(path).suffix.lower()
    if suffix not in KERAS_SUFFIXES and Path(path).exists() and not Path(path).is_dir():
        raise ModelFileError(f"{str(path)!r} is a {suffix or 'suffix-less'} file; {command} takes a Keras model "
                             f"(.keras or .h5{also}); `autotinyml footprint` reads .tflite and .onnx files.")
    path = _checked_file(path)
    keras = _keras()
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a bad file
        if "safe_mode" in str(exc) or "unsafe_deserialization" in str(exc):
            raise ModelFileError(
                f"{str(path)!r} holds a Lambda layer (Python code), which Keras does not load from a file unless "
                "told to trust it, and which memsim cannot count; replace it with built-in layers and save again."
            ) from None
        raise ModelFileError(
            f"Model file {str(path)!r} could not be read as a Keras model ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); check that it is a complete .keras or .h5 file."
        ) from None


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _checked_file(path: "str | Path") -> Path:
    """The path of an existing .keras/.h5 file whose container is what its name says (see _check_container)."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"Model file {str(path)!r} does not exist.")
    _check_container(path)
    return path


def _check_container(path: Path) -> None:
    """A .keras file is a zip archive and a .h5 file an HDF5 file: say so at once, before loading TensorFlow."""
    import zipfile

    suffix = path.suffix.lower()
    if path.is_dir():
        raise ModelFileError(f"{str(path)!r} is a folder; pass a .keras or .h5 file (SavedModel folders are not read).")
    if suffix == ".keras" and not zipfile.is_zipfile(path):
        raise ModelFileError(f"{str(path)!r} is not a .keras file (a .keras file is a zip archive; this one is not): "
                             "save the model again with model.save('name.keras').")
    if suffix in (".h5", ".hdf5"):
        with open(path, "rb") as f:
            head = f.read(2048 + 8)
        # the HDF5 signature sits at offset 0, 512, 1024 or 2048
        if not any(head[o:o + 8] == _HDF5_SIGNATURE for o in (0, 512, 1024, 2048)):
            raise ModelFileError(f"{str(path)!r} is not an HDF5 file, so it cannot be a Keras .h5 model; "
                                 "check the file (a complete download?) or save the model again.")


def _activation_name(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):  # serialised function
        return value.get("config", value.get("class_name"))
    return getattr(value, "__name__", str(value))


def _layer_spec(layer: Any) -> dict:
    return layer_spec_from_config(type(layer).__name__, layer.name, layer.get_config())


def layer_spec_from_config(type_name: str, name: str, config: dict) -> dict:
    """One layer description from a Keras class name and its config (a live layer's or a saved file's)."""
    if type_name.lower() not in _SUPPORTED:
        exc = UnsupportedLayerError(
            f"Layer {name!r} of type {type_name} is not a layer memsim knows (a custom or unsupported layer); "
            f"export the model to .tflite and pass that, or use only {', '.join(SUPPORTED_LAYERS)}."
        )
        exc.layer, exc.layer_type = name, type_name  # for commands that cannot take a .tflite instead
        raise exc
    spec = {"type": type_name, "name": name}
    for key in _KEEP:
        if key in config:
            spec[key] = config[key]
    if "activation" in spec:
        spec["activation"] = _activation_name(spec["activation"])
    if type_name == "Activation":
        spec["activation"] = _activation_name(config.get("activation"))
    if type_name in ("ZeroPadding1D", "ZeroPadding2D"):
        spec["padding"] = config["padding"]
    if type_name == "LeakyReLU":
        spec["negative_slope"] = config.get("negative_slope", config.get("alpha", 0.3))
    if type_name in ("Conv1D", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D", "AveragePooling2D",
                     "MaxPooling1D", "AveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
                     "GlobalAveragePooling1D", "GlobalMaxPooling1D", "ZeroPadding2D") and \
            config.get("data_format", "channels_last") not in ("channels_last", None):
        raise UnsupportedLayerError(f"Layer {name!r} of type {type_name} uses data_format "
                                    f"{config.get('data_format')!r}; only channels_last is supported.")
    return spec


def spec_from_keras(model: Any) -> dict:
    """The layer description of a Sequential or functional Keras model."""
    keras = _keras()
    if not isinstance(model, keras.Model):
        raise UnsupportedLayerError(f"Expected a Keras model, got {type(model).__name__}.")
    layers = []
    if isinstance(model, keras.Sequential):
        shape = tuple(model.inputs[0].shape[1:]) if model.inputs else None
        if shape is None or any(d is None for d in shape):
            raise ModelFileError(f"Model {model.name!r} has no fixed input shape; build it with keras.Input(shape=...).")
        layers.append({"type": "Input", "name": model.inputs[0].name or "input", "shape": list(shape)})
        for layer in model.layers:
            if isinstance(layer, keras.Model):
                raise UnsupportedLayerError(f"Layer {layer.name!r} of type {type(layer).__name__} is a nested model; "
                                            "flatten it into one Sequential or functional model.")
            layers.append(_layer_spec(layer))
        return {"name": model.name, "layers": layers}
    input_names = {}
    for t in model.inputs:
        op = t._keras_history[0]
        input_names[id(op)] = op.name
        shape = tuple(t.shape[1:])
        if any(d is None for d in shape):
            raise ModelFileError(f"Model {model.name!r} input {op.name!r} has no fixed shape {shape}.")
        layers.append({"type": "Input", "name": op.name, "shape": list(shape)})
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        if isinstance(layer, keras.Model):
            raise UnsupportedLayerError(f"Layer {layer.name!r} of type {type(layer).__name__} is a nested model; "
                                        "flatten it into one Sequential or functional model.")
        spec = _layer_spec(layer)
        node = layer._inbound_nodes[0]
        spec["inputs"] = [t._keras_history[0].name for t in node.input_tensors]
        layers.append(spec)
    outputs = {t._keras_history[0].name for t in model.outputs}
    for spec in layers:
        if spec["name"] in outputs:
            spec["output"] = True
    return {"name": model.name, "layers": layers}


def graph_from_keras(model: Any) -> Graph:
    """Build the IR from a Keras model object, or a .keras/.h5 file read through its saved config (no Keras
    needed, so TF 2.x files that Keras 3 refuses still give figures)."""
    if isinstance(model, (str, Path)):
        from memsim.frontends.keras_config import read_model_config, spec_from_config

        path = _checked_file(model)
        spec = spec_from_config(read_model_config(path), layer_spec_from_config)
        if spec["name"] in ("model", "sequential", "functional"):
            spec["name"] = path.stem
        return graph_from_spec(spec)
    return graph_from_spec(spec_from_keras(model))


_CTOR_KEYS = {
    "Conv1D": ("filters", "kernel_size", "strides", "padding", "activation", "use_bias"),
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "activation", "use_bias"),
    "DepthwiseConv2D": ("kernel_size", "strides", "padding", "activation", "use_bias", "depth_multiplier"),
    "SeparableConv2D": ("filters", "kernel_size", "strides", "padding", "activation", "use_bias", "depth_multiplier"),
    "Dense": ("units", "activation", "use_bias"),
    "MaxPooling1D": ("pool_size", "strides", "padding"), "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling1D": ("pool_size", "strides", "padding"), "AveragePooling2D": ("pool_size", "strides", "padding"),
    "GlobalAveragePooling1D": ("keepdims",), "GlobalAveragePooling2D": ("keepdims",),
    "GlobalMaxPooling1D": ("keepdims",), "GlobalMaxPooling2D": ("keepdims",),
    "Flatten": (), "Reshape": ("target_shape",), "Dropout": ("rate",),
    "BatchNormalization": ("center", "scale", "momentum"),
    "ZeroPadding1D": ("padding",), "ZeroPadding2D": ("padding",),
    "Activation": ("activation",), "ReLU": ("max_value", "negative_slope"), "LeakyReLU": ("negative_slope",),
    "Softmax": (), "ELU": (), "Add": (), "Concatenate": ("axis",),
}


def keras_from_spec(spec: Any, name: str | None = None) -> Any:
    """Build the Keras model a layer description stands for (uncompiled).

    The inverse of :func:`spec_from_keras`; search templates use it so the
    network that is trained and the one memsim scores come from one source.
    """
    graph = graph_from_spec(spec)  # validates the description first, with memsim's errors
    keras = _keras()
    if isinstance(spec, dict):
        name = name or spec.get("name")
        spec = spec["layers"]
    tensors: dict[str, Any] = {}
    inputs, last, outputs = [], None, []
    for position, item in enumerate(spec):
        type_name = str(item["type"])
        lname = str(item.get("name") or f"{type_name.lower()}_{position}")
        if type_name.lower() in ("input", "inputlayer"):
            shape = item.get("shape", item.get("batch_shape"))
            last = keras.Input(shape=tuple(shape), name=lname)
            inputs.append(last)
            tensors[lname] = last
            continue
        # Keras's own aliases (MaxPool2D, AvgPool1D, Convolution2D, ...) name the same classes graph_from_spec accepts
        cls = getattr(keras.layers, type_name, None) or next(
            (getattr(keras.layers, k) for k in _CTOR_KEYS if k.lower() == type_name.lower().replace("_", "")), None)
        keys = _CTOR_KEYS.get(cls.__name__, ()) if cls else ()
        kwargs = {k: item[k] for k in keys if k in item}
        if cls.__name__ == "Activation":
            kwargs["activation"] = item.get("activation")
        layer = cls(name=lname, **kwargs)
        sources = item.get("inputs")
        if sources is None:
            args = last
        else:
            sources = [sources] if isinstance(sources, str) else sources
            args = [tensors[s] for s in sources]
            args = args[0] if len(args) == 1 else args
        last = layer(args)
        tensors[lname] = last
        if item.get("output"):
            outputs.append(last)
    model = keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs or last, name=name or graph.name)
    return model
