"""TFLM's memory from a TFLite graph (lowered by ``memsim._kernels.tflm`` or read from a .tflite), compiled: the
one implementation of the arena and flatbuffer rules ``memsim.profiles.tflm`` states and fits.

The per-operator costs come in as a table (one row per ``codes.TFL_OPS`` code, the last for any other operator;
columns R_*) and the rest as constant arrays (TC_* and FB_*), all built by the profile from its constants.
"""

from __future__ import annotations

from memsim._jit import kernel
from memsim._kernels import rules as R
from memsim._kernels.planner import greedy
from memsim._kernels.tflm import O_CH, O_IN, O_KIND, O_NIN, O_NOUT, O_TYPE, T_CH, T_CONST, T_NAME, T_RANK, T_SIZE

__all__ = ["arena_head", "documented_tail", "flatbuffer_bytes", "lifetimes", "prepare_extra", "tail_bytes",
           "temporary_need", "unsupported_ops"]

# per-operator table columns: persistent op data (tail), prepare-time temporary (fixed, per output channel, per
# input), per-channel multiplier and shift arrays kept in the tail (0 or their count), no kernel for this dtype
R_TAIL, R_TEMP, R_TEMP_CH, R_TEMP_IN, R_PERCH, R_UNSUPPORTED, R_PLAN = range(7)
# constants: tail fixed part, per tensor, per op, per model input/output tensor; planner temporaries per tensor,
# per buffer, fixed; the arena's alignment (of every persistent allocation too); the flatbuffer's alignment of a
# constant buffer and the bytes each buffer adds
(TC_FIXED, TC_PER_TENSOR, TC_PER_OP, TC_PER_IO, TC_PLAN_PER_TENSOR, TC_PLAN_PER_BUFFER, TC_PLAN_FIXED, TC_ALIGN,
 TC_FB_ALIGN, TC_FB_PER_BUFFER) = range(10)
# flatbuffer costs: fixed, per tensor, per name character, per stored dimension, per quantised tensor, per
# quantisation channel, per op, per op input/output index, per distinct operator type
FB_FIXED, FB_TENSOR, FB_NAME_CHAR, FB_DIM, FB_QUANT_TENSOR, FB_QUANT_CHANNEL, FB_OP, FB_OP_IO, FB_OP_CODE = range(9)


@kernel(inline=True)
def lifetimes(nt, tens, nops, ops, op_in, gio, n_in, n_out, first, last):
    """First and last op step of every non-constant tensor (-1: never used): model inputs from step 0, outputs to
    the end, every other tensor from the op that writes it to the last op that reads it."""
    for t in range(nt):
        first[t] = -1
        last[t] = -1
    for q in range(n_in):
        first[gio[0, q]] = 0
        last[gio[0, q]] = 0
    for k in range(nops):
        start = ops[k, O_IN]
        for q in range(start, start + ops[k, O_NIN] + ops[k, O_NOUT]):
            t = op_in[q]
            if t < 0 or tens[t, T_CONST]:  # an optional input left out (a .tflite writes -1)
                continue
            if first[t] < 0:
                first[t] = k
            if k > last[t]:
                last[t] = k
    for q in range(n_out):
        last[gio[1, q]] = max(nops - 1, 0)


@kernel(inline=True)
def arena_head(nt, tens, first, last, consts, ids, sizes, f, l, offsets, scratch):
    """(head bytes, buffers): the used non-constant tensors, in tensor order, placed by the greedy planner with
    TFLM's tie order. Fills ``ids`` (their tensors), ``sizes``, ``f``, ``l`` and ``offsets`` in that order."""
    k = 0
    for t in range(nt):
        if not tens[t, T_CONST] and first[t] >= 0:
            ids[k], sizes[k], f[k], l[k] = t, tens[t, T_SIZE], first[t], last[t]
            k += 1
    head = greedy(sizes[:k], f[:k], l[:k], consts[TC_ALIGN], offsets[:k], scratch[0, :k], scratch[1, :k],
                  scratch[2, :k], True)
    return head, k


@kernel(inline=True)
def _per_channel(table, kind, channels, consts):
    """Tail bytes of one op's per-channel multipliers and shifts: int32 arrays, each a persistent allocation TFLM
    aligns (measured: 32-80 B of the arena on networks with channel counts not a multiple of 4)."""
    return table[kind, R_PERCH] * R.align_up(4 * channels, consts[TC_ALIGN])


