"""Candidate generation: where acquisitions are evaluated (the decoded space is discrete, so no gradient search)."""

from __future__ import annotations

import numpy as np

from cbo._view import StudyView

__all__ = ["candidates", "neighbours"]


def candidates(study: StudyView, rng: np.random.Generator, n: int) -> list[dict]:
    """About ``n`` unseen configurations: half uniform random, half Latin hypercube, without duplicates."""
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


def neighbours(study: StudyView, config: dict) -> list[dict]:
    """Unseen configurations one parameter away (local refinement around a good candidate)."""
    space = study.space
    out = []
    for p in space.params:
        for v in p.levels(7):
            if v != config.get(p.name):
                c = dict(config, **{p.name: v})
                out.append(space.decode(space.encode(c)) if p.condition is None else c)
    keys = study.seen_keys()
    return [c for c in out if space.key(c) not in keys]
