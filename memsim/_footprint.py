"""One call from a network to its deployability figures on a target."""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from memsim._errors import ModelFileError, SpecError
from memsim._settings import resolve, resolve_shared
from memsim._verdict import headroom_pct, judge
from memsim.frontends.spec import graph_from_spec
from memsim.graph import Graph
from memsim.metrics import compressed_layers, total_macc, weight_bytes
from targets import Target, get_target

__all__ = ["CYCLES_PER_MACC", "Footprint", "footprint", "load_graph"]

# Latency assumption: cycles per MACC on a Cortex-M4F. Not measured here;
# ST quotes roughly 5-10 cycles/MACC for float32 and 2-4 for int8 with
# CMSIS-NN depending on layer shapes. Override with ``cycles_per_macc``.
CYCLES_PER_MACC = {"float32": 6.0, "int8": 3.0}


def load_graph(model: Any) -> Graph:
    """A Graph from a Graph, a layer list/dict, a Keras model, or a file.

    Files: ``.tflite``; ``.keras``/``.h5`` (needs TensorFlow); ``.json`` or
    ``.toml`` layer descriptions.
    """
    if isinstance(model, Graph):
        return model
    if isinstance(model, (list, dict)):
        return graph_from_spec(model)
    if isinstance(model, (str, Path)):
        path = Path(model)
        suffix = path.suffix.lower()
        if path.is_dir():  # a SavedModel folder among them: memsim reads files, not folders
            raise ModelFileError(f"{str(path)!r} is a folder; give one model file (.tflite, .keras, .h5, .json or "
                                 ".toml), e.g. model.save('model.keras') for a SavedModel.")
        if suffix == ".tflite":
            from memsim.frontends.tflite import graph_from_tflite

            return graph_from_tflite(path)
        if suffix in (".keras", ".h5", ".hdf5"):
            from memsim.frontends.keras import graph_from_keras

            return graph_from_keras(path)
        if suffix in (".json", ".toml"):
            if not path.exists():
                raise ModelFileError(f"Model file {str(path)!r} does not exist.")
            try:
                text = path.read_text(encoding="utf-8")
                data = json.loads(text) if suffix == ".json" else tomllib.loads(text)
            except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ModelFileError(f"Model description {str(path)!r} is not valid {suffix[1:].upper()}: {exc}.") from None
            if isinstance(data, dict) and "layers" in data:
                data.setdefault("name", path.stem)
            return graph_from_spec(data)
        raise ModelFileError(
            f"Model file {str(path)!r} has an unknown type {suffix or '(none)'!r}; use .tflite, .keras, .h5, .json or .toml."
        )
    if hasattr(model, "layers") and hasattr(model, "inputs"):
        from memsim.frontends.keras import graph_from_keras

        return graph_from_keras(model)
    raise SpecError(f"Cannot read a network from {type(model).__name__}; pass a file path, a layer list or a Keras model.")


@dataclass(frozen=True)
class Footprint:
    """Deployability figures of one network (all sizes in bytes)."""

    name: str
    runtime: str
    dtype: str
    compression: str
    macc: int
    params: int
    weights_bytes: int
    model_bytes: int
    activations_bytes: int
    runtime_ram_bytes: int
    io_bytes: int
    io_in_pool: bool
    ram_bytes: int
    flash_bytes: int
    target: str | None = None
    deployable: bool | None = None
    ram_margin_bytes: int | None = None
    flash_margin_bytes: int | None = None
    ram_margin_pct: float | None = None
    flash_margin_pct: float | None = None
    pool_fits_region: bool | None = None
    region_bytes: int = 0               # what must fit one contiguous SRAM region (see region_what)
    region_what: str = ""
    region_margin_bytes: int | None = None
    region_margin_pct: float | None = None
    region_capacity_bytes: int | None = None
    ram_safety_bytes: int = 0
    flash_safety_bytes: int = 0
    safety_margin_pct: tuple[float, float] = (0.0, 0.0)   # (RAM, Flash) applied to the network's own figures
    latency_ms: float | None = None
    violations: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()         # known gaps of the prediction for this network
    _rows: Any = field(default=None, repr=False, compare=False)  # the per-layer table, or how to build it

    @classmethod
    def _from_checked(cls, figures: dict) -> "Footprint":
        """A Footprint from figures memsim itself computed, without the dataclass's field-by-field frozen
        ``__init__`` (a third of the fast path's time); missing fields take their defaults."""
        obj = object.__new__(cls)
        obj.__dict__.update(_FOOTPRINT_DEFAULTS)
        obj.__dict__.update(figures)
        return obj

    @property
    def layers(self) -> list[dict]:
        """Per-layer table (name, type, shape, params, weights, MACC, live bytes); built on first use."""
        if callable(self._rows):
            object.__setattr__(self, "_rows", self._rows())
        return self._rows or []

    def __getstate__(self) -> dict:  # pickling (e.g. to another process) takes the table, not how to build it
        return {**self.__dict__, "_rows": self.layers}

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "_rows"}
        d["layers"] = self.layers
        d["violations"] = list(self.violations)
        d["unsupported"] = list(self.unsupported)
        d["notes"] = list(self.notes)
        return d


