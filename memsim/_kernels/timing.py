"""What an inference's time depends on: each layer's work, sorted by the kind of kernel that runs it.

One compiled function reads the IR array (any Graph through ``graph_ir``, a template's chain in the batch
driver), so the time model (``memsim._latency``) sees the same numbers on both paths. The kinds follow what the
kernel libraries distinguish (CMSIS-NN and X-CUBE-AI have separate routines, with different cycles per MACC, for a
convolution with a spatial window, a 1x1 one, a depthwise one and a fully connected layer).
"""

from __future__ import annotations

from memsim._jit import kernel
from memsim._kernels.codes import (ACT_LINEAR, ACT_RELU, ACT_RELU6, ACT_SOFTMAX, F_ACT, F_FOLDED, F_IN, F_K, F_K2,
                                   F_MACC, F_OP, F_OWN_ACT, F_C, F_H, F_W, IS_CONV, IS_IN_PLACE, OP_ACT, OP_ADD,
                                   OP_BN, OP_DENSE, OP_DWCONV2D, OP_INPUT, OP_SKIP, R_TIME, RESULT_FIELDS)

__all__ = ["TIME_FEATURES", "time_features"]

# The columns, in order: MACC of convolutions with a window (k > 1), of 1x1 convolutions, of depthwise
# convolutions, of dense layers; element work of every other layer that runs a kernel (pooling: its MACC, element-
# wise ops and unfused activations: their outputs); and the number of kernels an inference calls.
TIME_FEATURES = ("conv_macc", "pointwise_macc", "depthwise_macc", "dense_macc", "other_work", "kernel_calls")
TF_CONV, TF_POINTWISE, TF_DEPTHWISE, TF_DENSE, TF_OTHER, TF_CALLS = range(len(TIME_FEATURES))
N_TIME_FEATURES = len(TIME_FEATURES)
assert RESULT_FIELDS[R_TIME:R_TIME + N_TIME_FEATURES] == TIME_FEATURES


@kernel(inline=True)
def _fused_activation(ir, ir_in, j, fuses_argument_activations):
    """True for an activation the runtime folds into the layer before it. Where the runtime's kernels take the
    non-linearity (X-CUBE-AI): any but a softmax given as that layer's argument. Everywhere: a ReLU/ReLU6/linear
    given as the argument (or fused by the converter), or straight after a convolution, dense or add (or after a
    BatchNorm folded into one): TFLite's fused activations, where a tanh or sigmoid argument is an op of its own."""
    act = ir[j, F_ACT]
    if ir[j, F_OWN_ACT] != 0 and fuses_argument_activations and act != ACT_SOFTMAX:
        return True
    if act != ACT_RELU and act != ACT_RELU6 and act != ACT_LINEAR:
        return False
    if ir[j, F_OWN_ACT] != 0:
        return True
    row = ir_in[ir[j, F_IN]]
    if ir[row, F_OP] == OP_BN and ir[row, F_FOLDED] != 0:  # folded into the layer before it: look through it
        row = ir_in[ir[row, F_IN]]
    src = ir[row, F_OP]
    return IS_CONV[src] or src == OP_DENSE or src == OP_ADD


@kernel(inline=True)
def time_features(n, ir, ir_in, out, at, fuses_argument_activations):
    """Fill ``out[at:at + N_TIME_FEATURES]`` (int64) with the time features of the first ``n`` IR rows, under a
    runtime that does (1) or does not (0) run every argument activation inside its layer's kernel."""
    for q in range(N_TIME_FEATURES):
        out[at + q] = 0
    for j in range(n):
        op = ir[j, F_OP]
        if op == OP_INPUT or op == OP_SKIP:
            continue
        if op == OP_ACT:
            if _fused_activation(ir, ir_in, j, fuses_argument_activations):
                continue
        elif op == OP_BN:
            if ir[j, F_FOLDED] != 0:
                continue
        elif IS_IN_PLACE[op]:  # reshape, flatten, dropout: no kernel runs
            continue
        out[at + TF_CALLS] += 1
        macc = ir[j, F_MACC]
        if op == OP_DWCONV2D:
            out[at + TF_DEPTHWISE] += macc
        elif IS_CONV[op]:
            if ir[j, F_K] * ir[j, F_K2] == 1:
                out[at + TF_POINTWISE] += macc
            else:
                out[at + TF_CONV] += macc
        elif op == OP_DENSE:
            out[at + TF_DENSE] += macc
        else:
            elems = ir[j, F_H] * ir[j, F_W] * ir[j, F_C]
            out[at + TF_OTHER] += macc if macc > elems else elems
