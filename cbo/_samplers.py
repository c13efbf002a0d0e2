"""Samplers: who proposes the next configuration.

``ExactCBOSampler`` (exact-ei, the default) and ``SVMCBOSampler`` (the papers' two-phase method) and the baselines
they are compared with. The lifecycle, as in Optuna: the study calls ``propose(view)`` once per configuration it
hands out, with a read-only ``StudyView`` (stored trials, configurations in flight, the oracle); the sampler
returns a ``Proposal`` (the configuration, its phase, and any labels to store first) and never writes. ``prechecks``
says whether the study should test the cheap constraint before training (never training an undeployable config).
A sampler keeps no state the view cannot rebuild, so a resumed study proposes what an uninterrupted one would.
"""

from __future__ import annotations

import abc
import functools

import numpy as np

from cbo._acquisitions import boundary_score, expected_improvement, ucb
from cbo._candidates import candidates, neighbours
from cbo._errors import CBOError, SpaceError
from cbo._storage import TrialState
from cbo._surrogates import DeployableRegion, fit_gp
from cbo._view import Proposal, StudyView

__all__ = ["BaseSampler", "RandomSampler", "GridSampler", "FeasibleRandomSampler", "GPUCBSampler", "SVMCBOSampler",
           "ExactCBOSampler", "Proposal", "SAMPLERS", "DEFAULT_METHOD"]


def _check_args(owner: str, **limits) -> None:
    """Refuse, in one sentence, an argument below its least sensible value: name=(value, least, kind)."""
    for name, (value, least, kind) in limits.items():
        if value is None:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or (kind is int and value != int(value)):
            raise SpaceError(f"{owner}: {name} must be a{'n integer' if kind is int else ' number'}, got {value!r}.")
        if value < least:
            raise SpaceError(f"{owner}: {name} must be at least {least}, got {value!r}.")


class BaseSampler(abc.ABC):
    """The sampler contract: ``propose(view) -> Proposal``, plus the ``prechecks`` flag (see the module)."""

    prechecks = False
    name = "base"

    def __init__(self, *, seed=None):
        if seed is not None and not isinstance(seed, (int, np.integer, np.random.Generator)):
            raise SpaceError(f"{type(self).__name__}: seed must be an integer or None, got {seed!r}.")
        self.seed = seed

    def _generator(self, study: StudyView) -> np.random.Generator:
        # derived from the seed and the number of stored and running trials, so a resumed study continues
        # deterministically and the proposals of a batch differ
        base = self.seed if self.seed is not None else study.seed
        return np.random.default_rng([0 if base is None else int(base), len(study.trials) + len(study.pending), 7])

    @abc.abstractmethod
    def propose(self, study: StudyView) -> Proposal:
        """The next configuration to hand out, given what the study holds; nothing is stored here."""

    def _unseen(self, study: StudyView, configs: list[dict]) -> list[dict]:
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
                return Proposal(config, "random")
        return Proposal(config, "random")


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
            return Proposal(rest[0], "grid")
        return Proposal(RandomSampler(seed=self.seed).propose(study).config, "grid-extra")


