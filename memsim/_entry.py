"""memsim's two entry points: ``footprint`` (one network) and ``footprint_many`` (any number, the batch path).

Both answer through the same two routes and the same verdict: a plain named chain of layers the batch kernel reads
exactly goes through it (``memsim.batch``, many at once, grouped by layer structure); anything else - graphs with
branches, files, Keras models, layers the kernel has no slot for, shapes that do not fit, ops the runtime cannot
run - through the graph IR and the profiles (``memsim._footprint``). The tests hold the two routes equal.
"""

from __future__ import annotations

from functools import lru_cache
from collections.abc import Sequence
from typing import Any

import numpy as np

from memsim._errors import MemsimError, ShapeError, SpecError
from memsim._footprint import Footprint, _full_footprint, _judge_into
from memsim._kernels.timing import TIME_FEATURES
from memsim._latency import Timing, time_model
from memsim._settings import check_board, resolve_shared
from memsim.batch import RESULT_FIELDS, SLOT_OPS, _encode_slot, _family
from memsim.profiles import Runtime
from targets import Target, get_target

__all__ = ["footprint", "footprint_many"]


def footprint(
    model: Any,
    target: "str | Target | None" = None,
    runtime: "str | Runtime | None" = None,
    dtype: "str | None" = None,
    compression: "str | None" = None,
    cycles_per_macc: float | None = None,
    margin: "float | tuple[float, float] | None" = None,
    latency_budget_ms: float | None = None,
    energy_budget_uj: float | None = None,
) -> Footprint:
    """Compute RAM, Flash, MACC and the deployability verdict of a network.

    Parameters
    ----------
    model : path, layer list, Graph or Keras model
        The network.
    target : str or Target, optional
        A board name/alias or Target; without it no verdict is given.
    runtime : str or Runtime, optional
        A runtime's name or alias (``memsim.RUNTIMES``: "tflm", "xcubeai", "xcubeai-time", "xcubeai-5") or the
        object; default ``memsim.DEFAULT_RUNTIME`` (tflm).
    dtype : {"float32", "int8"}, optional
        Weight/activation type of the deployed model; default the runtime's (int8 for tflm, float32 for
        X-CUBE-AI), and for a ``.tflite`` file the file's own type (another one is an error).
    compression : {"none", "x4", "x8"}, optional
        X-CUBE-AI weight sharing (float32 only); default the runtime's for float32 (x8 for X-CUBE-AI, as in the
        papers), else none.
    cycles_per_macc : float, optional
        Your own cycles per MACC (a measurement of your own): latency = MACC x it / clock, in place of the time
        model (``memsim.time_model()``, calibrated on published on-board measurements).
    margin : float or (float, float), optional
        Safety margin in percent of the network's own RAM and Flash (one
        value for both, or a (RAM, Flash) pair), added before the verdict.
        Defaults to the profile's ``SAFETY_MARGIN_PCT``: the worst
        under-prediction observed against the real toolchain.
    latency_budget_ms : float, optional
        A latency budget (ms) the verdict holds the top of the latency band against (``latency_high_ms``: the
        slowest the published measurements put such an estimate), as it holds RAM and Flash with their margins.
    energy_budget_uj : float, optional
        An energy budget per inference (uJ), held against the top of the energy band (latency x the board's
        published power); only on boards whose power a published measurement gives.

    The verdict (``memsim._verdict.judge``) is deployable when RAM and Flash,
    each with its safety margin, fit the board and the bytes the runtime
    needs in one piece (``region_bytes``: X-CUBE-AI's activation pool, TFLM's
    whole arena) fit the largest SRAM region; the ``*_headroom_bytes`` fields
    are the headroom left after the safety margin.
    """
    result = footprint_many([model], target, runtime, dtype, compression, cycles_per_macc, margin,
                           latency_budget_ms, energy_budget_uj)[0]
    if isinstance(result, MemsimError):
        raise result
    return result


