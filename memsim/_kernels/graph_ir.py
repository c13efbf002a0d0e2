"""A Graph in the kernels' array layout (``memsim._kernels.codes``), so the runtime rules compiled for the batch
evaluator read any network too."""

from __future__ import annotations

from math import prod

import numpy as np

from memsim import _rules
from memsim._kernels.codes import (ACT, F_ACT, F_B, F_C, F_FIELD, F_FOLDED, F_H, F_IN, F_K, F_MACC, F_NAME, F_NIN,
                                   F_OP, F_OUT, F_OWN_ACT, F_PAD, F_RANK, F_S, F_SOURCE, F_W, F_WT, N_FIELDS, OP,
                                   SOURCE_NO_BIAS, SOURCE_SEPARABLE)
from memsim.graph import Graph

__all__ = ["graph_ir", "shape_fields"]

_SEPARABLE_HALF = "_dw"  # the spec front-end's name for a SeparableConv2D's depthwise half


def shape_fields(shape: tuple) -> tuple[int, int, int]:
    """(rows, middle, channels) of a shape without the batch: (H, W, C), (L, 1, C) or (1, 1, n)."""
    if len(shape) <= 1:
        return 1, 1, int(shape[0]) if shape else 1
    return int(shape[0]), prod(shape[1:-1]), int(shape[-1])


_LAST: list = [None, None]  # (graph, (ir, ir_in)): a footprint asks several rules about one graph


def graph_ir(graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """(ir, ir_in) of a graph: one row per layer, in the graph's order."""
    if _LAST[0] is graph:
        return _LAST[1]
    layers = graph.layers
    rows = []  # plain lists, one array at the end: item by item into numpy costs more than the rules themselves
    ir_in = []
    outputs = set(graph.outputs)
    for j, layer in enumerate(layers):
        col = [0] * N_FIELDS
        attrs = layer.attrs
        col[F_OP] = OP[layer.op]
        col[F_H], col[F_W], col[F_C] = shape_fields(layer.shape)
        col[F_RANK] = len(layer.shape)
        col[F_WT], col[F_B], col[F_MACC] = layer.weights, layer.biases, layer.macc
        col[F_IN], col[F_NIN] = len(ir_in), len(layer.inputs)
        ir_in.extend(layer.inputs)
        col[F_OUT] = int(j in outputs)
        col[F_NAME] = len(layer.name)
        if layer.op == "activation":
            col[F_ACT] = ACT[attrs["activation"]]
            col[F_OWN_ACT] = int(bool(attrs.get("argument") or attrs.get("fused")))
            if attrs.get("argument"):  # named under its layer
                col[F_NAME] = rows[layer.inputs[0]][F_NAME]
        window = attrs.get("kernel_size") or attrs.get("pool_size")
        if window is not None and "strides" in attrs:
            col[F_K], col[F_S] = window[0], attrs["strides"][0]
        if "kernel_size" in attrs:
            c_in = layers[layer.inputs[0]].shape[-1]
            col[F_FIELD] = prod(window) * (1 if layer.op == "depthwise_conv2d" else c_in)
            col[F_PAD] = _rules.pad_top(layer.shape[0], window[0], attrs["strides"][0],
                                        layers[layer.inputs[0]].shape[0], attrs.get("padding") == "same")
        col[F_FOLDED] = 1 if attrs.get("folded") else 2 if attrs.get("folded_bias") else 0
        separable = layer.source_type == "SeparableConv2D"
        if separable and layer.op == "depthwise_conv2d" and layer.name.endswith(_SEPARABLE_HALF):
            col[F_NAME] -= len(_SEPARABLE_HALF)
        col[F_SOURCE] = SOURCE_SEPARABLE * separable + SOURCE_NO_BIAS * (not attrs.get("use_bias", True))
        rows.append(col)
    ir = np.array(rows, np.int64).reshape(len(layers), N_FIELDS)
    ir_in = np.array(ir_in or [0], np.int64)
    _LAST[:] = [graph, (ir, ir_in)]
    return ir, ir_in