_FOOTPRINT_DEFAULTS = {f.name: f.default for f in fields(Footprint) if f.default is not MISSING}


def _layer_type(layer, from_tflite: bool) -> str:
    """What the per-layer table calls a layer: a .tflite's real operator, else the Keras class or activation."""
    if layer.op == "activation":
        if layer.attrs.get("fused"):
            return f"{layer.attrs['activation']} (fused)"
        if not from_tflite:
            return str(layer.attrs["activation"])
    return layer.source_type or layer.op


def _safety(pct: float, nbytes: int) -> int:
    return math.ceil(pct * nbytes / 100.0) if pct else 0


def _resolve_dtype(graph: Graph, dtype: "str | None") -> str:
    """A .tflite file decides its own type; asking for another one is an error, not a model that does not exist."""
    if graph.tflite is None:
        return dtype or "float32"
    from memsim.frontends.tflite import model_dtype

    file_dtype = model_dtype(graph.tflite)
    if dtype is not None and dtype != file_dtype:
        raise SpecError(f"The type of {graph.name}.tflite is fixed by the file ({file_dtype}), not {dtype}; "
                        f"drop --dtype (or pass --dtype {file_dtype}).")
    return file_dtype


def _judge_into(result: dict, board, settings, region: int, extra_ram: int, cycles_per_macc) -> None:
    """Safety margins, and with a board the verdict, headrooms and latency, added to a footprint's figures (one
    place for both paths)."""
    ram_pct, flash_pct = settings.ram_pct, settings.flash_pct
    ram, flash = result["ram_bytes"], result["flash_bytes"]
    ram_safety, flash_safety = _safety(ram_pct, ram - extra_ram), _safety(flash_pct, result["model_bytes"])
    region_safety = _safety(ram_pct, region)
    profile = settings.profile
    result.update(ram_safety_bytes=ram_safety, flash_safety_bytes=flash_safety, safety_margin_pct=(ram_pct, flash_pct),
                  region_bytes=region, region_what=profile.region_what)
    if board is None:
        return
    v = judge(board, ram_bytes=ram, region_bytes=region, flash_bytes=flash, region_what=profile.region_what,
              ram_safety=ram_safety, region_safety=region_safety, flash_safety=flash_safety,
              safety_pct=(ram_pct, flash_pct), unsupported=result["unsupported"])
    cpm = cycles_per_macc if cycles_per_macc is not None else CYCLES_PER_MACC[settings.dtype]
    result.update(
        target=board.name, deployable=v.deployable, violations=v.violations,
        ram_margin_bytes=v.ram_headroom_bytes, flash_margin_bytes=v.flash_headroom_bytes,
        region_margin_bytes=v.region_headroom_bytes, ram_margin_pct=headroom_pct(v.ram_headroom_bytes, board.ram_bytes),
        flash_margin_pct=headroom_pct(v.flash_headroom_bytes, board.flash_bytes),
        region_margin_pct=headroom_pct(v.region_headroom_bytes, board.largest_region_bytes),
        region_capacity_bytes=board.largest_region_bytes,
        pool_fits_region=v.region_headroom_bytes >= 0,
        latency_ms=round(1000.0 * result["macc"] * cpm / board.clock_hz, 3),
    )


def footprint(
    model: Any,
    target: "str | Target | None" = None,
    runtime: str = "xcubeai",
    dtype: "str | None" = None,
    compression: str = "none",
    cycles_per_macc: float | None = None,
    margin: "float | tuple[float, float] | None" = None,
) -> Footprint:
    """Compute RAM, Flash, MACC and the deployability verdict of a network.

    Parameters
    ----------
    model : path, layer list, Graph or Keras model
        The network.
    target : str or Target, optional
        A board name/alias or Target; without it no verdict is given.
    runtime : {"xcubeai", "xcubeai-time", "xcubeai-5", "tflm"}
        Runtime profile.
    dtype : {"float32", "int8"}, optional
        Weight/activation type of the deployed model; default float32, and
        for a ``.tflite`` file the file's own type (another one is an error).
    compression : {"none", "x4", "x8"}
        X-CUBE-AI weight sharing (float32 only).
    cycles_per_macc : float, optional
        Latency assumption; defaults to CYCLES_PER_MACC[dtype].
    margin : float or (float, float), optional
        Safety margin in percent of the network's own RAM and Flash (one
        value for both, or a (RAM, Flash) pair), added before the verdict.
        Defaults to the profile's ``SAFETY_MARGIN_PCT``: the worst
        under-prediction observed against the real toolchain.

    The verdict (``memsim._verdict.judge``) is deployable when RAM and Flash,
    each with its safety margin, fit the board and the bytes the runtime
    needs in one piece (``region_bytes``: X-CUBE-AI's activation pool, TFLM's
    whole arena) fit the largest SRAM region; the ``*_margin_bytes`` fields
    are the headroom left after the safety margin.
    """
    early = resolve_shared(runtime, dtype or "float32", compression, margin)  # refuse before reading the model
    fast = _chain_footprint(model, target, runtime, early, cycles_per_macc)
    if fast is not None:
        return fast
    return _full_footprint(model, target, runtime, dtype, compression, cycles_per_macc, margin)


