"""TFLM's lowering of a chain, compiled: the batch evaluator's copy of ``memsim.profiles.tflm.lower``.

Still a second implementation of the same rules (the hypothesis test in tests/memsim_tests/test_batch.py holds
the two equal); making it the only one is the open part of issue 31.
"""

from __future__ import annotations

import numpy as np

from memsim._jit import kernel
from memsim._kernels import rules as R
from memsim._kernels.codes import (ACT_ELU, ACT_LEAKY, ACT_LINEAR, ACT_RELU, ACT_RELU6, ACT_SELU, ACT_SIGMOID,
                                   ACT_SOFTMAX, ACT_TANH, F_ACT, F_B, F_C, F_FOLDED, F_H, F_NAME, F_OP, F_RANK, F_W,
                                   F_WT, IS_CONV, OP_ACT, OP_AVGPOOL1D, OP_AVGPOOL2D, OP_BN, OP_CONV1D, OP_CONV2D,
                                   OP_DENSE, OP_DROPOUT, OP_DWCONV2D, OP_FLATTEN, OP_GAP, OP_GMP, OP_MAXPOOL1D,
                                   OP_MAXPOOL2D)


# TFLite op codes local to the kernels (index into the tail table)
T_CONV, T_DW, T_FC, T_MAXPOOL, T_AVGPOOL, T_SOFTMAX, T_RESHAPE, T_EXPAND, T_SHAPE, T_SLICE, T_PACK = range(11)
T_MEAN, T_RMAX, T_ADD, T_MUL, T_TANH, T_LOGISTIC, T_ELU, T_LEAKY, T_RELU, T_RELU6 = range(11, 21)
T_GREATER, T_EXP, T_SUB, T_SELECT, T_DEQUANT, T_QUANT = range(21, 27)
N_TFL_OPS = 27

# Counters of the TFLM lowering, kept in one small array so helpers can update them. S_LAST_NAME: the newest data
# tensor's name; S_TEMP: the largest prepare-time temporary of any op; S_RANKS: stored shape dimensions; S_QT:
# quantised tensors; S_IO: op input/output indices; S_CODES: bit mask of op types; S_MERGED: 1 once a constant was
# renamed "arith.constant"; S_NREG: constants registered for merging.
(S_NT, S_NOPS, S_NAMES, S_QUANT, S_PAYLOAD, S_TAIL, S_PERCH, S_LAST_NAME, S_TEMP, S_RANKS, S_QT, S_IO, S_CODES,
 S_MERGED, S_NREG) = range(15)
# Rows of the per-op table: tail op data, prepare temporary, prepare temporary per channel, per-channel arrays.
# S_PERCH counts per-channel tail bytes; S_TEMP the largest (prepare temporary + per-channel bytes so far).
R_TAIL, R_TEMP, R_TEMP_CH, R_PERCH = range(4)
# Name constants handed to the kernel (profiles/tflm.py, same order).
C_PATH, C_OUTPUT, C_MERGED, C_QUANTIZE = range(4)
# Keys of constants the converter merges when their values are equal (profiles/tflm.py: TFLiteGraph.shared_const).
K_CONV_AXIS, K_AXIS1, K_SLICE_BEGIN, K_SLICE_ONE, K_SQUEEZE, K_ZEROS, K_SELU = range(1, 8)


@kernel
def _const(st, t_size, t_const, t_first, t_last, nbytes, name, quant, rank):
    """A constant tensor of ``nbytes`` (stored 16-byte aligned in the flatbuffer)."""
    t = st[S_NT]
    t_size[t] = 0
    t_const[t] = True
    t_first[t] = -1
    t_last[t] = -1
    st[S_NT] += 1
    st[S_PAYLOAD] += R.align_up(nbytes, 16) + 16
    st[S_NAMES] += name
    st[S_QUANT] += quant
    st[S_RANKS] += rank
    if quant > 0:
        st[S_QT] += 1
    return t


@kernel
def _data(st, t_size, t_const, t_first, t_last, nbytes, name, quant, rank):
    """A non-constant tensor (an arena buffer) of ``nbytes``."""
    t = st[S_NT]
    t_size[t] = nbytes
    t_const[t] = False
    t_first[t] = -1
    t_last[t] = -1
    st[S_NT] += 1
    st[S_NAMES] += name
    st[S_QUANT] += quant
    st[S_RANKS] += rank
    if quant > 0:
        st[S_QT] += 1
    st[S_LAST_NAME] = name
    return t


