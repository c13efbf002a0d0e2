"""TFLM's lowering, compiled: the one implementation of the converter rules ``memsim.profiles.tflm`` states.

``lower`` reads the IR layout (``memsim._kernels.codes``) of any network (the profile's ``lower`` for a Graph, the
batch driver for a template's chain) and writes the TFLite graph the converter makes, as arrays:

* ``tens`` (tensors x T_*): size in bytes, constant or not, name length, quantisation channels, stored rank;
* ``ops`` (ops x O_*): operator code (``codes.TFL_OPS``), IR layer, output channels of conv/depthwise/dense,
  where its tensors start in ``op_in`` (inputs, then outputs) and how many of each, and a type id (one per
  operator type: the flatbuffer stores each type once);
* ``gio``: row 0 the model's input tensors, row 1 its outputs; ``cnt`` (C_*): the counts.

``memsim._kernels.tflm_memory`` turns such a graph (lowered, or read from a .tflite) into arena and Flash bytes.
Work arrays are the caller's (``work_arrays`` sizes them), so the batch loop allocates nothing per network.
"""

from __future__ import annotations

import numpy as np

from memsim._jit import kernel
from memsim._kernels import rules as R
from memsim._tflite_names import NAME_ROLES
from memsim._kernels.codes import (ACT_ELU, ACT_LINEAR, ACT_RELU, ACT_RELU6, ACT_SELU, ACT_SIGMOID, ACT_TANH, F_ACT,
                                   F_C, F_FOLDED, F_H, F_IN, F_K, F_K2, F_NAME, F_NIN, F_OP, F_OUT, F_PADS, F_RANK,
                                   F_S, F_S2, F_SAME, F_SOURCE, F_W, F_WT, IS_CONV, OP_ACT, OP_ADD, OP_AVGPOOL1D,
                                   OP_AVGPOOL2D, OP_BN, OP_CONV1D, OP_CONV2D, OP_DENSE, OP_DROPOUT, OP_DWCONV2D,
                                   OP_FLATTEN, OP_GAP, OP_GMP, OP_INPUT, OP_MAXPOOL1D, OP_MAXPOOL2D, OP_RESHAPE,
                                   OP_ZEROPAD, PAD_BITS, SOURCE_NO_BIAS, SOURCE_SEPARABLE, T_ADD, T_AVGPOOL, T_CONCAT,
                                   T_CONV, T_DEQUANT, T_DW, T_EXP, T_EXPAND, T_FC, T_GREATER, T_MAXPOOL, T_MEAN,
                                   T_MUL, T_PACK, T_PAD, T_QUANT, T_RESHAPE, T_RMAX, T_SELECT, T_SHAPE, T_SLICE,
                                   T_SUB)

__all__ = ["lower", "work_arrays"]

T_SIZE, T_CONST, T_NAME, T_CH, T_RANK = range(5)
# the lowering's own notes per tensor: the 4-D tensor a Flatten reshapes instead of this one (-1: itself), and
# this tensor's Conv1D EXPAND_DIMS output (-1: none yet)
T_UNSQUEEZED, T_EXPANDED = 5, 6
T_COLS = 7
O_KIND, O_LAYER, O_CH, O_IN, O_NIN, O_NOUT, O_TYPE = range(7)  # an op's inputs, then its outputs, in op_in
C_NT, C_NOPS, C_NIO, C_GIN, C_GOUT, C_FIRST_MERGED, C_NREG = range(7)
# per-layer work: readers, the layer's output tensor, its deferred Conv1D RESHAPE (1 while waiting), the name that
# RESHAPE's output would have, its kernel tensor, and the tensors whose names grow when a relu or a BN merges in
W_READERS, W_OUT, W_DEFERRED, W_SQUEEZED, W_KERNEL, W_NAMED_N, W_NAMED = range(7)
W_COLS = W_NAMED + 3
# per activation code: its tensor name's "/" + suffix length, the TFLite op it lowers to (when it is one op)
AT_NAME, AT_OP = range(2)
# name constants handed in (memsim._tflite_names), in this order
NC_PATH, NC_OUTPUT, NC_MERGED, NC_QUANTIZE, NC_GRAPH = range(5)
# Where each tensor-name role's length sits in the table handed in: its index in memsim._tflite_names.NAME_ROLES,
# looked up by name (a renamed role fails at import, not in a figure).
_ROLE = {role: index for index, role in enumerate(NAME_ROLES)}
(N_MATMUL, N_BIAS_ADD, N_CONVOLUTION, N_DEPTHWISE, N_SQUEEZE, N_CONV_SQUEEZE, N_EXPAND_DIM, N_EXPAND, N_SELU,
 N_MAX_POOL2D, N_AVG_POOL2D, N_MAX_POOL1D, N_AVG_POOL1D, N_POOL_EXPAND, N_POOL_EXPAND_DIM, N_POOL_SQUEEZE, N_SHAPE,
 N_SLICE, N_SLICE_BEGIN, N_PACK_DIM, N_PACK, N_RESHAPE, N_MEAN, N_MAX, N_REDUCE_AXES, N_BN_MUL, N_BN_MUL_1,
 N_BN_ADD_1, N_BN_SUB, N_PAD_CONST, N_PAD, N_ADD, N_CONCAT, N_SEPARABLE, N_DEPTHWISE_SUFFIX) = (
    _ROLE[role] for role in ("matmul", "bias_add", "convolution", "depthwise", "squeeze", "conv_squeeze", "expand_dim",
        "expand", "selu", "max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d", "pool_expand",
        "pool_expand_dim", "pool_squeeze", "shape", "slice", "slice_begin", "pack_dim", "pack",
        "reshape", "mean", "max", "reduce_axes", "bn_mul", "bn_mul_1", "bn_add_1", "bn_sub",
        "pad_const", "pad", "add", "concat", "separable", "depthwise_suffix"))
