"""Build the IR from a plain architecture description (no Keras needed).

A description is a list of layer dicts using Keras class names and argument
names, so a search template can describe a network in microseconds::

    [{"type": "Input", "shape": [90, 3, 1]},
     {"type": "Conv2D", "filters": 128, "kernel_size": 2, "activation": "relu"},
     {"type": "MaxPooling2D", "pool_size": 2},
     {"type": "Flatten"},
     {"type": "Dense", "units": 6, "activation": "softmax"}]

A layer reads the previous layer unless it names its sources in ``inputs``
(a list of layer names), which is how residual and branching graphs are
written. ``activation=`` arguments become separate activation layers, a
SeparableConv2D becomes a depthwise and a pointwise layer, and a
BatchNormalization that directly follows a conv/dense layer (its only reader)
is folded into it, as both X-CUBE-AI and the TFLite converter do.
"""

from __future__ import annotations

from dataclasses import replace
from collections.abc import Iterable, Mapping
from typing import Any

from memsim._errors import ShapeError, SpecError, UnsupportedLayerError
from memsim.graph import Graph, Layer
from memsim.ops import LAYER_TYPES, SUPPORTED_ACTIVATIONS, WEIGHTED_OPS, infer

__all__ = ["SUPPORTED_LAYERS", "activation_of_layer", "graph_from_spec", "normalise_activation"]

# Keras class name (lower case, no underscores) -> canonical op; from the one registry, memsim.ops.LAYER_TYPES.
_TYPES = {name.lower(): op for op, names in LAYER_TYPES.items() for name in names}
SUPPORTED_LAYERS = tuple(name for names in LAYER_TYPES.values() for name in names
                         if name not in ("Input", "Convolution1D", "Convolution2D", "SeparableConvolution2D")
                         and "Pool1D" not in name and "Pool2D" not in name)
_FOLDS_BN = WEIGHTED_OPS
_ACT_ALIASES = {
    None: "linear", "linear": "linear", "relu": "relu", "relu6": "relu6", "tanh": "tanh",
    "sigmoid": "sigmoid", "selu": "selu", "elu": "elu", "softmax": "softmax",
    "leaky_relu": "leaky_relu", "leakyrelu": "leaky_relu",
}


def normalise_activation(value: Any, where: str) -> str:
    """Canonical activation name, or UnsupportedLayerError naming the layer."""
    key = value.lower() if isinstance(value, str) else value
    if key not in _ACT_ALIASES:
        raise UnsupportedLayerError(
            f"{where}: activation {value!r} is not supported; use one of {', '.join(SUPPORTED_ACTIVATIONS)}."
        )
    return _ACT_ALIASES[key]


def activation_of_layer(type_name: str, spec: dict, where: str) -> str:
    """The activation an activation layer applies: ``Activation(act)``, ``ReLU`` (max_value None or 6,
    negative_slope), ``LeakyReLU``, ``Softmax`` or ``ELU``."""
    kind = type_name.lower().replace("_", "")
    if kind == "relu":
        max_value = spec.get("max_value")
        if max_value not in (None, 6, 6.0):
            raise UnsupportedLayerError(f"{where}: ReLU(max_value={max_value}) is not supported; only None or 6.")
        if spec.get("negative_slope", 0) not in (0, 0.0, None):
            return "leaky_relu"
        return "relu6" if max_value is not None else "relu"
    if kind in ("leakyrelu", "softmax", "elu"):
        return {"leakyrelu": "leaky_relu", "softmax": "softmax", "elu": "elu"}[kind]
    return normalise_activation(spec.get("activation"), where)


