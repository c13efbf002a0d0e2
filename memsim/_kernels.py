"""numba kernels for the hot paths: plain arrays in, plain arrays out.

Kept apart so the rest of memsim stays readable and so CI can run the same
tests with ``NUMBA_DISABLE_JIT=1``. No fastmath: results must be exact.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["greedy_plan_kernel", "peak_kernel"]


@njit(cache=True, nogil=True)
def greedy_plan_kernel(sizes, first, last, alignment, offsets):
    """TFLM's greedy planner (see memsim.planners). Fills ``offsets``; returns the peak."""
    n = sizes.shape[0]
    if n == 0:
        return 0
    aligned = np.empty(n, np.int64)
    for i in range(n):
        aligned[i] = (sizes[i] + alignment - 1) // alignment * alignment
    # stable descending order by insertion sort
    order = np.empty(n, np.int64)
    for i in range(n):
        j = i
        while j > 0 and aligned[order[j - 1]] < aligned[i]:
            order[j] = order[j - 1]
            j -= 1
        order[j] = i
    placed = np.empty(n, np.int64)
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


@njit(cache=True, nogil=True)
def peak_kernel(sizes, first, last, alignment):
    """Greedy peak without returning offsets."""
    offsets = np.empty(sizes.shape[0], np.int64)
    return greedy_plan_kernel(sizes, first, last, alignment, offsets)