@kernel
def _merged_name(st, old, consts):
    """Rename a constant "arith.constant<N>" (the first one has no number)."""
    new = consts[C_MERGED]
    if st[S_MERGED] == 0:
        new -= 1
        st[S_MERGED] = 1
    st[S_NAMES] += new - old


@kernel
def _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, key, nbytes, name, quant, rank, always, consts):
    """A constant merged with every equal one (TFLiteGraph.shared_const)."""
    for r in range(st[S_NREG]):
        if reg_key[r] == key:
            if reg_name[r] >= 0:
                _merged_name(st, reg_name[r], consts)
                reg_name[r] = -1
            return
    _const(st, t_size, t_const, t_first, t_last, nbytes, name, quant, rank)
    r = st[S_NREG]
    reg_key[r] = key
    reg_name[r] = name
    st[S_NREG] += 1
    if always:
        _merged_name(st, name, consts)
        reg_name[r] = -1


@kernel
def _use(t, k, t_first, t_last):
    if t_first[t] < 0:
        t_first[t] = k
    if k > t_last[t]:
        t_last[t] = k


@kernel
def _op(st, tail_table, t_first, t_last, kind, a, b, c, out, nio):
    """One op at the next step reading data tensors a, b, c (-1 for none) and writing ``out``; ``nio`` counts all
    its input and output indices (constants included)."""
    k = st[S_NOPS]
    st[S_IO] += nio
    st[S_CODES] |= np.int64(1) << kind
    if a >= 0:
        _use(a, k, t_first, t_last)
    if b >= 0:
        _use(b, k, t_first, t_last)
    if c >= 0:
        _use(c, k, t_first, t_last)
    _use(out, k, t_first, t_last)
    st[S_TAIL] += tail_table[R_TAIL, kind]
    if tail_table[R_TEMP, kind] + st[S_PERCH] > st[S_TEMP]:
        st[S_TEMP] = tail_table[R_TEMP, kind] + st[S_PERCH]
    st[S_NOPS] += 1
    return out


@kernel
def _act_kinds(a, int8, kinds):
    """TFLite ops of a standalone activation (not SELU); fills ``kinds`` and returns how many."""
    if a == ACT_ELU and int8:
        kinds[0], kinds[1], kinds[2] = T_DEQUANT, T_ELU, T_QUANT
        return 3
    if a == ACT_RELU:
        kinds[0] = T_RELU
    elif a == ACT_RELU6:
        kinds[0] = T_RELU6
    elif a == ACT_TANH:
        kinds[0] = T_TANH
    elif a == ACT_SIGMOID:
        kinds[0] = T_LOGISTIC
    elif a == ACT_LEAKY:
        kinds[0] = T_LEAKY
    elif a == ACT_SOFTMAX:
        kinds[0] = T_SOFTMAX
    else:
        kinds[0] = T_ELU
    return 1


# Index of each tensor-name role in the name table (profiles/tflm.py: NAME_ROLES, same order; a test holds them).
(N_MATMUL, N_BIAS_ADD, N_CONVOLUTION, N_DEPTHWISE, N_SQUEEZE, N_CONV_SQUEEZE, N_EXPAND_DIM, N_EXPAND, N_RELU, N_RELU6,
 N_TANH, N_SIGMOID, N_ELU, N_LEAKY_RELU, N_SOFTMAX, N_SELU, N_MAX_POOL2D, N_AVG_POOL2D, N_MAX_POOL1D, N_AVG_POOL1D,
 N_POOL_EXPAND, N_POOL_EXPAND_DIM, N_POOL_SQUEEZE, N_SHAPE, N_SLICE, N_SLICE_BEGIN, N_PACK_DIM, N_PACK, N_RESHAPE,
 N_MEAN, N_MAX, N_REDUCE_AXES, N_BN_MUL, N_BN_MUL_1, N_BN_ADD_1, N_BN_SUB, N_PAD_CONST, N_PAD, N_ADD, N_CONCAT,
 N_SEPARABLE, N_DEPTHWISE_SUFFIX) = range(42)


