"""One call from a network to its deployability figures on a target."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memsim._errors import ModelFileError, SpecError
from memsim.frontends.spec import graph_from_spec
from memsim.graph import Graph
from memsim.metrics import compressed_layers, normalise_compression, total_macc, weight_bytes
from memsim.profiles import get_profile
from targets import Target, get_target

__all__ = ["CYCLES_PER_MACC", "Footprint", "footprint", "load_graph"]

# Latency assumption: cycles per MACC on a Cortex-M4F. Not measured here;
# ST quotes roughly 5-10 cycles/MACC for float32 and 2-4 for int8 with
# CMSIS-NN depending on layer shapes. Override with ``cycles_per_macc``.
CYCLES_PER_MACC = {"float32": 6.0, "int8": 3.0}
DTYPES = ("float32", "int8")


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
    layers: list[dict] = field(default_factory=list)
    target: str | None = None
    deployable: bool | None = None
    ram_margin_bytes: int | None = None
    flash_margin_bytes: int | None = None
    ram_margin_pct: float | None = None
    flash_margin_pct: float | None = None
    pool_fits_region: bool | None = None
    latency_ms: float | None = None
    violations: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["violations"] = list(self.violations)
        d["unsupported"] = list(self.unsupported)
        return d


def footprint(
    model: Any,
    target: "str | Target | None" = None,
    runtime: str = "xcubeai",
    dtype: str = "float32",
    compression: str = "none",
    cycles_per_macc: float | None = None,
) -> Footprint:
    """Compute RAM, Flash, MACC and the deployability verdict of a network.

    Parameters
    ----------
    model : path, layer list, Graph or Keras model
        The network.
    target : str or Target, optional
        A board name/alias or Target; without it no verdict is given.
    runtime : {"xcubeai", "xcubeai-5", "tflm"}
        Runtime profile.
    dtype : {"float32", "int8"}
        Weight/activation type of the deployed model.
    compression : {"none", "x4", "x8"}
        X-CUBE-AI weight sharing (float32 only).
    cycles_per_macc : float, optional
        Latency assumption; defaults to CYCLES_PER_MACC[dtype].
    """
    if dtype not in DTYPES:
        raise SpecError(f"Unknown dtype {dtype!r}; use float32 or int8.")
    compression = normalise_compression(compression)
    profile = get_profile(runtime)
    if compression != "none" and profile.name != "xcubeai":
        raise SpecError(f"Compression {compression} is an X-CUBE-AI feature; use --runtime xcubeai or --compression none.")
    graph = load_graph(model)
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
    rows = [
        {"name": layer.name,
         "type": f"{layer.attrs['activation']}" if layer.op == "activation" else (layer.source_type or layer.op),
         "op": layer.op, "shape": list(layer.shape),
         "params": layer.params, "weights_bytes": per_layer_weights[i], "macc": layer.macc,
         "live_bytes": plan.layer_live_bytes[i], "compressed": i in chosen}
        for i, layer in enumerate(graph.layers)
    ]
    result = dict(
        name=graph.name, runtime=profile.name if not isinstance(runtime, str) else runtime, dtype=dtype,
        compression=compression, macc=macc, params=graph.params, weights_bytes=w_bytes, model_bytes=model_bytes,
        activations_bytes=plan.pool_bytes, runtime_ram_bytes=runtime_ram, io_bytes=plan.io_bytes,
        io_in_pool=plan.io_in_pool, ram_bytes=ram, flash_bytes=flash, layers=rows,
        unsupported=tuple(profile.check(graph, dtype)),
    )
    if board is not None:
        violations = list(result["unsupported"])
        fits_region = plan.pool_bytes + io_outside <= board.largest_region_bytes
        if ram > board.ram_bytes:
            violations.append(f"RAM {ram:,} B > {board.ram_bytes:,} B")
        if not fits_region:
            violations.append(f"activation pool {plan.pool_bytes + io_outside:,} B > largest SRAM region "
                              f"{board.largest_region_bytes:,} B")
        if flash > board.flash_bytes:
            violations.append(f"Flash {flash:,} B > {board.flash_bytes:,} B")
        cpm = cycles_per_macc if cycles_per_macc is not None else CYCLES_PER_MACC[dtype]
        result.update(
            target=board.name, deployable=not violations,
            ram_margin_bytes=board.ram_bytes - ram, flash_margin_bytes=board.flash_bytes - flash,
            ram_margin_pct=round(100.0 * (board.ram_bytes - ram) / board.ram_bytes, 2) if board.ram_bytes else None,
            flash_margin_pct=round(100.0 * (board.flash_bytes - flash) / board.flash_bytes, 2) if board.flash_bytes else None,
            pool_fits_region=fits_region, latency_ms=round(1000.0 * macc * cpm / board.clock_hz, 3),
            violations=tuple(violations),
        )
    return Footprint(**result)
