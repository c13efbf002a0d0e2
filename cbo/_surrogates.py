"""Surrogate models: a Gaussian process of accuracy and an SVM of the deployable region (scikit-learn)."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["fit_gp", "DeployableRegion"]


def fit_gp(X: np.ndarray, y: np.ndarray, rng: np.random.Generator, X_pending: "np.ndarray | None" = None,
           *, noise_floor: float | None = None, scale_floor: float | None = None):
    """GP regression (constant x Matern 5/2 with one length scale per input, plus noise), y normalised.

    ``X_pending``: points being evaluated whose results are not known yet. They are added at the GP's own
    mean ("kriging believer", Ginsbourger et al. 2010), with the hyperparameters fitted on the real data, so
    the uncertainty around them collapses and a batch of proposals spreads out instead of repeating one point.

    ``noise_floor`` and ``scale_floor`` (both in y's units) keep the fit honest when every result so far is
    alike, e.g. trainings that all ended at chance level, 0.4 accuracy points apart. Normalised by their own
    spread, those differences look like peaks worth exploiting, and a GP free to shrink its prior variance
    concludes nothing better exists; the search then stays where nothing learns. With the floors, y is divided
    by at least ``scale_floor``, the prior keeps at least that much variation everywhere and no input is
    declared irrelevant (so the unexplored is worth a look), and differences below ``noise_floor`` are noise.
    """
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    floors = noise_floor is not None or scale_floor is not None
    y = np.asarray(y, float)
    mean, spread = (float(y.mean()), max(float(np.std(y)), scale_floor or 0.0) or 1.0) if floors else (0.0, 1.0)
    noise_low = max(1e-6, ((noise_floor or 0.0) / spread) ** 2)
    amplitude = ConstantKernel(1.0, (1.0 if scale_floor else 1e-3, 1e3))
    # with the floors no input may be declared irrelevant (a length scale past the unit cube's size): an input
    # all trainings so far share, a categorical level never tried, stays uncertain
    longest = 2.0 if scale_floor else 1e2
    kernel = amplitude * Matern(length_scale=np.full(X.shape[1], 0.5), length_scale_bounds=(1e-2, longest),
                                nu=2.5) \
        + WhiteKernel(max(1e-3, noise_low) if floors else 1e-3, (noise_low, max(1e-1, 10 * noise_low)))
    gp = GaussianProcessRegressor(kernel=kernel, normalize_y=not floors, n_restarts_optimizer=2,
                                  random_state=int(rng.integers(2**31)))
    yn = (y - mean) / spread
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bound warnings on tiny data sets say nothing actionable
        gp.fit(X, yn)
        if X_pending is not None and len(X_pending):
            believed = gp.predict(X_pending)
            gp = GaussianProcessRegressor(kernel=gp.kernel_, normalize_y=not floors, optimizer=None)
            gp.fit(np.vstack([X, X_pending]), np.concatenate([yn, believed]))
    return _InUnitsOfY(gp, mean, spread) if floors else gp


class _InUnitsOfY:
    """A GP fitted on (y - mean) / spread, predicting in y's own units."""

    def __init__(self, gp, mean: float, spread: float):
        self.gp, self.mean, self.spread = gp, mean, spread
        self.kernel_ = gp.kernel_

    def predict(self, X: np.ndarray, return_std: bool = False):
        if return_std:
            mu, sd = self.gp.predict(X, return_std=True)
            return mu * self.spread + self.mean, sd * self.spread
        return self.gp.predict(X) * self.spread + self.mean


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