def _tuple(value: Any, rank: int, what: str, where: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        out = (value,) * rank
    else:
        try:
            out = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise SpecError(f"{where}: {what} must be an int or a list of {rank} ints, got {value!r}.") from None
        if len(out) == 1 and rank > 1:
            out = out * rank
    if len(out) != rank or any(v < 1 for v in out):
        raise SpecError(f"{where}: {what} must be {rank} positive int(s), got {value!r}.")
    return out


def _positive(spec: Mapping, key: str, where: str, default: Any = None) -> int:
    value = spec.get(key, default)
    if value is None:
        raise SpecError(f"{where}: missing required argument {key!r}.")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < 1:
        raise SpecError(f"{where}: {key} must be a positive integer, got {value!r}.")
    return int(value)


def _padding(spec: Mapping, where: str) -> str:
    pad = str(spec.get("padding", "valid")).lower()
    if pad not in ("valid", "same"):
        raise UnsupportedLayerError(f"{where}: padding {pad!r} is not supported; use 'valid' or 'same'.")
    return pad


def _check_dilation(spec: Mapping, where: str) -> None:
    rate = spec.get("dilation_rate", 1)
    rates = (rate,) if isinstance(rate, int) else tuple(rate)
    if any(r != 1 for r in rates):
        raise UnsupportedLayerError(f"{where}: dilation_rate {rate!r} is not supported; only 1 is.")
    if spec.get("groups", 1) != 1:
        raise UnsupportedLayerError(f"{where}: grouped convolution (groups={spec['groups']}) is not supported.")


def _zero_padding(value: Any, rank: int, where: str) -> tuple[tuple[int, int], ...]:
    if isinstance(value, int):
        return ((value, value),) * rank
    items = list(value)
    if rank == 1 and len(items) == 2 and all(isinstance(v, int) for v in items):
        return ((items[0], items[1]),)
    if len(items) != rank:
        raise SpecError(f"{where}: padding {value!r} must have {rank} entries.")
    out = []
    for v in items:
        out.append((v, v) if isinstance(v, int) else (int(v[0]), int(v[1])))
    return tuple(out)


def _expand(spec: Mapping, op: str, type_name: str, where: str) -> list[tuple[str, dict]]:
    """The IR ops (op, attrs) that one described layer becomes."""
    if op in ("conv1d", "conv2d", "depthwise_conv2d", "separable_conv2d"):
        rank = 1 if op == "conv1d" else 2
        _check_dilation(spec, where)
        attrs = {
            "kernel_size": _tuple(spec.get("kernel_size"), rank, "kernel_size", where),
            "strides": _tuple(spec.get("strides", 1), rank, "strides", where),
            "padding": _padding(spec, where),
            "use_bias": bool(spec.get("use_bias", True)),
        }
        act = normalise_activation(spec.get("activation"), where)
        if op == "separable_conv2d":
            dw = dict(attrs, depth_multiplier=_positive(spec, "depth_multiplier", where, 1), use_bias=False)
            pw = {"kernel_size": (1, 1), "strides": (1, 1), "padding": "valid",
                  "use_bias": attrs["use_bias"], "filters": _positive(spec, "filters", where)}
            parts = [("depthwise_conv2d", dw), ("conv2d", pw)]
        elif op == "depthwise_conv2d":
            attrs["depth_multiplier"] = _positive(spec, "depth_multiplier", where, 1)
            parts = [(op, attrs)]
        else:
            attrs["filters"] = _positive(spec, "filters", where)
            parts = [(op, attrs)]
        if act != "linear":
            parts.append(("activation", {"activation": act, "argument": True}))
        return parts
    if op == "dense":
        parts = [("dense", {"units": _positive(spec, "units", where), "use_bias": bool(spec.get("use_bias", True))})]
        act = normalise_activation(spec.get("activation"), where)
        if act != "linear":
            parts.append(("activation", {"activation": act, "argument": True}))
        return parts
    if op in ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"):
        rank = 1 if op.endswith("1d") else 2
        pool = _tuple(spec.get("pool_size", 2), rank, "pool_size", where)
        strides = spec.get("strides")
        return [(op, {"pool_size": pool, "strides": pool if strides is None else _tuple(strides, rank, "strides", where),
                      "padding": _padding(spec, where)})]
    if op in ("global_avg_pool", "global_max_pool"):
        return [(op, {"keepdims": bool(spec.get("keepdims", False))})]
    if op == "activation":
        return [("activation", {"activation": activation_of_layer(type_name, spec, where)})]
    if op == "batch_norm":
        return [("batch_norm", {"folded": False, "center": bool(spec.get("center", True)),
                                "scale": bool(spec.get("scale", True))})]
    if op == "reshape":
        target = spec.get("target_shape")
        if target is None:
            raise SpecError(f"{where}: missing required argument 'target_shape'.")
        return [("reshape", {"target_shape": tuple(int(t) for t in target)})]
    if op == "zero_padding":
        rank = 1 if type_name.lower().endswith("1d") else 2
        return [("zero_padding", {"padding": _zero_padding(spec.get("padding", 1), rank, where)})]
    if op == "concatenate":
        return [("concatenate", {"axis": int(spec.get("axis", -1))})]
    if op == "dropout":
        rate = float(spec.get("rate", 0.0))
        if not 0.0 <= rate < 1.0:  # Keras refuses it only when the training starts
            raise SpecError(f"{where}: dropout rate {rate:g} must be in [0, 1).")
        return [("dropout", {"rate": rate})]
    return [(op, {})]


def _keras_params(op: str, attrs: dict, weights: int, biases: int, channels: int) -> int:
    if op == "batch_norm":
        return channels * (2 + int(attrs.get("center", True)) + int(attrs.get("scale", True)))
    return weights + biases


def graph_from_spec(spec: "Iterable[Mapping] | Mapping", name: str = "model") -> Graph:
    """Build a :class:`Graph` from a layer list (or ``{"name":..., "layers": [...]}``).

    Raises
    ------
    SpecError, UnsupportedLayerError, ShapeError
        Naming the offending layer.
    """
    if isinstance(spec, Mapping):
        name = str(spec.get("name", name))
        spec = spec.get("layers")
        if spec is None:
            raise SpecError("An architecture description needs a 'layers' list.")
    layers: list[Layer] = []
    keras_params = 0
    by_name: dict[str, int] = {}
    outputs_named: list[int] = []
    for position, item in enumerate(spec):
        if not isinstance(item, Mapping) or "type" not in item:
            raise SpecError(f"Layer #{position} must be a mapping with a 'type' key, got {item!r}.")
        type_name = str(item["type"])
        op = _TYPES.get(type_name.lower().replace("_", ""))
        lname = str(item.get("name") or f"{type_name.lower()}_{position}")
        where = f"Layer {lname!r} ({type_name})"
        if op is None:
            raise UnsupportedLayerError(
                f"{where} is not supported; supported layer types are {', '.join(SUPPORTED_LAYERS)}."
            )
        if lname in by_name:
            raise SpecError(f"{where}: the name is used twice; layer names must be unique.")
        if op == "input":
            shape = item.get("shape", item.get("batch_shape", item.get("batch_input_shape")))
            if shape is None:
                raise SpecError(f"{where}: an Input needs a 'shape' (without the batch dimension).")
            shape = tuple(shape)
            if "batch_shape" in item or "batch_input_shape" in item:
                shape = shape[1:]
            if not shape or any(not isinstance(d, int) or d < 1 for d in shape):
                raise ShapeError(f"{where}: input shape must be positive integers without the batch dimension, got {tuple(shape)}.")
            by_name[lname] = len(layers)
            layers.append(Layer(lname, "input", (), shape, source_type="InputLayer"))
            continue
        sources = item.get("inputs")
        if sources is None:
            if not layers:
                raise SpecError(f"{where} comes first; a description starts with an Input layer.")
            src = (len(layers) - 1,)
        else:
            if isinstance(sources, str):
                sources = [sources]
            try:
                src = tuple(by_name[s] for s in sources)
            except KeyError as exc:
                raise SpecError(f"{where}: input {exc.args[0]!r} is not an earlier layer's name.") from None
        if op in ("add", "concatenate") and len(src) < 2:
            raise SpecError(f"{where} needs at least two inputs.")
        if op not in ("add", "concatenate") and len(src) != 1:
            raise SpecError(f"{where} takes one input, got {len(src)}.")
        parts = _expand(item, op, type_name, where)
        for k, (part_op, attrs) in enumerate(parts):
            if len(parts) == 1:
                part_name = lname
            elif part_op == "activation":
                part_name = f"{lname}_{attrs['activation']}"
            elif part_op == "depthwise_conv2d" and op == "separable_conv2d":
                part_name = f"{lname}_dw"
            else:
                part_name = lname if part_op == op or op == "separable_conv2d" else f"{lname}_{k}"
            in_shapes = [layers[i].shape for i in src]
            shape, w, b, macc = infer(part_op, attrs, in_shapes, part_name)
            keras_params += _keras_params(part_op, attrs, w, b, shape[-1] if shape else 0)
            layers.append(Layer(part_name, part_op, src, shape, w, b, macc, attrs, type_name))
            src = (len(layers) - 1,)
        by_name[lname] = len(layers) - 1
        if item.get("output"):
            outputs_named.append(len(layers) - 1)
    if not layers:
        raise SpecError("An architecture description needs at least an Input layer.")
    layers = _fold_batch_norms(layers)
    outputs = tuple(outputs_named) or _sinks(layers)
    return Graph(name, tuple(layers), outputs, keras_params)


def _sinks(layers: list[Layer]) -> tuple[int, ...]:
    read = {i for layer in layers for i in layer.inputs}
    return tuple(i for i in range(len(layers)) if i not in read and layers[i].op != "input") or (len(layers) - 1,)


def _fold_batch_norms(layers: list[Layer]) -> list[Layer]:
    readers = [0] * len(layers)
    for layer in layers:
        for i in layer.inputs:
            readers[i] += 1
    for j, layer in enumerate(layers):
        if layer.op != "batch_norm" or len(layer.inputs) != 1:
            continue
        i = layer.inputs[0]
        producer = layers[i]
        if producer.op not in _FOLDS_BN or readers[i] != 1:
            continue
        layers[j] = replace(layer, weights=0, biases=0, macc=0, attrs=dict(layer.attrs, folded=True))
        if not producer.biases:  # the folded BN's shift becomes the conv's bias
            c = producer.shape[-1]
            layers[i] = replace(producer, biases=c, macc=producer.macc + c,
                                attrs=dict(producer.attrs, use_bias=True, folded_bias=True))
    return layers
