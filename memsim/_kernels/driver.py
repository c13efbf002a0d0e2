"""The batch driver: N configurations of one chain family, each distinct one evaluated once.

Per configuration: the chain's IR (``chain_ir``), its weights (``memsim._rules``), and the runtime's memory
(``xcubeai`` plan or ``tflm`` lowering), into one row of ``RESULT_FIELDS``.
"""

from __future__ import annotations

import numpy as np

from memsim._jit import kernel
from memsim._kernels import rules as R
from memsim._kernels.chain_ir import build_chain_ir
from memsim._kernels.codes import ACT_SELU, F_ACT, F_B, F_MACC, F_OP, F_WT, N_FIELDS, OP_ACT
from memsim._kernels.planner import greedy
from memsim._kernels.weights import layer_sharing, weight_bytes
from memsim._kernels.tflm import (N_TFL_OPS, S_CODES, S_IO, S_NAMES, S_NOPS, S_NT, S_PAYLOAD, S_PERCH, S_QT,
                                  S_QUANT, S_RANKS, S_TAIL, S_TEMP, lower_chain)
from memsim._kernels.xcubeai import plan_buffers, pool_bytes

__all__ = ["batch_kernel"]


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
    nb, io = plan_buffers(n, ir, ir_in, elem, xcube[0] != 0, xcube[1] != 0, xcube[2] != 0, xcube[3] != 0,
                          scratch_consts, work[0], work[1], work[2], work[3], sizes, first, last, inpool, kind, layer)
    return pool_bytes(nb, sizes, first, last, inpool, xcube[4], offsets, scratch), io


@kernel
def _tflm_figures(n, ir, int8, elem, graph_name, input_name, act_extra, name_extra, name_consts, tail_table,
                  tail_consts, fb_consts, alignment, t_size, t_const, t_first, t_last, kinds, reg_key, reg_name, st,
                  sizes, first, last, offsets, scratch):
    """(arena head, flatbuffer bytes, tail + prepare/plan bytes beyond the head, I/O bytes) under TFLM."""
    io = lower_chain(n, ir, int8, elem, graph_name, input_name, act_extra, name_extra, name_consts, tail_table,
                     t_size, t_const, t_first, t_last, kinds, reg_key, reg_name, st)
    nt, nops, names, quant = st[S_NT], st[S_NOPS], st[S_NAMES], st[S_QUANT]
    per_channel, tail_ops, payload = st[S_PERCH], st[S_TAIL], st[S_PAYLOAD]
    k = 0
    for t in range(nt):
        if not t_const[t] and t_first[t] >= 0:
            sizes[k], first[k], last[k] = t_size[t], t_first[t], t_last[t]
            k += 1
    pool = greedy(sizes[:k], first[:k], last[:k], alignment, offsets[:k], scratch[0, :k], scratch[1, :k],
                  scratch[2, :k], True)
    tail = (tail_consts[0] + tail_consts[1] * nt + tail_consts[2] * nops
            + tail_consts[3 + int8] * 2 + tail_ops + per_channel)
    tail = R.align_up(tail, alignment)
    codes = 0
    for q in range(N_TFL_OPS):
        codes += (st[S_CODES] >> q) & 1
    # same terms, same order as profiles/tflm.py: flatbuffer_bytes
    size = (fb_consts[0] + payload + fb_consts[1] * nt + fb_consts[2] * names + fb_consts[3] * st[S_RANKS]
            + fb_consts[4] * (st[S_QT] if int8 else 0) + fb_consts[5] * (quant if int8 else 0)
            + fb_consts[6] * nops + fb_consts[7] * codes + fb_consts[8] * st[S_IO])
    need = max(st[S_TEMP] - per_channel, tail_consts[5] * nt + tail_consts[6] * k + tail_consts[7])
    return pool, np.int64(round(size)), tail + max(0, need - pool), io


@kernel
def batch_kernel(ops, prm, in_shape, in_rank, profile, int8, compression, xcube, act_macc, min_weights, slot_name,
                 graph_name, input_name, act_extra, name_extra, name_consts, tail_table, tail_consts, fb_consts,
                 tflm_alignment, scratch_consts, runtime_ram, code_flash, out):
    """Evaluate N configurations of one chain family.

    ops : (N, L) int64 slot op codes; prm : (N, L, 8) int64 slot parameters.
    profile : 0 xcubeai, 1 tflm. compression : 0 none, 1 x4, 2 x8. xcube : X-CUBE-AI's options (_xcube_figures).
    out : (N, 11) int64, columns RESULT_FIELDS; ``supported`` is 0 where the runtime has no kernel
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
        n = build_chain_ir(ops[i], prm[i], in_shape, in_rank, act_macc, slot_name, ir, ir_in)
        if n < 0:
            for f in range(out.shape[1]):
                out[i, f] = -1
            out[i, 9] = 0
            out[i, 10] = 0
            continue
        supported = 1
        macc = 0
        params = 0
        for j in range(n):
            macc += ir[j, F_MACC]
            params += ir[j, F_WT] + ir[j, F_B]
            if profile == 1 and int8 and ir[j, F_OP] == OP_ACT and ir[j, F_ACT] == ACT_SELU:
                supported = 0
        layer_sharing(n, ir, ir_in, compression, min_weights, shared)
        wbytes = weight_bytes(n, ir, int8, shared, per_layer)
        if profile == 0:
            pool, io = _xcube_figures(n, ir, ir_in, elem, xcube, scratch_consts, work, sizes, first, last, inpool,
                                      kind, layer, offsets, scratch)
            model = wbytes
            rt_ram = runtime_ram
            ram = pool + (0 if xcube[0] else io) + rt_ram
        else:
            pool, model, beyond, io = _tflm_figures(n, ir, int8, elem, graph_name, input_name, act_extra, name_extra,
                                                    name_consts, tail_table, tail_consts, fb_consts, tflm_alignment,
                                                    t_size, t_const, t_first, t_last, kinds, reg_key, reg_name, st,
                                                    sizes, first, last, offsets, scratch)
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
