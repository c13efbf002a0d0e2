"""numba kernels for the hot paths: plain arrays in, plain arrays out.

Kept apart so the rest of memsim stays readable and so CI can run the same
tests with ``NUMBA_DISABLE_JIT=1``. No fastmath: results must be exact.
"""

from __future__ import annotations

import numpy as np

from memsim import _rules
from memsim._jit import kernel

__all__ = ["greedy_plan_kernel", "batch_kernel", "RESULT_FIELDS"]


@kernel
def greedy_plan_kernel(sizes, first, last, alignment, offsets, later_first):
    """The greedy planner of memsim.planners. Fills ``offsets``; returns the peak."""
    n = sizes.shape[0]
    return _greedy(sizes, first, last, alignment, offsets, np.empty(n, np.int64), np.empty(n, np.int64),
                   np.empty(n, np.int64), later_first)


@kernel
def _greedy(sizes, first, last, alignment, offsets, aligned, order, placed, later_first):
    """The planner on caller-owned scratch arrays (no allocation: the batch loop calls it per configuration)."""
    n = sizes.shape[0]
    if n == 0:
        return 0
    for i in range(n):
        aligned[i] = (sizes[i] + alignment - 1) // alignment * alignment
    # stable descending order by insertion sort, in order of addition or (TFLM) its reverse
    for ii in range(n):
        i = n - 1 - ii if later_first else ii
        j = ii
        while j > 0 and aligned[order[j - 1]] < aligned[i]:
            order[j] = order[j - 1]
            j -= 1
        order[j] = i
    n_placed = 0
    peak = 0
    for oi in range(n):
        i = order[oi]
        candidate = 0
        for pk in range(n_placed):
            j = placed[pk]
            if first[j] > last[i] or first[i] > last[j]:
                continue
            if offsets[j] - candidate >= aligned[i]:
                break
            end = offsets[j] + aligned[j]
            if end > candidate:
                candidate = end
        offsets[i] = candidate
        k = 0
        while k < n_placed and offsets[placed[k]] <= candidate:
            k += 1
        for m in range(n_placed, k, -1):
            placed[m] = placed[m - 1]
        placed[k] = i
        n_placed += 1
        if candidate + aligned[i] > peak:
            peak = candidate + aligned[i]
    return peak


# ---------------------------------------------------------------------------
# Batch evaluation of chain-shaped template families.
#
# A family is L slots; each configuration gives every slot an op code and up
# to 8 integer parameters (see memsim.batch for the encoding). The kernel
# rebuilds the IR of each configuration as arrays and applies the same rules
# as memsim.ops, memsim.metrics and the two runtime profiles; tests hold it
# equal to the single-network path.
# ---------------------------------------------------------------------------

# slot / IR op codes
OP_SKIP, OP_INPUT, OP_CONV1D, OP_CONV2D, OP_DWCONV2D, OP_DENSE = 0, 1, 2, 3, 4, 5
OP_MAXPOOL1D, OP_MAXPOOL2D, OP_AVGPOOL1D, OP_AVGPOOL2D, OP_GAP, OP_GMP = 6, 7, 8, 9, 10, 11
OP_FLATTEN, OP_ACT, OP_BN, OP_DROPOUT = 12, 13, 14, 15
# activation codes
ACT_LINEAR, ACT_RELU, ACT_RELU6, ACT_TANH, ACT_SIGMOID, ACT_ELU, ACT_SELU, ACT_LEAKY, ACT_SOFTMAX = range(9)
# TFLite op codes local to the kernels (index into the tail table)
T_CONV, T_DW, T_FC, T_MAXPOOL, T_AVGPOOL, T_SOFTMAX, T_RESHAPE, T_EXPAND, T_SHAPE, T_SLICE, T_PACK = range(11)
T_MEAN, T_RMAX, T_ADD, T_MUL, T_TANH, T_LOGISTIC, T_ELU, T_LEAKY, T_RELU, T_RELU6 = range(11, 21)
T_GREATER, T_EXP, T_SUB, T_SELECT, T_DEQUANT, T_QUANT = range(21, 27)
N_TFL_OPS = 27