# Keys of constants the converter merges when their values are equal (the key's kind, times 2**56, plus its value)
K_CONV_AXIS, K_AXIS1, K_SLICE_BEGIN, K_SLICE_ONE, K_SQUEEZE, K_ZEROS, K_SELU = range(1, 8)
_KEY = 2 ** 56
FLOAT32, INT32 = R.FLOAT32_BYTES, R.INT32_BYTES
RANK_4D = 4  # a Conv1D or 1-D pooling runs on (batch, 1, length, channels) tensors


@kernel
def work_arrays(n_layers, n_inputs):
    """(tens, ops, op_in, gio, cnt, reg, lw) big enough for a network of this many layers and input edges."""
    tcap = 14 * n_layers + 2 * n_inputs + 16
    ocap = 8 * n_layers + n_inputs + 8
    return (np.zeros((tcap, T_COLS), np.int64), np.zeros((ocap, 7), np.int64), np.zeros(4 * ocap + tcap, np.int64),
            np.zeros((2, n_layers + 1), np.int64), np.zeros(7, np.int64), np.zeros((tcap, 2), np.int64),
            np.zeros((n_layers, W_COLS), np.int64))


@kernel(inline=True)
def _tensor(tens, cnt, size, const, name, channels, rank):
    t = cnt[C_NT]
    tens[t, T_SIZE], tens[t, T_CONST], tens[t, T_NAME] = size, const, name
    tens[t, T_CH], tens[t, T_RANK] = channels, rank
    tens[t, T_UNSQUEEZED] = -1
    tens[t, T_EXPANDED] = -1
    cnt[C_NT] += 1
    return t


@kernel
def _shared(tens, cnt, reg, key, size, name, rank, channels, always, merged_name):
    """A constant the converter merges with every equal one: renamed "arith.constant<N>" once it is shared (the
    first such constant is "arith.constant", one character less)."""
    t = -1
    for r in range(cnt[C_NREG]):
        if reg[r, 0] == key:
            t = reg[r, 1]
            break
    if t < 0:
        t = _tensor(tens, cnt, size, 1, name, channels, rank)
        reg[cnt[C_NREG], 0], reg[cnt[C_NREG], 1] = key, t
        cnt[C_NREG] += 1
        if not always:
            return t
    if cnt[C_FIRST_MERGED] < 0:
        cnt[C_FIRST_MERGED] = t
        tens[t, T_NAME] = merged_name - 1
    elif t != cnt[C_FIRST_MERGED]:
        tens[t, T_NAME] = merged_name
    return t


@kernel(inline=True)
def _begin(ops, cnt, kind, layer, channels):
    k = cnt[C_NOPS]
    ops[k, O_KIND], ops[k, O_LAYER], ops[k, O_CH], ops[k, O_IN], ops[k, O_NIN], ops[k, O_NOUT], ops[k, O_TYPE] = (
        kind, layer, channels, cnt[C_NIO], 0, 0, kind)
    cnt[C_NOPS] += 1
    return k


@kernel(inline=True)
def _arg(ops, op_in, cnt, k, t):
    op_in[cnt[C_NIO]] = t
    cnt[C_NIO] += 1
    ops[k, O_NIN] += 1


@kernel(inline=True)
def _end(ops, op_in, cnt, k, out):
    """The op's output (after all its inputs); returns it."""
    op_in[cnt[C_NIO]] = out
    cnt[C_NIO] += 1
    ops[k, O_NOUT] = 1
    return out


@kernel
def _op(ops, op_in, cnt, kind, layer, out, a, b, c, d):
    """One op reading tensors a, b, c, d (-1: none) and writing ``out``; returns ``out``."""
    k = _begin(ops, cnt, kind, layer, 0)
    for t in (a, b, c, d):
        if t >= 0:
            _arg(ops, op_in, cnt, k, t)
    return _end(ops, op_in, cnt, k, out)


@kernel(inline=True)
def _input(ir, ir_in, j):
    return ir_in[ir[j, F_IN]]


@kernel(inline=True)
def _size(ir, j, elem):
    return ir[j, F_H] * ir[j, F_W] * ir[j, F_C] * elem


@kernel
def _sole_reader(n, ir, ir_in, lw, j):
    """The one layer that reads layer j, or -1 (none, or several)."""
    if lw[j, W_READERS] != 1:
        return -1
    for m in range(j + 1, n):
        for q in range(ir[m, F_NIN]):
            if ir_in[ir[m, F_IN] + q] == j:
                return m
    return -1


