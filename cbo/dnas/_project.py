"""From gates to a network that fits: keep the channels whose gate is on, then, while memsim says the network
does not fit, drop the kept channel with the lowest gate value among the groups whose removal helps (any group
with spare channels when memsim sees no single group help). No TensorFlow here; the weights follow in
``_network``.

The search shrinks every group by about the same fraction (the penalty pushes each in proportion to its share of
the excess); the network that trains best on the same budget may keep more of one group and less of another (on
har-watch, 40 filters x 250 units score 68.2 % where the 89 x 113 the search keeps score 64.0 %, at the same
Flash). ``frontier_candidates`` proposes such other allocations, each on memsim's frontier; the fine-tuning picks
among them on held-back training data."""

from __future__ import annotations

import numpy as np

from cbo.dnas._costs import NetworkCosts

__all__ = ["MOST_OTHERS", "TILTS", "frontier_candidates", "kept_channels", "project", "top_masks"]

# How much more of one group each other allocation keeps, before the others shrink until the network fits again.
TILTS = (1.5, 3.0)
MOST_OTHERS = 4  # other allocations tried at most: each is one more fine-tuning of the found network's size


def kept_channels(thetas: list) -> list[np.ndarray]:
    """Boolean masks: gate probability above one half, and never fewer than the layer's strongest channel."""
    masks = []
    for theta in thetas:
        theta = np.asarray(theta, float)
        mask = theta > 0.0
        mask[int(np.argmax(theta))] = True
        masks.append(mask)
    return masks


def project(costs: NetworkCosts, thetas: list) -> tuple[list[np.ndarray], int]:
    """(masks that fit, channels removed by the projection). Raises SpaceError when even one channel per
    searchable layer does not fit."""
    masks = kept_channels(thetas)
    removed = 0
    while True:
        counts = np.array([m.sum() for m in masks])
        value, grad = costs.at(counts)
        over = value > costs.limits
        if not over.any() and costs.figures(counts)["fits"][0]:
            return masks, removed
        # groups whose channel removal lowers a violated figure (memsim's own difference); where none does over
        # the step memsim looked at (aligned allocations), or the network cannot run at all, any group with spare
        # channels
        spare = [k for k in range(len(masks)) if counts[k] > 1]
        helps = [k for k in spare if np.any(grad[over, k] > 0)] or spare
        if not helps:  # one channel everywhere and still over: the same refusal as before training, with figures
            costs.check_feasible()
        k = min(helps, key=lambda i: np.min(np.where(masks[i], thetas[i], np.inf)))
        j = int(np.argmin(np.where(masks[k], thetas[k], np.inf)))
        masks[k][j] = False
        removed += 1


def top_masks(thetas: list, counts) -> list[np.ndarray]:
    """Boolean masks keeping each group's ``counts`` channels of highest gate value (ties: the lower index)."""
    masks = []
    for theta, c in zip(thetas, counts):
        order = np.argsort(-np.asarray(theta, float), kind="stable")
        mask = np.zeros(len(order), bool)
        mask[order[:int(c)]] = True
        masks.append(mask)
    return masks


def frontier_candidates(costs: NetworkCosts, counts, tilts=TILTS, most: int = MOST_OTHERS) -> list[np.ndarray]:
    """``counts`` first, then for searched groups and tilts: that group with ``tilt`` times its channels (at most
    the seed's), the other groups scaled down together to the most that memsim says still fits. Only allocations
    that fit and differ from those before, at most ``most`` of them (each costs a fine-tuning): the groups that
    weigh most on the figure nearest its limit first (memsim's change per channel times the group's channels, the
    search's own measure); none for a network with one searched group."""
    base = np.asarray(counts, np.int64)
    out = [base]
    if len(base) < 2:
        return out
    value, grad = costs.at(base)
    finite = np.isfinite(costs.limits)
    nearest = int(np.argmax(np.where(finite, value / np.where(finite, costs.limits, 1.0), -np.inf)))
    for k in np.argsort(-(grad[nearest] * base), kind="stable"):
        for tilt in tilts:
            if len(out) > most:
                return out
            grown = min(int(costs.full[k]), int(round(base[k] * tilt)))
            if grown <= base[k]:
                continue
            candidate = _refill(costs, base, k, grown)
            if candidate is not None and not any(np.array_equal(candidate, o) for o in out):
                out.append(candidate)
    return out


def _refill(costs: NetworkCosts, base: np.ndarray, k: int, grown: int) -> "np.ndarray | None":
    """Group ``k`` at ``grown`` channels, the others at the largest common fraction of ``base`` that fits (by
    bisection on memsim's verdict), or None when even one channel each does not fit."""
    def at(scale: float) -> np.ndarray:
        c = np.clip(np.floor(base * scale).astype(np.int64), 1, costs.full)
        c[k] = grown
        return c

    if not costs.figures(at(0.0))["fits"][0]:
        return None
    low, high = 0.0, 1.0  # the others never grow: the budget moved to group k comes from them
    for _ in range(12):
        mid = (low + high) / 2
        low, high = (mid, high) if costs.figures(at(mid))["fits"][0] else (low, mid)
    return at(low)
