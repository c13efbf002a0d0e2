"""The batch driver: N configurations of one chain family, each distinct one evaluated once.

Per configuration: the chain's IR (``chain_ir``), its weights (``memsim._rules``), and the runtime's memory
(``xcubeai`` plan or ``tflm`` lowering), into one row of ``RESULT_FIELDS``.
"""

from __future__ import annotations

import numpy as np

from memsim._jit import kernel
from memsim._kernels import rules as R
from memsim._kernels.chain_ir import build_chain_ir
from memsim._kernels.codes import F_B, F_MACC, F_WT, N_FIELDS, R_TIME
from memsim._kernels.timing import time_features
from memsim._kernels.weights import layer_sharing, weight_bytes
from memsim._kernels.tflm import C_GIN, C_GOUT, C_NOPS, C_NT, T_SIZE, lower, work_arrays
from memsim._kernels.tflm_memory import (arena_head, flatbuffer_bytes, lifetimes, prepare_extra, tail_bytes,
                                         temporary_need, unsupported_ops)
from memsim._kernels.xcubeai import plan_buffers, pool_bytes

__all__ = ["XCUBE_OPTIONS", "batch_kernel"]

# X-CUBE-AI's profile options handed in, by index: XCubeAIProfile's attributes of these names, and its alignment
XCUBE_OPTIONS = ("io_in_pool", "fuse_conv_pool", "conv_overlap", "im2col", "alignment")
XO_IO_IN_POOL, XO_FUSE_CONV_POOL, XO_CONV_OVERLAP, XO_IM2COL, XO_ALIGN = range(len(XCUBE_OPTIONS))


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


@kernel(inline=True)
def _xcube_figures(n, ir, ir_in, elem, xcube, scratch_consts, work, sizes, first, last, inpool, kind, layer, offsets,
                   scratch):
    """(activation pool, I/O bytes) under X-CUBE-AI; ``xcube`` = (io_in_pool, fuse_conv_pool, conv_overlap, im2col,
    alignment), the profile's options."""
    nb, io = plan_buffers(n, ir, ir_in, elem, xcube[XO_IO_IN_POOL] != 0, xcube[XO_FUSE_CONV_POOL] != 0,
                          xcube[XO_CONV_OVERLAP] != 0, xcube[XO_IM2COL] != 0,
                          scratch_consts, work[0], work[1], work[2], work[3], sizes, first, last, inpool, kind, layer)
    return pool_bytes(nb, sizes, first, last, inpool, xcube[XO_ALIGN], offsets, scratch), io


@kernel(inline=True)
def _tflm_figures(n, ir, ir_in, int8, names, act_table, name_consts, table, consts, fb, work, ids, sizes, first,
                  last, f, l, offsets, scratch):
    """(arena head, flatbuffer bytes, tail + prepare/plan bytes beyond the head, I/O bytes, unsupported ops) under
    TFLM: the lowering and the memory rules the profile runs."""
    tens, ops, op_in, gio, cnt, reg, lw = work
    lower(n, ir, ir_in, int8, names, act_table, name_consts, tens, ops, op_in, gio, cnt, reg, lw)
    nt, nops, n_in, n_out = cnt[C_NT], cnt[C_NOPS], cnt[C_GIN], cnt[C_GOUT]
    lifetimes(nt, tens, nops, ops, op_in, gio, n_in, n_out, first, last)
    head, _ = arena_head(nt, tens, first, last, consts, ids, sizes, f, l, offsets, scratch)
    tail = tail_bytes(nops, ops, nt, n_in + n_out, table, consts, 0)
    need = temporary_need(nops, ops, nt, tens, table, consts)
    io = 0
    for q in range(n_in):
        io += tens[gio[0, q], T_SIZE]
    for q in range(n_out):
        io += tens[gio[1, q], T_SIZE]
    return (head, flatbuffer_bytes(nt, tens, nops, ops, int8, consts, fb), tail + prepare_extra(head, need), io,
            unsupported_ops(nops, ops, table))


