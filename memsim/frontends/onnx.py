"""Read an ONNX graph into memsim's layer description (sizes only: no ONNX Runtime).

ONNX is channels-first (N, C, H, W); memsim's layers are channels-last, so each feature map is described as
(H, W, C) and every figure (weights, MACC, buffer sizes) comes out the same. Nodes map to layers one to one where
X-CUBE-AI's ONNX importer keeps them apart (a Relu after a Conv stays a layer, as its reports list it); a MatMul
followed by the Add of a constant is one Dense, as a Gemm is. Layout-only nodes (Transpose, Identity, Dropout,
Cast) and the int8 QDQ pairs (QuantizeLinear / DequantizeLinear) pass their tensor through; QLinearConv and
QLinearMatMul read as their float forms. A graph with QDQ or QLinear nodes is int8 (``Graph.dtype_hint``).

Needs the ``onnx`` package (``pip install onnx``), imported only when a file is read.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from memsim._errors import ModelFileError, UnsupportedLayerError
from memsim.frontends.spec import graph_from_spec
from memsim.graph import Graph

__all__ = ["graph_from_onnx", "spec_from_onnx"]

_PASS_THROUGH = {"Identity", "Dropout", "Transpose", "Cast", "QuantizeLinear", "DequantizeLinear"}
_QUANTISED = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul"}
_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softmax": "softmax", "Elu": "elu",
                "Selu": "selu"}
SUPPORTED_NODES = tuple(sorted({"Conv", "QLinearConv", "Gemm", "MatMul", "QLinearMatMul", "Add", "MaxPool",
                                "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization", "Flatten",
                                "Reshape", "Squeeze", "Concat", "Pad", "Clip", "LeakyRelu", *_ACTIVATIONS,
                                *_PASS_THROUGH}))


def graph_from_onnx(model: Any) -> Graph:
    """memsim's Graph of an ``.onnx`` file (or a loaded ``onnx.ModelProto``)."""
    spec, quantised = spec_from_onnx(model)
    graph = graph_from_spec(spec)
    return replace(graph, dtype_hint="int8" if quantised else "float32")  # the file's own type


def spec_from_onnx(model: Any) -> tuple[dict, bool]:
    """(layer description, whether the graph is int8-quantised) of an ONNX model or file."""
    onnx = _onnx()
    name, model_path = "model", None
    if isinstance(model, (str, Path)):
        model_path = model
        path = Path(model)
        if not path.is_file():
            raise ModelFileError(f"Model file {str(path)!r} does not exist.")
        if path.stat().st_size == 0:
            raise ModelFileError(f"{str(path)!r} is empty (0 bytes); export the model again.")
        try:
            model = onnx.load(str(path))
        except Exception as exc:  # protobuf's DecodeError and friends: not an ONNX file
            raise ModelFileError(f"{str(path)!r} is not a readable ONNX file ({type(exc).__name__}); check the "
                                 "file (a complete download?) or export the model again.") from None
        name = path.stem
    _check_versions(onnx, model, str(model_path) if model_path else name)
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception:  # shapes are then taken from the weights and the graph's own value_info only
        pass
    return _Reader(model, name).spec(), any(n.op_type in _QUANTISED for n in model.graph.node)


def _check_versions(onnx, model, name: str) -> None:
    """A file newer than the onnx package knows is refused: its operators may mean what this reader does not."""
    newest_ir, newest_opset = onnx.IR_VERSION, onnx.defs.onnx_opset_version()
    if model.ir_version > newest_ir:
        raise ModelFileError(f"{name!r} is ONNX IR version {model.ir_version}, newer than the {newest_ir} this onnx "
                             f"package ({onnx.__version__}) reads; export it with an older IR version or upgrade "
                             "onnx.")
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx") and entry.version > newest_opset:
            raise ModelFileError(f"{name!r} uses ONNX opset {entry.version}; opsets up to {newest_opset} are known "
                                 f"(onnx {onnx.__version__}): export it with opset {newest_opset} or lower, or "
                                 "upgrade onnx.")
    if not model.graph.node:
        raise ModelFileError(f"{name!r} holds no ONNX graph nodes; check the file (a complete export?).")


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ModelFileError("Reading .onnx files needs the onnx package: pip install onnx (or pip install "
                             "\"autotinyml[onnx]\").") from None
    return onnx


