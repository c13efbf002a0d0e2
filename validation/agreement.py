"""X-CROSS as a measurement: how the deployed network's class agreement with the Keras network is judged.

Agreement is counted on n samples, so it is a binomial estimate: 18 of 20 (90 %) is compatible with a true
agreement of 97 %, and rejecting on it would be a coin toss. The rule, the same in ``search``'s confirmation,
``shrink`` and ``export``: a network fails X-CROSS when its agreement is *significantly* below the threshold
(one-sided exact binomial test at 5 %), and X-CROSS needs at least ``MIN_SAMPLES`` samples to judge at all. The
report carries the count, the rate and the exact (Clopper-Pearson) 95 % interval, so a reader sees how sure it is.
"""

from __future__ import annotations

from scipy import stats

MIN_SAMPLES = 20      # below this even 0 disagreements cannot tell 95 % from 85 % agreement
SIGNIFICANCE = 0.05   # one-sided: the chance of rejecting a network whose true agreement meets the threshold
MAX_SAMPLES = 2000    # the interval is +/- 1 point there; more samples cost time and tell nothing new
RULE = ("fails when the agreement is significantly below the threshold (one-sided exact binomial test, 5 %) "
        f"or when fewer than {MIN_SAMPLES} samples were compared")


def interval(agree: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of the agreement rate (exact, conservative)."""
    if n == 0:
        return 0.0, 1.0
    tail = (1 - confidence) / 2
    low = 0.0 if agree == 0 else float(stats.beta.ppf(tail, agree, n - agree + 1))
    high = 1.0 if agree == n else float(stats.beta.ppf(1 - tail, agree + 1, n - agree))
    return low, high


def p_below(agree: int, n: int, threshold: float) -> float:
    """P(at most ``agree`` agreements in ``n``) if the true rate were ``threshold``: small means truly below."""
    return float(stats.binom.cdf(agree, n, threshold))


def judge(agree: int, n: int, threshold: float) -> str | None:
    """None when X-CROSS passes, else the violation in one sentence."""
    if n < MIN_SAMPLES:
        return (f"X-CROSS compared only {n} sample{'s' * (n != 1)}; at least {MIN_SAMPLES} are needed to judge "
                "agreement: give a dataset with more samples")
    p = p_below(agree, n, threshold)
    if p < SIGNIFICANCE:
        low, high = interval(agree, n)
        return (f"X-CROSS agreement {100 * agree / n:.1f} % ({agree} of {n} samples; 95 % interval "
                f"{100 * low:.1f}-{100 * high:.1f} %) is significantly below {100 * threshold:g} % "
                f"(p = {p:.3g})")
    return None
