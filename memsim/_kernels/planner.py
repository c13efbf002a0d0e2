"""TFLM's greedy memory planner (documented in ``memsim.planners``), compiled; both paths plan with it."""

from __future__ import annotations

import numpy as np

from memsim._jit import kernel
from memsim._kernels import rules as R

__all__ = ["greedy", "greedy_plan_kernel"]


@kernel
def greedy_plan_kernel(sizes, first, last, alignment, offsets, later_first):
    """The greedy planner of memsim.planners. Fills ``offsets``; returns the peak."""
    n = sizes.shape[0]
    return greedy(sizes, first, last, alignment, offsets, np.empty(n, np.int64), np.empty(n, np.int64),
                  np.empty(n, np.int64), later_first)


@kernel(inline=True)
def greedy(sizes, first, last, alignment, offsets, aligned, order, placed, later_first):
    """The planner on caller-owned scratch arrays (no allocation: the batch loop calls it per configuration)."""
    n = sizes.shape[0]
    if n == 0:
        return 0
    for i in range(n):
        aligned[i] = R.align_up(sizes[i], alignment)
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
