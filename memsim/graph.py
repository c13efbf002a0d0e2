"""The intermediate representation: a network as a graph of layers.

Every layer produces one tensor; ``Layer.inputs`` are indices of earlier
layers, so a graph is stored in topological order and a tensor's lifetime is
from its producer to its last consumer. Shapes exclude the batch dimension.
The IR is independent of data type: bytes are computed by the runtime
profiles for float32 or int8.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

__all__ = ["Layer", "Graph"]


@dataclass(frozen=True, slots=True)
class Layer:
    """One node of the graph.

    Attributes
    ----------
    name : str
        Unique layer name.
    op : str
        Canonical op kind (``"conv2d"``, ``"dense"``, ``"activation"``, ...).
    inputs : tuple of int
        Indices of the layers whose outputs this layer reads.
    shape : tuple of int
        Output shape without the batch dimension.
    weights : int
        Stored weight count (kernel, depthwise kernel, BN scale), not bytes.
    biases : int
        Stored bias count (stored as int32 in int8 models).
    macc : int
        Multiply-accumulates under the X-CUBE-AI >= 7.2 counting rules.
    attrs : dict
        Op attributes (kernel, strides, padding, activation, ...).
    source_type : str
        The original layer class, e.g. ``"Conv2D"``, for tables and errors.
    """

    name: str
    op: str
    inputs: tuple[int, ...]
    shape: tuple[int, ...]
    weights: int = 0
    biases: int = 0
    macc: int = 0
    attrs: dict = field(default_factory=dict, compare=True, hash=False)
    source_type: str = ""

    @property
    def size(self) -> int:
        """Elements in the output tensor."""
        return prod(self.shape)

    @property
    def params(self) -> int:
        """Stored parameters (weights + biases)."""
        return self.weights + self.biases


@dataclass(frozen=True, slots=True)
class Graph:
    """A network: layers in topological order plus its outputs.

    ``keras_params`` is the parameter count as Keras reports it (BN keeps 4
    per channel there), kept for comparison with ``model.count_params()``.
    """

    name: str
    layers: tuple[Layer, ...]
    outputs: tuple[int, ...]
    keras_params: int = 0
    # The parsed file when the graph came from a .tflite (exact TFLM structure).
    tflite: object = field(default=None, compare=False, repr=False)
    # The type a file stores its network in where it says (an ONNX QDQ graph: int8); None: float32 unless asked.
    dtype_hint: "str | None" = field(default=None, compare=False)

    @property
    def inputs(self) -> tuple[int, ...]:
        return tuple(i for i, layer in enumerate(self.layers) if layer.op == "input")

    @property
    def macc(self) -> int:
        return sum(layer.macc for layer in self.layers)

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)