class _GPMixin:
    """A GP acquisition maximised over candidates, then over the one-parameter neighbours of the best three."""

    @staticmethod
    def _fit_gp(study, done, rng, encode=None, **floors):
        """The accuracy GP on the trained trials; configurations still training enter as kriging believers."""
        encode = encode or study.space.encode_many
        pending = study.pending
        return fit_gp(encode([t.config for t in done]), np.array([t.value for t in done]), rng,
                      encode(pending) if pending else None, **floors)

    @staticmethod
    def _acquisition_pick(study, score, cands: list[dict], allowed=None, encode=None) -> dict:
        """The candidate, or one-parameter neighbour of the best three, maximising ``score(inputs)``.

        ``allowed(configs) -> bool array`` restricts the choice (the SVM's region, or memsim's exact set);
        ``encode(configs)`` gives the GP's inputs (default: the space's unit-cube encoding)."""
        encode = encode or study.space.encode_many
        values = score(encode(cands))
        if allowed is not None:
            values = np.where(allowed(cands), values, -np.inf)
        order = np.argsort(-values)
        best = cands[int(order[0])]
        local = [n for i in order[:3] if np.isfinite(values[i]) for n in neighbours(study, cands[int(i)])]
        if local:
            values_l = score(encode(local))
            if allowed is not None:
                values_l = np.where(allowed(local), values_l, -np.inf)
            j = int(np.argmax(values_l))
            if values_l[j] > values[order[0]]:
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
            cands = candidates(study, rng, 64)
            return Proposal(cands[0] if cands else study.space.sample(rng, 1)[0], "init")
        gp = self._fit_gp(study, done, rng)
        cands = candidates(study, rng, self.n_candidates)
        if not cands:
            return Proposal(study.space.sample(rng, 1)[0], "bo")
        return Proposal(self._acquisition_pick(study, lambda X: ucb(gp, X, self.beta), cands), "bo")


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
    def _fit_svm(self, study):
        lab = [t for t in study.trials if t.feasible is not None]
        X = study.space.encode_many([t.config for t in lab])
        y = np.array([1 if t.feasible else -1 for t in lab])
        self.svm_ = DeployableRegion(self.svm_c).fit(X, y)
        return X

    def _predict_feasible(self, X: np.ndarray) -> np.ndarray:
        return self.svm_.contains(X)

    def _phase1_pick(self, study, rng) -> dict | None:
        X_lab = self._fit_svm(study)
        cands = candidates(study, rng, self.n_candidates)
        if not cands:
            return None
        Xc = study.space.encode_many(cands)
        return cands[int(np.argmin(boundary_score(Xc, X_lab, self.svm_.decision(Xc))))]

    # -- proposals ---------------------------------------------------------------
    def propose(self, study):
        rng = self._generator(study)
        labels = []
        if study.has_constraint:
            # Phase 1 with a cheap oracle: label, train nothing (the labels go back to the study in the Proposal)
            n_labels = sum(1 for t in study.trials if t.feasible is not None)
            if n_labels < self.n_init + self.n_phase1:
                for config in self._unseen(study, study.space.lhs(rng, max(self.n_init - n_labels, 0))):
                    labels.append(study.label(config, "phase1-init"))
                    study = study.extended(labels[-1:])
                while sum(1 for t in study.trials if t.feasible is not None) < self.n_init + self.n_phase1:
                    config = self._phase1_pick(study, rng)
                    if config is None:
                        break
                    labels.append(study.label(config, "phase1"))
                    study = study.extended(labels[-1:])
        else:
            n_labels = sum(1 for t in study.trials if t.feasible is not None)
            if n_labels < self.n_init:
                cands = self._unseen(study, study.space.lhs(rng, self.n_init))
                return Proposal(cands[0] if cands else study.space.sample(rng, 1)[0], "phase1-init")
            if n_labels < self.n_init + self.n_phase1:
                config = self._phase1_pick(study, rng)
                if config is not None:
                    return Proposal(config, "phase1")
        # Phase 2
        labels = tuple(labels)
        self._fit_svm(study)
        done = [t for t in study.trials if t.state == TrialState.COMPLETE and t.feasible and t.value is not None]
        cands = candidates(study, rng, self.n_candidates)
        if not cands:
            return Proposal(study.space.sample(rng, 1)[0], "phase2", labels)
        mask = self._predict_feasible(study.space.encode_many(cands))
        if len(done) < self.n_init_train:
            pool = [c for c, m in zip(cands, mask) if m] or cands
            return Proposal(pool[int(rng.integers(len(pool)))], "phase2-init", labels)
        gp = self._fit_gp(study, done, rng)
        inside = (lambda cs: self.svm_.contains(study.space.encode_many(cs))) if mask.any() else None
        return Proposal(self._acquisition_pick(study, lambda X: ucb(gp, X, self.beta), cands, inside), "phase2",
                        labels)


