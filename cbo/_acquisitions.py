"""Acquisition functions: what a sampler maximises (or minimises) over candidates."""

from __future__ import annotations

import numpy as np

__all__ = ["ucb", "expected_improvement", "boundary_score"]


def ucb(gp, X: np.ndarray, beta: float) -> np.ndarray:
    """Upper confidence bound mu + beta * sigma of the GP's prediction."""
    mu, sd = gp.predict(X, return_std=True)
    return mu + beta * sd


def expected_improvement(gp, X: np.ndarray, best: float) -> np.ndarray:
    """Expected improvement over ``best`` (the best result so far) of the GP's prediction.

    Unlike UCB it has no exploration weight to tune: it is the expected gain, so a point whose mean is at
    chance level but whose uncertainty is wide still bids, and a near-copy of the incumbent bids little.
    """
    from scipy.stats import norm

    mu, sd = gp.predict(X, return_std=True)
    sd = np.maximum(sd, 1e-9)
    z = (mu - best) / sd
    return (mu - best) * norm.cdf(z) + sd * norm.pdf(z)


def boundary_score(X: np.ndarray, X_labelled: np.ndarray, decision: np.ndarray) -> np.ndarray:
    """SVM-CBO's Phase-1 score, to minimise: coverage of labelled points + |SVM decision value|.

    Small where a candidate is near the estimated border and far from what is labelled; the coverage
    kernel's width is the median nearest-neighbour distance of the labelled points.
    """
    if len(X_labelled) > 1:
        d2 = ((X_labelled[:, None, :] - X_labelled[None, :, :]) ** 2).sum(-1)
        np.fill_diagonal(d2, np.inf)
        g = max(float(np.median(np.sqrt(d2.min(1)))), 1e-3)
    else:
        g = 0.25
    coverage = np.exp(-((X[:, None, :] - X_labelled[None, :, :]) ** 2).sum(-1) / (2 * g * g)).sum(1) \
        if len(X_labelled) else np.zeros(len(X))
    return coverage + np.abs(decision)