class _Reader:
    """One pass over the nodes (ONNX stores them in topological order), building layers as it goes."""

    def __init__(self, model, name: str):
        from onnx import numpy_helper

        self.graph = model.graph
        self.name = re.sub(r"[^A-Za-z0-9_]", "_", model.graph.name or name) or "model"
        self.to_array = numpy_helper.to_array
        self.consts = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer}
        self.shapes = {}
        for info in [*self.graph.input, *self.graph.value_info, *self.graph.output]:
            dims = info.type.tensor_type.shape.dim
            self.shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
        self.layers: list[dict] = []
        self.layer_of: dict[str, str] = {}  # ONNX tensor -> the layer whose output it is
        self.by_name: dict[str, dict] = {}   # layer name -> its description
        self.readers: dict[str, int] = {}
        for node in self.graph.node:
            for t in node.input:
                self.readers[t] = self.readers.get(t, 0) + 1
        self.used_names: set[str] = set()

    # -- the walk ---------------------------------------------------------------------------------------------
    def spec(self) -> dict:
        for t in self.graph.input:
            if t.name in self.consts:  # old exporters list initializers among the inputs
                continue
            self._input(t.name)
        for node in self.graph.node:
            self._node(node)
        outputs = [self.layer_of.get(t.name) for t in self.graph.output]
        for layer in self.layers:
            if layer["name"] in outputs and len(outputs) > 1:
                layer["output"] = True
        return {"name": self.name, "layers": self.layers}

    def _input(self, tensor: str) -> None:
        shape = self.shapes.get(tensor, ())[1:]
        if not shape or any(d is None or d < 1 for d in shape):
            raise ModelFileError(f"ONNX input {tensor!r} has no fixed shape ({self.shapes.get(tensor)}); export "
                                 "the model with a fixed input size (the batch dimension may stay free).")
        nhwc = any(n.op_type == "Transpose" and tensor in n.input and list(_attrs(n).get("perm", ())) == [0, 3, 1, 2]
                   for n in self.graph.node)  # a channels-last input the exporter transposes first (tf2onnx)
        self._add({"type": "Input", "shape": list(shape if nhwc else _channels_last(shape))}, tensor, inputs=None)

    def _node(self, node) -> None:
        op, a = node.op_type, _attrs(node)
        where = f"ONNX node {node.name or node.output[0]!r} ({op})"
        if op == "Constant":
            self.consts[node.output[0]] = self.to_array(a["value"])
            return
        if all(t in self.consts for t in node.input if t):  # constant folding: weights dequantised, reshaped...
            if op in ("DequantizeLinear", "Identity", "Cast", "Transpose", "Reshape", "QuantizeLinear"):
                self.consts[node.output[0]] = self.consts[node.input[0]]
                return
        if op in _PASS_THROUGH:
            self.layer_of[node.output[0]] = self.layer_of[node.input[0]]
            return
        if op in ("Conv", "QLinearConv"):
            w, b = (node.input[1], node.input[2] if len(node.input) > 2 else "") if op == "Conv" else \
                (node.input[3], node.input[8] if len(node.input) > 8 else "")
            return self._conv(node, a, self._const(w, where), bool(b), where)
        if op in ("Gemm", "MatMul", "QLinearMatMul"):
            return self._dense(node, op, a, where)
        if op == "Add":
            return self._add_node(node, where)
        if op in ("MaxPool", "AveragePool"):
            return self._pool(node, op, a, where)
        if op in ("GlobalAveragePool", "GlobalMaxPool"):
            rank = len(self._shape(node.input[0])) - 2
            kind = ("GlobalAveragePooling" if op == "GlobalAveragePool" else "GlobalMaxPooling") + f"{rank}D"
            return self._layer(node, {"type": kind, "keepdims": True})
        if op == "BatchNormalization":
            return self._layer(node, {"type": "BatchNormalization"})
        if op in ("Flatten", "Reshape", "Squeeze"):
            return self._flatten(node, op, a, where)
        if op == "Concat":
            rank = len(self._shape(node.input[0]))
            if a.get("axis", 1) not in (1, 1 - rank):
                raise UnsupportedLayerError(f"{where}: concatenation along axis {a.get('axis')} is not supported; "
                                            "only along the channels (axis 1).")
            return self._layer(node, {"type": "Concatenate", "axis": -1}, inputs=list(node.input))
        if op == "Pad":
            return self._pad(node, a, where)
        if op in _ACTIVATIONS:
            return self._layer(node, {"type": "Activation", "activation": _ACTIVATIONS[op]})
        if op == "LeakyRelu":
            return self._layer(node, {"type": "LeakyReLU", "negative_slope": float(a.get("alpha", 0.01))})
        if op == "Clip":
            low, high = self._clip_bounds(node, a)
            if low == 0 and high == 6:
                return self._layer(node, {"type": "ReLU", "max_value": 6})
            if low == 0 and high is None:
                return self._layer(node, {"type": "Activation", "activation": "relu"})
            raise UnsupportedLayerError(f"{where}: Clip({low}, {high}) is not supported; only ReLU (0, none) and "
                                        "ReLU6 (0, 6).")
        raise UnsupportedLayerError(f"{where} is not an operator memsim knows; supported: "
                                    f"{', '.join(SUPPORTED_NODES)}.")

    # -- operators --------------------------------------------------------------------------------------------
    def _conv(self, node, a, weights, bias: bool, where: str) -> None:
        kernel = tuple(int(k) for k in weights.shape[2:])
        rank = len(kernel)
        if rank not in (1, 2):
            raise UnsupportedLayerError(f"{where}: {rank}-D convolution is not supported; only 1-D and 2-D.")
        if any(d != 1 for d in a.get("dilations", [1] * rank)):
            raise UnsupportedLayerError(f"{where}: dilations {list(a['dilations'])} are not supported; only 1.")
        in_shape = self._shape(node.input[0])
        channels, group, filters = in_shape[1], int(a.get("group", 1)), int(weights.shape[0])
        strides = tuple(int(s) for s in a.get("strides", [1] * rank))
        padding, source = self._padding(node, a, in_shape[2:], kernel, strides)
        common = {"kernel_size": list(kernel), "strides": list(strides), "padding": padding, "use_bias": bias,
                  "activation": "linear"}
        if group == 1:
            spec = {"type": f"Conv{rank}D", "filters": filters, **common}
        elif group == channels and rank == 2:
            spec = {"type": "DepthwiseConv2D", "depth_multiplier": filters // channels, **common}
        else:
            raise UnsupportedLayerError(f"{where}: grouped convolution (group={group} of {channels} channels) is "
                                        "not supported; only group 1 and depthwise (group = channels, 2-D).")
        self._layer(node, spec, inputs=[source])

    def _dense(self, node, op: str, a, where: str) -> None:
        if op == "Gemm":
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise UnsupportedLayerError(f"{where}: Gemm with transA, alpha or beta other than 1 is not supported.")
            w = self._const(node.input[1], where)
            units = w.shape[0] if a.get("transB", 0) else w.shape[1]
            bias = len(node.input) > 2 and bool(node.input[2])
        else:
            w = self._const(node.input[1] if op == "MatMul" else node.input[3], where)
            units, bias = w.shape[-1], False
        if len(self._shape(node.input[0])) != 2:
            raise UnsupportedLayerError(f"{where}: a matrix product on a {len(self._shape(node.input[0]))}-D tensor "
                                        "is not supported; flatten it first.")
        self._layer(node, {"type": "Dense", "units": int(units), "use_bias": bias, "activation": "linear"})

    def _add_node(self, node, where: str) -> None:
        consts = [t for t in node.input if t in self.consts]
        if not consts:
            return self._layer(node, {"type": "Add"}, inputs=list(node.input))
        (x,) = [t for t in node.input if t not in self.consts]
        layer = self._producer(x)
        # a bias: MatMul + Add is how exporters write a Dense (and Conv + Add, sometimes, a biased conv)
        if layer is not None and layer["type"] in ("Dense", "Conv1D", "Conv2D", "DepthwiseConv2D") and \
                not layer["use_bias"] and self.readers.get(x, 0) == 1:
            layer["use_bias"] = True
            self.layer_of[node.output[0]] = layer["name"]
            return
        raise UnsupportedLayerError(f"{where}: adding a constant is supported only as the bias of the Dense or "
                                    "convolution before it.")

    def _pool(self, node, op: str, a, where: str) -> None:
        kernel = tuple(int(k) for k in a["kernel_shape"])
        rank = len(kernel)
        if a.get("ceil_mode", 0):
            raise UnsupportedLayerError(f"{where}: ceil_mode is not supported; export with ceil_mode=0.")
        strides = tuple(int(s) for s in a.get("strides", [1] * rank))
        padding, source = self._padding(node, a, self._shape(node.input[0])[2:], kernel, strides)
        kind = ("MaxPooling" if op == "MaxPool" else "AveragePooling") + f"{rank}D"
        self._layer(node, {"type": kind, "pool_size": list(kernel), "strides": list(strides), "padding": padding},
                    inputs=[source])

    def _flatten(self, node, op: str, a, where: str) -> None:
        out = self.shapes.get(node.output[0])
        if op == "Flatten" and a.get("axis", 1) != 1:
            raise UnsupportedLayerError(f"{where}: Flatten(axis={a['axis']}) is not supported; only axis 1.")
        if op == "Reshape" and out is None and node.input[1] in self.consts:
            target = [int(v) for v in self.consts[node.input[1]]]
            out = (1, -1) if len(target) == 2 else tuple(target)
        if op != "Flatten" and (out is None or len(out) != 2):
            raise UnsupportedLayerError(f"{where}: only a reshape to (batch, features) is supported, not to "
                                        f"{out}; flatten the features.")
        if len(self._shape(node.input[0])) == 2:  # already flat: nothing to do
            self.layer_of[node.output[0]] = self.layer_of[node.input[0]]
            return
        self._layer(node, {"type": "Flatten"})

    def _pad(self, node, a, where: str) -> None:
        if a.get("mode", b"constant") not in (b"constant", "constant"):
            raise UnsupportedLayerError(f"{where}: only constant (zero) padding is supported.")
        pads = [int(v) for v in (self.consts[node.input[1]] if len(node.input) > 1 else a.get("pads", []))]
        rank = len(pads) // 2
        begin, end = pads[:rank], pads[rank:]
        if begin[:2] != [0, 0] or end[:2] != [0, 0]:
            raise UnsupportedLayerError(f"{where}: padding the batch or channel axis is not supported.")
        spatial = [(begin[i], end[i]) for i in range(2, rank)]
        kind = f"ZeroPadding{len(spatial)}D"
        self._layer(node, {"type": kind, "padding": spatial[0] if len(spatial) == 1 else spatial})

    # -- helpers ----------------------------------------------------------------------------------------------
    def _padding(self, node, a, spatial: tuple, kernel: tuple, strides: tuple) -> tuple[str, str]:
        """(padding, tensor the layer reads): "valid" or "same" as Keras means them; other explicit pads become a
        ZeroPadding layer before it, which the layer then reads."""
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            return "same", node.input[0]
        rank = len(kernel)
        pads = [0] * 2 * rank if auto == "VALID" else [int(p) for p in a.get("pads", [0] * 2 * rank)]
        begin, end = pads[:rank], pads[rank:]
        if not any(pads):
            return "valid", node.input[0]
        if all(_same_pads(n, k, s) == (b, e) for n, k, s, b, e in zip(spatial, kernel, strides, begin, end)):
            return "same", node.input[0]
        padded = f"{node.output[0]}__pad"
        self._add({"type": f"ZeroPadding{rank}D", "name": self._unique(padded),
                   "padding": [begin[0], end[0]] if rank == 1 else [[b, e] for b, e in zip(begin, end)]},
                  padded, inputs=[node.input[0]])
        return "valid", padded

    def _layer(self, node, spec: dict, inputs: "list | None" = None) -> None:
        spec["name"] = self._unique(node.name or node.output[0])
        self._add(spec, node.output[0], inputs=inputs if inputs is not None else [node.input[0]])

    def _add(self, spec: dict, tensor: str, inputs: "list | None") -> None:
        spec.setdefault("name", self._unique(tensor))
        if inputs is not None:
            missing = [t for t in inputs if t not in self.layer_of]
            if missing:
                raise UnsupportedLayerError(f"ONNX tensor {missing[0]!r} is read before any supported node makes "
                                            "it (an operator memsim skipped, or a constant input).")
            spec["inputs"] = [self.layer_of[t] for t in inputs]
        self.layers.append(spec)
        self.by_name[spec["name"]] = spec
        self.layer_of[tensor] = spec["name"]

    def _unique(self, raw: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]", "_", raw).strip("_") or "layer"
        name, k = base, 1
        while name in self.used_names:
            name, k = f"{base}_{k}", k + 1
        self.used_names.add(name)
        return name

    def _producer(self, tensor: str) -> "dict | None":
        return self.by_name.get(self.layer_of.get(tensor))

    def _const(self, tensor: str, where: str):
        if tensor not in self.consts:
            raise UnsupportedLayerError(f"{where}: its weights ({tensor!r}) are computed in the graph, not stored; "
                                        "only stored (initializer) weights are supported.")
        return self.consts[tensor]

    def _shape(self, tensor: str) -> tuple:
        shape = self.shapes.get(tensor)
        if shape is None:
            raise ModelFileError(f"The shape of ONNX tensor {tensor!r} is unknown; run onnx.shape_inference on the "
                                 "model, or export it with a fixed input size.")
        return shape

    def _clip_bounds(self, node, a) -> tuple:
        def bound(i, key):
            if len(node.input) > i and node.input[i]:
                return float(self.consts[node.input[i]]) if node.input[i] in self.consts else None
            return float(a[key]) if key in a else None

        low, high = bound(1, "min"), bound(2, "max")
        return low, (None if high is not None and math.isinf(high) else high)


def _attrs(node) -> dict:
    from onnx import helper

    return {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}


def _channels_last(shape: tuple) -> tuple:
    """ONNX (C, H, W) or (C, L) -> memsim's (H, W, C) or (L, C); a flat (F,) stays."""
    return shape if len(shape) < 2 else (*shape[1:], shape[0])


def _same_pads(size: "int | None", kernel: int, stride: int) -> tuple[int, int]:
    """Keras's "same": output ceil(size / stride), the extra pad at the end."""
    if size is None:
        return (-1, -1)
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2
