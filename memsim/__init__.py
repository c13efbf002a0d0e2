"""memsim: a layer-by-layer deployability simulator for microcontrollers.

>>> import memsim
>>> fp = memsim.footprint([{"type": "Input", "shape": [20]}, {"type": "Dense", "units": 4}], target="paper-tiny")
>>> fp.macc, fp.weights_bytes, fp.deployable
(84, 336, True)

Importing memsim never imports TensorFlow; only Keras input does, lazily.
"""

from memsim._errors import MemsimError, ModelFileError, ShapeError, SpecError, UnsupportedLayerError
from memsim._entry import footprint, footprint_many
from memsim._footprint import Footprint, load_graph
from memsim._jit import user_cache_dir
from memsim._verdict import MEMORY_KINDS, TIME_KINDS, Verdict, Violation, headroom_pct, judge
from memsim._kernels.timing import TIME_FEATURES
from memsim._latency import CYCLES_PER_MACC, LatencyEstimate, TimeModel, latency_ms, time_model
from memsim.frontends.spec import SUPPORTED_LAYERS, graph_from_spec
from memsim.graph import Graph, Layer
from memsim._settings import DTYPES, Settings, check_board, deployment_defaults, resolve
from memsim.metrics import COMPRESSION_CHOICES, COMPRESSIONS, total_macc, weight_bytes
from memsim.profiles import (DEFAULT_RUNTIME, PROFILES, RUNTIMES, Runtime, get_profile, get_runtime, register_runtime,
                             unregister_runtime)

__all__ = [
    "MemsimError", "ModelFileError", "ShapeError", "SpecError", "UnsupportedLayerError",
    "CYCLES_PER_MACC", "LatencyEstimate", "TIME_FEATURES", "TimeModel", "time_model", "Footprint", "footprint", "footprint_many", "latency_ms", "load_graph",
    "SUPPORTED_LAYERS", "graph_from_spec", "Graph", "Layer",
    "COMPRESSIONS", "COMPRESSION_CHOICES", "DTYPES", "DEFAULT_RUNTIME", "RUNTIMES", "Runtime", "get_runtime",
    "register_runtime", "unregister_runtime", "Settings", "check_board", "deployment_defaults", "resolve", "total_macc", "weight_bytes",
    "PROFILES", "get_profile", "MEMORY_KINDS", "TIME_KINDS", "Verdict", "Violation", "headroom_pct", "judge", "user_cache_dir",
]
