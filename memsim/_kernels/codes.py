"""The integer codes and array layouts the compiled kernels share, derived from memsim's declarations.

Op and activation codes are the index of the name in ``memsim.ops.IR_OPS`` / ``memsim.ops.ACTIVATIONS``; the
op sets the rules branch on (in place, conv, pooling) are tables built from ``memsim.ops``'s sets, so a kernel
never lists them again.

A network reaches the kernels as one int64 array ``ir`` of shape (layers, ``N_FIELDS``): ``ir[j, F_OP]`` is layer
j's op, and so on (fields below; one layer's fields are contiguous), plus ``ir_in``, the flat list of input layers
(``ir[j, F_IN]`` is where layer j's start, ``ir[j, F_NIN]`` how many). ``memsim._kernels.graph_ir`` fills it
from a Graph, ``memsim._kernels.chain_ir`` from a template's slots; the runtime rules read only this.
"""

from __future__ import annotations

import numpy as np

from memsim.ops import ACTIVATIONS, CONV_OPS, IN_PLACE_OPS, IR_OPS, POOL_OPS

OP = {name: code for code, name in enumerate(IR_OPS)}
ACT = {name: code for code, name in enumerate(ACTIVATIONS)}

OP_SKIP, OP_INPUT, OP_CONV1D, OP_CONV2D, OP_DWCONV2D, OP_DENSE = (OP[k] for k in (
    "skip", "input", "conv1d", "conv2d", "depthwise_conv2d", "dense"))
OP_MAXPOOL1D, OP_MAXPOOL2D, OP_AVGPOOL1D, OP_AVGPOOL2D, OP_GAP, OP_GMP = (OP[k] for k in (
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "global_avg_pool", "global_max_pool"))
OP_FLATTEN, OP_ACT, OP_BN, OP_DROPOUT, OP_RESHAPE, OP_ZEROPAD, OP_ADD, OP_CONCAT = (OP[k] for k in (
    "flatten", "activation", "batch_norm", "dropout", "reshape", "zero_padding", "add", "concatenate"))
ACT_LINEAR, ACT_RELU, ACT_RELU6, ACT_TANH, ACT_SIGMOID, ACT_ELU, ACT_SELU, ACT_LEAKY, ACT_SOFTMAX = (ACT[k] for k in (
    "linear", "relu", "relu6", "tanh", "sigmoid", "elu", "selu", "leaky_relu", "softmax"))

IS_IN_PLACE = np.array([name in IN_PLACE_OPS for name in IR_OPS])
IS_CONV = np.array([name in CONV_OPS for name in IR_OPS])
IS_POOL = np.array([name in POOL_OPS for name in IR_OPS])

# Fields of the ir array. Shapes are (rows, middle, channels): H, W, C of an image, (L, 1, C) of a sequence,
# (1, 1, n) of a vector; RANK is the number of dimensions without the batch.
FIELDS = ("op", "h", "w", "c", "rank", "wt", "b", "macc", "act", "own_act", "k", "s", "pad", "field", "folded",
          "name", "in", "nin", "out", "source", "k2", "s2", "same", "pads")
(F_OP, F_H, F_W, F_C, F_RANK, F_WT, F_B, F_MACC, F_ACT, F_OWN_ACT, F_K, F_S, F_PAD, F_FIELD, F_FOLDED,
 F_NAME, F_IN, F_NIN, F_OUT, F_SOURCE, F_K2, F_S2, F_SAME, F_PADS) = range(24)
N_FIELDS = len(FIELDS)
# F_OWN_ACT: an activation given as its layer's argument (Keras ``activation=``, TFLite fused), not a layer.
# F_K, F_S: kernel or pool rows and stride rows; F_PAD: a 'same' conv's top padding; F_FIELD: a conv's receptive
# field k_h x k_w x C_in. F_FOLDED: 1 a BatchNorm folded into the layer before it, 2 a layer whose bias is a
# folded BatchNorm's shift. F_NAME: length of the layer's name (an input's: the converter's name for its tensor).
# F_OUT: 1 for a graph output. F_K2, F_S2: the window's second dimension (1 for 1-D); F_SAME: padding 'same'.
# F_PADS: a ZeroPadding's (before, after) per axis, 8 bits each, first axis lowest (PAD_BITS).
# F_SOURCE: extra facts of the original layer (SOURCE_* bits).
SOURCE_SEPARABLE = 1   # one half of a Keras SeparableConv2D
SOURCE_NO_BIAS = 2     # use_bias=False
PAD_BITS = 8

# TFLite operators the TFLM lowering emits, and their codes (the index); an operator read from a .tflite file that
# is not listed takes code TFL_OTHER, whose per-op costs are the profile's defaults.
TFL_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "AVERAGE_POOL_2D", "SOFTMAX", "RESHAPE",
           "EXPAND_DIMS", "SHAPE", "STRIDED_SLICE", "PACK", "MEAN", "REDUCE_MAX", "ADD", "MUL", "TANH", "LOGISTIC",
           "ELU", "LEAKY_RELU", "RELU", "RELU6", "GREATER", "EXP", "SUB", "SELECT_V2", "DEQUANTIZE", "QUANTIZE", "PAD",
           "CONCATENATION")
TFL = {name: code for code, name in enumerate(TFL_OPS)}
TFL_OTHER = len(TFL_OPS)
N_TFL = TFL_OTHER + 1
(T_CONV, T_DW, T_FC, T_MAXPOOL, T_AVGPOOL, T_SOFTMAX, T_RESHAPE, T_EXPAND, T_SHAPE, T_SLICE, T_PACK, T_MEAN, T_RMAX,
 T_ADD, T_MUL, T_TANH, T_LOGISTIC, T_ELU, T_LEAKY, T_RELU, T_RELU6, T_GREATER, T_EXP, T_SUB, T_SELECT, T_DEQUANT,
 T_QUANT, T_PAD, T_CONCAT) = range(len(TFL_OPS))

# Result columns of the batch driver: the figures, then the time model's features (``timing.TIME_FEATURES``).
RESULT_FIELDS = ("macc", "params", "weights_bytes", "model_bytes", "activations_bytes", "runtime_ram_bytes",
                 "io_bytes", "ram_bytes", "flash_bytes", "valid", "supported", "conv_macc", "pointwise_macc",
                 "depthwise_macc", "dense_macc", "other_work", "kernel_calls")
R_TIME = 11  # first time-feature column
