"""One template configuration's slots expanded into the kernels' IR layout (``memsim._kernels.codes``).

The slot encoding is ``memsim.batch``'s; the op arithmetic is ``memsim._rules``, compiled from the functions the
graph IR (``memsim.ops.infer``) calls.
"""

from __future__ import annotations

from memsim._jit import kernel
from memsim._kernels import rules as R
from memsim._kernels.codes import (F_ACT, F_B, F_C, F_FIELD, F_FOLDED, F_H, F_IN, F_K, F_K2, F_MACC, F_NAME, F_NIN,
                                   F_OP, F_OUT, F_OWN_ACT, F_PAD, F_RANK, F_S, F_S2, F_SAME, F_SOURCE, F_W, F_WT,
                                   IS_CONV,
                                   OP_ACT, OP_AVGPOOL1D, OP_AVGPOOL2D, OP_BN, OP_CONV1D, OP_DENSE, OP_DROPOUT,
                                   OP_DWCONV2D, OP_FLATTEN, OP_GAP, OP_GMP, OP_INPUT, OP_MAXPOOL1D, OP_MAXPOOL2D,
                                   OP_SKIP, SOURCE_NO_BIAS)

__all__ = ["build_chain_ir"]


@kernel(inline=True)
def _layer(ir, ir_in, n, op, h, w, c, rank, name):
    """Layer n of a chain: reads layer n - 1; every other field starts at 0."""
    ir[n, :] = 0
    ir[n, F_OP], ir[n, F_H], ir[n, F_W], ir[n, F_C], ir[n, F_RANK], ir[n, F_NAME] = op, h, w, c, rank, name
    ir[n, F_IN] = n - 1
    ir[n, F_NIN] = 1
    ir_in[n - 1] = n - 1


@kernel(inline=True)
def _conv(ir, j, prm, h, w, c, rank):
    """A conv slot's output shape, counts and window fields; False if its window does not fit."""
    op = ir[j, F_OP]
    if (op == OP_CONV1D and rank != 2) or (op != OP_CONV1D and rank != 3):
        return False
    kh, kw, sh, sw, same, use_bias = prm[1], prm[2], prm[3], prm[4], prm[5], prm[6]
    if op == OP_CONV1D:
        kw, sw = 1, 1
    oh = R.window_length(h, kh, sh, same)
    ow = R.window_length(w, kw, sw, same) if op != OP_CONV1D else 1
    if oh < 1 or ow < 1:
        return False
    depthwise = op == OP_DWCONV2D
    co = c * prm[0] if depthwise else prm[0]
    ir[j, F_WT], ir[j, F_B], ir[j, F_MACC] = R.conv_counts(oh * ow, kh * kw, c, co, depthwise, use_bias != 0)
    ir[j, F_H], ir[j, F_W], ir[j, F_C] = oh, ow, co
    ir[j, F_K], ir[j, F_S], ir[j, F_PAD] = kh, sh, R.pad_top(oh, kh, sh, h, same)
    ir[j, F_K2], ir[j, F_S2], ir[j, F_SAME] = kw, sw, same
    ir[j, F_FIELD] = kh * kw * (1 if depthwise else c)
    ir[j, F_SOURCE] = SOURCE_NO_BIAS * (use_bias == 0)
    return True


@kernel(inline=True)
def _pool(ir, j, prm, h, w, c, rank):
    """A pooling slot's output shape and MACC; False if its window does not fit."""
    op = ir[j, F_OP]
    one_d = op == OP_MAXPOOL1D or op == OP_AVGPOOL1D
    if (one_d and rank != 2) or (not one_d and rank != 3):
        return False
    ph, pw, sh, sw, same = prm[0], prm[1], prm[2], prm[3], prm[4]
    if one_d:
        pw, sw = 1, 1
    oh = R.window_length(h, ph, sh, same)
    ow = R.window_length(w, pw, sw, same) if not one_d else 1
    if oh < 1 or ow < 1:
        return False
    ir[j, F_H], ir[j, F_W] = oh, ow
    ir[j, F_MACC] = R.pool_macc(oh * ow * c, ph * pw)
    ir[j, F_K], ir[j, F_S] = ph, sh
    ir[j, F_K2], ir[j, F_S2], ir[j, F_SAME] = pw, sw, same
    return True