@kernel(inline=True)
def documented_tail(nops, ops, nt, n_io, table, consts, lut_bytes):
    """The tail's parts TFLM documents: TfLiteEvalTensor per tensor, node and registration per op, a persistent
    TfLiteTensor per model input/output, per-channel arrays, int16 lookup tables."""
    tail = consts[TC_PER_TENSOR] * nt + consts[TC_PER_OP] * nops + consts[TC_PER_IO] * n_io + lut_bytes
    for k in range(nops):
        tail += _per_channel(table, ops[k, O_KIND], ops[k, O_CH], consts)
    return tail


@kernel(inline=True)
def tail_bytes(nops, ops, nt, n_io, table, consts, lut_bytes):
    """The arena tail: the documented parts, each kernel's op data and the interpreter-wide allocations (fitted),
    aligned as the arena is."""
    fitted = consts[TC_FIXED]
    for k in range(nops):
        fitted += table[ops[k, O_KIND], R_TAIL]
    return R.align_up(documented_tail(nops, ops, nt, n_io, table, consts, lut_bytes) + fitted, consts[TC_ALIGN])


@kernel(inline=True)
def temporary_need(nops, ops, nt, tens, table, consts):
    """Arena beyond the final tail TFLM needs before the head exists: the planner's arrays, or an op's prepare-time
    temporaries less the per-channel arrays of the ops prepared after it (still unallocated then)."""
    so_far = 0
    worst = 0
    for k in range(nops):
        kind = ops[k, O_KIND]
        so_far += _per_channel(table, kind, ops[k, O_CH], consts)
        temp = table[kind, R_TEMP] + table[kind, R_TEMP_CH] * ops[k, O_CH] + table[kind, R_TEMP_IN] * ops[k, O_NIN]
        if temp + so_far > worst:
            worst = temp + so_far
    buffers = 0
    for t in range(nt):
        if not tens[t, T_CONST]:
            buffers += 1
    plan = consts[TC_PLAN_PER_TENSOR] * nt + consts[TC_PLAN_PER_BUFFER] * buffers + consts[TC_PLAN_FIXED]
    for k in range(nops):  # what some kernels' scratch requests add to the planning (measured per op type)
        plan += table[ops[k, O_KIND], R_PLAN]
    return max(worst - so_far, plan)


@kernel(inline=True)
def prepare_extra(head, need):
    """Arena beyond head + tail that TFLM needs while preparing ops and planning (only when the head is small)."""
    return max(0, need - head)


@kernel(inline=True)
def flatbuffer_bytes(nt, tens, nops, ops, int8, consts, fb):
    """The .tflite's size: constant payload (each buffer aligned, plus 16 B) and the FB_* costs of its tensors
    (names, shapes, int8 quantisation) and ops (indices, one operator code per distinct type)."""
    payload = 0
    names = 0
    dims = 0
    quant_tensors = 0
    quant_channels = 0
    for t in range(nt):
        if tens[t, T_CONST]:
            payload += R.align_up(tens[t, T_SIZE], consts[TC_FB_ALIGN]) + consts[TC_FB_PER_BUFFER]
        names += tens[t, T_NAME]
        dims += tens[t, T_RANK]
        if int8 and tens[t, T_CH] > 0:
            quant_tensors += 1
            quant_channels += tens[t, T_CH]
    io = 0
    types = 0
    small = 0  # the types below 63 as bits (every lowered graph's); the rest counted by comparison
    for k in range(nops):
        io += ops[k, O_NIN] + ops[k, O_NOUT]
        kind = ops[k, O_TYPE]
        if kind < 63:
            small |= 1 << kind
            continue
        seen = False
        for q in range(k):
            if ops[q, O_TYPE] == kind:
                seen = True
                break
        if not seen:
            types += 1
    while small:
        types += small & 1
        small >>= 1
    size = (fb[FB_FIXED] + payload + fb[FB_TENSOR] * nt + fb[FB_NAME_CHAR] * names + fb[FB_DIM] * dims
            + fb[FB_QUANT_TENSOR] * quant_tensors + fb[FB_QUANT_CHANNEL] * quant_channels + fb[FB_OP] * nops
            + fb[FB_OP_CODE] * types + fb[FB_OP_IO] * io)
    return round(size)


@kernel(inline=True)
def unsupported_ops(nops, ops, table):
    """How many ops have no TFLM kernel for the model's type (EXP in int8: SELU)."""
    count = 0
    for k in range(nops):
        count += table[ops[k, O_KIND], R_UNSUPPORTED] != 0
    return count