def _full_footprint(model, target, runtime, dtype, compression, cycles_per_macc, margin) -> Footprint:
    """``footprint`` through the graph IR and the profile (any network; the reference for the fast path)."""
    graph = load_graph(model)
    settings = resolve(runtime, _resolve_dtype(graph, dtype), compression, margin)
    profile, dtype, compression = settings.profile, settings.dtype, settings.compression
    board = get_target(target) if target is not None else None
    per_layer_weights = weight_bytes(graph, dtype, compression)
    w_bytes = sum(per_layer_weights)
    plan = profile.activation_plan(graph, dtype)
    overhead = board.overhead(profile.name, dtype) if board else None
    runtime_ram = profile.runtime_ram(graph, dtype, overhead.ram_bytes if overhead else 0)
    model_bytes = profile.model_bytes(graph, dtype, w_bytes)
    io_outside = 0 if plan.io_in_pool else plan.io_bytes
    ram = plan.pool_bytes + io_outside + runtime_ram
    flash = model_bytes + (overhead.code_flash_bytes if overhead else 0)
    macc = total_macc(graph)
    chosen = compressed_layers(graph, compression)
    rows = lambda: [  # noqa: E731  (built only when someone reads Footprint.layers)
        {"name": layer.name, "type": _layer_type(layer, graph.tflite is not None),
         "op": layer.op, "shape": list(layer.shape),
         "params": layer.params, "weights_bytes": per_layer_weights[i], "macc": layer.macc,
         "live_bytes": plan.layer_live_bytes[i], "compressed": i in chosen}
        for i, layer in enumerate(graph.layers)
    ]
    result = dict(
        name=graph.name, runtime=profile.name if not isinstance(runtime, str) else runtime, dtype=dtype,
        compression=compression, macc=macc, params=graph.params, weights_bytes=w_bytes, model_bytes=model_bytes,
        activations_bytes=plan.pool_bytes, runtime_ram_bytes=runtime_ram, io_bytes=plan.io_bytes,
        io_in_pool=plan.io_in_pool, ram_bytes=ram, flash_bytes=flash, _rows=rows,
        unsupported=tuple(profile.check(graph, dtype)), notes=tuple(profile.notes(graph, dtype)),
    )
    _judge_into(result, board, settings, profile.region_bytes(graph, dtype, plan),
                overhead.ram_bytes if overhead else 0, cycles_per_macc)
    return Footprint(**result)


_FIGURES = ("macc", "params", "weights_bytes", "model_bytes", "activations_bytes", "runtime_ram_bytes", "io_bytes",
            "ram_bytes", "flash_bytes")

# Keys a chain layer may carry for the batch evaluator to read it exactly like the spec front-end does; anything
# else (dilation, groups, keepdims, BN without centre/scale ...) takes the full path.
_CHAIN_KEYS = {
    "conv": {"type", "name", "filters", "kernel_size", "strides", "padding", "activation", "use_bias",
             "depth_multiplier"},
    "dense": {"type", "name", "units", "activation", "use_bias"},
    "pool": {"type", "name", "pool_size", "strides", "padding"},
    "plain": {"type", "name", "rate", "activation", "max_value", "negative_slope"},
}


@lru_cache(maxsize=1)
def _chain_allowed() -> dict:
    """Lower-cased layer type -> the keys the fast path reads exactly (types the batch evaluator has)."""
    from memsim.batch import SLOT_OPS
    from memsim.frontends.spec import _TYPES
    from memsim.ops import CONV_OPS, POOL_OPS

    def kind(op):
        return "conv" if op in CONV_OPS else "dense" if op == "dense" else "pool" if op in POOL_OPS else "plain"

    return {key: _CHAIN_KEYS[kind(_TYPES[key])] for key in SLOT_OPS if key != "skip"}


