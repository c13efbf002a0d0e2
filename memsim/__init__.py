"""memsim: a layer-by-layer deployability simulator for microcontrollers.

>>> import memsim
>>> fp = memsim.footprint([{"type": "Input", "shape": [20]}, {"type": "Dense", "units": 4}], target="paper-tiny")
>>> fp.macc, fp.weights_bytes, fp.deployable
(84, 336, True)

Importing memsim never imports TensorFlow; only Keras input does, lazily.
"""

from memsim._errors import MemsimError, ModelFileError, ShapeError, SpecError, UnsupportedLayerError
from memsim._footprint import CYCLES_PER_MACC, Footprint, footprint, load_graph
from memsim.frontends.spec import SUPPORTED_LAYERS, graph_from_spec
from memsim.graph import Graph, Layer
from memsim.metrics import COMPRESSIONS, total_macc, weight_bytes
from memsim.profiles import PROFILES, get_profile

__all__ = [
    "MemsimError", "ModelFileError", "ShapeError", "SpecError", "UnsupportedLayerError",
    "CYCLES_PER_MACC", "Footprint", "footprint", "load_graph",
    "SUPPORTED_LAYERS", "graph_from_spec", "Graph", "Layer",
    "COMPRESSIONS", "total_macc", "weight_bytes", "PROFILES", "get_profile",
]
