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

import numpy as np

from memsim._errors import SpecError
from memsim._kernels.graph_ir import graph_ir
from memsim._kernels.weights import layer_sharing
from memsim._kernels.weights import weight_bytes as _weight_bytes
from memsim.graph import Graph, Layer

__all__ = [
    "COMPRESSIONS", "COMPRESSION_CHOICES", "COMPRESSION_LEVELS", "COMPRESSION_MIN_WEIGHTS", "MACC_RULES",
    "layer_macc", "total_macc", "weight_bytes", "compressed_layers",
]

COMPRESSIONS = ("none", "x4", "x8")
COMPRESSION_LEVELS = {"low": "x4", "medium": "x8", "high": "x8"}  # ST's names for them
COMPRESSION_CHOICES = COMPRESSIONS + tuple(COMPRESSION_LEVELS)  # what the commands accept
COMPRESSION_MIN_WEIGHTS = {"x4": 16_385, "x8": 512}
MIN_WEIGHTS = np.array([0] + [COMPRESSION_MIN_WEIGHTS[c] for c in COMPRESSIONS[1:]], np.int64)  # by code
_COMPRESSION_ALIASES = {"none": "none", "x1": "none", "1": "none", "lossless": "none", "x4": "x4", "4": "x4",
                        "x8": "x8", "8": "x8", **COMPRESSION_LEVELS}
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


def _sharing(graph: Graph, compression: str) -> tuple[np.ndarray, int]:
    """Per layer, the weight sharing applied (0 none, 1 x4, 2 x8): ``memsim._kernels.weights.layer_sharing``."""
    ir, ir_in = graph_ir(graph)
    shared = np.zeros(ir.shape[0], np.int64)
    count = layer_sharing(ir.shape[0], ir, ir_in, COMPRESSIONS.index(compression), MIN_WEIGHTS, shared)
    return shared, count


def compressed_layers(graph: Graph, compression: str) -> set[int]:
    """Indices of the layers whose kernels X-CUBE-AI would compress."""
    shared, _ = _sharing(graph, normalise_compression(compression))
    return {int(j) for j in np.flatnonzero(shared)}


def weight_bytes(graph: Graph, dtype: str = "float32", compression: str = "none") -> list[int]:
    """Per-layer weight bytes (list aligned with graph.layers)."""
    compression = normalise_compression(compression)
    if compression != "none" and dtype != "float32":
        raise SpecError(f"Compression {compression} applies to float32 models only; int8 models are not weight-shared.")
    shared, _ = _sharing(graph, compression)
    ir, _ = graph_ir(graph)
    out = np.zeros(ir.shape[0], np.int64)
    _weight_bytes(ir.shape[0], ir, dtype == "int8", shared, out)
    return out.tolist()