RESULT_FIELDS = ("macc", "params", "weights_bytes", "model_bytes", "activations_bytes", "runtime_ram_bytes",
                 "io_bytes", "ram_bytes", "flash_bytes", "valid", "supported")


# The ops' arithmetic, compiled from the functions the graph IR calls (one source: memsim/_rules.py).
_window_length = kernel(_rules.window_length)
_conv_counts = kernel(_rules.conv_counts)
_dense_counts = kernel(_rules.dense_counts)
_pool_macc = kernel(_rules.pool_macc)
_global_pool_macc = kernel(_rules.global_pool_macc)
_activation_macc = kernel(_rules.activation_macc)
_batch_norm_counts = kernel(_rules.batch_norm_counts)
_im2col_scratch = kernel(_rules.im2col_scratch)
_fused_pool_scratch = kernel(_rules.fused_pool_scratch)
_int8_dense_scratch = kernel(_rules.int8_dense_scratch)
_int8_conv_scratch = kernel(_rules.int8_conv_scratch)
_overlap_extra = kernel(_rules.overlap_extra)


@kernel
def _is_conv(op):
    return op == OP_CONV1D or op == OP_CONV2D or op == OP_DWCONV2D


@kernel
def _build_ir(ops, prm, in_shape, in_rank, act_macc, ir_op, ir_h, ir_w, ir_c, ir_rank, ir_wt, ir_b, ir_macc,
              ir_act, ir_aux, ir_slot, ir_folded, ir_s, ir_pad):
    """Expand one configuration's slots into IR layers. Returns the count, or -1 if shapes do not fit."""
    n = 0
    ir_op[0] = OP_INPUT
    ir_h[0], ir_w[0], ir_c[0], ir_rank[0] = in_shape[0], in_shape[1], in_shape[2], in_rank
    ir_wt[0] = ir_b[0] = ir_macc[0] = 0
    ir_act[0] = 0
    ir_slot[0] = -1
    ir_folded[0] = 0
    n = 1
    for s in range(ops.shape[0]):
        op = ops[s]
        if op == OP_SKIP:
            continue
        h, w, c, rank = ir_h[n - 1], ir_w[n - 1], ir_c[n - 1], ir_rank[n - 1]
        elems = h * w * c
        act = 0
        ir_aux[n] = 0
        ir_s[n] = 1
        ir_pad[n] = 0
        ir_folded[n] = 0
        wt = 0
        b = 0
        macc = 0
        if op == OP_CONV1D or op == OP_CONV2D or op == OP_DWCONV2D:
            if (op == OP_CONV1D and rank != 2) or (op != OP_CONV1D and rank != 3):
                return -1
            kh, kw, sh, sw, same, use_bias = prm[s, 1], prm[s, 2], prm[s, 3], prm[s, 4], prm[s, 5], prm[s, 6]
            if op == OP_CONV1D:
                kw, sw = 1, 1
            oh = _window_length(h, kh, sh, same)
            ow = _window_length(w, kw, sw, same) if op != OP_CONV1D else 1
            if oh < 1 or ow < 1:
                return -1
            co = c * prm[s, 0] if op == OP_DWCONV2D else prm[s, 0]
            wt, b, macc = _conv_counts(oh * ow, kh * kw, c, co, op == OP_DWCONV2D, use_bias != 0)
            ir_s[n] = sh
            ir_pad[n] = max((oh - 1) * sh + kh - h, 0) // 2 if same else 0
            h, w, c = oh, ow, co
            act = prm[s, 7]
            ir_aux[n] = kh
        elif op == OP_DENSE:
            if rank != 1:
                return -1
            units, use_bias = prm[s, 0], prm[s, 1]
            wt, b, macc = _dense_counts(1, c, units, use_bias != 0)
            c = units
            act = prm[s, 2]
        elif op == OP_MAXPOOL1D or op == OP_MAXPOOL2D or op == OP_AVGPOOL1D or op == OP_AVGPOOL2D:
            one_d = op == OP_MAXPOOL1D or op == OP_AVGPOOL1D
            if (one_d and rank != 2) or (not one_d and rank != 3):
                return -1
            ph, pw, sh, sw, same = prm[s, 0], prm[s, 1], prm[s, 2], prm[s, 3], prm[s, 4]
            if one_d:
                pw, sw = 1, 1
            oh = _window_length(h, ph, sh, same)
            ow = _window_length(w, pw, sw, same) if not one_d else 1
            if oh < 1 or ow < 1:
                return -1
            h, w = oh, ow
            macc = _pool_macc(h * w * c, ph * pw)
            ir_aux[n] = ph
            ir_s[n] = sh
        elif op == OP_GAP or op == OP_GMP:
            if rank < 2:
                return -1
            macc = _global_pool_macc(elems)
            h, w, rank = 1, 1, 1
        elif op == OP_FLATTEN:
            c, h, w, rank = elems, 1, 1, 1
        elif op == OP_ACT:
            ir_act[n] = prm[s, 0]
            macc = _activation_macc(elems, act_macc[prm[s, 0]])
        elif op == OP_BN:
            p = ir_op[n - 1]
            if _is_conv(p) or p == OP_DENSE:
                ir_folded[n] = 1
                if ir_b[n - 1] == 0:  # the BN's shift becomes the producer's bias (marked 2 for its name)
                    ir_b[n - 1] = c
                    ir_macc[n - 1] += c
                    ir_folded[n - 1] = 2
            else:
                wt, b, macc = _batch_norm_counts(c, elems)
        elif op == OP_DROPOUT:
            pass
        else:
            return -1
        if op == OP_CONV1D or op == OP_MAXPOOL1D or op == OP_AVGPOOL1D:
            rank = 2
        ir_op[n], ir_h[n], ir_w[n], ir_c[n], ir_rank[n] = op, h, w, c, rank
        ir_wt[n], ir_b[n], ir_macc[n] = wt, b, macc
        if op != OP_ACT:
            ir_act[n] = 0
        ir_slot[n] = s
        n += 1
        if act != 0:
            ir_op[n], ir_h[n], ir_w[n], ir_c[n], ir_rank[n] = OP_ACT, h, w, c, rank
            ir_wt[n] = ir_b[n] = 0
            ir_macc[n] = _activation_macc(h * w * c, act_macc[act])
            ir_act[n] = act
            ir_aux[n] = 0
            ir_s[n] = 1
            ir_pad[n] = 0
            ir_slot[n] = s
            ir_folded[n] = 0
            n += 1
    return n


