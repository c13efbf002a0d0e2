import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_equal_sizes_are_placed_last_added_first_as_tflm_does():
    # three equal buffers, A and C alive together, B alive with both: TFLM (later_first) places C, then B, then A
    sizes, first, last = [64, 64, 64], [0, 1, 2], [2, 2, 2]
    assert greedy_plan(sizes, first, last, 16, later_first=True) == ([128, 64, 0], 192)
    assert greedy_plan(sizes, first, last, 16) == ([0, 64, 128], 192)


@pytest.mark.parametrize("later_first", [False, True])
@pytest.mark.parametrize("sizes,first,last,offsets,peak", [
    # tflite-micro's greedy_memory_planner_test.cc: TestGreedyBasics, TestGreedyMedium, TestOverlapCase
    ([10, 20], [0, 2], [1, 3], [0, 0], 20),
    ([10, 20, 30, 40, 50], [0, 1, 2, 3, 0], [1, 2, 3, 4, 1], [50, 70, 40, 0, 0], 90),
    ([100, 50, 20], [0, 2, 1], [1, 3, 2], [0, 0, 100], 120),
])
def test_tflite_micro_planner_cases(sizes, first, last, offsets, peak, later_first):
    assert greedy_plan(sizes, first, last, 1, later_first) == (offsets, peak)


def reference_greedy(sizes, first, last, alignment, later_first):
    """TFLM's GreedyMemoryPlanner as its source describes it, in plain Python: the oracle for the compiled one."""
    n = len(sizes)
    aligned = [align_up(s, alignment) for s in sizes]
    added = range(n - 1, -1, -1) if later_first else range(n)
    order = sorted(added, key=lambda i: -aligned[i])  # stable
    offsets, placed = [0] * n, []
    for i in order:
        candidate = 0
        for j in sorted(placed, key=lambda j: offsets[j]):  # placed buffers by offset, ties in placement order
            if first[j] > last[i] or first[i] > last[j]:
                continue
            if offsets[j] - candidate >= aligned[i]:
                break
            candidate = max(candidate, offsets[j] + aligned[j])
        offsets[i] = candidate
        placed.append(i)
    return offsets, max((offsets[i] + aligned[i] for i in range(n)), default=0)


@settings(max_examples=300, deadline=None)
@given(buffers(), st.sampled_from([1, 4, 16]), st.booleans())
def test_compiled_planner_equals_the_documented_algorithm(bufs, alignment, later_first):
    sizes, first, last = bufs
    assert greedy_plan(sizes, first, last, alignment, later_first) == reference_greedy(sizes, first, last, alignment,
                                                                                        later_first)


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
