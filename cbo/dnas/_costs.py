"""memsim as the constraint of a differentiable search: exact figures at given channel counts, and how much each
figure changes per channel of each searched group, from memsim itself.

The search only ever sees memsim's own numbers: at the current (binary) gates the penalty is computed from the
exact RAM, region, Flash and latency memsim gives the network that would be exported; its gradient comes from
the change memsim measures when one channel less is kept in each group (the discrete derivative). So the costs
follow every rule memsim has (the runtime's planner, tail, flatbuffer names, X-CUBE-AI fusion), not a proxy.
A plain chain is scored by memsim's batch kernel (one call for all the rows), any other network by
``memsim.footprint``; figures are cached per channel counts. No TensorFlow here.

Channel groups: the output channels of a Conv1D/Conv2D/SeparableConv2D/Dense layer form a group; channel-wise
layers (BatchNorm, activations, pooling, Dropout, DepthwiseConv2D with depth multiplier 1, ZeroPadding) keep
their input's group; an Add ties the groups of all its inputs into one (a residual connection keeps shapes
consistent). A group is searched unless it holds the model's input or a model output (the classes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cbo._errors import SpaceError

__all__ = ["ACTIVATION_CHOICES", "CONSTRAINTS", "NetworkCosts", "activation_slots", "as_chain", "channel_groups",
           "kernel_at", "kernel_layers", "skippable_blocks"]

CONSTRAINTS = ("ram", "region", "flash", "latency")
WEIGHTED = {"conv1d", "conv2d", "dense", "separableconv2d"}
CHANNEL_WISE = {"batchnormalization", "activation", "relu", "leakyrelu", "elu", "softmax", "dropout",
                "maxpooling1d", "maxpooling2d", "averagepooling1d", "averagepooling2d", "maxpool1d", "maxpool2d",
                "avgpool1d", "avgpool2d", "depthwiseconv2d", "zeropadding1d", "zeropadding2d"}
PASS_THROUGH = {"flatten", "globalaveragepooling1d", "globalaveragepooling2d", "globalmaxpooling1d",
                "globalmaxpooling2d"}  # the channel axis survives (Flatten: inside its layout)
SUPPORTED = ("Conv1D", "Conv2D", "SeparableConv2D", "DepthwiseConv2D (depth multiplier 1)", "Dense", "pooling",
             "global pooling", "BatchNormalization", "ZeroPadding", "Dropout", "Flatten", "activations",
             "residual Add")


# The activations shrink chooses among where a conv or dense layer of the seed has one of them: each runs under
# both runtimes in int8 and float32, and they differ in how they train (the search's best BasicMotions networks
# use a sigmoid dense layer where the template's seed has a ReLU).
ACTIVATION_CHOICES = ("relu", "tanh", "sigmoid")


def activation_slots(spec: dict) -> list[str]:
    """Names of the conv/dense layers whose activation shrink may choose: those carrying one of
    ACTIVATION_CHOICES (a classifier's softmax, a linear layer and the others keep theirs)."""
    return [str(item["name"]) for item in spec["layers"][1:]
            if _kind(item) in ("conv1d", "conv2d", "separableconv2d", "depthwiseconv2d", "dense")
            and item.get("activation") in ACTIVATION_CHOICES]


def _kind(item: dict) -> str:
    return str(item["type"]).lower().replace("_", "")


def as_chain(spec: dict) -> dict:
    """The description without the links a functional model's description spells out when each layer reads the
    one before it (so a functional chain is a chain), and without output marks on the last layer."""
    layers = spec.get("layers") or []
    if not layers or _kind(layers[0]) not in ("input", "inputlayer"):
        raise SpaceError("shrink needs a layer description that starts with its Input layer.")
    out = [dict(layers[0])]
    for prev, item in zip(layers, layers[1:]):
        item = dict(item)
        if item.get("inputs") in ([prev["name"]], prev["name"]):
            del item["inputs"]
        out.append(item)
    if sum(1 for item in out if item.get("output")) <= 1 and out[-1].get("output", True):
        out[-1].pop("output", None)
    return {**spec, "layers": out}


def _inputs(layers: list, i: int) -> list[str]:
    item = layers[i]
    ins = item.get("inputs", [layers[i - 1]["name"]])
    return [ins] if isinstance(ins, str) else list(ins)


CONVS = {"conv1d", "conv2d", "separableconv2d"}
POST_OPS = {"batchnormalization", "activation", "relu", "leakyrelu", "elu", "dropout"}


def _keeps_shape(item: dict) -> bool:
    """A convolution whose output has its input's length (and size): stride 1, and 'same' padding or a 1-wide
    kernel."""
    def ones(v):
        return all(x == 1 for x in _size(v, 1))

    return ones(item.get("strides", 1)) and (str(item.get("padding", "valid")).lower() == "same"
                                             or ones(item.get("kernel_size", 1)))


def skippable_blocks(spec: dict) -> list[tuple[str, ...]]:
    """Runs of layers the identity can replace (layer skipping, as in PIT and PLiNIO): in a plain chain, after a
    convolution and its BatchNorm / activation / Dropout, zero or more shape-keeping DepthwiseConv2Ds and such
    layers, then a shape-keeping convolution with as many filters as the run's input has channels, and its own
    BatchNorm / activation / Dropout (a DS-CNN or MobileNet block). Layers read by name elsewhere (residual
    connections) are never in a run, nor is the layer before one."""
    layers = spec["layers"]
    read = set()
    for item in layers[1:]:
        ins = item.get("inputs", [])
        read.update([ins] if isinstance(ins, str) else ins)
    blocks, i, width = [], 1, None
    while i < len(layers):
        if width is not None:
            k = i
            while k < len(layers) and (_kind(layers[k]) in POST_OPS or
                                       (_kind(layers[k]) == "depthwiseconv2d" and _keeps_shape(layers[k])
                                        and int(layers[k].get("depth_multiplier", 1)) == 1)):
                k += 1
            if k < len(layers) and _kind(layers[k]) in CONVS and _keeps_shape(layers[k]) \
                    and int(layers[k]["filters"]) == width:
                end = k
                while end + 1 < len(layers) and _kind(layers[end + 1]) in POST_OPS:
                    end += 1
                run = layers[i:end + 1]
                names = tuple(str(item["name"]) for item in run)
                if not any("inputs" in item for item in run) and not read & {*names, str(layers[i - 1]["name"])}:
                    blocks.append(names)
                    i = end + 1
                    continue
        kind = _kind(layers[i])
        if kind in CONVS:  # a run may start after its BatchNorm / activation / Dropout
            width = int(layers[i]["filters"])
            while i + 1 < len(layers) and _kind(layers[i + 1]) in POST_OPS:
                i += 1
        elif kind not in POST_OPS and kind != "depthwiseconv2d":
            width = None
        i += 1
    return blocks


def _size(v, rank: int) -> list[int]:
    return [int(x) for x in v] if isinstance(v, (list, tuple)) else [int(v)] * rank


def kernel_layers(spec: dict) -> list[tuple[str, int]]:
    """(name, rings) of the convolutions whose kernel shrink may narrow from the outside in, keeping its centre (a
    receptive-field search, as PIT's): Conv1D, Conv2D and DepthwiseConv2D with 'same' padding, no dilation and an
    odd kernel of 3 or more along some axis; rings = (the largest size - 1) / 2, the steps down to 1."""
    out = []
    for item in spec["layers"][1:]:
        kind = _kind(item)
        if kind not in ("conv1d", "conv2d", "depthwiseconv2d") or str(item.get("padding", "valid")).lower() != "same":
            continue
        rank = 1 if kind == "conv1d" else 2
        sizes = _size(item.get("kernel_size", 1), rank)
        if any(d != 1 for d in _size(item.get("dilation_rate", 1), rank)) or any(k % 2 == 0 for k in sizes):
            continue
        if max(sizes) >= 3:
            out.append((str(item["name"]), (max(sizes) - 1) // 2))
    return out


def kernel_at(item: dict, rings: int) -> "list[int]":
    """The kernel size of a searched convolution with ``rings`` rings kept around its centre."""
    rank = 1 if _kind(item) == "conv1d" else 2
    return [min(k, 2 * rings + 1) for k in _size(item.get("kernel_size", 1), rank)]


def channel_groups(spec: dict, ties=()) -> tuple[dict, list, dict]:
    """({layer name: group}, searched groups in order of first appearance, {group: weighted layer names}).
    ``ties``: pairs of layer names whose output channels must stay equal (a skippable block's input and output).

    Refuses, in one sentence, layers shrink cannot slice consistently."""
    layers = spec["layers"]
    parent: dict = {}

    def find(g):
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    group_of: dict = {}
    input_groups = set()
    position = {str(item["name"]): i for i, item in enumerate(layers)}
    for i, item in enumerate(layers):
        name, kind = str(item["name"]), _kind(item)
        if i == 0:
            parent[name] = name
            group_of[name] = name
            input_groups.add(name)
            continue
        ins = _inputs(layers, i)
        unknown = [n for n in ins if n not in group_of]
        if unknown:
            raise SpaceError(f"Layer {name!r} reads {unknown[0]!r}, which is not an earlier layer of the description.")
        if kind in WEIGHTED:
            parent[name] = name
            group_of[name] = name
        elif kind in CHANNEL_WISE or kind in PASS_THROUGH:
            if kind == "depthwiseconv2d" and int(item.get("depth_multiplier", 1)) != 1:
                raise SpaceError(f"shrink handles DepthwiseConv2D with depth_multiplier 1 only ({name!r}).")
            group_of[name] = group_of[ins[0]]
        elif kind == "add":  # the group is named after its earliest layer (not a set's order: the gates'
            roots = sorted({find(group_of[n]) for n in ins}, key=position.get)  # names must survive a restart)
            for r in roots[1:]:
                parent[r] = roots[0]
            group_of[name] = roots[0]
        else:
            raise SpaceError(f"shrink cannot search through layer {name!r} ({item['type']}) yet. Supported: "
                             f"{', '.join(SUPPORTED)}.")
    for pair in ties:  # named after the earliest layer, as an Add's group
        roots = sorted({find(group_of[n]) for n in pair}, key=position.get)
        for r in roots[1:]:
            parent[r] = roots[0]
    groups = {n: find(g) for n, g in group_of.items()}
    outputs = [str(item["name"]) for item in layers if item.get("output")] or [str(layers[-1]["name"])]
    fixed = {find(g) for g in input_groups} | {groups[n] for n in outputs}
    producers: dict = {}
    for item in layers[1:]:
        if _kind(item) in WEIGHTED:
            producers.setdefault(groups[str(item["name"])], []).append(str(item["name"]))
    searched = [g for g in dict.fromkeys(groups[str(item["name"])] for item in layers[1:]) if g in producers
                and g not in fixed]
    return groups, searched, producers


@dataclass
class NetworkCosts:
    """Figures of a network at any channel counts of its searched groups, with memsim's rules.

    Parameters
    ----------
    spec : dict
        A named layer description (``{"name", "layers": [Input, ...]}``); layers read the previous one unless they
        name their ``inputs``.
    target : str or Target
        The board the verdict is for.
    runtime, dtype, compression, margin
        As ``memsim.footprint``.
    ram, flash : int, optional
        Budgets (bytes) tighter than the board; RAM caps the board's RAM and its largest region.
    depth : bool
        Search depth too: each of ``skippable_blocks`` may be skipped (a 0/1 entry after the channel counts).
    kernel_sizes : bool
        Search kernel sizes too: each of ``kernel_layers`` keeps 0..rings rings around its centre (entries after
        the blocks').
    latency_ms : float, optional
        Latency budget (ms), held against the top of memsim's latency band (``Footprint.latency_high_ms``: the
        slowest the published measurements put such an estimate), as every verdict on latency is.
    """

    spec: dict
    target: object
    runtime: object = None   # a name, a memsim Runtime, or None for memsim.DEFAULT_RUNTIME; resolved to the object
    dtype: "str | None" = None  # None: the runtime's
    compression: "str | None" = None
    margin: float | None = None
    ram: int | None = None
    flash: int | None = None
    latency_ms: float | None = None
    depth: bool = True
    kernel_sizes: bool = True

    def __post_init__(self):
        from memsim import resolve
        from targets import get_target

        settings = resolve(self.runtime, self.dtype, self.compression, self.margin)  # refused here, before work
        self.runtime, self.dtype, self.compression = settings.runtime, settings.dtype, settings.compression

        self.spec = as_chain(self.spec)
        self.index = {str(item["name"]): i for i, item in enumerate(self.spec["layers"])}
        self.groups, self.searchable, self.producers = channel_groups(self.spec)
        # depth: blocks whose input and output channels are searched groups; their two groups become one
        fixed_before = {g for g in self.groups.values() if g not in self.searchable}
        self.blocks = [b for b in (skippable_blocks(self.spec) if self.depth else [])
                       if not fixed_before & {self.groups[b[-1]], self.groups[self.block_input(b)]}]
        if self.blocks:
            self.groups, self.searchable, self.producers = channel_groups(
                self.spec, [(self.block_input(b), b[-1]) for b in self.blocks])
        # kernel sizes: rings kept around each searched convolution's centre
        self.kernels = kernel_layers(self.spec) if self.kernel_sizes else []
        if not self.searchable:
            raise SpaceError("The network has no channels to shrink: it needs a Conv1D, Conv2D, SeparableConv2D or "
                             "Dense layer before its classifier.")
        self.layers = self.spec["layers"][1:]
        self.full = np.array([self._width(self.producers[g][0]) for g in self.searchable] + [1] * len(self.blocks)
                             + [rings for _, rings in self.kernels], np.int64)
        self.board = get_target(self.target)
        b = self.board
        self.limits = np.array([min(b.ram_bytes, self.ram or b.ram_bytes),
                                min(b.largest_region_bytes, self.ram or b.largest_region_bytes),
                                min(b.flash_bytes, self.flash or b.flash_bytes),
                                self.latency_ms if self.latency_ms else np.inf], float)
        self._cache: dict = {}
        self._spans: dict = {}
        # per searched group: the other searched groups whose producers read it (a single reader's fan-in is
        # proportional to this group's channels)
        position = {g: k for k, g in enumerate(self.searchable)}
        self.readers = [[] for _ in self.searchable]
        for h, g in enumerate(self.searchable):
            for name in self.producers[g]:
                for source in _inputs(self.spec["layers"], self.index[name]):
                    k = position.get(self.groups[source])
                    if k is not None and k != h and h not in self.readers[k]:
                        self.readers[k].append(h)

    def block_input(self, block: tuple) -> str:
        """The layer whose output a block reads (and passes on where it is skipped)."""
        return str(self.spec["layers"][self.index[block[0]] - 1]["name"])

    def _full_row(self, setting) -> np.ndarray:
        """Channel counts, then 1 (kept) or 0 (skipped) per block, then the rings kept per searched kernel; entries
        left out are the seed's (blocks kept, kernels whole)."""
        setting = np.asarray(setting, np.int64)
        return np.concatenate([setting, self.full[len(setting):]])

    def skipped(self, setting) -> list[str]:
        """The layers a setting's skipped blocks remove."""
        g = len(self.searchable)
        flags = self._full_row(setting)[g:g + len(self.blocks)]
        return [name for b, f in zip(self.blocks, flags) if not f for name in b]

    def kernel_rings(self, setting) -> dict:
        """Searched convolution -> rings kept."""
        start = len(self.searchable) + len(self.blocks)
        return {name: int(r) for (name, _), r in zip(self.kernels, self._full_row(setting)[start:])}

    def describe(self, setting) -> str:
        """'channels [..]', and which blocks are kept where the depth is searched."""
        setting = self._full_row(setting)
        g = len(self.searchable)
        text = f"channels {setting[:g].tolist()}"
        if self.blocks:
            flags = setting[g:g + len(self.blocks)]
            gone = [b[0] for b, f in zip(self.blocks, flags) if not f]
            text += f", {int(flags.sum())} of {len(self.blocks)} blocks"
            text += f" (skipped: {', '.join(gone)})" if gone else ""
        narrowed = [f"{name} {'x'.join(map(str, kernel_at(self.spec['layers'][self.index[name]], r)))}"
                    for name, r in self.kernel_rings(setting).items()
                    if r < dict(self.kernels)[name]]
        if narrowed:
            text += f", kernels narrowed: {', '.join(narrowed)}"
        return text

    def _width(self, name: str) -> int:
        item = self.spec["layers"][self.index[name]]
        return int(item["units"] if _kind(item) == "dense" else item["filters"])

    def spec_at(self, counts) -> dict:
        """The layer description with these output channels in the searched groups, without the blocks whose flag
        (after the channel counts) is 0, and with each searched kernel's rings (after the blocks' flags)."""
        layers = [dict(item) for item in self.spec["layers"]]
        for g, c in zip(self.searchable, counts):
            for name in self.producers[g]:
                item = layers[self.index[name]]
                item["units" if _kind(item) == "dense" else "filters"] = int(c)
        for name, rings in self.kernel_rings(counts).items():
            item = layers[self.index[name]]
            item["kernel_size"] = kernel_at(item, rings)
        gone = set(self.skipped(counts))
        return {**self.spec, "layers": [item for item in layers if str(item["name"]) not in gone]}

    def with_activations(self, chosen: dict) -> "NetworkCosts":
        """The same costs for the network with these layers' activations (layer name -> activation)."""
        from dataclasses import replace

        layers = [dict(item, activation=chosen[str(item.get("name"))]) if str(item.get("name")) in chosen
                  else dict(item) for item in self.spec["layers"]]
        return replace(self, spec={**self.spec, "layers": layers})

    def smallest(self) -> np.ndarray:
        """One channel per searched group, every block skipped, every searched kernel 1 wide."""
        return np.array([1] * len(self.searchable) + [0] * (len(self.blocks) + len(self.kernels)), np.int64)

    def check_feasible(self) -> None:
        """Refuse, before any training, limits that not even one channel per searched group meets."""
        fig = self.figures(self.smallest())
        if not fig["fits"][0]:
            over = ", ".join(f"{c} {_shown(c, v)} > {_shown(c, lim)}" for c, v, lim in
                             zip(CONSTRAINTS, fig["costs"][0], self.limits) if v > lim)
            smallest = "one channel per searched layer" + (", every skippable block skipped" if self.blocks else "") \
                + (", 1-wide kernels" if self.kernels else "")
            raise SpaceError(f"Even the smallest network of this shape ({smallest}) does not fit "
                             f"({over or 'the runtime cannot run it'}); choose a larger target, looser budgets, or a "
                             "smaller seed network.")

    def figures(self, counts_rows) -> dict:
        """Per row of settings (channel counts, then block and kernel entries, see ``spec_at``): ``costs`` (N, 4)
        in CONSTRAINTS order (RAM, region and Flash with the safety margin the verdict adds, latency in ms),
        ``fits`` (N,) and ``deployable`` (the board's verdict)."""
        counts_rows = np.array([self._full_row(r) for r in np.atleast_2d(np.asarray(counts_rows, np.int64))])
        rows = [self._cache.get(tuple(int(c) for c in r)) for r in counts_rows]
        todo = [k for k, r in enumerate(rows) if r is None]
        if todo:
            fresh = self._evaluate(counts_rows[todo])
            for k, row in zip(todo, fresh):
                self._cache[tuple(int(c) for c in counts_rows[k])] = row
                rows[k] = row
        costs = np.array([r[0] for r in rows], float)
        deployable = np.array([r[1] for r in rows], bool)
        return {"costs": costs, "deployable": deployable, "macc": np.array([r[2] for r in rows], np.int64),
                "fits": deployable & np.all(costs <= self.limits, axis=1)}

    def _evaluate(self, counts_rows) -> list:
        """(costs, deployable, MACC) per row, through ``memsim.footprint_many`` (the batch kernel where it reads
        the network, the graph path otherwise: the figures and verdict ``footprint`` gives)."""
        import memsim

        b = self.board
        answers = memsim.footprint_many([self.spec_at(counts) for counts in counts_rows], b, self.runtime,
                                        self.dtype, self.compression, margin=self.margin)
        out = []
        for fp in answers:
            if isinstance(fp, memsim.ShapeError):  # shapes that do not fit: not a network, never deployable
                out.append(((np.inf, np.inf, np.inf, np.inf), False, 0))
                continue
            out.append(((b.ram_bytes - fp.ram_headroom_bytes, b.largest_region_bytes - fp.region_headroom_bytes,
                         b.flash_bytes - fp.flash_headroom_bytes, fp.latency_high_ms),
                        bool(fp.deployable), int(fp.macc)))
        return out

    def _inputs_span(self, counts) -> tuple[np.ndarray, np.ndarray]:
        """(per searched group: the dimension its producers' inputs span, fan-in + 1 summed over the producers
        present; how many producers that sums), from memsim's weight counts at the setting, cached."""
        key = tuple(int(c) for c in self._full_row(counts))
        if key not in self._spans:
            from memsim.frontends.spec import graph_from_spec

            layers = {layer.name: layer for layer in graph_from_spec(self.spec_at(key)).layers}
            present = [[name for name in self.producers[g] if name in layers] for g in self.searchable]
            dims = np.array([sum(layers[n].weights // max(1, layers[n].shape[-1]) + 1 for n in names)
                             for names in present], float)  # a skipped block's producer is not in the network
            self._spans[key] = (dims, np.array([len(names) for names in present], float))
        return self._spans[key]

    def span(self, counts) -> np.ndarray:
        """Per entry of a setting: for a searched group, the dimension its channels' pre-activation outputs can
        span at these counts (each producing layer's fan-in + 1, summed over the group's producers, at most its
        channels): a Conv2D of 2x2 taps on one input channel gives 5, whatever its filters; for a block or kernel
        entry, its own value."""
        counts = self._full_row(counts)
        dims, _ = self._inputs_span(counts)
        out = counts.astype(float)
        g = len(self.searchable)
        out[:g] = np.minimum(counts[:g], np.where(dims > 0, dims, counts[:g]))
        return out

    def paced(self, counts) -> np.ndarray:
        """Per entry of a setting: the channels of a searched group that ``shrink`` moves at the common pace — its
        span, or more where fewer would leave a searched group reading it with more channels than its own inputs
        span (digits' 2x2 convolution feeding a 256-unit dense layer through 9 positions: 29 filters); for a block
        or kernel entry, its own value."""
        counts = self._full_row(counts)
        out = self.span(counts)
        dims, producers = self._inputs_span(counts)
        for k, readers in enumerate(self.readers):
            for h in readers:  # the reader's fan-in grows with this group's channels
                fan_in = dims[h] - producers[h]
                if fan_in > 0:
                    need = np.ceil((counts[h] - producers[h]) * counts[k] / fan_in)
                    out[k] = max(out[k], min(float(counts[k]), need))
        return out

    def at(self, counts) -> tuple[np.ndarray, np.ndarray]:
        """(costs (4,), derivative (4, G)): the figures at ``counts`` and how much each changes per channel of
        each searched group, over one eighth of its channels less (one more where only one is left): memory is
        allocated in aligned steps, so a one-channel difference is often zero where fewer channels do help. A
        block's entry: what skipping it (keeping it, where it is skipped) changes; a kernel's: one ring less (more,
        where it is 1 wide)."""
        counts = self._full_row(counts)
        G = len(counts)
        rows = np.repeat(counts[None, :], G + 1, 0)
        step = np.where(counts > 1, -np.maximum(1, counts // 8), 1)
        step[len(self.searchable):] = np.where(counts[len(self.searchable):] >= 1, -1, 1)  # a block, a kernel ring
        rows[np.arange(1, G + 1), np.arange(G)] += step
        costs = self.figures(rows)["costs"]
        grad = (costs[1:] - costs[0]).T / step[None, :]
        return costs[0], np.where(np.isfinite(grad), grad, 0.0)


def _shown(constraint: str, value: float) -> str:
    """A figure as a refusal names it: latency in ms with the digits a small budget needs, sizes in bytes."""
    return f"{value:.3g} ms" if constraint == "latency" else f"{value:,.0f} B"