@kernel
def _align(x, a):
    return (x + a - 1) // a * a


@kernel
def _xcube_pool(n, ir_op, ir_h, ir_w, ir_c, ir_rank, ir_wt, ir_act, ir_aux, ir_slot, ir_s, ir_pad, elem, io_in_pool,
                conv_overlap, im2col, sizes, first, last, offsets, fused, member, buf_of, inpool, scratch,
                int8_scratch_consts):
    """X-CUBE-AI activation pool of a chain (see profiles/xcubeai.py). Returns (pool, io)."""
    # fused[j] = conv index for a pool j; member[j] = pool index for fused conv/act layers
    for j in range(n):
        fused[j] = -1
        member[j] = -1
        buf_of[j] = -1
    for p in range(n):
        op = ir_op[p]
        if op == OP_MAXPOOL1D or op == OP_MAXPOOL2D or op == OP_AVGPOOL1D or op == OP_AVGPOOL2D:
            i = p - 1
            while ir_op[i] == OP_ACT and i > 0 and ir_slot[i] == ir_slot[i - 1]:  # only the conv's own activation
                i -= 1
            if _is_conv(ir_op[i]):
                fused[p] = i
                for m in range(i, p):
                    member[m] = p
    nb = 0
    io = 0
    for j in range(n):
        op = ir_op[j]
        if im2col and elem == 4 and (op == OP_CONV1D or op == OP_CONV2D):  # im2col scratch (profiles/xcubeai.py)
            sizes[nb] = _im2col_scratch(ir_wt[j] // ir_c[j])
            first[nb] = j
            last[nb] = j
            inpool[nb] = True
            nb += 1
        if elem == 1 and j > 0 and (member[j] < 0 or _is_conv(op)):  # int8 scratch (profiles/xcubeai.py)
            extra = 0
            if op == OP_DENSE:
                extra = _int8_dense_scratch(ir_h[j - 1] * ir_w[j - 1] * ir_c[j - 1], ir_h[j] * ir_w[j] * ir_c[j],
                                            int8_scratch_consts[0], int8_scratch_consts[1])
            elif op == OP_ACT and ir_act[j] == ACT_SOFTMAX:
                extra = int8_scratch_consts[2]
            elif op == OP_CONV1D or op == OP_CONV2D:  # profiles/xcubeai.py: int8_scratch envelope
                extra = _int8_conv_scratch(ir_wt[j] // ir_c[j], ir_w[j] if op == OP_CONV2D else ir_h[j],
                                           int8_scratch_consts[3])
            if extra > 0:
                sizes[nb] = extra
                first[nb] = j
                last[nb] = j
                inpool[nb] = True
                nb += 1
        if member[j] >= 0:
            continue
        in_place = op == OP_ACT or op == OP_DROPOUT or op == OP_BN or op == OP_FLATTEN
        if in_place and j > 0 and fused[j] < 0:
            buf_of[j] = buf_of[j - 1]
            continue
        size = ir_h[j] * ir_w[j] * ir_c[j] * elem
        is_io = j == 0 or j == n - 1
        buf_of[j] = nb
        sizes[nb] = size
        start = fused[j] if fused[j] >= 0 else j
        first[nb] = start
        last[nb] = start
        inpool[nb] = io_in_pool or not is_io
        nb += 1
        if fused[j] >= 0:
            c = fused[j]
            for m in range(c, j):
                buf_of[m] = buf_of[j]
            row = ir_w[c] * ir_c[c] if ir_rank[c] == 3 else ir_c[c]
            sizes[nb] = _fused_pool_scratch(ir_aux[j], row, elem)
            first[nb] = c
            last[nb] = c
            inpool[nb] = True
            nb += 1
    for j in range(1, n):
        op = ir_op[j]
        is_pool = op == OP_MAXPOOL1D or op == OP_MAXPOOL2D or op == OP_AVGPOOL1D or op == OP_AVGPOOL2D
        step = j - 1 if (is_pool and fused[j] < 0) else j  # an unfused pool writes over its input
        bsrc = buf_of[j - 1]
        if bsrc >= 0 and step > last[bsrc]:
            last[bsrc] = step
        bj = buf_of[j]
        if bj >= 0 and j > last[bj]:
            last[bj] = j
    if buf_of[n - 1] >= 0:
        last[buf_of[n - 1]] = n - 1
    if conv_overlap and elem == 4:  # a conv's output over its input (profiles/xcubeai.py: overlap_extra)
        for c in range(1, n):
            if not (ir_op[c] == OP_CONV1D or ir_op[c] == OP_CONV2D):
                continue
            b_in = buf_of[c - 1]
            if b_in < 0 or not inpool[b_in] or last[b_in] != c or first[b_in] >= c:
                continue
            o = member[c] if member[c] >= 0 else c
            step = ir_s[c] * (ir_s[o] if o != c else 1)
            extra = _overlap_extra(ir_h[c - 1], ir_w[c - 1] * ir_c[c - 1] * elem, ir_h[o], ir_w[o] * ir_c[o] * elem,
                                   ir_aux[c], step, ir_pad[c])
            if extra < 0:
                continue
            last[b_in] = c - 1
            sizes[nb] = extra
            first[nb] = c
            last[nb] = c
            inpool[nb] = True
            nb += 1
    io = (ir_h[0] * ir_w[0] * ir_c[0] + ir_h[n - 1] * ir_w[n - 1] * ir_c[n - 1]) * elem
    m = 0
    for k in range(nb):
        if inpool[k]:
            sizes[m], first[m], last[m] = sizes[k], first[k], last[k]
            m += 1
    pool = _greedy(sizes[:m], first[:m], last[:m], 4, offsets[:m], scratch[0, :m], scratch[1, :m], scratch[2, :m],
                   False)
    return pool, io


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
    st[S_PAYLOAD] += _align(nbytes, 16) + 16
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
def _tflm(n, ir_op, ir_h, ir_w, ir_c, ir_rank, ir_wt, ir_b, ir_act, ir_slot, ir_folded, int8, elem,
          slot_name, graph_name, input_name, act_extra, e, consts, tail_table, t_size, t_const, t_first, t_last, kinds,
          reg_key, reg_name, st):
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
    x = _data(st, t_size, t_const, t_first, t_last, ir_h[0] * ir_w[0] * ir_c[0] * elem, input_name, 1,
              ir_rank[0] + 1)
    t_first[0] = 0
    t_last[0] = 0
    in_t = x
    for j in range(1, n):
        op = ir_op[j]
        nm = base + slot_name[ir_slot[j]]  # an activation argument is named under its layer, the same slot
        rank = ir_rank[j] + 1
        elems = ir_h[j] * ir_w[j] * ir_c[j]
        size = elems * elem
        in_size = ir_h[j - 1] * ir_w[j - 1] * ir_c[j - 1] * elem
        if op == OP_DROPOUT:
            continue
        if op == OP_BN and ir_folded[j]:  # merged into the conv/dense: its names join the bias's and output's
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
            a = ir_act[j]
            if a == ACT_LINEAR:
                continue
            p = j - 1
            while ir_op[p] == OP_DROPOUT or (ir_op[p] == OP_BN and ir_folded[p]):
                p -= 1
            if (a == ACT_RELU or a == ACT_RELU6) and (_is_conv(ir_op[p]) or ir_op[p] == OP_DENSE):
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
        if _is_conv(op) or op == OP_DENSE:
            co = ir_c[j]
            if op == OP_DENSE:
                own = e[N_MATMUL]
                bias_name = nm + e[N_BIAS_ADD]
            elif op == OP_CONV1D:
                own = e[N_CONVOLUTION]
                bias_name = 4 * nm + e[N_BIAS_ADD] + e[N_CONV_SQUEEZE] + e[N_SQUEEZE] + own + 3
            else:
                own = e[N_DEPTHWISE] if op == OP_DWCONV2D else e[N_CONVOLUTION]
                bias_name = 3 * nm + e[N_BIAS_ADD] + own + e[N_SQUEEZE] + 2
            _const(st, t_size, t_const, t_first, t_last, ir_wt[j] * elem, nm + own, co, 2 if op == OP_DENSE else 4)
            if ir_folded[j] == 2:  # a folded BN's shift, named after the op alone (a Conv1D's with its Squeeze)
                bias_name = 2 * nm + e[N_CONV_SQUEEZE] + own + 1 if op == OP_CONV1D else nm + own
                _const(st, t_size, t_const, t_first, t_last, co * 4, bias_name, co, 1)
            elif ir_b[j] > 0:
                _const(st, t_size, t_const, t_first, t_last, co * 4, bias_name, co, 1)
            else:  # zeros the converter adds, merged like any equal constant
                _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, K_ZEROS * 2 ** 32 + co, co * 4, 0,
                        co, 1, True, consts)
            kd = T_CONV if (op == OP_CONV2D or op == OP_CONV1D) else (T_DW if op == OP_DWCONV2D else T_FC)
            st[S_PERCH] += tail_table[R_PERCH, kd] * _align(4 * co, 16)  # tflm.per_channel_bytes
            temp = tail_table[R_TEMP, kd] + tail_table[R_TEMP_CH, kd] * co + st[S_PERCH]
            if temp > st[S_TEMP]:
                st[S_TEMP] = temp
            w_op, w_nm, w_bias, n_named = op, nm, ir_b[j] > 0 and ir_folded[j] != 2, 2
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
            while q < n and (ir_op[q] == OP_DROPOUT or (ir_op[q] == OP_ACT and (
                    ir_act[q] == ACT_RELU or ir_act[q] == ACT_RELU6 or ir_act[q] == ACT_LINEAR))):
                q += 1
            closing = bias_name - nm - own - 1
            if q < n and ir_op[q] == OP_BN and not ir_folded[q]:
                deferred, def_nm, def_before = True, nm, closing
            elif q < n and ir_op[q] == OP_ACT and (ir_act[q] == ACT_SIGMOID or ir_act[q] == ACT_TANH):
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
                     _data(st, t_size, t_const, t_first, t_last, 4 * (ir_rank[j - 1] + 1), nm + e[N_SHAPE], 0, 1), 2)
            _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, K_SLICE_BEGIN * 2 ** 32, 4,
                    nm + e[N_SLICE_BEGIN], 0, 1, False, consts)
            _shared(st, reg_key, reg_name, t_size, t_const, t_first, t_last, K_SLICE_ONE * 2 ** 32, 4, 0, 0, 1, True,
                    consts)
            sc = _op(st, tail_table, t_first, t_last, T_SLICE, sh, -1, -1,
                     _data(st, t_size, t_const, t_first, t_last, 4, nm + e[N_SLICE], 0, 0), 5)
            for _ in range(ir_rank[j]):
                _const(st, t_size, t_const, t_first, t_last, 4, nm + e[N_PACK_DIM], 0, 0)
            pk = _op(st, tail_table, t_first, t_last, T_PACK, sc, -1, -1,
                     _data(st, t_size, t_const, t_first, t_last, 4 * rank, nm + e[N_PACK], 0, 1), 2 + ir_rank[j])
            x = _op(st, tail_table, t_first, t_last, T_RESHAPE, unsq_4d if x == unsq_x else x, pk, -1,
                    _data(st, t_size, t_const, t_first, t_last, size, nm + e[N_RESHAPE], 1, rank), 3)
            continue
        if op == OP_GAP or op == OP_GMP:
            rn = nm + (e[N_MEAN] if op == OP_GAP else e[N_MAX])
            spatial = ir_rank[j - 1] - 1
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
            _const(st, t_size, t_const, t_first, t_last, ir_c[j] * elem, nm + e[N_BN_MUL], 1, 1)
            _const(st, t_size, t_const, t_first, t_last, ir_c[j] * elem, nm + e[N_BN_SUB], 1, 1)
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


