"""Weight Flash of every layer, compiled: ``memsim.metrics`` (any graph) and the batch driver both call these."""

from __future__ import annotations

from memsim._jit import kernel
from memsim._kernels import rules as R
from memsim._kernels.codes import F_B, F_IN, F_NIN, F_OP, F_OUT, F_WT, IS_IN_PLACE, OP_BN, OP_DENSE

__all__ = ["layer_sharing", "weight_bytes"]


@kernel(inline=True)
def layer_sharing(n, ir, ir_in, compression, min_weights, shared):
    """X-CUBE-AI's weight sharing per layer (``shared[j]``: 0 none, else the compression's code): dense kernels of
    at least ``min_weights[compression]`` weights, except the output dense layer (one that reaches a graph output
    through in-place layers only), which no report ever showed compressed. Returns how many are shared."""
    for j in range(n):
        shared[j] = 0
    if compression == 0:
        return 0
    for o in range(n):
        if ir[o, F_OUT]:
            i = o
            while IS_IN_PLACE[ir[i, F_OP]] and ir[i, F_NIN] > 0:
                i = ir_in[ir[i, F_IN]]
            if ir[i, F_OP] == OP_DENSE:
                shared[i] = -1  # the output dense layer
    count = 0
    for j in range(n):
        if shared[j] == 0 and ir[j, F_OP] == OP_DENSE and ir[j, F_WT] >= min_weights[compression]:
            shared[j] = compression
            count += 1
        elif shared[j] < 0:
            shared[j] = 0
    return count


@kernel(inline=True)
def weight_bytes(n, ir, int8, shared, out):
    """Flash bytes of each layer's weights and biases into ``out``; returns their sum."""
    total = 0
    for j in range(n):
        b = R.layer_weight_bytes(ir[j, F_WT], ir[j, F_B], int8, ir[j, F_OP] == OP_BN, shared[j])
        out[j] = b
        total += b
    return total