@kernel(inline=True)
def build_chain_ir(ops, prm, in_shape, in_rank, input_name, act_macc, slot_name, ir, ir_in):
    """Expand one configuration's slots into IR layers. Returns the count, or -1 if shapes do not fit.
    ``input_name``: the length of the converter's name for the input tensor.

    An activation given as a conv's or dense's argument becomes a layer of its own, marked F_OWN_ACT and named
    under its slot; a BatchNorm after a conv/dense folds into it (its shift becomes the bias of a bias-free one).
    """
    ir[0, :] = 0
    ir[0, F_OP], ir[0, F_RANK] = OP_INPUT, in_rank
    ir[0, F_H], ir[0, F_W], ir[0, F_C] = in_shape[0], in_shape[1], in_shape[2]
    ir[0, F_NAME] = input_name  # the converter's name for the input tensor
    n = 1
    for s in range(ops.shape[0]):
        op = ops[s]
        if op == OP_SKIP:
            continue
        h, w, c, rank = ir[n - 1, F_H], ir[n - 1, F_W], ir[n - 1, F_C], ir[n - 1, F_RANK]
        elems = h * w * c
        _layer(ir, ir_in, n, op, h, w, c, rank, slot_name[s])
        act = 0
        if IS_CONV[op]:
            if not _conv(ir, n, prm[s], h, w, c, rank):
                return -1
            act = prm[s, 7]
        elif op == OP_DENSE:
            if rank != 1:
                return -1
            ir[n, F_WT], ir[n, F_B], ir[n, F_MACC] = R.dense_counts(1, c, prm[s, 0], prm[s, 1] != 0)
            ir[n, F_C] = prm[s, 0]
            ir[n, F_SOURCE] = SOURCE_NO_BIAS * (prm[s, 1] == 0)
            act = prm[s, 2]
        elif op == OP_MAXPOOL1D or op == OP_MAXPOOL2D or op == OP_AVGPOOL1D or op == OP_AVGPOOL2D:
            if not _pool(ir, n, prm[s], h, w, c, rank):
                return -1
        elif op == OP_GAP or op == OP_GMP:
            if rank < 2:
                return -1
            ir[n, F_MACC] = R.global_pool_macc(elems)
            ir[n, F_H], ir[n, F_W], ir[n, F_RANK] = 1, 1, 1
        elif op == OP_FLATTEN:
            ir[n, F_H], ir[n, F_W], ir[n, F_C], ir[n, F_RANK] = 1, 1, elems, 1
        elif op == OP_ACT:
            ir[n, F_ACT] = prm[s, 0]
            ir[n, F_MACC] = R.activation_macc(elems, act_macc[prm[s, 0]])
        elif op == OP_BN:
            p = ir[n - 1, F_OP]
            if IS_CONV[p] or p == OP_DENSE:
                ir[n, F_FOLDED] = 1
                if ir[n - 1, F_B] == 0:  # the BN's shift becomes the producer's bias
                    ir[n - 1, F_B] = c
                    ir[n - 1, F_MACC] += c
                    ir[n - 1, F_FOLDED] = 2
            else:
                ir[n, F_WT], ir[n, F_B], ir[n, F_MACC] = R.batch_norm_counts(c, elems)
        elif op != OP_DROPOUT:
            return -1
        n += 1
        if act != 0:
            _layer(ir, ir_in, n, OP_ACT, ir[n - 1, F_H], ir[n - 1, F_W], ir[n - 1, F_C], ir[n - 1, F_RANK],
                   slot_name[s])
            ir[n, F_ACT], ir[n, F_OWN_ACT] = act, 1
            ir[n, F_MACC] = R.activation_macc(ir[n, F_H] * ir[n, F_W] * ir[n, F_C], act_macc[act])
            n += 1
    ir[n - 1, F_OUT] = 1
    return n
