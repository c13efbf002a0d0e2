"""From gates to a network that fits: keep the channels (blocks, kernel rings) whose gate is on, then, while memsim
says the network does not fit, drop the kept channel, block or outermost ring with the lowest gate value among those
whose removal helps (any with spares when memsim sees none help). No TensorFlow here; the weights follow in
``_network``."""

from __future__ import annotations

import numpy as np

from cbo.dnas._costs import NetworkCosts

__all__ = ["kept_channels", "project"]


def kept_channels(thetas: list, blocks: int = 0, kernels: int = 0) -> list[np.ndarray]:
    """Boolean masks: gate probability above one half, and never fewer than the layer's strongest channel. After
    the channel groups' thetas come ``blocks`` block gates (one value each, which may close) and ``kernels``
    kernels' ring gates, innermost first: a ring is kept only with every ring inside it (the kernel narrows from
    the outside in)."""
    masks = []
    first_free = len(thetas) - blocks - kernels
    for k, theta in enumerate(thetas):
        theta = np.asarray(theta, float)
        mask = theta > 0.0
        if k < first_free:
            mask[int(np.argmax(theta))] = True
        elif k >= first_free + blocks:
            mask = np.cumprod(mask).astype(bool)
        masks.append(mask)
    return masks


def _weakest(mask: np.ndarray, theta: np.ndarray, nested: bool) -> int:
    """The kept entry to drop next: a kernel's outermost kept ring, otherwise the lowest gate value."""
    if nested:
        return int(np.flatnonzero(mask)[-1])
    return int(np.argmin(np.where(mask, theta, np.inf)))


def project(costs: NetworkCosts, thetas: list) -> tuple[list[np.ndarray], int]:
    """(masks that fit, channels removed by the projection). Raises SpaceError when even one channel per
    searchable layer does not fit."""
    groups, nested_from = len(costs.searchable), len(costs.searchable) + len(costs.blocks)
    masks = kept_channels(thetas, len(costs.blocks), len(costs.kernels))
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
        spare = [k for k in range(len(masks)) if counts[k] > (1 if k < groups else 0)]  # a block, a ring may go
        helps = [k for k in spare if np.any(grad[over, k] > 0)] or spare
        if not helps:  # one channel everywhere and still over: the same refusal as before training, with figures
            costs.check_feasible()
        k = min(helps, key=lambda i: thetas[i][_weakest(masks[i], thetas[i], i >= nested_from)])
        masks[k][_weakest(masks[k], thetas[k], k >= nested_from)] = False
        removed += 1
