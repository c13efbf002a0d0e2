"""A network's deployability figures (Footprint), read from any network through the graph IR and the profiles."""

from __future__ import annotations

import json
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from memsim._errors import ModelFileError, SpecError
from memsim._kernels.graph_ir import graph_ir
from memsim._kernels.timing import N_TIME_FEATURES, time_features
from memsim._latency import Timing, latency_ms, time_model
from memsim._settings import resolve
from memsim._verdict import headroom_pct, judge, safety_bytes
from memsim.frontends.spec import graph_from_spec
from memsim.graph import Graph
from memsim.metrics import compressed_layers, total_macc, weight_bytes
from targets import get_target

__all__ = ["Footprint", "load_graph"]


def load_graph(model: Any) -> Graph:
    """A Graph from a Graph, a layer list/dict, a Keras model, or a file.

    Files: ``.tflite``; ``.keras``/``.h5`` (read through their saved config); ``.onnx`` (needs the onnx
    package); ``.json`` or ``.toml`` layer descriptions.
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
        if suffix == ".onnx":
            from memsim.frontends.onnx import graph_from_onnx

            return graph_from_onnx(path)
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
            f"Model file {str(path)!r} has an unknown type {suffix or '(none)'!r}; use .tflite, .keras, .h5, .onnx, .json or .toml."
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
    ram_headroom_bytes: int | None = None
    flash_headroom_bytes: int | None = None
    ram_headroom_pct: float | None = None
    flash_headroom_pct: float | None = None
    pool_fits_region: bool | None = None
    region_bytes: int = 0               # what must fit one contiguous SRAM region (see region_what)
    region_what: str = ""
    region_headroom_bytes: int | None = None
    region_headroom_pct: float | None = None
    region_capacity_bytes: int | None = None
    ram_safety_bytes: int = 0
    flash_safety_bytes: int = 0
    safety_margin_pct: tuple[float, float] = (0.0, 0.0)   # (RAM, Flash) applied to the network's own figures
    latency_ms: float | None = None     # the time model's estimate on the target
    latency_low_ms: float | None = None  # the band the published measurements put around it
    latency_high_ms: float | None = None
    latency_basis: str = ""              # what the estimate rests on, one sentence
    latency_budget_ms: float | None = None    # the budget the verdict held latency_high_ms against
    latency_headroom_ms: float | None = None  # budget - latency_high_ms (negative: over it)
    energy_uj: float | None = None       # one inference's energy: latency x the board's published power
    energy_low_uj: float | None = None
    energy_high_uj: float | None = None
    energy_basis: str = ""
    energy_budget_uj: float | None = None
    energy_headroom_uj: float | None = None
    time_features: tuple[int, ...] = ()  # what the time model reads (memsim._kernels.timing.TIME_FEATURES)
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
        d["violation_kinds"] = [getattr(v, "kind", "unsupported") for v in self.violations]
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


def _resolve_dtype(graph: Graph, dtype: "str | None") -> "str | None":
    """A .tflite file decides its own type; asking for another one is an error, not a model that does not exist.
    None: the runtime's default."""
    if graph.tflite is None:
        return dtype or graph.dtype_hint
    from memsim.frontends.tflite import model_dtype

    file_dtype = model_dtype(graph.tflite)
    if dtype is not None and dtype != file_dtype:
        raise SpecError(f"The type of {graph.name}.tflite is fixed by the file ({file_dtype}), not {dtype}; "
                        f"drop --dtype (or pass --dtype {file_dtype}).")
    return file_dtype


def _latency_into(result: dict, board, settings, timing: Timing) -> None:
    """The latency on the board: the time model's estimate and band, or the user's own cycles per MACC; and the
    energy where the board's power is published."""
    model = time_model()
    if timing.cycles_per_macc is not None:  # the user's own measurement replaces the model, band and all
        ms = low = high = latency_ms(result["macc"], board.clock_hz, settings.dtype, timing.cycles_per_macc)
        basis = f"MACC x {timing.cycles_per_macc:g} cycles (--cycles-per-macc), not the time model"
    else:
        ms, low, high, basis, _ = model.figures(result["time_features"], board.clock_hz, board.core_class,
                                                settings.runtime.time_key, settings.dtype)
    if board.clock_assumed:
        basis += (f"; at an assumed {board.clock_hz / 1e6:g} MHz, as {board.name} gives no clock (a board file's "
                  "clock_hz sets it)")
    result["latency_ms"], result["latency_low_ms"], result["latency_high_ms"], result["latency_basis"] = (
        ms, low, high, basis)
    if timing.budget_ms is not None:
        result.update(latency_budget_ms=timing.budget_ms, latency_headroom_ms=round(timing.budget_ms - high, 3))
    if board.name in model.data["board_power"]:
        energy = model.energy(board.name, (ms, low, high))
        result.update(energy_uj=energy[0], energy_low_uj=energy[1], energy_high_uj=energy[2], energy_basis=energy[3])
        if timing.energy_budget_uj is not None:
            result.update(energy_budget_uj=timing.energy_budget_uj,
                          energy_headroom_uj=round(timing.energy_budget_uj - energy[2], 1))


