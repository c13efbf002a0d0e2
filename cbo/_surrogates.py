"""Surrogate models: a Gaussian process of accuracy and an SVM of the deployable region (scikit-learn)."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["fit_gp", "DeployableRegion"]


def fit_gp(X: np.ndarray, y: np.ndarray, rng: np.random.Generator, X_pending: "np.ndarray | None" = None):
    """GP regression (constant x Matern 5/2 with one length scale per input, plus noise), y normalised.

    ``X_pending``: points being evaluated whose results are not known yet. They are added at the GP's own
    mean ("kriging believer", Ginsbourger et al. 2010), with the hyperparameters fitted on the real data, so
    the uncertainty around them collapses and a batch of proposals spreads out instead of repeating one point.
    """
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(length_scale=np.full(X.shape[1], 0.5),
                                                       length_scale_bounds=(1e-2, 1e2), nu=2.5) \
        + WhiteKernel(1e-3, (1e-6, 1e-1))
    gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=2,
                                  random_state=int(rng.integers(2**31)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bound warnings on tiny data sets say nothing actionable
        gp.fit(X, y)
        if X_pending is not None and len(X_pending):
            believed = gp.predict(X_pending)
            gp = GaussianProcessRegressor(kernel=gp.kernel_, normalize_y=True, optimizer=None)
            gp.fit(np.vstack([X, X_pending]), np.concatenate([y, believed]))
    return gp


class DeployableRegion:
    """RBF-SVM classifier of deployability on encoded configurations; constant when one class was seen."""

    def __init__(self, c: float = 10.0):
        self.c = c
        self.model = None
        self.constant = 1.0

    def fit(self, X: np.ndarray, y: np.ndarray) -> "DeployableRegion":
        """``y`` is +1 (deployable) or -1."""
        from sklearn.svm import SVC

        if len(set(np.asarray(y).tolist())) < 2:
            self.model, self.constant = None, (1.0 if (len(y) == 0 or y[0] > 0) else -1.0)
        else:
            self.model = SVC(kernel="rbf", C=self.c, gamma="scale").fit(X, y)
        return self

    def decision(self, X: np.ndarray) -> np.ndarray:
        """Signed score, zero on the estimated border, positive inside."""
        return np.full(len(X), self.constant) if self.model is None else self.model.decision_function(X)

    def contains(self, X: np.ndarray) -> np.ndarray:
        return self.decision(X) >= 0