_HASH_MASK = (1 << 40) - 1  # keeps every product below 2**63: no overflow, in numba or as plain Python
_HASH_MUL = 1000003


@kernel
def _row_hash(ops_row, prm_flat):
    """A multiplicative hash of one configuration's op codes and parameters (equality is checked apart)."""
    h = 1469598103
    for v in ops_row:
        h = ((h * _HASH_MUL) ^ v) & _HASH_MASK
    # four independent chains so the multiplies overlap (the hash is on the path of every configuration)
    a, b, c, g = h, 780984778, 393555900, 269134368
    n = prm_flat.shape[0]
    q = 0
    while q + 4 <= n:
        a = ((a * _HASH_MUL) ^ prm_flat[q]) & _HASH_MASK
        b = ((b * _HASH_MUL) ^ prm_flat[q + 1]) & _HASH_MASK
        c = ((c * _HASH_MUL) ^ prm_flat[q + 2]) & _HASH_MASK
        g = ((g * _HASH_MUL) ^ prm_flat[q + 3]) & _HASH_MASK
        q += 4
    while q < n:
        a = ((a * _HASH_MUL) ^ prm_flat[q]) & _HASH_MASK
        q += 1
    h = ((a * _HASH_MUL) ^ b) & _HASH_MASK
    h = ((h * _HASH_MUL) ^ c) & _HASH_MASK
    h = ((h * _HASH_MUL) ^ g) & _HASH_MASK
    return h ^ (h >> 20)  # the table indexes with the low bits: fold the high ones in


