"""Memory planners: place buffers with lifetimes in one pool.

Greedy (TFLM's ``GreedyMemoryPlanner``, documented in its source):

1. Sort buffers by size, largest first. Equal sizes: TFLM fills its sort
   array from the end (``CalculateOffsetsIfNeeded``: ``idx_from_tail--``)
   and then sorts stably, so the buffer added last comes first
   (``later_first=True``; measured: this alone makes the head exact on
   MobileNetV1 and multi-branch nets with many equal-sized tensors).
   X-CUBE-AI's tie order is not documented; its profile keeps the order of
   addition, which matches its reports.
2. Place the first at offset 0.
3. For each next buffer, walk the already placed buffers whose lifetimes
   intersect its own (inclusive ``[first, last]`` steps), in order of offset,
   and take the first gap between them that is large enough; otherwise put it
   after the last one.

Sizes are rounded up to ``alignment`` bytes before planning, as TFLM's
allocator does (16 B); X-CUBE-AI aligns to 4 B. Greedy is not optimal and not
monotone in buffer sizes; its peak is always >= the liveness bound (the
largest sum of sizes alive at one step).

The planner is written once, compiled (``memsim._kernels.planner``); the
runtime profiles and the batch evaluator both plan with it.

Linear: every buffer gets its own space, one after another (no reuse).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memsim._kernels.planner import greedy_plan_kernel
from memsim._rules import align_up

__all__ = ["align_up", "greedy_plan", "linear_plan", "liveness_bound"]


def greedy_plan(
    sizes: Sequence[int], first: Sequence[int], last: Sequence[int], alignment: int = 16, later_first: bool = False
) -> tuple[list[int], int]:
    """Place buffers greedily; return (offsets, peak bytes).

    Parameters
    ----------
    sizes : sequence of int
        Buffer sizes in bytes.
    first, last : sequence of int
        First and last step (inclusive) at which each buffer is alive.
    alignment : int
        Sizes are rounded up to a multiple of this many bytes.
    later_first : bool
        Among equal sizes, place the buffer added last first (TFLM).
    """
    offsets = np.zeros(len(sizes), np.int64)
    peak = greedy_plan_kernel(np.asarray(sizes, np.int64), np.asarray(first, np.int64), np.asarray(last, np.int64),
                              alignment, offsets, later_first)
    return offsets.tolist(), int(peak)


def linear_plan(sizes: Sequence[int], alignment: int = 16) -> tuple[list[int], int]:
    """No reuse: buffers side by side in the order given."""
    offsets, end = [], 0
    for s in sizes:
        offsets.append(end)
        end += align_up(int(s), alignment)
    return offsets, end


def liveness_bound(sizes: Sequence[int], first: Sequence[int], last: Sequence[int], alignment: int = 1) -> int:
    """The largest total size of buffers alive at one step: no plan can go below it."""
    if not sizes:
        return 0
    steps = max(last) + 1
    live = [0] * steps
    for s, a, b in zip(sizes, first, last):
        for t in range(a, b + 1):
            live[t] += align_up(int(s), alignment)
    return max(live)