@kernel
def _owner(ir, ir_in, lw, j):
    """The first Conv1D still waiting for its closing RESHAPE that layer j reads through single inputs, or -1."""
    for k in range(j):
        if lw[k, W_DEFERRED]:
            i = j
            while ir[i, F_NIN] > 0:
                i = ir_in[ir[i, F_IN]]
                if i == k:
                    return k
    return -1


@kernel
def _pad_fuses(n, ir, ir_in, lw, j):
    """A ZeroPadding read only by a stride-1 'valid' conv, padding (k-1)/2 each side: the converter makes it 'same'."""
    nxt = _sole_reader(n, ir, ir_in, lw, j)
    if nxt < 0:
        return False
    op = ir[nxt, F_OP]
    if not (op == OP_CONV2D or op == OP_DWCONV2D or op == OP_CONV1D) or ir[nxt, F_SAME]:
        return False
    if ir[nxt, F_S] != 1 or ir[nxt, F_S2] != 1:
        return False
    axes = min(ir[j, F_RANK] - 1, 1 if op == OP_CONV1D else 2)
    pads = ir[j, F_PADS]
    for d in range(axes):
        k = ir[nxt, F_K] if d == 0 else ir[nxt, F_K2]
        before = (pads >> (2 * d * PAD_BITS)) & ((1 << PAD_BITS) - 1)
        after = (pads >> ((2 * d + 1) * PAD_BITS)) & ((1 << PAD_BITS) - 1)
        if not (before == after == (k - 1) // 2 and k % 2 == 1):
            return False
    return True


@kernel(inline=True)
def _shape_key(ir, j, rank):
    """A RESHAPE's new-shape constant holds layer j's shape: equal shapes merge, equal byte sizes do not ((1, 64, 8)
    and (1, 32, 16) are two constants; measured on trained Conv1D + pooling chains). 18 + 14 + 18 + 3 bits."""
    return K_SQUEEZE * _KEY + ((((ir[j, F_H] % (1 << 18)) << 14 | (ir[j, F_W] % (1 << 14))) << 18
                                | (ir[j, F_C] % (1 << 18))) << 3 | rank)


@kernel
def _close_reshape(ir, tens, ops, op_in, cnt, reg, lw, owner, target, size, shape_name, out_name, rank, merged_name):
    """The RESHAPE that ends a Conv1D's EXPAND_DIMS ... RESHAPE wrapper, after layer ``target``."""
    shape_t = _shared(tens, cnt, reg, _shape_key(ir, target, rank), 12, shape_name, 1, 0, False, merged_name)
    out = _tensor(tens, cnt, size, 0, out_name, 1, rank)
    lw[target, W_OUT] = _op(ops, op_in, cnt, T_RESHAPE, target, out, lw[target, W_OUT], shape_t, -1, -1)
    lw[owner, W_DEFERRED] = 0


@kernel(inline=True)
def _grow_names(tens, lw, p, src, extra):
    """The tensors named after layer p (or ``src`` alone) get ``extra`` characters: a relu or a BN merged in."""
    if lw[p, W_NAMED_N] < 0:
        tens[src, T_NAME] += extra
    for q in range(lw[p, W_NAMED_N]):
        tens[lw[p, W_NAMED + q], T_NAME] += extra


@kernel(inline=True)
def _copy_named(lw, p, j, src):
    if lw[p, W_NAMED_N] < 0:
        lw[j, W_NAMED_N], lw[j, W_NAMED] = 1, src
    else:
        lw[j, W_NAMED_N] = lw[p, W_NAMED_N]
        for q in range(3):
            lw[j, W_NAMED + q] = lw[p, W_NAMED + q]


@kernel(inline=True)
def _fold_bn(ir, ir_in, e, nc, tens, lw, j, src, base):
    """A BatchNorm merged into the conv/dense before it: its mul/mul_1/add_1/sub join the bias's and output's names
    (a bias-free Conv2D or Dense keeps only add_1/sub; a bias-free Conv1D all four, measured on trained Conv1D +
    BatchNorm networks); depthwise and Conv1D also rename their kernel (measured; the Conv1D rule on the real-world
    zoo, so it is in-sample there)."""
    p = _input(ir, ir_in, j)
    nm, pm = base + ir[j, F_NAME], base + ir[p, F_NAME]
    pop = ir[p, F_OP]
    has_bias = not (ir[p, F_SOURCE] & SOURCE_NO_BIAS) and ir[p, F_FOLDED] != 2
    if has_bias or pop == OP_DWCONV2D or pop == OP_CONV1D:
        parts = 4 * nm + e[N_BN_MUL] + e[N_BN_MUL_1] + e[N_BN_ADD_1] + e[N_BN_SUB] + 3 + 1
    else:
        parts = 2 * nm + e[N_BN_ADD_1] + e[N_BN_SUB] + 1 + 1
    _grow_names(tens, lw, p, src, parts)
    if lw[p, W_DEFERRED]:  # a Conv1D's wrapper still open: what the RESHAPE and a hoisted activation are named
        lw[p, W_SQUEEZED] += parts  # after carries the BN's parts too (measured: Conv1D -> BN -> tanh)
    kernel_t = lw[p, W_KERNEL]
    if kernel_t >= 0 and (pop == OP_DWCONV2D or pop == OP_CONV1D):  # Conv2D and Dense keep their kernel's name
        renamed = 2 * nm + e[N_BN_MUL] + e[N_BN_MUL_1]
        count = 2
        if has_bias:
            renamed += 2 * pm + e[N_BIAS_ADD] + e[N_SQUEEZE]
            count += 2
        if pop == OP_CONV1D:
            renamed += pm + e[N_CONV_SQUEEZE]
            count += 1
        tens[kernel_t, T_NAME] += renamed + count - 1 + 1
    _copy_named(lw, p, j, src)
    lw[j, W_OUT] = src


@kernel
def _selu(tens, ops, op_in, cnt, reg, x, elems, elem, name, j, rank, merged_name):
    """SELU as the converter writes it (measured): where(x > 0, scale*x, scale*alpha*(exp(x) - 1)); four scalar
    constants (0, scale, 1, scale*alpha) shared by every SELU in the model; outputs named Selu, Selu1 ... Selu5."""
    key = K_SELU * 16
    zero = _shared(tens, cnt, reg, key, elem, 0, 0, 1, True, merged_name)
    scale = _shared(tens, cnt, reg, key + 1, elem, 0, 0, 1, True, merged_name)
    one = _shared(tens, cnt, reg, key + 2, elem, 0, 0, 1, True, merged_name)
    neg_scale = _shared(tens, cnt, reg, key + 3, elem, 0, 0, 1, True, merged_name)  # scale * alpha
    size = elems * elem
    gt = _op(ops, op_in, cnt, T_GREATER, j, _tensor(tens, cnt, elems, 0, name, 1, rank), x, zero, -1, -1)
    pos = _op(ops, op_in, cnt, T_MUL, j, _tensor(tens, cnt, size, 0, name + 1, 1, rank), x, scale, -1, -1)
    ex = _op(ops, op_in, cnt, T_EXP, j, _tensor(tens, cnt, size, 0, name + 1, 1, rank), x, -1, -1, -1)
    sub = _op(ops, op_in, cnt, T_SUB, j, _tensor(tens, cnt, size, 0, name + 1, 1, rank), ex, one, -1, -1)
    neg = _op(ops, op_in, cnt, T_MUL, j, _tensor(tens, cnt, size, 0, name + 1, 1, rank), sub, neg_scale, -1, -1)
    return _op(ops, op_in, cnt, T_SELECT, j, _tensor(tens, cnt, size, 0, name + 1, 1, rank), gt, pos, neg, -1)


@kernel(inline=True)
def _activation(n, ir, ir_in, int8, elem, e, act_table, nc, tens, ops, op_in, cnt, reg, lw, j, src, base):
    """A standalone activation: nothing (linear), merged into the op before it (relu/relu6 after a conv, dense or
    add that nothing else reads), SELU's six ops, sigmoid/tanh inside a Conv1D's wrapper, or its own op(s) (ELU in
    an int8 model runs in float between DEQUANTIZE and QUANTIZE)."""
    a = ir[j, F_ACT]
    nm = base + ir[j, F_NAME]
    rank = ir[j, F_RANK] + 1
    size = _size(ir, j, elem)
    if a == ACT_LINEAR:
        lw[j, W_OUT] = src
        return
    p = _input(ir, ir_in, j)
    while (ir[p, F_OP] == OP_DROPOUT or (ir[p, F_OP] == OP_BN and ir[p, F_FOLDED] == 1)) and lw[p, W_READERS] == 1:
        p = _input(ir, ir_in, p)
    pop = ir[p, F_OP]
    fusable = IS_CONV[pop] or pop == OP_DENSE or pop == OP_ADD
    if (a == ACT_RELU or a == ACT_RELU6) and fusable and lw[p, W_READERS] == 1 and \
            lw[_input(ir, ir_in, j), W_READERS] == 1:
        lw[j, W_OUT] = src
        _grow_names(tens, lw, p, src, nm + act_table[a, AT_NAME] + 1)
        _copy_named(lw, p, j, src)
        return
    if a == ACT_SELU:
        lw[j, W_OUT] = _selu(tens, ops, op_in, cnt, reg, src, size // elem, elem, nm + e[N_SELU], j, rank,
                             nc[NC_MERGED])
        return
    owner = _owner(ir, ir_in, lw, j) if (a == ACT_SIGMOID or a == ACT_TANH) else -1
    if owner >= 0:  # inside the Conv1D's EXPAND_DIMS ... RESHAPE wrapper, named after its squeeze
        act_name = nm + act_table[a, AT_NAME] + lw[owner, W_SQUEEZED] + 1
        t = _tensor(tens, cnt, size, 0, act_name, 1, RANK_4D)
        lw[j, W_OUT] = _op(ops, op_in, cnt, act_table[a, AT_OP], j, t, src, -1, -1, -1)
        _close_reshape(ir, tens, ops, op_in, cnt, reg, lw, owner, j, size, base + ir[owner, F_NAME] + e[N_CONV_SQUEEZE],
                       act_name + 1, rank, nc[NC_MERGED])
        tens[lw[j, W_OUT], T_UNSQUEEZED] = t
        return
    cur = src
    wide = int8 and a == ACT_ELU  # float-only kernel in an int8 model
    if wide:
        cur = _op(ops, op_in, cnt, T_DEQUANT, j, _tensor(tens, cnt, size // elem * FLOAT32, 0, tens[cur, T_NAME] + 1, 1,
                                                          rank), cur, -1, -1, -1)
    cur = _op(ops, op_in, cnt, act_table[a, AT_OP], j, _tensor(tens, cnt, size // elem * FLOAT32 if wide else size, 0,
                                                        nm + act_table[a, AT_NAME], 1, rank), cur, -1, -1, -1)
    if wide:
        cur = _op(ops, op_in, cnt, T_QUANT, j, _tensor(tens, cnt, size, 0, nc[NC_QUANTIZE], 1, rank), cur, -1, -1, -1)
    lw[j, W_OUT] = cur


@kernel(inline=True)
def _weighted(n, ir, ir_in, int8, elem, e, nc, tens, ops, op_in, cnt, reg, lw, j, src, base):
    """A conv, depthwise or dense: kernel and bias constants, the op; a Conv1D runs on 4-D tensors between
    EXPAND_DIMS and a RESHAPE, which waits for a following kept BN or sigmoid/tanh (the converter moves them in)."""
    op = ir[j, F_OP]
    nm = base + ir[j, F_NAME]
    co = ir[j, F_C]
    size = _size(ir, j, elem)
    rank = ir[j, F_RANK] + 1
    merged = nc[NC_MERGED]
    separable = (ir[j, F_SOURCE] & SOURCE_SEPARABLE) != 0
    own = e[N_MATMUL] if op == OP_DENSE else e[N_DEPTHWISE] if op == OP_DWCONV2D else e[N_CONVOLUTION]
    kernel_name = nm + own
    if separable:  # both halves are named under the Keras layer
        kernel_name = nm + e[N_SEPARABLE] + (e[N_DEPTHWISE_SUFFIX] - 1 if op != OP_CONV2D else 0)
    kernel_t = _tensor(tens, cnt, ir[j, F_WT] * elem, 1, kernel_name, co, 2 if op == OP_DENSE else RANK_4D)
    if op == OP_DENSE:
        bias_name = nm + e[N_BIAS_ADD]
    elif op == OP_CONV1D:
        bias_name = 4 * nm + e[N_BIAS_ADD] + e[N_CONV_SQUEEZE] + e[N_SQUEEZE] + own + 3
    else:
        bias_name = 3 * nm + e[N_BIAS_ADD] + (e[N_SEPARABLE] if separable else own) + e[N_SQUEEZE] + 2
    pad = _input(ir, ir_in, j)
    if ir[pad, F_OP] == OP_ZEROPAD and _pad_fuses(n, ir, ir_in, lw, pad):
        bias_name += 2 * (base + ir[pad, F_NAME]) + e[N_PAD_CONST] + e[N_PAD] + 1 + 1
    if ir[j, F_FOLDED] == 2 and not separable:  # a folded BN's shift: named after the op alone (a Conv1D's with
        # its Squeeze; measured on trained Conv1D + BatchNorm networks)
        bias_name = 2 * nm + e[N_CONV_SQUEEZE] + own + 1 if op == OP_CONV1D else nm + own
        bias = _tensor(tens, cnt, co * INT32, 1, bias_name, co, 1)
    elif not (ir[j, F_SOURCE] & SOURCE_NO_BIAS):
        bias = _tensor(tens, cnt, co * INT32, 1, bias_name, co, 1)
    else:  # TFLite kernels take a bias: the converter adds zeros, merged like any equal constant
        bias = _shared(tens, cnt, reg, K_ZEROS * _KEY + co, co * INT32, 0, 1, co, True, merged)
        if separable:
            bias_name = kernel_name
    lw[j, W_KERNEL] = kernel_t
    kind = T_CONV if (op == OP_CONV2D or op == OP_CONV1D) else T_DW if op == OP_DWCONV2D else T_FC
    out_name = nm + e[N_MATMUL] + bias_name + 1 if op == OP_DENSE else bias_name + 1
    if op != OP_CONV1D:
        out = _tensor(tens, cnt, size, 0, out_name, 1, rank)
        k = _begin(ops, cnt, kind, j, co)
        _arg(ops, op_in, cnt, k, src)
        _arg(ops, op_in, cnt, k, kernel_t)
        _arg(ops, op_in, cnt, k, bias)
        lw[j, W_OUT] = _end(ops, op_in, cnt, k, out)
        lw[j, W_NAMED_N], lw[j, W_NAMED], lw[j, W_NAMED + 1] = 2, bias, out
        return
    dim = _shared(tens, cnt, reg, K_CONV_AXIS * _KEY, INT32, nm + e[N_EXPAND_DIM], 0, 0, False, merged)
    expanded = tens[src, T_EXPANDED]  # Conv1D branches reading one tensor share its EXPAND_DIMS
    if expanded < 0:
        expanded = _tensor(tens, cnt, _size(ir, _input(ir, ir_in, j), elem), 0, nm + e[N_EXPAND], 1, RANK_4D)
        _op(ops, op_in, cnt, T_EXPAND, j, expanded, src, dim, -1, -1)
        tens[src, T_EXPANDED] = expanded
    conv_out = _tensor(tens, cnt, size, 0, out_name, 1, RANK_4D)
    k = _begin(ops, cnt, kind, j, co)
    _arg(ops, op_in, cnt, k, expanded)
    _arg(ops, op_in, cnt, k, kernel_t)
    _arg(ops, op_in, cnt, k, bias)
    _end(ops, op_in, cnt, k, conv_out)
    lw[j, W_DEFERRED] = 1
    lw[j, W_OUT] = conv_out
    lw[j, W_NAMED_N], lw[j, W_NAMED], lw[j, W_NAMED + 1] = 2, bias, conv_out
    nxt = _sole_reader(n, ir, ir_in, lw, j)
    while nxt >= 0 and (ir[nxt, F_OP] == OP_DROPOUT or (ir[nxt, F_OP] == OP_BN and ir[nxt, F_FOLDED] == 1) or (
            ir[nxt, F_OP] == OP_ACT and (ir[nxt, F_ACT] == ACT_RELU or ir[nxt, F_ACT] == ACT_RELU6
                                        or ir[nxt, F_ACT] == ACT_LINEAR))):
        nxt = _sole_reader(n, ir, ir_in, lw, nxt)  # a folded BN is no op: a tanh after it still moves in
    lw[j, W_SQUEEZED] = bias_name - nm - own - 1
    kept_bn = nxt >= 0 and ir[nxt, F_OP] == OP_BN and ir[nxt, F_FOLDED] != 1
    hoisted = nxt >= 0 and ir[nxt, F_OP] == OP_ACT and (ir[nxt, F_ACT] == ACT_SIGMOID or ir[nxt, F_ACT] == ACT_TANH)
    if not (kept_bn or hoisted):
        _close_reshape(ir, tens, ops, op_in, cnt, reg, lw, j, j, size, nm + e[N_CONV_SQUEEZE], lw[j, W_SQUEEZED], rank,
                       merged)
        lw[j, W_NAMED_N] = 3
        lw[j, W_NAMED + 2] = lw[j, W_OUT]


@kernel(inline=True)
def _pool(ir, ir_in, elem, e, nc, tens, ops, op_in, cnt, reg, lw, j, src, base):
    """A pooling layer; a 1-D one runs on 4-D tensors between EXPAND_DIMS and RESHAPE."""
    op = ir[j, F_OP]
    size = _size(ir, j, elem)
    rank = ir[j, F_RANK] + 1
    kind = T_MAXPOOL if (op == OP_MAXPOOL1D or op == OP_MAXPOOL2D) else T_AVGPOOL
    role = N_MAX_POOL2D if op == OP_MAXPOOL2D else N_AVG_POOL2D if op == OP_AVGPOOL2D else \
        N_MAX_POOL1D if op == OP_MAXPOOL1D else N_AVG_POOL1D
    pn = base + ir[j, F_NAME] + e[role]
    if op == OP_MAXPOOL2D or op == OP_AVGPOOL2D:
        lw[j, W_OUT] = _op(ops, op_in, cnt, kind, j, _tensor(tens, cnt, size, 0, pn, 1, rank), src, -1, -1, -1)
        return
    dim = _shared(tens, cnt, reg, K_AXIS1 * _KEY + 1, INT32, pn + e[N_POOL_EXPAND_DIM] - 1, 0, 0, False, nc[NC_MERGED])
    expanded = _tensor(tens, cnt, _size(ir, _input(ir, ir_in, j), elem), 0, pn + e[N_POOL_EXPAND] - 1, 1, RANK_4D)
    _op(ops, op_in, cnt, T_EXPAND, j, expanded, src, dim, -1, -1)
    pooled = _op(ops, op_in, cnt, kind, j, _tensor(tens, cnt, size, 0, pn, 1, RANK_4D), expanded, -1, -1, -1)
    squeeze = pn + e[N_POOL_SQUEEZE] - 1
    shape_t = _shared(tens, cnt, reg, _shape_key(ir, j, rank), 12, squeeze, 1, 0, False, nc[NC_MERGED])
    lw[j, W_OUT] = _op(ops, op_in, cnt, T_RESHAPE, j, _tensor(tens, cnt, size, 0, squeeze + 1, 1, rank), pooled,
                       shape_t, -1, -1)


@kernel(inline=True)
def _reshape(ir, ir_in, elem, e, nc, tens, ops, op_in, cnt, reg, lw, j, src, base):
    """Flatten and Reshape: SHAPE, STRIDED_SLICE, PACK, RESHAPE (Keras 3 keeps the batch symbolic)."""
    nm = base + ir[j, F_NAME]
    rank = ir[j, F_RANK] + 1
    rank_in = ir[_input(ir, ir_in, j), F_RANK] + 1
    shape_t = _tensor(tens, cnt, INT32 * rank_in, 0, nm + e[N_SHAPE], 0, 1)
    _op(ops, op_in, cnt, T_SHAPE, j, shape_t, src, -1, -1, -1)
    begin = _shared(tens, cnt, reg, K_SLICE_BEGIN * _KEY, INT32, nm + e[N_SLICE_BEGIN], 1, 0, False, nc[NC_MERGED])
    one = _shared(tens, cnt, reg, K_SLICE_ONE * _KEY, INT32, 0, 1, 0, True, nc[NC_MERGED])  # end and strides: merged
    scalar = _op(ops, op_in, cnt, T_SLICE, j, _tensor(tens, cnt, INT32, 0, nm + e[N_SLICE], 0, 0), shape_t, begin, one,
                 one)
    first_dim = cnt[C_NT]
    for _ in range(ir[j, F_RANK]):
        _tensor(tens, cnt, INT32, 1, nm + e[N_PACK_DIM], 0, 0)
    packed = _tensor(tens, cnt, INT32 * rank, 0, nm + e[N_PACK], 0, 1)
    k = _begin(ops, cnt, T_PACK, j, 0)
    _arg(ops, op_in, cnt, k, scalar)
    for t in range(first_dim, first_dim + ir[j, F_RANK]):
        _arg(ops, op_in, cnt, k, t)
    _end(ops, op_in, cnt, k, packed)
    x = tens[src, T_UNSQUEEZED] if tens[src, T_UNSQUEEZED] >= 0 else src
    lw[j, W_OUT] = _op(ops, op_in, cnt, T_RESHAPE, j, _tensor(tens, cnt, _size(ir, j, elem), 0, nm + e[N_RESHAPE], 1,
                                                                rank), x, packed, -1, -1)


@kernel(inline=True)
def _global_pool(ir, ir_in, elem, e, nc, tens, ops, op_in, cnt, reg, lw, j, src, base):
    """Global pooling: MEAN or REDUCE_MAX over the spatial axes."""
    rn = base + ir[j, F_NAME] + (e[N_MEAN] if ir[j, F_OP] == OP_GAP else e[N_MAX])
    spatial = ir[_input(ir, ir_in, j), F_RANK] - 1
    if spatial == 1:  # a scalar axis 1, the same constant as a 1-D pooling's EXPAND_DIMS axis (measured)
        axes = _shared(tens, cnt, reg, K_AXIS1 * _KEY + 1, INT32, rn + e[N_REDUCE_AXES] - 1, 0, 0, False, nc[NC_MERGED])
    else:
        axes = _tensor(tens, cnt, INT32 * spatial, 1, rn + e[N_REDUCE_AXES] - 1, 0, 1)
    out = _tensor(tens, cnt, _size(ir, j, elem), 0, rn, 1, ir[j, F_RANK] + 1)
    lw[j, W_OUT] = _op(ops, op_in, cnt, T_MEAN if ir[j, F_OP] == OP_GAP else T_RMAX, j, out, src, axes, -1, -1)


@kernel(inline=True)
def _kept_bn(ir, ir_in, elem, e, act_table, nc, tens, ops, op_in, cnt, reg, lw, j, src, base):
    """A BatchNorm the converter keeps: MUL + ADD (inside a Conv1D's wrapper when it follows one)."""
    nm = base + ir[j, F_NAME]
    c = ir[j, F_C]
    size = _size(ir, j, elem)
    rank = ir[j, F_RANK] + 1
    owner = _owner(ir, ir_in, lw, j)
    before = tens[src, T_NAME]
    if owner >= 0:  # named after the Conv1D's closing reshape, which comes after this BN
        om = base + ir[owner, F_NAME]
        before = 3 * om + e[N_BIAS_ADD] + e[N_CONV_SQUEEZE] + e[N_SQUEEZE] + 2
        for k in range(owner + 1, j):
            if ir[k, F_OP] == OP_ACT and (ir[k, F_ACT] == ACT_RELU or ir[k, F_ACT] == ACT_RELU6):
                before += base + ir[k, F_NAME] + act_table[ir[k, F_ACT], AT_NAME] + 1
        rank = RANK_4D  # still inside the wrapper
    scale = _tensor(tens, cnt, c * elem, 1, nm + e[N_BN_MUL], 1, 1)
    shift = _tensor(tens, cnt, c * elem, 1, nm + e[N_BN_SUB], 1, 1)
    mid = _op(ops, op_in, cnt, T_MUL, j, _tensor(tens, cnt, size, 0, 2 * nm + e[N_BN_MUL_1] + before + e[N_BN_MUL] + 2,
                                                  1, rank), src, scale, -1, -1)
    out_name = 4 * nm + e[N_BN_ADD_1] + before + e[N_BN_MUL_1] + e[N_BN_MUL] + e[N_BN_SUB] + 4
    lw[j, W_OUT] = _op(ops, op_in, cnt, T_ADD, j, _tensor(tens, cnt, size, 0, out_name, 1, rank), mid, shift, -1, -1)
    if owner >= 0:
        _close_reshape(ir, tens, ops, op_in, cnt, reg, lw, owner, j, size, base + ir[owner, F_NAME] + e[N_CONV_SQUEEZE],
                       out_name + 1, ir[j, F_RANK] + 1, nc[NC_MERGED])


@kernel(inline=True)
def _merge(ir, ir_in, elem, e, tens, ops, op_in, cnt, lw, j, base):
    """Add (a chain of two-input ADDs for more inputs) or Concatenate."""
    size = _size(ir, j, elem)
    rank = ir[j, F_RANK] + 1
    nin = ir[j, F_NIN]
    first = ir[j, F_IN]
    is_add = ir[j, F_OP] == OP_ADD
    name = base + ir[j, F_NAME] + (e[N_ADD] if is_add else e[N_CONCAT])
    if is_add and nin > 2:
        cur = lw[ir_in[first], W_OUT]
        for q in range(1, nin):
            cur = _op(ops, op_in, cnt, T_ADD, j, _tensor(tens, cnt, size, 0, name, 1, rank), cur,
                      lw[ir_in[first + q], W_OUT], -1, -1)
        lw[j, W_OUT] = cur
    else:
        out = _tensor(tens, cnt, size, 0, name, 1, rank)
        k = _begin(ops, cnt, T_ADD if is_add else T_CONCAT, j, 0)
        for q in range(nin):
            _arg(ops, op_in, cnt, k, lw[ir_in[first + q], W_OUT])
        lw[j, W_OUT] = _end(ops, op_in, cnt, k, out)
    lw[j, W_NAMED_N], lw[j, W_NAMED] = 1, lw[j, W_OUT]


@kernel
def lower(n, ir, ir_in, int8, e, act_table, nc, tens, ops, op_in, gio, cnt, reg, lw):
    """The TFLite graph of a network in the IR layout (see the module notes). ``e``: "/" + suffix length per name
    role; ``act_table``: per activation code (AT_*); ``nc``: name constants (NC_*)."""
    elem = R.element_bytes(int8)
    base = nc[NC_GRAPH] + nc[NC_PATH]
    cnt[:] = 0
    cnt[C_FIRST_MERGED] = -1
    lw[:n, :] = 0
    lw[:n, W_OUT] = -1
    lw[:n, W_KERNEL] = -1
    lw[:n, W_NAMED_N] = -1
    for j in range(n):
        for q in range(ir[j, F_NIN]):
            lw[ir_in[ir[j, F_IN] + q], W_READERS] += 1
    for j in range(n):
        op = ir[j, F_OP]
        src = lw[_input(ir, ir_in, j), W_OUT] if ir[j, F_NIN] > 0 else -1
        if op == OP_INPUT:
            lw[j, W_OUT] = _tensor(tens, cnt, _size(ir, j, elem), 0, ir[j, F_NAME], 1, ir[j, F_RANK] + 1)
            gio[0, cnt[C_GIN]] = lw[j, W_OUT]
            cnt[C_GIN] += 1
        elif op == OP_DROPOUT or (op == OP_ZEROPAD and _pad_fuses(n, ir, ir_in, lw, j)):
            lw[j, W_OUT] = src
        elif op == OP_BN and ir[j, F_FOLDED] == 1:
            _fold_bn(ir, ir_in, e, nc, tens, lw, j, src, base)
        elif op == OP_ACT:
            _activation(n, ir, ir_in, int8, elem, e, act_table, nc, tens, ops, op_in, cnt, reg, lw, j, src, base)
        elif IS_CONV[op] or op == OP_DENSE:
            _weighted(n, ir, ir_in, int8, elem, e, nc, tens, ops, op_in, cnt, reg, lw, j, src, base)
        elif op == OP_MAXPOOL1D or op == OP_MAXPOOL2D or op == OP_AVGPOOL1D or op == OP_AVGPOOL2D:
            _pool(ir, ir_in, elem, e, nc, tens, ops, op_in, cnt, reg, lw, j, src, base)
        elif op == OP_FLATTEN or op == OP_RESHAPE:
            _reshape(ir, ir_in, elem, e, nc, tens, ops, op_in, cnt, reg, lw, j, src, base)
        elif op == OP_GAP or op == OP_GMP:
            _global_pool(ir, ir_in, elem, e, nc, tens, ops, op_in, cnt, reg, lw, j, src, base)
        elif op == OP_BN:
            _kept_bn(ir, ir_in, elem, e, act_table, nc, tens, ops, op_in, cnt, reg, lw, j, src, base)
        elif op == OP_ZEROPAD:
            rank = ir[j, F_RANK] + 1
            pads = _tensor(tens, cnt, 2 * INT32 * rank, 1, base + ir[j, F_NAME] + e[N_PAD_CONST], 0, 2)
            out = _tensor(tens, cnt, _size(ir, j, elem), 0, base + ir[j, F_NAME] + e[N_PAD], 1, rank)
            lw[j, W_OUT] = _op(ops, op_in, cnt, T_PAD, j, out, src, pads, -1, -1)
        else:  # add, concatenate
            _merge(ir, ir_in, elem, e, tens, ops, op_in, cnt, lw, j, base)
    for j in range(n):
        if ir[j, F_OUT]:
            t = lw[j, W_OUT]
            gio[1, cnt[C_GOUT]] = t
            cnt[C_GOUT] += 1
            tens[t, T_NAME] = nc[NC_OUTPUT]
