"""X-CROSS is judged with a binomial bound, not a point estimate: the rule's invariants and its known cases."""

from hypothesis import given
from hypothesis import strategies as st

from validation import agreement

counts = st.integers(0, 3000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(counts)
def test_the_interval_holds_the_observed_rate(case):
    agree, n = case
    low, high = agreement.interval(agree, n)
    assert 0.0 <= low <= high <= 1.0
    if n:
        assert low <= agree / n <= high


@given(counts, st.floats(0.5, 0.99))
def test_one_more_agreement_never_turns_a_pass_into_a_failure(case, threshold):
    agree, n = case
    if agree < n and agreement.judge(agree, n, threshold) is None:
        assert agreement.judge(agree + 1, n, threshold) is None


@given(st.integers(0, agreement.MIN_SAMPLES - 1), st.floats(0.5, 0.99))
def test_too_few_samples_never_pass_even_in_full_agreement(n, threshold):
    assert "at least" in agreement.judge(n, n, threshold)


def test_the_p0_case_is_no_longer_a_coin_toss():
    # the shrink of the P0 issue: 18 of 20 held-out samples (90 %) was rejected against 95 %
    assert agreement.judge(18, 20, 0.95) is None
    # clearly below stays rejected, and more samples make the same rate conclusive
    assert "significantly below 95 %" in agreement.judge(16, 20, 0.95)
    assert agreement.judge(72, 80, 0.95) is not None and agreement.judge(180, 200, 0.95) is not None
    assert agreement.judge(76, 80, 0.95) is None
