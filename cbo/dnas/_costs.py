"""memsim as the constraint of a differentiable search: exact figures at given channel counts, and how much each
figure changes per channel of each searchable layer, from one call of memsim's batch kernel.

The search only ever sees memsim's own numbers: at the current (binary) gates the penalty is computed from the
exact RAM, region, Flash and latency memsim gives the network that would be exported; its gradient comes from
the change memsim measures when one channel less is kept in each layer (the discrete derivative). So the costs
follow every rule memsim has (the runtime's planner, tail, flatbuffer names, X-CUBE-AI fusion), not a proxy.
No TensorFlow here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cbo._errors import SpaceError

__all__ = ["CONSTRAINTS", "ChainCosts", "as_chain", "searchable_layers"]

CONSTRAINTS = ("ram", "region", "flash", "latency")
_WEIGHTED = {"conv1d", "conv2d", "dense"}
SUPPORTED = ("Conv1D", "Conv2D", "DepthwiseConv2D (depth_multiplier 1)", "Dense", "pooling", "global pooling",
             "BatchNormalization", "Dropout", "Flatten", "activations")


def _kind(item: dict) -> str:
    return str(item["type"]).lower().replace("_", "")


def searchable_layers(layers: list) -> list[int]:
    """Indices (in ``layers``, after the Input) of the layers whose output channels are searched: every Conv1D,
    Conv2D and Dense except the classifier (the last weighted layer)."""
    weighted = [i for i, item in enumerate(layers) if _kind(item) in _WEIGHTED]
    return weighted[:-1]


def as_chain(spec: dict) -> dict:
    """The description without the links a functional model's description spells out when each layer reads the
    one before it (so a functional chain is a chain); any other link is left for the caller to refuse."""
    layers = spec.get("layers") or []
    if not layers or _kind(layers[0]) not in ("input", "inputlayer"):
        raise SpaceError("shrink needs a layer description that starts with its Input layer.")
    out = [dict(layers[0])]
    for prev, item in zip(layers, layers[1:]):
        item = {k: v for k, v in item.items() if k != "output"}
        if item.get("inputs") in ([prev["name"]], prev["name"]):
            del item["inputs"]
        out.append(item)
    return {**spec, "layers": out}


@dataclass
class ChainCosts:
    """Figures of a chain network at any channel counts of its searchable layers, with memsim's rules.

    Parameters
    ----------
    spec : dict
        A named layer description of a plain chain (``{"name", "layers": [Input, ...]}``).
    target : str or Target
        The board the verdict is for.
    runtime, dtype, compression, margin
        As ``memsim.footprint``.
    ram, flash : int, optional
        Budgets (bytes) tighter than the board; RAM caps the board's RAM and its largest region.
    latency_ms : float, optional
        Latency budget (MACC x cycles per MACC / clock, memsim's rule).
    """

    spec: dict
    target: object
    runtime: str = "tflm"
    dtype: str = "int8"
    compression: str = "none"
    margin: float | None = None
    ram: int | None = None
    flash: int | None = None
    latency_ms: float | None = None

    def __post_init__(self):
        from memsim import CYCLES_PER_MACC
        from memsim.batch import ChainFamily
        from targets import get_target

        self.spec = as_chain(self.spec)
        layers = self.spec["layers"]
        for item in layers[1:]:
            if "inputs" in item:
                raise SpaceError(f"shrink handles chains of layers for now; layer {item.get('name')!r} reads "
                                 f"{item['inputs']} (residual or branching networks are not supported yet). "
                                 f"Supported: {', '.join(SUPPORTED)}.")
            if _kind(item) == "depthwiseconv2d" and int(item.get("depth_multiplier", 1)) != 1:
                raise SpaceError(f"shrink handles DepthwiseConv2D with depth_multiplier 1 only ({item.get('name')!r}).")
        self.layers = layers[1:]
        self.board = get_target(self.target)
        self.family = ChainFamily(tuple(layers[0]["shape"]), tuple(str(i["name"]) for i in self.layers),
                                  name=str(self.spec["name"]), input_name=str(layers[0]["name"]))
        self.ops, self.prm = self.family.encode([self.layers])
        self.searchable = searchable_layers(self.layers)
        if not self.searchable:
            raise SpaceError("The network has no layer to shrink: it needs a Conv1D, Conv2D or Dense layer before "
                             "its classifier.")
        self.full = np.array([int(self.prm[0, s, 0]) for s in self.searchable], np.int64)
        self.cycles_per_macc = CYCLES_PER_MACC[self.dtype]
        b = self.board
        self.limits = np.array([min(b.ram_bytes, self.ram or b.ram_bytes),
                                min(b.largest_region_bytes, self.ram or b.largest_region_bytes),
                                min(b.flash_bytes, self.flash or b.flash_bytes),
                                self.latency_ms if self.latency_ms else np.inf], float)

    def check_feasible(self) -> None:
        """Refuse, before any training, limits that not even one channel per searched layer meets."""
        fig = self.figures(np.ones(len(self.full), np.int64))
        if not fig["fits"][0]:
            over = ", ".join(f"{c} {v:,.0f} > {lim:,.0f}" for c, v, lim in zip(CONSTRAINTS, fig["costs"][0],
                                                                             self.limits) if v > lim)
            raise SpaceError(f"Even the smallest network of this shape (one channel per searched layer) does not fit "
                             f"({over or 'the runtime cannot run it'}); choose a larger target, looser budgets, or a "
                             "smaller seed network.")

    def spec_at(self, counts) -> dict:
        """The layer description with these output channels in the searchable layers."""
        layers = [dict(item) for item in self.spec["layers"]]
        for s, c in zip(self.searchable, counts):
            key = "units" if _kind(layers[s + 1]) == "dense" else "filters"
            layers[s + 1][key] = int(c)
        return {**self.spec, "layers": layers}

    def figures(self, counts_rows) -> dict:
        """Per row of channel counts: ``costs`` (N, 4) in CONSTRAINTS order (RAM, region and Flash with the
        safety margin the verdict adds, latency in ms), ``fits`` (N,) and ``deployable`` (the board's verdict)."""
        from memsim.batch import verdicts

        counts_rows = np.atleast_2d(np.asarray(counts_rows, np.int64))
        n = len(counts_rows)
        ops = np.repeat(self.ops, n, 0)
        prm = np.repeat(self.prm, n, 0)
        for k, s in enumerate(self.searchable):
            prm[:, s, 0] = counts_rows[:, k]
        res = self.family.evaluate(ops, prm, self.runtime, self.dtype, self.compression, self.board)
        v = verdicts(res, self.board, self.runtime, self.dtype, self.margin)
        b = self.board
        costs = np.stack([b.ram_bytes - v["ram_margin_bytes"], b.largest_region_bytes - v["region_margin_bytes"],
                          b.flash_bytes - v["flash_margin_bytes"],
                          1000.0 * res["macc"] * self.cycles_per_macc / b.clock_hz], axis=1).astype(float)
        valid = res["valid"].astype(bool) & res["supported"].astype(bool)
        fits = valid & np.all(costs <= self.limits, axis=1)
        return {"costs": costs, "fits": fits, "deployable": v["deployable"] & valid, "macc": res["macc"]}

    def at(self, counts) -> tuple[np.ndarray, np.ndarray]:
        """(costs (4,), derivative (4, L)): the figures at ``counts`` and how much each changes per channel of
        each searchable layer (one channel less; one more where only one is left)."""
        counts = np.asarray(counts, np.int64)
        L = len(counts)
        rows = np.repeat(counts[None, :], L + 1, 0)
        step = np.where(counts > 1, -1, 1)
        rows[np.arange(1, L + 1), np.arange(L)] += step
        costs = self.figures(rows)["costs"]
        grad = (costs[1:] - costs[0]).T / step[None, :]
        return costs[0], np.where(np.isfinite(grad), grad, 0.0)
