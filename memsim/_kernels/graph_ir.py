"""A Graph in the kernels' array layout (``memsim._kernels.codes``), so the runtime rules compiled for the batch
evaluator read any network too."""

from __future__ import annotations

from math import prod

import numpy as np

from memsim import _rules
from memsim._kernels.codes import (ACT, F_ACT, F_B, F_C, F_FIELD, F_FOLDED, F_H, F_IN, F_K, F_K2, F_MACC, F_NAME,
                                   F_NIN, F_OP, F_OUT, F_OWN_ACT, F_PAD, F_PADS, F_RANK, F_S, F_S2, F_SAME, F_SOURCE,
                                   F_W, F_WT, N_FIELDS, OP, PAD_BITS, SOURCE_NO_BIAS, SOURCE_SEPARABLE)
from memsim._tflite_names import input_tensor_name
from memsim.graph import Graph
from memsim.ops import CONV_OPS, POOL_OPS, WEIGHTED_OPS

__all__ = ["graph_ir"]

_SEPARABLE_HALF = "_dw"  # the spec front-end's name for a SeparableConv2D's depthwise half
_WINDOWED = CONV_OPS | POOL_OPS
_WEIGHTED = WEIGHTED_OPS


# (graph, (ir, ir_in)) of the last graph encoded, in one slot so a thread never reads one graph's arrays as
# another's: a footprint asks several rules about one graph
_LAST: list = [None]


def graph_ir(graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """(ir, ir_in) of a graph: one row per layer, in the graph's order."""
    last = _LAST[0]
    if last is not None and last[0] is graph:
        return last[1]
    layers = graph.layers
    rows = []  # plain lists, one array at the end: item by item into numpy costs more than the rules themselves
    ir_in = []
    outputs = set(graph.outputs)
    for j, layer in enumerate(layers):
        col = [0] * N_FIELDS
        op, attrs, shape, inputs = layer.op, layer.attrs, layer.shape, layer.inputs
        col[F_OP] = OP[op]
        if len(shape) <= 1:
            col[F_H], col[F_W], col[F_C] = 1, 1, (shape[0] if shape else 1)
        else:
            col[F_H], col[F_W], col[F_C] = shape[0], prod(shape[1:-1]), shape[-1]
        col[F_RANK] = len(shape)
        col[F_WT], col[F_B], col[F_MACC] = layer.weights, layer.biases, layer.macc
        col[F_IN], col[F_NIN] = len(ir_in), len(inputs)
        ir_in.extend(inputs)
        col[F_OUT] = int(j in outputs)
        # an input's tensor is named by the converter's rule; a layer's other tensors under the layer's name
        col[F_NAME] = input_tensor_name(layer.name) if op == "input" else len(layer.name)
        if op == "activation":
            col[F_ACT] = ACT[attrs["activation"]]
            col[F_OWN_ACT] = int(bool(attrs.get("argument") or attrs.get("fused")))
            if attrs.get("argument"):  # named under its layer
                col[F_NAME] = rows[inputs[0]][F_NAME]
        elif op in _WINDOWED:
            window, strides = attrs.get("kernel_size") or attrs["pool_size"], attrs["strides"]
            same = attrs.get("padding") == "same"
            col[F_K], col[F_S], col[F_SAME] = window[0], strides[0], int(same)
            col[F_K2], col[F_S2] = (window[1], strides[1]) if len(window) > 1 else (1, 1)
            if op in CONV_OPS:
                in_shape = layers[inputs[0]].shape
                col[F_FIELD] = prod(window) * (1 if op == "depthwise_conv2d" else in_shape[-1])
                col[F_PAD] = _rules.pad_top(shape[0], window[0], strides[0], in_shape[0], same)
        elif op == "zero_padding":
            pads = [min(int(v), (1 << PAD_BITS) - 1) for pair in attrs["padding"][:2] for v in pair]  # (a pad
            col[F_PADS] = sum(v << (PAD_BITS * q) for q, v in enumerate(pads))  # that large never fuses anyway)
        elif op == "batch_norm":
            col[F_FOLDED] = int(bool(attrs.get("folded")))
        if op in _WEIGHTED:
            col[F_FOLDED] = 2 if attrs.get("folded_bias") else 0
            separable = layer.source_type == "SeparableConv2D"
            if separable and op == "depthwise_conv2d":  # both halves are named under the Keras layer
                col[F_NAME] -= len(_SEPARABLE_HALF)
            col[F_SOURCE] = SOURCE_SEPARABLE * separable + SOURCE_NO_BIAS * (not attrs.get("use_bias", True))
        rows.append(col)
    ir = np.array(rows, np.int64).reshape(len(layers), N_FIELDS)
    ir_in = np.array(ir_in or [0], np.int64)
    _LAST[0] = (graph, (ir, ir_in))
    return ir, ir_in
