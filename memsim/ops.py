"""Per-op rules of the graph IR: output shape, stored parameters and MACC, with the checks that name a layer.

The arithmetic itself is ``memsim._rules`` (shared with the numba batch kernel); the MACC conventions are listed
there.
"""

from __future__ import annotations

from math import prod

from memsim import _rules
from memsim._errors import ShapeError, UnsupportedLayerError

__all__ = ["ACTIVATIONS", "ACTIVATION_MACC", "CONV_OPS", "IN_PLACE_OPS", "IR_OPS", "LAYER_TYPES", "POOL_OPS",
           "SUPPORTED_ACTIVATIONS", "WEIGHTED_OPS", "conv_output_length", "infer"]

# The one layer registry: canonical IR op -> the Keras class names it is read from (the first is the name error
# messages show, the rest are aliases Keras accepts). The spec, Keras and .h5/.keras-config front-ends and the
# batch evaluator all take their layer names from here.
LAYER_TYPES = {
    "input": ("InputLayer", "Input"),
    "conv1d": ("Conv1D", "Convolution1D"),
    "conv2d": ("Conv2D", "Convolution2D"),
    "depthwise_conv2d": ("DepthwiseConv2D",),
    "separable_conv2d": ("SeparableConv2D", "SeparableConvolution2D"),
    "dense": ("Dense",),
    "max_pool1d": ("MaxPooling1D", "MaxPool1D"),
    "max_pool2d": ("MaxPooling2D", "MaxPool2D"),
    "avg_pool1d": ("AveragePooling1D", "AvgPool1D"),
    "avg_pool2d": ("AveragePooling2D", "AvgPool2D"),
    "global_avg_pool": ("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAvgPool1D", "GlobalAvgPool2D"),
    "global_max_pool": ("GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPool1D", "GlobalMaxPool2D"),
    "flatten": ("Flatten",),
    "reshape": ("Reshape",),
    "dropout": ("Dropout",),
    "batch_norm": ("BatchNormalization",),
    "zero_padding": ("ZeroPadding1D", "ZeroPadding2D"),
    "activation": ("Activation", "ReLU", "LeakyReLU", "Softmax", "ELU"),
    "add": ("Add",),
    "concatenate": ("Concatenate",),
}
# Codes the compiled kernels use for ops and activations: the index in these tuples (memsim._kernels.codes).
# "skip" is a template slot left out (the papers' skipped layers); it never reaches a Graph.
IR_OPS = ("skip", "input", "conv1d", "conv2d", "depthwise_conv2d", "dense", "max_pool1d", "max_pool2d",
          "avg_pool1d", "avg_pool2d", "global_avg_pool", "global_max_pool", "flatten", "activation", "batch_norm",
          "dropout", "reshape", "zero_padding", "add", "concatenate")
CONV_OPS = frozenset({"conv1d", "conv2d", "depthwise_conv2d"})
POOL_OPS = frozenset({"max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"})
WEIGHTED_OPS = CONV_OPS | {"dense"}  # a following BatchNorm folds into these
# element-wise or a view of the same bytes: X-CUBE-AI runs them in place when nothing else reads their input
IN_PLACE_OPS = frozenset({"activation", "dropout", "batch_norm", "flatten", "reshape"})

# MACC per output element of each activation. relu 1, leaky relu 3 and
# softmax 15 are read off real reports; tanh, sigmoid, elu and selu are not
# established by any report we found and are assumed to cost 1 like relu.
ACTIVATION_MACC = {
    "linear": 0, "relu": 1, "relu6": 1, "leaky_relu": 3, "softmax": 15,
    "tanh": 1, "sigmoid": 1, "elu": 1, "selu": 1,
}
SUPPORTED_ACTIVATIONS = tuple(ACTIVATION_MACC)
ACTIVATIONS = ("linear", "relu", "relu6", "tanh", "sigmoid", "elu", "selu", "leaky_relu", "softmax")  # kernel codes


def conv_output_length(length: int, window: int, stride: int, padding: str, what: str) -> int:
    """Output length of a convolution or pooling window along one axis."""
    out = _rules.window_length(length, window, stride, padding == "same")
    if out < 1:
        raise ShapeError(
            f"{what}: a window of {window} does not fit an input of length {length} with padding 'valid'; "
            "use a smaller kernel/pool or padding='same'."
        )
    return out


def _spatial(op, attrs, shape, name):
    rank = 1 if op in ("conv1d", "max_pool1d", "avg_pool1d") else 2
    if len(shape) != rank + 1:
        raise ShapeError(
            f"Layer {name!r} ({op}) needs an input of rank {rank + 1} (spatial dims + channels, no batch), "
            f"got shape {tuple(shape)}."
        )
    return rank


