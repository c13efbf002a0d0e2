"""Samplers: who proposes the next configuration.

``SVMCBOSampler`` is the papers' two-phase method; the others are the
baselines it is compared with. A sampler's ``propose(study)`` returns
``(config, phase)``; ``prechecks`` says whether the study should test the
cheap constraint before training (never training an undeployable config).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from cbo._errors import SpaceError
from cbo._storage import TrialState

if TYPE_CHECKING:
    from cbo._study import Study

__all__ = ["BaseSampler", "RandomSampler", "GridSampler", "FeasibleRandomSampler", "GPUCBSampler", "SVMCBOSampler"]


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_args(owner: str, **limits) -> None:
    """Refuse, in one sentence, an argument below its least sensible value: name=(value, least, kind)."""
    for name, (value, least, kind) in limits.items():
        if value is None:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or (kind is int and value != int(value)):
            raise SpaceError(f"{owner}: {name} must be a{'n integer' if kind is int else ' number'}, got {value!r}.")
        if value < least:
            raise SpaceError(f"{owner}: {name} must be at least {least}, got {value!r}.")


class BaseSampler:
    """The sampler contract: one method, plus the ``prechecks`` flag."""

    prechecks = False
    name = "base"

    def __init__(self, *, seed=None):
        if seed is not None and not isinstance(seed, (int, np.integer, np.random.Generator)):
            raise SpaceError(f"{type(self).__name__}: seed must be an integer or None, got {seed!r}.")
        self.seed = seed

    def _generator(self, study: "Study") -> np.random.Generator:
        # derived from the seed and the number of stored trials, so a resumed study continues deterministically
        base = self.seed if self.seed is not None else study.seed
        return np.random.default_rng([0 if base is None else int(base), len(study.trials), 7])

    def propose(self, study: "Study") -> tuple[dict, str]:
        raise NotImplementedError

    def _unseen(self, study: "Study", configs: list[dict]) -> list[dict]:
        seen = study.seen_keys()
        return [c for c in configs if study.space.key(c) not in seen]


class RandomSampler(BaseSampler):
    """Uniform random configurations; trains whatever it draws."""

    name = "random"

    def propose(self, study):
        rng = self._generator(study)
        for _ in range(100):
            (config,) = study.space.sample(rng, 1)
            if study.space.key(config) not in study.seen_keys():
                return config, "random"
        return config, "random"


class FeasibleRandomSampler(RandomSampler):
    """Random configurations among those the cheap constraint accepts."""

    name = "feasible-random"
    prechecks = True


class GridSampler(BaseSampler):
    """A regular grid with about as many points as the training budget, in a fixed order."""

    name = "grid"

    def __init__(self, *, n_points: int | None = None, seed=None):
        super().__init__(seed=seed)
        _check_args("GridSampler", n_points=(n_points, 1, int))
        self.n_points = n_points

    def propose(self, study):
        n = self.n_points or max(study.budget or 16, 2)
        grid = study.space.grid(n)
        rest = self._unseen(study, grid)
        if rest:
            return rest[0], "grid"
        return RandomSampler(seed=self.seed).propose(study)[0], "grid-extra"


def _candidates(study: "Study", rng: np.random.Generator, n: int) -> list[dict]:
    space = study.space
    configs = space.sample(rng, n // 2) + space.lhs(rng, n - n // 2)
    keys, out = study.seen_keys(), []
    uniq = set()
    for c in configs:
        k = space.key(c)
        if k not in keys and k not in uniq:
            uniq.add(k)
            out.append(c)
    return out


def _neighbours(study: "Study", config: dict, rng: np.random.Generator) -> list[dict]:
    """Configurations one parameter away (local refinement around a good candidate)."""
    space = study.space
    out = []
    for p in space.params:
        for v in p.levels(7):
            if v != config.get(p.name):
                c = dict(config, **{p.name: v})
                out.append(space.decode(space.encode(c)) if p.condition is None else c)
    keys = study.seen_keys()
    return [c for c in out if space.key(c) not in keys]


class _GPMixin:
    """Gaussian-process regression of accuracy and its upper confidence bound."""

    def _fit_gp(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator):
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(length_scale=np.full(X.shape[1], 0.5),
                                                           length_scale_bounds=(1e-2, 1e2), nu=2.5) \
            + WhiteKernel(1e-3, (1e-6, 1e-1))
        gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=2,
                                      random_state=int(rng.integers(2**31)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp.fit(X, y)
        return gp

    def _ucb_pick(self, study, gp, candidates: list[dict], rng, feasible_mask=None) -> dict:
        space = study.space
        X = space.encode_many(candidates)
        mu, sd = gp.predict(X, return_std=True)
        ucb = mu + self.beta * sd
        if feasible_mask is not None:
            ucb = np.where(feasible_mask, ucb, -np.inf)
        order = np.argsort(-ucb)
        best = candidates[int(order[0])]
        # local refinement: the neighbours of the best few candidates
        local = [n for i in order[:3] if np.isfinite(ucb[i]) for n in _neighbours(study, candidates[int(i)], rng)]
        if local:
            Xl = space.encode_many(local)
            mul, sdl = gp.predict(Xl, return_std=True)
            ucbl = mul + self.beta * sdl
            if feasible_mask is not None:
                ucbl = np.where(self._predict_feasible(Xl), ucbl, -np.inf)
            j = int(np.argmax(ucbl))
            if ucbl[j] > ucb[order[0]]:
                best = local[j]
        return best


class GPUCBSampler(BaseSampler, _GPMixin):
    """Unconstrained GP-UCB: ignores deployability (the slides' plain BO)."""

    name = "bo"

    def __init__(self, *, n_init: int = 4, beta: float = 2.0, n_candidates: int = 1024, seed=None):
        super().__init__(seed=seed)
        _check_args("GPUCBSampler", n_init=(n_init, 1, int), beta=(beta, 0, float),
                    n_candidates=(n_candidates, 1, int))
        self.n_init = n_init
        self.beta = beta
        self.n_candidates = n_candidates

    def propose(self, study):
        rng = self._generator(study)
        done = [t for t in study.trials if t.state == TrialState.COMPLETE and t.value is not None]
        if len(done) < self.n_init:
            cands = _candidates(study, rng, 64)
            return (cands[0] if cands else study.space.sample(rng, 1)[0]), "init"
        X = study.space.encode_many([t.config for t in done])
        gp = self._fit_gp(X, np.array([t.value for t in done]), rng)
        cands = _candidates(study, rng, self.n_candidates)
        if not cands:
            return study.space.sample(rng, 1)[0], "bo"
        return self._ucb_pick(study, gp, cands, rng), "bo"


class SVMCBOSampler(BaseSampler, _GPMixin):
    """SVM-CBO: learn the deployable region with an SVM, then GP-UCB inside it.

    Phase 1 (deployability determination): ``n_init`` Latin-hypercube points,
    then ``n_phase1`` points each minimising coverage + |SVM decision value|
    (close to the estimated border, far from labelled points), the SVM
    (RBF, scikit-learn SVC) refitted after every label. With a cheap
    constraint (memsim) Phase 1 only labels and trains nothing; without one,
    every Phase-1 point is a training whose deployability the toolchain tells.

    Phase 2: GP regression (Matern 5/2 + noise) of accuracy on the trained
    deployable points; the next point maximises mu + beta * sigma among
    candidates the SVM predicts deployable (random + Latin-hypercube
    candidates, then their one-parameter neighbours). A proposal that turns
    out undeployable becomes a label and the SVM is refitted.

    Differences from the reference implementation: the next Phase-1 point is
    chosen from a candidate set rather than by L-BFGS-B (the decoded space is
    discrete), and the boundary term uses the SVM's decision value with its
    intercept (zero on the estimated border).
    """

    name = "svmcbo"
    prechecks = True

    def __init__(self, *, n_init: int = 16, n_phase1: int = 64, n_init_train: int = 3, beta: float = 2.0,
                 n_candidates: int = 1024, svm_c: float = 10.0, seed=None):
        super().__init__(seed=seed)
        _check_args("SVMCBOSampler", n_init=(n_init, 2, int), n_phase1=(n_phase1, 0, int),
                    n_init_train=(n_init_train, 1, int), beta=(beta, 0, float), n_candidates=(n_candidates, 1, int),
                    svm_c=(svm_c, 1e-9, float))
        self.n_init = n_init
        self.n_phase1 = n_phase1
        self.n_init_train = n_init_train
        self.beta = beta
        self.n_candidates = n_candidates
        self.svm_c = svm_c
        self.svm_ = None

    # -- the SVM ---------------------------------------------------------------
    def _labels(self, study):
        lab = [t for t in study.trials if t.feasible is not None]
        X = study.space.encode_many([t.config for t in lab])
        y = np.array([1 if t.feasible else -1 for t in lab])
        return X, y

    def _fit_svm(self, study):
        from sklearn.svm import SVC

        X, y = self._labels(study)
        if len(set(y.tolist())) < 2:
            self.svm_ = ("constant", 1.0 if (len(y) == 0 or y[0] > 0) else -1.0)
        else:
            self.svm_ = SVC(kernel="rbf", C=self.svm_c, gamma="scale").fit(X, y)
        return X, y

    def _decision(self, X: np.ndarray) -> np.ndarray:
        if isinstance(self.svm_, tuple):
            return np.full(len(X), self.svm_[1])
        return self.svm_.decision_function(X)

    def _predict_feasible(self, X: np.ndarray) -> np.ndarray:
        return self._decision(X) >= 0

    def _phase1_pick(self, study, rng) -> dict | None:
        X_lab, _ = self._fit_svm(study)
        cands = _candidates(study, rng, self.n_candidates)
        if not cands:
            return None
        Xc = study.space.encode_many(cands)
        if len(X_lab) > 1:
            d2 = ((X_lab[:, None, :] - X_lab[None, :, :]) ** 2).sum(-1)
            np.fill_diagonal(d2, np.inf)
            g = max(float(np.median(np.sqrt(d2.min(1)))), 1e-3)
        else:
            g = 0.25
        coverage = np.exp(-((Xc[:, None, :] - X_lab[None, :, :]) ** 2).sum(-1) / (2 * g * g)).sum(1) \
            if len(X_lab) else np.zeros(len(Xc))
        score = coverage + np.abs(self._decision(Xc))
        return cands[int(np.argmin(score))]

    # -- proposals ---------------------------------------------------------------
    def propose(self, study):
        rng = self._generator(study)
        cheap = study.constraint is not None
        n_labels = sum(1 for t in study.trials if t.feasible is not None)
        if cheap:
            # Phase 1 with a cheap oracle: label, train nothing
            if n_labels < self.n_init + self.n_phase1:
                for config in self._unseen(study, study.space.lhs(rng, max(self.n_init - n_labels, 0))):
                    study.label(config, phase="phase1-init")
                while sum(1 for t in study.trials if t.feasible is not None) < self.n_init + self.n_phase1:
                    config = self._phase1_pick(study, rng)
                    if config is None:
                        break
                    study.label(config, phase="phase1")
        else:
            if n_labels < self.n_init:
                cands = self._unseen(study, study.space.lhs(rng, self.n_init))
                return (cands[0] if cands else study.space.sample(rng, 1)[0]), "phase1-init"
            if n_labels < self.n_init + self.n_phase1:
                config = self._phase1_pick(study, rng)
                if config is not None:
                    return config, "phase1"
        # Phase 2
        self._fit_svm(study)
        done = [t for t in study.trials if t.state == TrialState.COMPLETE and t.feasible and t.value is not None]
        cands = _candidates(study, rng, self.n_candidates)
        if not cands:
            return study.space.sample(rng, 1)[0], "phase2"
        mask = self._predict_feasible(study.space.encode_many(cands))
        if len(done) < self.n_init_train:
            pool = [c for c, m in zip(cands, mask) if m] or cands
            return pool[int(rng.integers(len(pool)))], "phase2-init"
        X = study.space.encode_many([t.config for t in done])
        gp = self._fit_gp(X, np.array([t.value for t in done]), rng)
        if not mask.any():
            mask = None
        return self._ucb_pick(study, gp, cands, rng, mask), "phase2"


SAMPLERS = {"svmcbo": SVMCBOSampler, "random": RandomSampler, "grid": GridSampler,
            "feasible-random": FeasibleRandomSampler, "bo": GPUCBSampler}
