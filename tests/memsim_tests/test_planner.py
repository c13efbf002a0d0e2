import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim._kernels import greedy_plan_kernel
from memsim.planners import align_up, greedy_plan, linear_plan, liveness_bound


@st.composite
def buffers(draw, max_n=14):
    n = draw(st.integers(0, max_n))
    sizes = draw(st.lists(st.integers(1, 5000), min_size=n, max_size=n))
    first = draw(st.lists(st.integers(0, 10), min_size=n, max_size=n))
    spans = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    return sizes, first, [a + s for a, s in zip(first, spans)]


def test_hand_computed_layout():
    # A(100, t0-1) B(50, t1-2) C(100, t2-3): A at 0 (first), C largest-equal keeps order -> placed at 0 (no overlap
    # with A), B must avoid both -> 112 after 16-byte alignment of 100.
    offsets, peak = greedy_plan([100, 50, 100], [0, 1, 2], [1, 2, 3], 16)
    assert offsets == [0, 112, 0]
    assert peak == 176


@settings(max_examples=300, deadline=None)
@given(buffers(), st.sampled_from([1, 4, 16]))
def test_numba_planner_equals_python_planner(bufs, alignment):
    sizes, first, last = bufs
    offsets, peak = greedy_plan(sizes, first, last, alignment)
    out = np.zeros(len(sizes), np.int64)
    kpeak = greedy_plan_kernel(np.array(sizes, np.int64), np.array(first, np.int64), np.array(last, np.int64),
                               alignment, out)
    assert list(out) == offsets and kpeak == peak


@settings(max_examples=300, deadline=None)
@given(buffers())
def test_plan_never_overlaps_live_buffers_and_respects_bounds(bufs):
    sizes, first, last = bufs
    offsets, peak = greedy_plan(sizes, first, last, 16)
    aligned = [align_up(s, 16) for s in sizes]
    for i in range(len(sizes)):
        for j in range(i + 1, len(sizes)):
            if first[i] <= last[j] and first[j] <= last[i]:
                assert offsets[i] + aligned[i] <= offsets[j] or offsets[j] + aligned[j] <= offsets[i]
    assert liveness_bound(sizes, first, last, 16) <= peak <= linear_plan(sizes, 16)[1]
