"""Pure functions of the IR: MACC, weight bytes, compression.

Weight storage (X-CUBE-AI and TFLM agree on the payload):

* float32: 4 B per weight and per bias;
* int8: 1 B per weight, 4 B (int32) per bias; a BatchNorm kept as
  scale + bias stores both as int8 (as X-CUBE-AI's int8 reports show).

X-CUBE-AI weight sharing (float models only), inferred from real reports:

* ``x4`` (``low``): 8-bit indices into a 256-entry float table:
  ``n + 1024`` bytes for n weights;
* ``x8`` (``medium``/``high``): 4-bit indices into a 16-entry table:
  ``ceil(n / 2) + 64`` bytes;
* only dense kernels are compressed; biases stay float; the output dense
  layer (the classifier) was never compressed in any report;
* a layer needs at least ``COMPRESSION_MIN_WEIGHTS[factor]`` weights. For
  x8 a 600-weight layer was compressed (7.2, ``high``). For x4 the slides'
  HAR figure (794.14 KB) holds only if the 16,384-weight dense_2 stays
  float, so the x4 threshold is above 16,384. ST does not publish them.
"""

from __future__ import annotations

from math import ceil

from memsim._errors import SpecError
from memsim.graph import Graph, Layer

__all__ = [
    "COMPRESSIONS", "COMPRESSION_MIN_WEIGHTS", "MACC_RULES",
    "layer_macc", "total_macc", "layer_weight_bytes", "weight_bytes", "compressed_layers",
]

COMPRESSIONS = ("none", "x4", "x8")
COMPRESSION_MIN_WEIGHTS = {"x4": 16_385, "x8": 512}
_COMPRESSION_ALIASES = {"none": "none", "x1": "none", "1": "none", "lossless": "none",
                        "x4": "x4", "4": "x4", "low": "x4", "x8": "x8", "8": "x8", "medium": "x8", "high": "x8"}
# "7.2": X-CUBE-AI >= 7.2 and ST Edge AI; "5": X-CUBE-AI 5.x, which counts
# dense layers without the bias (the seeds' 874,970 for the HAR baseline).
MACC_RULES = ("7.2", "5")


def normalise_compression(value: str) -> str:
    key = str(value).lower()
    if key not in _COMPRESSION_ALIASES:
        raise SpecError(f"Unknown compression {value!r}; use one of none, x4, x8 (or low, medium, high).")
    return _COMPRESSION_ALIASES[key]


def layer_macc(layer: Layer, rules: str = "7.2") -> int:
    if rules == "5" and layer.op == "dense":
        return layer.macc - layer.biases
    return layer.macc


def total_macc(graph: Graph, rules: str = "7.2") -> int:
    """Total MACC under the given counting rules ("7.2" or "5")."""
    if rules not in MACC_RULES:
        raise SpecError(f"Unknown MACC rules {rules!r}; use one of {', '.join(MACC_RULES)}.")
    return sum(layer_macc(layer, rules) for layer in graph.layers)


def _output_dense(graph: Graph) -> set[int]:
    """Dense layers whose result reaches a graph output through shape-only or element-wise layers."""
    result = set()
    for o in graph.outputs:
        i = o
        while graph.layers[i].op in ("activation", "dropout", "flatten", "reshape", "batch_norm"):
            i = graph.layers[i].inputs[0]
        if graph.layers[i].op == "dense":
            result.add(i)
    return result


def compressed_layers(graph: Graph, compression: str) -> set[int]:
    """Indices of the layers whose kernels X-CUBE-AI would compress."""
    compression = normalise_compression(compression)
    if compression == "none":
        return set()
    threshold = COMPRESSION_MIN_WEIGHTS[compression]
    skip = _output_dense(graph)
    return {i for i, layer in enumerate(graph.layers)
            if layer.op == "dense" and i not in skip and layer.weights >= threshold}


def layer_weight_bytes(layer: Layer, dtype: str, compressed: str = "none") -> int:
    """Bytes a layer's weights and biases take in Flash."""
    if dtype == "int8":
        if layer.op == "batch_norm":
            return layer.weights + layer.biases
        return layer.weights + 4 * layer.biases
    if compressed == "x4":
        return layer.weights + 1024 + 4 * layer.biases
    if compressed == "x8":
        return ceil(layer.weights / 2) + 64 + 4 * layer.biases
    return 4 * (layer.weights + layer.biases)


def weight_bytes(graph: Graph, dtype: str = "float32", compression: str = "none") -> list[int]:
    """Per-layer weight bytes (list aligned with graph.layers)."""
    compression = normalise_compression(compression)
    if compression != "none" and dtype != "float32":
        raise SpecError(f"Compression {compression} applies to float32 models only; int8 models are not weight-shared.")
    chosen = compressed_layers(graph, compression)
    return [layer_weight_bytes(layer, dtype, compression if i in chosen else "none")
            for i, layer in enumerate(graph.layers)]