class ExactCBOSampler(BaseSampler, _GPMixin):
    """Bayesian optimisation over the exact deployable set, for when the constraint is cheap (memsim).

    SVM-CBO learns the deployable region because the papers' oracle is a toolchain run. With memsim the
    oracle answers in microseconds, so this sampler asks it about every candidate instead of an SVM's
    estimate: no Phase 1, no region errors (after the papers' 80 labels the SVM's region misses about a third
    of the feasible paper-har configurations on the tiny board). With ``capacity_features`` the GP also sees
    log10 of the network's parameters and MACC, which memsim gives for free and which accuracy tracks.

    The first ``n_init_train`` trainings are spread out (each the deployable candidate farthest from those
    trained), and the GP keeps ``noise_floor`` and ``scale_floor`` (accuracy as a fraction; see ``fit_gp``):
    with three random starts that all trained to chance level, and a GP free to call their 0.4-point spread
    signal, a search on har-watch spent 19 of 20 trainings on networks that do not learn (RESULTS.md, issue 10).
    ``acquisition`` is ``"ei"`` (expected improvement over the best training so far; registered as
    ``exact-ei``, the search's default) or ``"ucb"`` (mu + beta * sigma; ``exact-ucb``; ``beta`` is used only by
    it). Needs a constraint; without one use ``SVMCBOSampler`` (the papers' black-box setting).
    """

    prechecks = True
    ACQUISITIONS = ("ucb", "ei")

    def __init__(self, *, acquisition: str = "ei", n_init_train: int = 3, beta: float = 2.0,
                 n_candidates: int = 1024, capacity_features: bool = True, noise_floor: float = 0.005,
                 scale_floor: float = 0.02, seed=None):
        super().__init__(seed=seed)
        if acquisition not in self.ACQUISITIONS:
            raise SpaceError(f"ExactCBOSampler: acquisition must be one of {', '.join(self.ACQUISITIONS)}, "
                             f"got {acquisition!r}.")
        self.acquisition = acquisition
        self.name = f"exact-{acquisition}"
        _check_args("ExactCBOSampler", n_init_train=(n_init_train, 1, int), beta=(beta, 0, float),
                    n_candidates=(n_candidates, 1, int), noise_floor=(noise_floor, 0, float),
                    scale_floor=(scale_floor, 0, float))
        self.n_init_train = n_init_train
        self.beta = beta
        self.n_candidates = n_candidates
        self.capacity_features = bool(capacity_features)
        self.noise_floor = float(noise_floor)
        self.scale_floor = float(scale_floor)

    def _features(self, study, configs: list[dict]) -> np.ndarray:
        X = study.space.encode_many(configs)
        if not self.capacity_features:
            return X
        _, figures = study.check_many(configs)
        cap = np.array([[np.log10(max(f.get("params", 1), 1)) / 8, np.log10(max(f.get("macc", 1), 1)) / 10]
                        for f in figures])
        return np.hstack([X, cap])

    @staticmethod
    def _farthest(study, pool: list[dict], rng) -> dict:
        """The candidate farthest (unit-cube encoding) from every configuration tried or in flight; random
        when nothing was tried yet."""
        tried = [t.config for t in study.trials if t.value is not None] + list(study.pending)
        if not tried:
            return pool[int(rng.integers(len(pool)))]
        P, T = study.space.encode_many(pool), study.space.encode_many(tried)
        gaps = np.sqrt(((P[:, None, :] - T[None, :, :]) ** 2).sum(-1)).min(axis=1)
        return pool[int(np.argmax(gaps))]

    def propose(self, study):
        if not study.has_constraint:
            raise CBOError("ExactCBOSampler needs a constraint (memsim) to know the deployable set; without "
                           "one use SVMCBOSampler.")
        rng = self._generator(study)
        cands = candidates(study, rng, self.n_candidates)
        if not cands:
            return Proposal(study.space.sample(rng, 1)[0], "exact")
        inside = lambda cs: study.check_many(cs)[0]  # noqa: E731
        done = [t for t in study.trials if t.state == TrialState.COMPLETE and t.feasible and t.value is not None]
        if len(done) < self.n_init_train:
            pool = [c for c, ok in zip(cands, inside(cands)) if ok] or cands
            return Proposal(self._farthest(study, pool, rng), "exact-init")
        encode = lambda cs: self._features(study, cs)  # noqa: E731
        gp = self._fit_gp(study, done, rng, encode=encode, noise_floor=self.noise_floor,
                          scale_floor=self.scale_floor)
        if self.acquisition == "ei":
            incumbent = max(t.value for t in done)
            score = lambda X: expected_improvement(gp, X, incumbent)  # noqa: E731
        else:
            score = lambda X: ucb(gp, X, self.beta)  # noqa: E731
        return Proposal(self._acquisition_pick(study, score, cands, inside, encode=encode), "exact")


# The methods by the names the command line takes; DEFAULT_METHOD is the command line's and Study's default.
DEFAULT_METHOD = "exact-ei"
# What each method is, in the words --help uses (one place with SAMPLERS; a test holds the two to the same names)
METHOD_HELP = {
    "exact-ei": "Bayesian optimisation with expected improvement over memsim's exact deployable set, the best in "
                "benchmarks/RESULTS.md",
    "exact-ucb": "the same with the upper confidence bound",
    "svmcbo": "the papers' SVM-CBO (Phase 1 SVM region from memsim labels, Phase 2 GP-UCB)",
    "random": "a baseline: random configurations, deployable or not",
    "grid": "a baseline: a grid over the space",
    "feasible-random": "a baseline: random among memsim-deployable configurations",
    "bo": "a baseline: GP-UCB blind to deployability",
}
SAMPLERS = {"svmcbo": SVMCBOSampler, "exact-ucb": functools.partial(ExactCBOSampler, acquisition="ucb"),
            "exact-ei": functools.partial(ExactCBOSampler, acquisition="ei"), "random": RandomSampler,
            "grid": GridSampler, "feasible-random": FeasibleRandomSampler, "bo": GPUCBSampler}