def _judge_into(result: dict, board, settings, region: int, extra_ram: int, timing: Timing) -> None:
    """Safety margins, and with a board the latency, the verdict and the headrooms, added to a footprint's figures
    (one place for both paths)."""
    ram_pct, flash_pct = settings.ram_pct, settings.flash_pct
    ram, flash = result["ram_bytes"], result["flash_bytes"]
    ram_safety, flash_safety = safety_bytes(ram_pct, ram - extra_ram), safety_bytes(flash_pct, result["model_bytes"])
    region_safety = safety_bytes(ram_pct, region)
    profile = settings.profile
    result.update(ram_safety_bytes=ram_safety, flash_safety_bytes=flash_safety, safety_margin_pct=(ram_pct, flash_pct),
                  region_bytes=region, region_what=profile.region_what)
    if board is None:
        return
    _latency_into(result, board, settings, timing)
    v = judge(board, ram_bytes=ram, region_bytes=region, flash_bytes=flash, region_what=profile.region_what,
              ram_safety=ram_safety, region_safety=region_safety, flash_safety=flash_safety,
              safety_pct=(ram_pct, flash_pct), unsupported=result["unsupported"],
              latency_ms=result["latency_high_ms"], latency_budget_ms=timing.budget_ms,
              energy_uj=result.get("energy_high_uj"), energy_budget_uj=timing.energy_budget_uj)
    result.update(
        target=board.name, deployable=v.deployable, violations=v.violations,
        ram_headroom_bytes=v.ram_headroom_bytes, flash_headroom_bytes=v.flash_headroom_bytes,
        region_headroom_bytes=v.region_headroom_bytes, ram_headroom_pct=headroom_pct(v.ram_headroom_bytes, board.ram_bytes),
        flash_headroom_pct=headroom_pct(v.flash_headroom_bytes, board.flash_bytes),
        region_headroom_pct=headroom_pct(v.region_headroom_bytes, board.largest_region_bytes),
        region_capacity_bytes=board.largest_region_bytes,
        pool_fits_region=v.region_headroom_bytes >= 0,
    )


def _full_footprint(model, target, runtime, dtype, compression, timing: "Timing | None", margin) -> Footprint:
    """``memsim.footprint`` through the graph IR and the profile (any network; the reference for the batch kernel)."""
    timing = timing or Timing()
    graph = load_graph(model)
    settings = resolve(runtime, _resolve_dtype(graph, dtype), compression, margin)
    profile, dtype, compression = settings.profile, settings.dtype, settings.compression
    board = get_target(target) if target is not None else None
    per_layer_weights = weight_bytes(graph, dtype, compression)
    w_bytes = sum(per_layer_weights)
    plan = profile.activation_plan(graph, dtype)
    overhead = board.overhead(settings.runtime.family, dtype) if board else None
    runtime_ram = profile.runtime_ram(graph, dtype, overhead.ram_bytes if overhead else 0)
    model_bytes = profile.model_bytes(graph, dtype, w_bytes)
    io_outside = 0 if plan.io_in_pool else plan.io_bytes
    ram = plan.pool_bytes + io_outside + runtime_ram
    flash = model_bytes + (overhead.code_flash_bytes if overhead else 0)
    macc = total_macc(graph)
    ir, ir_in = graph_ir(graph)
    features = np.zeros(N_TIME_FEATURES, np.int64)
    time_features(len(graph.layers), ir, ir_in, features, 0, int(profile.fuses_argument_activations))
    chosen = compressed_layers(graph, compression)
    rows = lambda: [  # noqa: E731  (built only when someone reads Footprint.layers)
        {"name": layer.name, "type": _layer_type(layer, graph.tflite is not None),
         "op": layer.op, "shape": list(layer.shape),
         "params": layer.params, "weights_bytes": per_layer_weights[i], "macc": layer.macc,
         "live_bytes": plan.layer_live_bytes[i], "compressed": i in chosen}
        for i, layer in enumerate(graph.layers)
    ]
    result = dict(
        name=graph.name, runtime=settings.runtime.name, dtype=dtype,
        compression=compression, macc=macc, params=graph.params, weights_bytes=w_bytes, model_bytes=model_bytes,
        activations_bytes=plan.pool_bytes, runtime_ram_bytes=runtime_ram, io_bytes=plan.io_bytes,
        io_in_pool=plan.io_in_pool, ram_bytes=ram, flash_bytes=flash, _rows=rows,
        time_features=tuple(features.tolist()),
        unsupported=tuple(profile.check(graph, dtype)), notes=tuple(profile.notes(graph, dtype)),
    )
    _judge_into(result, board, settings, profile.region_bytes(graph, dtype, plan),
                overhead.ram_bytes if overhead else 0, timing)
    return Footprint(**result)
