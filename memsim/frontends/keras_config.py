"""Read a .keras or .h5 file's saved model config into a layer description, without Keras.

Keras 3 refuses many files that TF 2.x Keras wrote (``groups`` in DepthwiseConv2D, old config keys) and cannot
load custom layers it does not know; but memsim needs only the architecture, which every such file stores as
JSON: ``config.json`` inside a .keras archive, the ``model_config`` attribute of a .h5 file. This module turns
that JSON into the layer description ``memsim.frontends.spec`` reads: Sequential and functional models, TF 2.x
and Keras 3 node formats, nested models flattened. h5py (a TensorFlow dependency) is imported only for .h5.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Callable

from memsim._errors import ModelFileError, UnsupportedLayerError

__all__ = ["read_model_config", "spec_from_config"]

_MODELS = ("Sequential", "Functional", "Model")


def read_model_config(path: "str | Path") -> dict:
    """The model config JSON of a .keras archive or a .h5 file."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".keras":
            with zipfile.ZipFile(path) as archive:
                if "config.json" not in archive.namelist():
                    raise ModelFileError(f"{str(path)!r} is a zip archive without config.json, so not a .keras "
                                         "model; save the model again with model.save('name.keras').")
                return json.loads(archive.read("config.json"))
        import h5py

        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
            if raw is None:
                raise ModelFileError(f"{str(path)!r} holds weights only (no model config); save the whole model with "
                                     "model.save('name.h5'), or export a .tflite and pass that.")
            return json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except (zipfile.BadZipFile, OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{str(path)!r} could not be read as a Keras model file ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); check that the file is "
                             "complete.") from None


def _shape(config: dict, name: str) -> list:
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if not shape:
        raise ModelFileError(f"Model input {name!r} has no shape in the saved config; build the model with "
                             "keras.Input(shape=...) and save it again.")
    dims = list(shape[1:])
    if any(d is None for d in dims):
        raise ModelFileError(f"Model input {name!r} has no fixed shape {tuple(dims)}; give every dimension.")
    return dims


def _history_names(obj: Any) -> list[str]:
    """Source layer names of one inbound node, in TF 2.x ([[name, node, tensor, kwargs], ...]) or Keras 3
    ({"args": [keras tensors], "kwargs": ...}) form."""
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            return [obj["config"]["keras_history"][0]]
        if "args" in obj:
            return _history_names(obj["args"])
        return []
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], str):  # a TF 2.x history entry
            return [obj[0]]
        names = []
        for item in obj:
            names += _history_names(item)
        return names
    return []


def _io_names(entry: Any) -> list[str]:
    """input_layers / output_layers: [[name, 0, 0], ...] or, for one tensor, [name, 0, 0]."""
    if not entry:
        return []
    if isinstance(entry[0], str):
        return [entry[0]]
    return [e[0] for e in entry]


class _Builder:
    """Flattens (possibly nested) model configs into one list of layer descriptions."""

    def __init__(self, layer_spec: Callable[[str, str, dict], dict]):
        self.layer_spec = layer_spec
        self.layers: list[dict] = []

    def model(self, entry: dict, prefix: str = "", sources: "list[str] | None" = None) -> list[str]:
        """Add a model's layers; ``sources`` feed a nested model's inputs. Returns its output layer names."""
        kind = entry.get("class_name")
        config = entry.get("config", {})
        if kind == "Sequential":
            return self._sequential(config, prefix, sources)
        if kind in ("Functional", "Model"):
            return self._functional(config, prefix, sources)
        raise UnsupportedLayerError(f"The saved model is a {kind}, not a Sequential or functional model; export it to "
                                    ".tflite and pass that.")

    def _add(self, kind: str, name: str, config: dict, inputs: list[str]) -> str:
        spec = self.layer_spec(kind, name, config)
        spec["inputs"] = inputs
        self.layers.append(spec)
        return name

    def _sequential(self, config: dict, prefix: str, sources) -> list[str]:
        prev = sources
        for i, item in enumerate(config.get("layers", [])):
            kind, cfg = item.get("class_name"), item.get("config", {})
            name = prefix + cfg.get("name", f"layer_{i}")
            if kind == "InputLayer":
                if prev is None:
                    self.layers.append({"type": "Input", "name": name, "shape": _shape(cfg, name)})
                    prev = [name]
                continue
            if prev is None:  # TF 2.x Sequential without an InputLayer: the first layer carries the shape
                input_name = prefix + "input"
                self.layers.append({"type": "Input", "name": input_name, "shape": _shape(cfg, name)})
                prev = [input_name]
            if kind in _MODELS:
                prev = self.model(item, name + "/", prev)
                continue
            prev = [self._add(kind, name, cfg, prev)]
        return prev or []

    def _functional(self, config: dict, prefix: str, sources) -> list[str]:
        alias: dict[str, str] = {}
        inputs = _io_names(config.get("input_layers"))
        for item in config.get("layers", []):
            kind, cfg = item.get("class_name"), item.get("config", {})
            local = item.get("name") or cfg.get("name")
            name = prefix + local
            nodes = item.get("inbound_nodes") or []
            if len(nodes) > 1:
                raise UnsupportedLayerError(f"Layer {local!r} is called {len(nodes)} times (a shared layer); memsim "
                                            "reads each layer once. Export the model to .tflite and pass that.")
            if kind == "InputLayer":
                if sources is not None:  # a nested model's input is its caller's tensor
                    alias[local] = sources[inputs.index(local)] if local in inputs and len(sources) > 1 else sources[0]
                else:
                    self.layers.append({"type": "Input", "name": name, "shape": _shape(cfg, name)})
                    alias[local] = name
                continue
            srcs = [alias.get(s, prefix + s) for s in (_history_names(nodes[0]) if nodes else [])]
            if kind in _MODELS:
                outs = self.model(item, name + "/", srcs)
                alias[local] = outs[0]
                continue
            alias[local] = self._add(kind, name, cfg, srcs)
        return [alias.get(n, prefix + n) for n in _io_names(config.get("output_layers"))]


def spec_from_config(model_config: dict, layer_spec: Callable[[str, str, dict], dict]) -> dict:
    """The layer description of a saved model config; ``layer_spec(class_name, name, config)`` maps one layer."""
    builder = _Builder(layer_spec)
    outputs = builder.model(model_config)
    for spec in builder.layers:
        if spec["name"] in outputs:
            spec["output"] = True
    name = model_config.get("config", {}).get("name") or "model"
    return {"name": name, "layers": builder.layers}