def footprint_many(models: Sequence[Any], target: "str | Target | None" = None,
                   runtime: "str | Runtime | None" = None, dtype: "str | None" = None,
                   compression: "str | None" = None, cycles_per_macc: float | None = None,
                   margin: "float | tuple[float, float] | None" = None,
                   latency_budget_ms: float | None = None,
                   energy_budget_uj: float | None = None) -> "list[Footprint | ShapeError]":
    """``footprint`` of many networks at once, one entry per model in the order given.

    Arguments as ``footprint``. Networks whose shapes do not fit (a window larger than its input) are a fact
    about a configuration, not a mistake: their entry is the ``ShapeError`` naming the layer, and the rest are
    answered. Any other error (a bad option, an unknown layer or board) is raised.

    Plain named chains the batch kernel reads are evaluated in one kernel call per layer structure; the figures
    and verdicts are those ``footprint`` gives one at a time.
    """
    settings = resolve_shared(runtime, dtype, compression, margin)  # refuse before reading models
    runtime = settings.runtime  # resolved once: passed down as the object
    timing = Timing(cycles_per_macc, latency_budget_ms, energy_budget_uj)
    board = get_target(target) if target is not None else None
    check_board(settings, board)
    time_model().check_energy_budget(board, energy_budget_uj)
    results: list = [None] * len(models)
    groups: dict = {}
    batchable = settings.profile.batchable(settings.dtype)
    for i, model in enumerate(models):
        chain = _as_chain(model) if batchable else None
        if chain is None:
            results[i] = _full(model, target, runtime, dtype, compression, timing, margin)
        else:
            groups.setdefault(chain[:4], []).append((i, chain[4], chain[5]))
    for (name, input_name, shape, slot_names), members in groups.items():
        try:
            family = _family(shape, slot_names, name, input_name)
        except (SpecError, ValueError, TypeError, KeyError):  # the graph path says what is wrong
            for i, _, _ in members:
                results[i] = _full(models[i], target, runtime, dtype, compression, timing, margin)
            continue
        if len(members) == 1:  # footprint's own case: no copy
            ops, params = members[0][1], members[0][2]
        else:
            ops = np.concatenate([m[1] for m in members])
            params = np.concatenate([m[2] for m in members])
        rows = family._run(ops, params, settings, board).tolist()
        for (i, _, _), row in zip(members, rows):
            if row[_VALID] and row[_SUPPORTED]:
                results[i] = _from_kernel(models[i], name, row, settings, board, runtime, timing)
            else:  # the graph path names the layer whose shapes do not fit, or the op the runtime cannot run
                results[i] = _full(models[i], target, runtime, dtype, compression, timing, margin)
    return results


def _full(model, target, runtime, dtype, compression, timing, margin) -> "Footprint | ShapeError":
    try:
        return _full_footprint(model, target, runtime, dtype, compression, timing, margin)
    except ShapeError as exc:
        return exc


def _from_kernel(model, name, row, settings, board, runtime, timing) -> Footprint:
    """A Footprint from one row of the batch kernel (``RESULT_FIELDS``), with the verdict ``footprint`` gives (one
    function for both)."""
    prof, dtype = settings.profile, settings.dtype
    fig = dict(zip(_FIGURES, row))  # the figures are the row's first columns
    fig["time_features"] = tuple(row[_TIME:_TIME + len(TIME_FEATURES)])
    extra = board.overhead(settings.runtime.family, dtype).ram_bytes if board else 0
    region = int(prof.region_from_figures(fig["activations_bytes"], fig["io_bytes"], fig["ram_bytes"], extra))
    result = dict(
        name=name, runtime=settings.runtime.name, dtype=dtype,
        compression=settings.compression, **fig, io_in_pool=bool(getattr(prof, "io_in_pool", True)),
        unsupported=(), notes=(),
        _rows=lambda: _full_footprint(model, None, runtime, dtype, settings.compression, Timing(), None).layers,
    )
    _judge_into(result, board, settings, region, extra, timing)
    return Footprint._from_checked(result)


_FIGURES = ("macc", "params", "weights_bytes", "model_bytes", "activations_bytes", "runtime_ram_bytes", "io_bytes",
            "ram_bytes", "flash_bytes")
assert RESULT_FIELDS[:len(_FIGURES)] == _FIGURES
_VALID, _SUPPORTED, _TIME = (RESULT_FIELDS.index(f) for f in ("valid", "supported", TIME_FEATURES[0]))

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
    from memsim.frontends.spec import _TYPES
    from memsim.ops import CONV_OPS, POOL_OPS

    def kind(op):
        return "conv" if op in CONV_OPS else "dense" if op == "dense" else "pool" if op in POOL_OPS else "plain"

    return {key: _CHAIN_KEYS[kind(_TYPES[key])] for key in SLOT_OPS if key != "skip"}


_SLOT_MEMO: dict = {}
_MISS = object()
_INPUT_KEYS = frozenset(("type", "name", "shape"))


def _chain_slot(item: dict, key: "tuple | None") -> "tuple[bytes, bytes] | None":
    """(op code, parameters) of one chain layer as the kernel's int64 bytes, when the batch kernel reads it exactly
    like the full path, else None; remembered under ``key`` (``_as_chain`` looks it up first) unless that is None.

    The spec front-end's own checks read the layer, so a value the full path refuses is refused here too.
    """
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
        encoded = []
        for item in layers[1:]:  # a template's configurations repeat the same layers: each is read once
            try:  # the key holds the values' types (True and 1, 32.0 and 32 are equal keys otherwise)
                key = (*item.items(), *map(type, item.values()))
                hit = _SLOT_MEMO.get(key, _MISS)
            except TypeError:  # an unhashable value (kernel_size=[3, 3]): read each time
                key, hit = None, _MISS
            encoded.append(_chain_slot(item, key) if hit is _MISS else hit)
    except (TypeError, KeyError, AttributeError):  # not a mapping, no name/type/shape: the full path says what
        return None
    if (None in encoded or len(set(names)) != len(names) or not 1 <= len(shape) <= 3
            or not all(type(d) is int and d > 0 for d in shape)):
        return None
    ops = np.frombuffer(bytearray(b"".join([e[0] for e in encoded])), np.int64).reshape(1, -1)
    params = np.frombuffer(bytearray(b"".join([e[1] for e in encoded])), np.int64).reshape(1, -1, 8)
    return str(model["name"]), names[0], shape, names[1:], ops, params
