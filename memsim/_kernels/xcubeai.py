"""X-CUBE-AI's activation plan, compiled: the one implementation of the rules ``memsim.profiles.xcubeai`` states.

``XCubeAIProfile.activation_plan`` (any graph) and the batch driver (a template's chains) both call
``plan_buffers`` on the shared IR layout (``memsim._kernels.codes``); only the profile names the buffers.
"""

from __future__ import annotations

from memsim._jit import kernel
from memsim._kernels import rules as R
from memsim._kernels.codes import (ACT_SOFTMAX, F_ACT, F_C, F_FIELD, F_H, F_IN, F_K, F_NIN, F_OP, F_OUT, F_OWN_ACT,
                                   F_PAD, F_RANK, F_S, F_W, IS_CONV, IS_IN_PLACE, IS_POOL, OP_ACT, OP_CONV1D,
                                   OP_CONV2D, OP_DENSE, OP_INPUT)
from memsim._kernels.planner import greedy

__all__ = ["plan_buffers", "pool_bytes"]

# What each planned buffer is: a layer's output, a kernel's scratch, a fused pool's rows, what a conv's output
# overlaid on its input sticks out (the profile names them "<layer>", "<layer>_scratch0", "<conv>_scratch",
# "<conv>_overlap").
B_OUTPUT, B_SCRATCH, B_FUSED, B_OVERLAP = range(4)
# Where the int8 scratch constants sit in the array handed in (memsim.profiles.xcubeai holds their values and
# sources): dense bytes per input and per output element, softmax bytes, conv envelope's extra output rows.
SC_DENSE_IN, SC_DENSE_OUT, SC_SOFTMAX, SC_CONV_EXTRA_ROWS = range(4)


@kernel(inline=True)
def _elems(ir, j):
    return ir[j, F_H] * ir[j, F_W] * ir[j, F_C]


@kernel(inline=True)
def _add(sizes, first, last, inpool, kind, layer, nb, size, step, in_pool, what, j):
    sizes[nb], first[nb], last[nb], inpool[nb], kind[nb], layer[nb] = size, step, step, in_pool, what, j
    return nb + 1


@kernel(inline=True)
def _fuse_pools(n, ir, ir_in, readers, fused, member):
    """fused[p] = the conv a pooling layer p is fused with (conv, at most its own activation, pool); member[i] = p
    for that conv and activation. A separate activation layer prevents the fusion."""
    for p in range(n):
        if not IS_POOL[ir[p, F_OP]]:
            continue
        i = ir_in[ir[p, F_IN]]
        while ir[i, F_OP] == OP_ACT and readers[i] == 1 and ir[i, F_OWN_ACT]:
            i = ir_in[ir[i, F_IN]]
        if IS_CONV[ir[i, F_OP]] and readers[i] == 1:
            fused[p] = i
            m = ir_in[ir[p, F_IN]]
            while m != i:
                member[m] = p
                m = ir_in[ir[m, F_IN]]
            member[i] = p


@kernel(inline=True)
def _scratch(ir, j, src, elem, fused_act, im2col, consts):
    """Bytes of the scratch buffer a layer's kernel takes while it runs (0: none)."""
    op = ir[j, F_OP]
    if elem == R.FLOAT32_BYTES:
        if im2col and (op == OP_CONV1D or op == OP_CONV2D):
            return R.im2col_scratch(ir[j, F_FIELD])
        return 0
    if fused_act:  # a fused conv keeps its conv scratch; the fused activation's is the kernel's business
        return 0
    if op == OP_DENSE:
        return R.int8_dense_scratch(_elems(ir, src), _elems(ir, j), consts[SC_DENSE_IN], consts[SC_DENSE_OUT])
    if op == OP_ACT and ir[j, F_ACT] == ACT_SOFTMAX:
        return consts[SC_SOFTMAX]
    if op == OP_CONV1D or op == OP_CONV2D:  # the envelope, not ST's formula (memsim/profiles/xcubeai.py)
        return R.int8_conv_scratch(ir[j, F_FIELD], ir[j, F_W] if op == OP_CONV2D else ir[j, F_H],
                                   consts[SC_CONV_EXTRA_ROWS])
    return 0


