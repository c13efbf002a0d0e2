"""From gates to a network that fits: keep the channels (and blocks) whose gate is on, then, while memsim says the
network does not fit, drop the kept channel or block with the lowest gate value among those whose removal helps
(any with spare channels when memsim sees none help). No TensorFlow here; the weights follow in ``_network``."""

from __future__ import annotations

import numpy as np

from cbo.dnas._costs import NetworkCosts

__all__ = ["kept_channels", "project"]


def kept_channels(thetas: list, blocks: int = 0) -> list[np.ndarray]:
    """Boolean masks: gate probability above one half, and never fewer than the layer's strongest channel; the
    last ``blocks`` thetas are block gates (one value each), which may close."""
    masks = []
    for k, theta in enumerate(thetas):
        theta = np.asarray(theta, float)
        mask = theta > 0.0
        if k < len(thetas) - blocks:
            mask[int(np.argmax(theta))] = True
        masks.append(mask)
    return masks


def project(costs: NetworkCosts, thetas: list) -> tuple[list[np.ndarray], int]:
    """(masks that fit, channels removed by the projection). Raises SpaceError when even one channel per
    searchable layer does not fit."""
    masks = kept_channels(thetas, len(costs.blocks))
    groups = len(costs.searchable)
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
        spare = [k for k in range(len(masks)) if counts[k] > (1 if k < groups else 0)]  # a kept block may go
        helps = [k for k in spare if np.any(grad[over, k] > 0)] or spare
        if not helps:  # one channel everywhere and still over: the same refusal as before training, with figures
            costs.check_feasible()
        k = min(helps, key=lambda i: np.min(np.where(masks[i], thetas[i], np.inf)))
        j = int(np.argmin(np.where(masks[k], thetas[k], np.inf)))
        masks[k][j] = False
        removed += 1