def infer(op: str, attrs: dict, in_shapes: list[tuple[int, ...]], name: str) -> tuple[tuple[int, ...], int, int, int]:
    """Return (output shape, weights, biases, macc) of one layer.

    ``attrs`` holds normalised attributes (tuples for kernel/strides).
    """
    shape = in_shapes[0] if in_shapes else ()
    if op in ("conv1d", "conv2d", "depthwise_conv2d"):
        rank = _spatial(op, attrs, shape, name)
        k, s, pad = attrs["kernel_size"], attrs["strides"], attrs["padding"]
        out_sp = tuple(conv_output_length(shape[d], k[d], s[d], pad, f"Layer {name!r}") for d in range(rank))
        c_in = shape[-1]
        depthwise = op == "depthwise_conv2d"
        c_out = c_in * attrs["depth_multiplier"] if depthwise else attrs["filters"]
        weights, biases, macc = _rules.conv_counts(prod(out_sp), prod(k), c_in, c_out, depthwise, attrs["use_bias"])
        return out_sp + (c_out,), weights, biases, macc
    if op == "dense":
        if len(shape) < 1:
            raise ShapeError(f"Layer {name!r} (dense) needs an input with at least one dimension, got {tuple(shape)}.")
        units = attrs["units"]
        weights, biases, macc = _rules.dense_counts(prod(shape[:-1]), shape[-1], units, attrs["use_bias"])
        return shape[:-1] + (units,), weights, biases, macc
    if op in ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"):
        rank = _spatial(op, attrs, shape, name)
        p, s, pad = attrs["pool_size"], attrs["strides"], attrs["padding"]
        out = tuple(conv_output_length(shape[d], p[d], s[d], pad, f"Layer {name!r}") for d in range(rank)) + (shape[-1],)
        return out, 0, 0, _rules.pool_macc(prod(out), prod(p))
    if op in ("global_avg_pool", "global_max_pool"):
        if len(shape) < 2:
            raise ShapeError(f"Layer {name!r} (global pooling) needs spatial dims + channels, got {tuple(shape)}.")
        out = (1,) * (len(shape) - 1) + (shape[-1],) if attrs.get("keepdims") else (shape[-1],)
        return out, 0, 0, _rules.global_pool_macc(prod(shape))
    if op == "activation":
        return shape, 0, 0, _rules.activation_macc(prod(shape), ACTIVATION_MACC[attrs["activation"]])
    if op == "batch_norm":
        if attrs.get("folded"):
            return shape, 0, 0, 0
        return (shape, *_rules.batch_norm_counts(shape[-1], prod(shape)))
    if op in ("dropout", "input"):
        return shape, 0, 0, 0
    if op == "flatten":
        return (prod(shape),), 0, 0, 0
    if op == "reshape":
        target = list(attrs["target_shape"])
        n = prod(shape)
        if target.count(-1) > 1:
            raise ShapeError(f"Layer {name!r} (reshape): at most one -1 is allowed in target_shape {tuple(target)}.")
        if -1 in target:
            known = prod(t for t in target if t != -1)
            if known == 0 or n % known:
                raise ShapeError(f"Layer {name!r} (reshape): cannot reshape {tuple(shape)} to {tuple(target)}.")
            target[target.index(-1)] = n // known
        if prod(target) != n:
            raise ShapeError(
                f"Layer {name!r} (reshape): target_shape {tuple(target)} holds {prod(target)} elements, "
                f"the input {tuple(shape)} holds {n}."
            )
        return tuple(target), 0, 0, 0
    if op == "zero_padding":
        pads = attrs["padding"]
        if len(pads) != len(shape) - 1:
            raise ShapeError(f"Layer {name!r} (zero padding): padding {pads} does not match input shape {tuple(shape)}.")
        out = tuple(shape[d] + pads[d][0] + pads[d][1] for d in range(len(pads))) + (shape[-1],)
        return out, 0, 0, 0
    if op == "add":
        for other in in_shapes[1:]:
            if tuple(other) != tuple(shape):
                raise ShapeError(f"Layer {name!r} (add): input shapes differ: {[tuple(s) for s in in_shapes]}.")
        return shape, 0, 0, _rules.add_macc(len(in_shapes), prod(shape))
    if op == "concatenate":
        axis = attrs.get("axis", -1)
        rank = len(shape)
        ax = axis if axis >= 0 else rank + axis
        if not 0 <= ax < rank:
            raise ShapeError(f"Layer {name!r} (concatenate): axis {axis} is out of range for rank {rank}.")
        total = 0
        for other in in_shapes:
            if len(other) != rank or any(other[d] != shape[d] for d in range(rank) if d != ax):
                raise ShapeError(
                    f"Layer {name!r} (concatenate): shapes {[tuple(s) for s in in_shapes]} differ outside axis {axis}."
                )
            total += other[ax]
        return tuple(total if d == ax else shape[d] for d in range(rank)), 0, 0, 0
    raise UnsupportedLayerError(f"Layer {name!r}: no rules for op {op!r}.")