_SLOT_MEMO: dict = {}
_MISS = object()
_INPUT_KEYS = frozenset(("type", "name", "shape"))


def _chain_slot(item: dict) -> "tuple[bytes, bytes] | None":
    """(op code, parameters) of one chain layer as the kernel's int64 bytes, when the batch kernel reads it exactly
    like the full path, else None.

    Remembered per layer description (a template's configurations repeat the same layers): the first time, the
    spec front-end's own checks read it, so a value the full path refuses is refused here too. The key holds the
    values' types (``True`` and ``1``, ``32.0`` and ``32`` are equal keys otherwise); a description with an
    unhashable value (``kernel_size=[3, 3]``) is read each time.
    """
    try:
        key = (tuple(item.items()), tuple(map(type, item.values())))
        hit = _SLOT_MEMO.get(key, _MISS)
    except TypeError:
        key, hit = None, _MISS
    if hit is not _MISS:
        return hit
    from memsim.batch import _encode_slot
    from memsim.frontends.spec import _TYPES, _expand

    type_name = str(item["type"])
    lowered = type_name.lower().replace("_", "")
    keys = _chain_allowed().get(lowered)
    encoded = None
    if keys is not None and keys.issuperset(item):
        try:
            _expand(item, _TYPES[lowered], type_name, "")  # the full path's value checks
            op, prm = _encode_slot(0, item)
            encoded = np.int64(op).tobytes(), np.array(prm, np.int64).tobytes()
        except (SpecError, ValueError, TypeError, KeyError, OverflowError):
            pass
    if key is not None:
        if len(_SLOT_MEMO) >= 4096:
            _SLOT_MEMO.clear()
        _SLOT_MEMO[key] = encoded
    return encoded


def _as_chain(model) -> "tuple | None":
    """(name, input name, input shape, slot names, ops, params) when ``model`` is a named layer description of a
    plain chain the batch evaluator reads exactly like the full path, else None."""
    if type(model) is not dict or type(model.get("layers")) is not list or "name" not in model:
        return None
    layers = model["layers"]
    if len(layers) < 2:
        return None
    try:
        first = layers[0]
        if not first.keys() <= _INPUT_KEYS or str(first["type"]).lower() not in ("input", "inputlayer"):
            return None
        shape = tuple(first["shape"])
        names = tuple([str(item["name"]) for item in layers])
        encoded = [_chain_slot(item) for item in layers[1:]]
    except (TypeError, KeyError, AttributeError):  # not a mapping, no name/type/shape: the full path says what
        return None
    if (None in encoded or len(set(names)) != len(names) or not 1 <= len(shape) <= 3
            or not all(type(d) is int and d > 0 for d in shape)):
        return None
    ops = np.frombuffer(bytearray(b"".join([e[0] for e in encoded])), np.int64).reshape(1, -1)
    params = np.frombuffer(bytearray(b"".join([e[1] for e in encoded])), np.int64).reshape(1, -1, 8)
    return str(model["name"]), names[0], shape, names[1:], ops, params


def _chain_footprint(model, target, runtime, settings, cycles_per_macc) -> "Footprint | None":
    """``footprint`` of a plain chain through the batch kernel (one numba call, same rules and verdict), or None
    when the full path must answer: not a chain it reads exactly, shapes that do not fit (the full path names the
    layer), ops the runtime cannot run, or a prediction that carries notes."""
    if settings.dtype == "int8" and settings.profile.name == "xcubeai":
        return None
    chain = _as_chain(model)
    if chain is None:
        return None
    from memsim.batch import RESULT_FIELDS, _family

    name, input_name, shape, slot_names, ops, params = chain
    try:
        family = _family(shape, slot_names, name, input_name)
        board = get_target(target) if target is not None else None
    except (SpecError, ValueError, TypeError, KeyError):
        return None
    res = dict(zip(RESULT_FIELDS, family._run(ops, params, settings, board)[0].tolist()))
    if not res["valid"] or not res["supported"]:
        return None
    prof, dtype = settings.profile, settings.dtype
    fig = {f: res[f] for f in _FIGURES}
    extra = board.overhead(prof.name, dtype).ram_bytes if board else 0
    region = int(prof.region_from_figures(fig["activations_bytes"], fig["io_bytes"], fig["ram_bytes"], extra))
    result = dict(
        name=name, runtime=runtime if isinstance(runtime, str) else prof.name, dtype=dtype,
        compression=settings.compression, **fig, io_in_pool=bool(getattr(prof, "io_in_pool", True)),
        unsupported=(), notes=(),
        _rows=lambda: _full_footprint(model, None, runtime, dtype, settings.compression, None, None).layers,
    )
    _judge_into(result, board, settings, region, extra, cycles_per_macc)
    return Footprint._from_checked(result)