@kernel
def _grow(seen, seen_h, cap):
    """The hash table at twice the size, its entries placed again."""
    new_cap = 2 * cap
    new_seen = np.full(new_cap, -1, np.int64)
    new_h = np.empty(new_cap, np.int64)
    for k in range(cap):
        if seen[k] >= 0:
            slot = seen_h[k] & (new_cap - 1)
            while new_seen[slot] >= 0:
                slot = (slot + 1) & (new_cap - 1)
            new_seen[slot] = seen[k]
            new_h[slot] = seen_h[k]
    return new_seen, new_h, new_cap


@kernel
def _same_row(ops, prm_flat, a, b):
    for s in range(ops.shape[1]):
        if ops[a, s] != ops[b, s]:
            return False
    for q in range(prm_flat.shape[1]):
        if prm_flat[a, q] != prm_flat[b, q]:
            return False
    return True


@kernel
def batch_kernel(ops, prm, in_shape, in_rank, profile, int8, compression, io_in_pool, conv_overlap, im2col, act_macc,
                 comp_min,
                 slot_name, graph_name, input_name, act_extra, name_extra, name_consts, tail_table, tail_consts,
                 fb_consts,
                 int8_scratch_consts,
                 runtime_ram, code_flash, out):
    """Evaluate N configurations of one chain family.

    ops : (N, L) int64 slot op codes; prm : (N, L, 8) int64 slot parameters.
    profile : 0 xcubeai, 1 tflm. compression : 0 none, 1 x4, 2 x8.
    out : (N, 11) int64, columns RESULT_FIELDS; ``supported`` is 0 where the runtime has no kernel
    for an op (TFLM int8 SELU needs EXP, which is float-only).
    """
    nconf, nslots = ops.shape[0], ops.shape[1]
    m = 2 * nslots + 2
    ir_op = np.empty(m, np.int64)
    ir_h = np.empty(m, np.int64)
    ir_w = np.empty(m, np.int64)
    ir_c = np.empty(m, np.int64)
    ir_rank = np.empty(m, np.int64)
    ir_wt = np.empty(m, np.int64)
    ir_b = np.empty(m, np.int64)
    ir_macc = np.empty(m, np.int64)
    ir_act = np.empty(m, np.int64)
    ir_aux = np.empty(m, np.int64)
    ir_slot = np.empty(m, np.int64)
    ir_folded = np.empty(m, np.int64)
    ir_s = np.empty(m, np.int64)
    ir_pad = np.empty(m, np.int64)
    tcap = 12 * m + 4
    sizes = np.empty(tcap, np.int64)
    first = np.empty(tcap, np.int64)
    last = np.empty(tcap, np.int64)
    offsets = np.empty(tcap, np.int64)
    t_size = np.empty(tcap, np.int64)
    t_const = np.empty(tcap, np.bool_)
    t_first = np.empty(tcap, np.int64)
    t_last = np.empty(tcap, np.int64)
    kinds = np.empty(8, np.int64)
    st = np.empty(15, np.int64)
    reg_key = np.empty(tcap, np.int64)
    reg_name = np.empty(tcap, np.int64)
    fused = np.empty(m, np.int64)
    member = np.empty(m, np.int64)
    buf_of = np.empty(m, np.int64)
    inpool = np.empty(tcap, np.bool_)
    scratch = np.empty((3, max(tcap, 2 * m + 2)), np.int64)
    elem = 1 if int8 else 4
    # Configurations repeat (a search space's pool; hyperparameters memory does not depend on are already out of
    # ops/prm): each distinct row is evaluated once and found again through an open-addressing hash table, kept
    # small (it grows with the distinct rows, not with N) so that it stays in cache.
    cap = 16  # a power of two, at most 4096 to start with, and no larger than a small N needs (footprint: N = 1)
    while cap < 2 * nconf and cap < 4096:
        cap *= 2
    seen = np.full(cap, -1, np.int64)
    seen_h = np.empty(cap, np.int64)
    distinct = 0
    prm_flat = prm.reshape(nconf, prm.shape[1] * prm.shape[2])
    for i in range(nconf):
        h = _row_hash(ops[i], prm_flat[i])
        slot = h & (cap - 1)
        twin = -1
        while seen[slot] >= 0:
            if seen_h[slot] == h and _same_row(ops, prm_flat, seen[slot], i):
                twin = seen[slot]
                break
            slot = (slot + 1) & (cap - 1)
        if twin >= 0:
            for f in range(out.shape[1]):
                out[i, f] = out[twin, f]
            continue
        seen[slot] = i
        seen_h[slot] = h
        distinct += 1
        if 2 * distinct > cap:  # keep the load under one half
            seen, seen_h, cap = _grow(seen, seen_h, cap)
        n = _build_ir(ops[i], prm[i], in_shape, in_rank, act_macc, ir_op, ir_h, ir_w, ir_c, ir_rank, ir_wt, ir_b,
                      ir_macc, ir_act, ir_aux, ir_slot, ir_folded, ir_s, ir_pad)
        if n < 0:
            for f in range(11):
                out[i, f] = -1
            out[i, 9] = 0
            out[i, 10] = 0
            continue
        supported = 1
        if profile == 1 and int8:
            for j in range(n):
                if ir_op[j] == OP_ACT and ir_act[j] == ACT_SELU:
                    supported = 0
        macc = 0
        params = 0
        wbytes = 0
        # the output dense layer (never compressed): last dense with only act/dropout/flatten/bn after it
        out_dense = -1
        for j in range(n - 1, -1, -1):
            o = ir_op[j]
            if o == OP_DENSE:
                out_dense = j
                break
            if not (o == OP_ACT or o == OP_DROPOUT or o == OP_FLATTEN or o == OP_BN):
                break
        for j in range(n):
            macc += ir_macc[j]
            params += ir_wt[j] + ir_b[j]
            if int8:
                if ir_op[j] == OP_BN:
                    wbytes += ir_wt[j] + ir_b[j]
                else:
                    wbytes += ir_wt[j] + 4 * ir_b[j]
            elif compression > 0 and ir_op[j] == OP_DENSE and j != out_dense and ir_wt[j] >= comp_min[compression]:
                if compression == 1:
                    wbytes += ir_wt[j] + 1024 + 4 * ir_b[j]
                else:
                    wbytes += (ir_wt[j] + 1) // 2 + 64 + 4 * ir_b[j]
            else:
                wbytes += 4 * (ir_wt[j] + ir_b[j])
        if profile == 0:
            pool, io = _xcube_pool(n, ir_op, ir_h, ir_w, ir_c, ir_rank, ir_wt, ir_act, ir_aux, ir_slot, ir_s, ir_pad,
                                   elem, io_in_pool, conv_overlap, im2col, sizes, first, last, offsets, fused, member,
                                   buf_of, inpool, scratch, int8_scratch_consts)
            model = wbytes
            rt_ram = runtime_ram
            ram = pool + (0 if io_in_pool else io) + rt_ram
        else:
            io = _tflm(n, ir_op, ir_h, ir_w, ir_c, ir_rank, ir_wt, ir_b, ir_act, ir_slot, ir_folded, int8, elem,
                       slot_name, graph_name, input_name, act_extra, name_extra, name_consts, tail_table, t_size,
                       t_const, t_first, t_last, kinds, reg_key, reg_name, st)
            nt, nops, names, quant = st[S_NT], st[S_NOPS], st[S_NAMES], st[S_QUANT]
            per_channel, tail_ops, payload = st[S_PERCH], st[S_TAIL], st[S_PAYLOAD]
            k = 0
            for t in range(nt):
                if not t_const[t] and t_first[t] >= 0:
                    sizes[k], first[k], last[k] = t_size[t], t_first[t], t_last[t]
                    k += 1
            pool = _greedy(sizes[:k], first[:k], last[:k], 16, offsets[:k], scratch[0, :k], scratch[1, :k],
                           scratch[2, :k], True)
            tail = (tail_consts[0] + tail_consts[1] * nt + tail_consts[2] * nops
                    + tail_consts[3 + int8] * 2 + tail_ops + per_channel)
            tail = _align(tail, 16)
            codes = 0
            for q in range(N_TFL_OPS):
                codes += (st[S_CODES] >> q) & 1
            # same terms, same order as profiles/tflm.py: flatbuffer_bytes
            size = (fb_consts[0] + payload + fb_consts[1] * nt + fb_consts[2] * names + fb_consts[3] * st[S_RANKS]
                    + fb_consts[4] * (st[S_QT] if int8 else 0) + fb_consts[5] * (quant if int8 else 0)
                    + fb_consts[6] * nops + fb_consts[7] * codes + fb_consts[8] * st[S_IO])
            model = np.int64(round(size))
            need = max(st[S_TEMP] - per_channel, tail_consts[5] * nt + tail_consts[6] * k + tail_consts[7])
            rt_ram = tail + max(0, need - pool) + runtime_ram  # + what preparing and planning take beyond the head
            ram = pool + rt_ram
        out[i, 0] = macc
        out[i, 1] = params
        out[i, 2] = wbytes
        out[i, 3] = model
        out[i, 4] = pool
        out[i, 5] = rt_ram
        out[i, 6] = io
        out[i, 7] = ram
        out[i, 8] = model + code_flash
        out[i, 9] = 1
        out[i, 10] = supported