@kernel(inline=True)
def plan_buffers(n, ir, ir_in, elem, io_in_pool, fuse_conv_pool, conv_overlap, im2col, consts, readers, fused,
                 member, buf_of, sizes, first, last, inpool, kind, layer):
    """The buffers of X-CUBE-AI's activation pool, with lifetimes in layer steps (the rules:
    memsim/profiles/xcubeai.py). Fills the buffer arrays; returns (buffers, I/O bytes).

    Two passes over the layers, each one rule: which buffers exist, then how long each lives; then the float
    conv's output laid over its input. Work arrays (``readers`` ... ``buf_of``, length n) are the caller's.
    """
    for j in range(n):
        readers[j], fused[j], member[j], buf_of[j] = 0, -1, -1, -1
    for j in range(n):
        for q in range(ir[j, F_NIN]):
            readers[ir_in[ir[j, F_IN] + q]] += 1
    if fuse_conv_pool:
        _fuse_pools(n, ir, ir_in, readers, fused, member)
    nb = 0
    io = 0
    for j in range(n):
        op = ir[j, F_OP]
        src = ir_in[ir[j, F_IN]] if ir[j, F_NIN] > 0 else -1
        is_io = op == OP_INPUT or ir[j, F_OUT] != 0
        if is_io:
            io += _elems(ir, j) * elem
        if src >= 0:
            extra = _scratch(ir, j, src, elem, member[j] >= 0 and not IS_CONV[op], im2col, consts)
            if extra > 0:
                nb = _add(sizes, first, last, inpool, kind, layer, nb, extra, j, True, B_SCRATCH, j)
        if member[j] >= 0:  # written by the fused pool
            continue
        if IS_IN_PLACE[op] and src >= 0 and readers[src] == 1 and fused[j] < 0:
            buf_of[j] = buf_of[src]
            continue
        buf_of[j] = nb
        start = fused[j] if fused[j] >= 0 else j
        nb = _add(sizes, first, last, inpool, kind, layer, nb, _elems(ir, j) * elem, start, io_in_pool or not is_io,
                  B_OUTPUT, j)
        if fused[j] >= 0:
            c = fused[j]
            for m in range(c, j):
                if member[m] == j:
                    buf_of[m] = buf_of[j]
            row = ir[c, F_W] * ir[c, F_C] if ir[c, F_RANK] > 2 else ir[c, F_C]
            nb = _add(sizes, first, last, inpool, kind, layer, nb, R.fused_pool_scratch(ir[j, F_K], row, elem), c,
                      True, B_FUSED, c)
    for j in range(n):
        op = ir[j, F_OP]
        # an unfused pool whose input has no other reader writes over that input: the input dies as it starts
        over = IS_POOL[op] and fused[j] < 0 and readers[ir_in[ir[j, F_IN]]] == 1
        for q in range(ir[j, F_NIN]):
            b = buf_of[ir_in[ir[j, F_IN] + q]]
            if b >= 0 and j - over > last[b]:
                last[b] = j - over
        b = buf_of[j]
        if b >= 0 and j > last[b]:
            last[b] = j
    for j in range(n):
        if ir[j, F_OUT] != 0 and buf_of[j] >= 0:
            last[buf_of[j]] = n - 1
    if conv_overlap and elem == R.FLOAT32_BYTES:  # float models only
        nb = _overlap_convs(n, ir, ir_in, elem, buf_of, member, nb, sizes, first, last, inpool, kind, layer)
    return nb, io


@kernel(inline=True)
def _overlap_convs(n, ir, ir_in, elem, buf_of, member, nb, sizes, first, last, inpool, kind, layer):
    """A float conv (not depthwise) writes its output over its input when nothing reads the input afterwards; what
    sticks out beyond the input is a buffer of its own (``_rules.overlap_extra``)."""
    for c in range(n):
        op = ir[c, F_OP]
        if not (op == OP_CONV1D or op == OP_CONV2D):
            continue
        i = ir_in[ir[c, F_IN]]
        b_in = buf_of[i]
        # (an input outside the pool, 5.x/6.x, is the user's buffer: nothing to share)
        if b_in < 0 or not inpool[b_in] or last[b_in] != c or first[b_in] >= c:
            continue
        o = member[c] if member[c] >= 0 else c
        step = ir[c, F_S] * (ir[o, F_S] if o != c else 1)  # input rows per output row
        extra = R.overlap_extra(ir[i, F_H], ir[i, F_W] * ir[i, F_C] * elem, ir[o, F_H], ir[o, F_W] * ir[o, F_C] * elem,
                               ir[c, F_K], step, ir[c, F_PAD])
        if extra < 0:
            continue
        last[b_in] = c - 1
        nb = _add(sizes, first, last, inpool, kind, layer, nb, extra, c, True, B_OVERLAP, c)
    return nb


@kernel(inline=True)
def pool_bytes(nb, sizes, first, last, inpool, alignment, offsets, scratch):
    """The pool's peak: the in-pool buffers, compacted to the front, placed by the greedy planner."""
    m = 0
    for k in range(nb):
        if inpool[k]:
            sizes[m], first[m], last[m] = sizes[k], first[k], last[k]
            m += 1
    return greedy(sizes[:m], first[:m], last[:m], alignment, offsets[:m], scratch[0, :m], scratch[1, :m],
                  scratch[2, :m], False)