@kernel
def batch_kernel(ops, prm, in_shape, in_rank, input_name, profile, int8, compression, xcube, act_macc, min_weights,
                 slot_name, scratch_consts, names, act_table, name_consts, table, tflm_consts, fb, runtime_ram,
                 code_flash, out):
    """Evaluate N configurations of one chain family.

    (Longer than the rest on purpose: every scratch array is a local of the loop's own function, so nothing is
    reference-counted per configuration; unpacking them per configuration in a helper cost 15 % of the time.)

    ops : (N, L) int64 slot op codes; prm : (N, L, 8) int64 slot parameters.
    profile : 0 xcubeai, 1 tflm. compression : 0 none, 1 x4, 2 x8. xcube : X-CUBE-AI's options (_xcube_figures).
    names ... fb : what TFLM's lowering and memory rules read (memsim.profiles.tflm builds them).
    out : (N, len(RESULT_FIELDS)) int64, columns RESULT_FIELDS (the time model's features last); ``supported`` is 0 where the runtime has no kernel
    for an op (TFLM int8 SELU needs EXP, which is float-only).
    """
    nconf, nslots = ops.shape[0], ops.shape[1]
    m = 2 * nslots + 2
    ir = np.zeros((m, N_FIELDS), np.int64)
    ir_in = np.zeros(m, np.int64)
    shared = np.empty(m, np.int64)
    per_layer = np.empty(m, np.int64)
    work = np.empty((4, m), np.int64)
    kind = np.empty(3 * m, np.int64)
    layer = np.empty(3 * m, np.int64)
    tflm_work = work_arrays(m, m)
    tcap = tflm_work[0].shape[0]
    sizes = np.empty(tcap, np.int64)
    first = np.empty(tcap, np.int64)
    last = np.empty(tcap, np.int64)
    f = np.empty(tcap, np.int64)
    ids = np.empty(tcap, np.int64)
    l = np.empty(tcap, np.int64)  # noqa: E741
    offsets = np.empty(tcap, np.int64)
    inpool = np.empty(tcap, np.bool_)
    scratch = np.empty((3, tcap), np.int64)
    elem = R.element_bytes(int8)
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
            out[i, :] = out[twin, :]
            continue
        seen[slot] = i
        seen_h[slot] = h
        distinct += 1
        if 2 * distinct > cap:  # keep the load under one half
            seen, seen_h, cap = _grow(seen, seen_h, cap)
        n = build_chain_ir(ops[i], prm[i], in_shape, in_rank, input_name, act_macc, slot_name, ir, ir_in)
        if n < 0:
            out[i, :] = -1
            out[i, 9] = 0
            out[i, 10] = 0
            continue
        macc = 0
        params = 0
        for j in range(n):
            macc += ir[j, F_MACC]
            params += ir[j, F_WT] + ir[j, F_B]
        layer_sharing(n, ir, ir_in, compression, min_weights, shared)
        wbytes = weight_bytes(n, ir, int8, shared, per_layer)
        supported = 1
        if profile == 0:
            pool, io = _xcube_figures(n, ir, ir_in, elem, xcube, scratch_consts, work, sizes, first, last, inpool,
                                      kind, layer, offsets, scratch)
            model = wbytes
            rt_ram = runtime_ram
            ram = pool + (0 if xcube[XO_IO_IN_POOL] else io) + rt_ram
        else:
            pool, model, beyond, io, bad = _tflm_figures(n, ir, ir_in, int8, names, act_table, name_consts, table,
                                                         tflm_consts, fb, tflm_work, ids, sizes, first, last, f,
                                                         l, offsets, scratch)
            supported = 1 if bad == 0 else 0
            rt_ram = beyond + runtime_ram
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
        time_features(n, ir, ir_in, out[i], R_TIME, 1 if profile == 0 else 0)  # X-CUBE-AI fuses any argument