@kernel
def lower_chain(n, ir, int8, elem, graph_name, input_name, act_extra, e, consts, tail_table, t_size, t_const,
                t_first, t_last, kinds, reg_key, reg_name, st):
    """TFLM lowering of a chain (see profiles/tflm.py: lower); counters end up in ``st``. Returns io bytes.
    Names: ``e`` holds "/" + suffix lengths per role, a layer's path is ``base + its name``."""
    base = graph_name + consts[C_PATH]
    for q in range(15):
        st[q] = 0
    deferred = False  # a Conv1D's closing RESHAPE waits for a following kept BN
    hoist = False     # ... or for a following sigmoid/tanh, which the converter runs on the 4-D tensor
    unsq_x = -1       # the squeezed tensor after such an activation, and the 4-D one a Flatten reshapes instead
    unsq_4d = -1
    def_nm = 0        # the deferred Conv1D's path
    def_before = 0    # the name its closing RESHAPE would have had (a following BN is named after it)
    n_named = 0       # tensors of the last conv/dense whose names grow when a relu or a BN is merged in
    w_op = -1         # that layer's op, path and whether it has a bias of its own
    w_nm = 0
    w_bias = True
    x = _data(st, t_size, t_const, t_first, t_last, ir[0, F_H] * ir[0, F_W] * ir[0, F_C] * elem, input_name, 1,
              ir[0, F_RANK] + 1)
    t_first[0] = 0
    t_last[0] = 0
    in_t = x
    for j in range(1, n):
        op = ir[j, F_OP]
        nm = base + ir[j, F_NAME]  # an activation argument is named under its layer, the same slot
        rank = ir[j, F_RANK] + 1
        elems = ir[j, F_H] * ir[j, F_W] * ir[j, F_C]
        size = elems * elem
        in_size = ir[j - 1, F_H] * ir[j - 1, F_W] * ir[j - 1, F_C] * elem
        if op == OP_DROPOUT:
            continue
        if op == OP_BN and ir[j, F_FOLDED]:  # merged into the conv/dense: its names join the bias's and output's
            if w_bias or w_op == OP_DWCONV2D or w_op == OP_CONV1D:
                parts = 4 * nm + e[N_BN_MUL] + e[N_BN_MUL_1] + e[N_BN_ADD_1] + e[N_BN_SUB] + 3 + 1
            else:
                parts = 2 * nm + e[N_BN_ADD_1] + e[N_BN_SUB] + 1 + 1
            st[S_NAMES] += n_named * parts
            st[S_LAST_NAME] += parts
            if w_op == OP_DWCONV2D or w_op == OP_CONV1D:  # these rename their kernel too (measured)
                renamed = 2 * nm + e[N_BN_MUL] + e[N_BN_MUL_1] + 1 + 1
                if w_bias:
                    renamed += 2 * w_nm + e[N_BIAS_ADD] + e[N_SQUEEZE] + 2
                if w_op == OP_CONV1D:
                    renamed += w_nm + e[N_CONV_SQUEEZE] + 1
                st[S_NAMES] += renamed
            continue
        if op == OP_ACT:
            a = ir[j, F_ACT]
            if a == ACT_LINEAR:
                continue
            p = j - 1
            while ir[p, F_OP] == OP_DROPOUT or (ir[p, F_OP] == OP_BN and ir[p, F_FOLDED]):
                p -= 1
            if (a == ACT_RELU or a == ACT_RELU6) and (IS_CONV[ir[p, F_OP]] or ir[p, F_OP] == OP_DENSE):
                part = nm + act_extra[a] + 1  # fused into the producer: only names grow
                st[S_NAMES] += n_named * part
                st[S_LAST_NAME] += part
                if deferred:
                    def_before += part
                continue
            if a == ACT_SELU:  # where(x > 0, s*x, s*a*(exp(x) - 1)), four shared scalar constants
                for k in range(4):
                    _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, K_SELU * 16 + k, elem, 0, 1, 0,
                            True, consts)
                sn = nm + e[N_SELU]
                gt = _op(st, tail_table, t_first, t_last, T_GREATER, x, -1, -1,
                         _data(st, t_size, t_const, t_first, t_last, elems, sn, 1, rank), 3)
                pos = _op(st, tail_table, t_first, t_last, T_MUL, x, -1, -1,
                          _data(st, t_size, t_const, t_first, t_last, size, sn + 1, 1, rank), 3)
                ex = _op(st, tail_table, t_first, t_last, T_EXP, x, -1, -1,
                         _data(st, t_size, t_const, t_first, t_last, size, sn + 1, 1, rank), 2)
                sb = _op(st, tail_table, t_first, t_last, T_SUB, ex, -1, -1,
                         _data(st, t_size, t_const, t_first, t_last, size, sn + 1, 1, rank), 3)
                ng = _op(st, tail_table, t_first, t_last, T_MUL, sb, -1, -1,
                         _data(st, t_size, t_const, t_first, t_last, size, sn + 1, 1, rank), 3)
                x = _op(st, tail_table, t_first, t_last, T_SELECT, gt, pos, ng,
                        _data(st, t_size, t_const, t_first, t_last, size, sn + 1, 1, rank), 4)
                continue
            if hoist and (a == ACT_SIGMOID or a == ACT_TANH):  # profiles/tflm.py: HOISTED_ACTIVATIONS
                an = nm + act_extra[a] + 1 + def_before
                x4 = _op(st, tail_table, t_first, t_last, T_LOGISTIC if a == ACT_SIGMOID else T_TANH, x, -1, -1,
                         _data(st, t_size, t_const, t_first, t_last, size, an, 1, 4), 2)
                _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, K_SQUEEZE * 2 ** 32 + size * 8 + rank,
                        12, def_nm + e[N_CONV_SQUEEZE], 0, 1, False, consts)
                x = _op(st, tail_table, t_first, t_last, T_RESHAPE, x4, -1, -1,
                        _data(st, t_size, t_const, t_first, t_last, size, an + 1, 1, rank), 3)
                unsq_x, unsq_4d, hoist = x, x4, False
                continue
            nk = _act_kinds(a, int8, kinds)
            for q in range(nk):
                kd = kinds[q]
                wide = kd == T_DEQUANT or (int8 and kd == T_ELU)
                if kd == T_DEQUANT:
                    name = st[S_LAST_NAME] + 1
                elif kd == T_QUANT:
                    name = consts[C_QUANTIZE]
                else:
                    name = nm + act_extra[a]
                x = _op(st, tail_table, t_first, t_last, kd, x, -1, -1,
                        _data(st, t_size, t_const, t_first, t_last, elems * 4 if wide else size, name, 1, rank), 2)
            continue
        if IS_CONV[op] or op == OP_DENSE:
            co = ir[j, F_C]
            if op == OP_DENSE:
                own = e[N_MATMUL]
                bias_name = nm + e[N_BIAS_ADD]
            elif op == OP_CONV1D:
                own = e[N_CONVOLUTION]
                bias_name = 4 * nm + e[N_BIAS_ADD] + e[N_CONV_SQUEEZE] + e[N_SQUEEZE] + own + 3
            else:
                own = e[N_DEPTHWISE] if op == OP_DWCONV2D else e[N_CONVOLUTION]
                bias_name = 3 * nm + e[N_BIAS_ADD] + own + e[N_SQUEEZE] + 2
            _const(st, t_size, t_const, t_first, t_last, ir[j, F_WT] * elem, nm + own, co, 2 if op == OP_DENSE else 4)
            if ir[j, F_FOLDED] == 2:  # a folded BN's shift, named after the op alone (a Conv1D's with its Squeeze)
                bias_name = 2 * nm + e[N_CONV_SQUEEZE] + own + 1 if op == OP_CONV1D else nm + own
                _const(st, t_size, t_const, t_first, t_last, co * 4, bias_name, co, 1)
            elif ir[j, F_B] > 0:
                _const(st, t_size, t_const, t_first, t_last, co * 4, bias_name, co, 1)
            else:  # zeros the converter adds, merged like any equal constant
                _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, K_ZEROS * 2 ** 32 + co, co * 4, 0,
                        co, 1, True, consts)
            kd = T_CONV if (op == OP_CONV2D or op == OP_CONV1D) else (T_DW if op == OP_DWCONV2D else T_FC)
            st[S_PERCH] += tail_table[R_PERCH, kd] * R.align_up(4 * co, 16)  # tflm.per_channel_bytes
            temp = tail_table[R_TEMP, kd] + tail_table[R_TEMP_CH, kd] * co + st[S_PERCH]
            if temp > st[S_TEMP]:
                st[S_TEMP] = temp
            w_op, w_nm, w_bias, n_named = op, nm, ir[j, F_B] > 0 and ir[j, F_FOLDED] != 2, 2
            if op != OP_CONV1D:
                out_name = nm + own + 1 + bias_name if op == OP_DENSE else bias_name + 1
                x = _op(st, tail_table, t_first, t_last, kd, x, -1, -1,
                        _data(st, t_size, t_const, t_first, t_last, size, out_name, 1, rank), 4)
                continue
            _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, K_CONV_AXIS * 2 ** 32, 4,
                    nm + e[N_EXPAND_DIM], 0, 0, False, consts)
            x = _op(st, tail_table, t_first, t_last, T_EXPAND, x, -1, -1,
                    _data(st, t_size, t_const, t_first, t_last, in_size, nm + e[N_EXPAND], 1, 4), 3)
            x = _op(st, tail_table, t_first, t_last, kd, x, -1, -1,
                    _data(st, t_size, t_const, t_first, t_last, size, bias_name + 1, 1, 4), 4)
            q = j + 1  # defer the closing RESHAPE if a kept BN follows (through relu/relu6/linear/dropout)
            while q < n and (ir[q, F_OP] == OP_DROPOUT or (ir[q, F_OP] == OP_ACT and (
                    ir[q, F_ACT] == ACT_RELU or ir[q, F_ACT] == ACT_RELU6 or ir[q, F_ACT] == ACT_LINEAR))):
                q += 1
            closing = bias_name - nm - own - 1
            if q < n and ir[q, F_OP] == OP_BN and not ir[q, F_FOLDED]:
                deferred, def_nm, def_before = True, nm, closing
            elif q < n and ir[q, F_OP] == OP_ACT and (ir[q, F_ACT] == ACT_SIGMOID or ir[q, F_ACT] == ACT_TANH):
                hoist, def_nm, def_before = True, nm, closing
            else:
                _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, K_SQUEEZE * 2 ** 32 + size * 8 + rank,
                        12, nm + e[N_CONV_SQUEEZE], 0, 1, False, consts)
                x = _op(st, tail_table, t_first, t_last, T_RESHAPE, x, -1, -1,
                        _data(st, t_size, t_const, t_first, t_last, size, closing, 1, rank), 3)
                n_named = 3
            continue
        if op == OP_MAXPOOL1D or op == OP_MAXPOOL2D or op == OP_AVGPOOL1D or op == OP_AVGPOOL2D:
            kd = T_MAXPOOL if (op == OP_MAXPOOL1D or op == OP_MAXPOOL2D) else T_AVGPOOL
            if op == OP_MAXPOOL2D or op == OP_AVGPOOL2D:
                pn = nm + (e[N_MAX_POOL2D] if op == OP_MAXPOOL2D else e[N_AVG_POOL2D])
                x = _op(st, tail_table, t_first, t_last, kd, x, -1, -1,
                        _data(st, t_size, t_const, t_first, t_last, size, pn, 1, rank), 2)
                continue
            pn = nm + (e[N_MAX_POOL1D] if op == OP_MAXPOOL1D else e[N_AVG_POOL1D])
            _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, K_AXIS1 * 2 ** 32 + 1, 4,
                    pn + e[N_POOL_EXPAND_DIM] - 1, 0, 0, False, consts)
            x = _op(st, tail_table, t_first, t_last, T_EXPAND, x, -1, -1,
                    _data(st, t_size, t_const, t_first, t_last, in_size, pn + e[N_POOL_EXPAND] - 1, 1, 4), 3)
            x = _op(st, tail_table, t_first, t_last, kd, x, -1, -1,
                    _data(st, t_size, t_const, t_first, t_last, size, pn, 1, 4), 2)
            squeeze = pn + e[N_POOL_SQUEEZE] - 1
            _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, K_SQUEEZE * 2 ** 32 + size * 8 + rank, 12,
                    squeeze, 0, 1, False, consts)
            x = _op(st, tail_table, t_first, t_last, T_RESHAPE, x, -1, -1,
                    _data(st, t_size, t_const, t_first, t_last, size, squeeze + 1, 1, rank), 3)
            continue
        if op == OP_FLATTEN:
            sh = _op(st, tail_table, t_first, t_last, T_SHAPE, x, -1, -1,
                     _data(st, t_size, t_const, t_first, t_last, 4 * (ir[j - 1, F_RANK] + 1), nm + e[N_SHAPE], 0, 1), 2)
            _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, K_SLICE_BEGIN * 2 ** 32, 4,
                    nm + e[N_SLICE_BEGIN], 0, 1, False, consts)
            _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, K_SLICE_ONE * 2 ** 32, 4, 0, 0, 1, True,
                    consts)
            sc = _op(st, tail_table, t_first, t_last, T_SLICE, sh, -1, -1,
                     _data(st, t_size, t_const, t_first, t_last, 4, nm + e[N_SLICE], 0, 0), 5)
            for _ in range(ir[j, F_RANK]):
                _const(st, t_size, t_const, t_first, t_last, 4, nm + e[N_PACK_DIM], 0, 0)
            pk = _op(st, tail_table, t_first, t_last, T_PACK, sc, -1, -1,
                     _data(st, t_size, t_const, t_first, t_last, 4 * rank, nm + e[N_PACK], 0, 1), 2 + ir[j, F_RANK])
            x = _op(st, tail_table, t_first, t_last, T_RESHAPE, unsq_4d if x == unsq_x else x, pk, -1,
                    _data(st, t_size, t_const, t_first, t_last, size, nm + e[N_RESHAPE], 1, rank), 3)
            continue
        if op == OP_GAP or op == OP_GMP:
            rn = nm + (e[N_MEAN] if op == OP_GAP else e[N_MAX])
            spatial = ir[j - 1, F_RANK] - 1
            if spatial == 1:  # scalar axis 1: the same constant as a 1-D pooling's EXPAND_DIMS axis
                _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, K_AXIS1 * 2 ** 32 + 1, 4,
                        rn + e[N_REDUCE_AXES] - 1, 0, 0, False, consts)
            else:
                _const(st, t_size, t_const, t_first, t_last, 4 * spatial, rn + e[N_REDUCE_AXES] - 1, 0, 1)
            x = _op(st, tail_table, t_first, t_last, T_MEAN if op == OP_GAP else T_RMAX, x, -1, -1,
                    _data(st, t_size, t_const, t_first, t_last, size, rn, 1, rank), 3)
            continue
        if op == OP_BN:
            before = def_before if deferred else st[S_LAST_NAME]
            r = 4 if deferred else rank
            _const(st, t_size, t_const, t_first, t_last, ir[j, F_C] * elem, nm + e[N_BN_MUL], 1, 1)
            _const(st, t_size, t_const, t_first, t_last, ir[j, F_C] * elem, nm + e[N_BN_SUB], 1, 1)
            x = _op(st, tail_table, t_first, t_last, T_MUL, x, -1, -1,
                    _data(st, t_size, t_const, t_first, t_last, size, 2 * nm + e[N_BN_MUL_1] + before + e[N_BN_MUL] + 2,
                          1, r), 3)
            out_name = 4 * nm + e[N_BN_ADD_1] + before + e[N_BN_MUL_1] + e[N_BN_MUL] + e[N_BN_SUB] + 4
            x = _op(st, tail_table, t_first, t_last, T_ADD, x, -1, -1,
                    _data(st, t_size, t_const, t_first, t_last, size, out_name, 1, r), 3)
            if deferred:
                _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, K_SQUEEZE * 2 ** 32 + size * 8 + rank,
                        12, def_nm + e[N_CONV_SQUEEZE], 0, 1, False, consts)
                x = _op(st, tail_table, t_first, t_last, T_RESHAPE, x, -1, -1,
                        _data(st, t_size, t_const, t_first, t_last, size, out_name + 1, 1, rank), 3)
                deferred = False
            n_named = 0
            continue
    st[S_NAMES] += consts[C_OUTPUT] - st[S_LAST_NAME]  # the model's output is renamed
    if st[S_NOPS] > 0 and st[S_NOPS] - 1 > t_last[x]:
        t_last[x] = st[S_NOPS] - 1  # the output lives to the end
    return t_size[in_t] + t_size[x]
