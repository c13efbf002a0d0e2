"""ONNX files written with onnx's helper API, channels-first, as PyTorch's exporter writes them: the networks of a
layer description (channels-last) in ONNX's own operators, for memsim's ONNX front-end to read back."""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

_ACTS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax", "elu": "Elu", "selu": "Selu"}


def onnx_from_spec(spec: dict, int8: bool = False, opset: int = 13) -> onnx.ModelProto:
    """The ONNX model of a layer description; ``int8``: weights stored as int8 behind DequantizeLinear and
    activations through QuantizeLinear/DequantizeLinear pairs (the QDQ form ST Edge AI and ONNX Runtime read)."""
    nodes, inits = [], []
    rng = np.random.default_rng(0)
    shapes: dict[str, tuple] = {}  # channels-first, without the batch
    last, names = None, {}

    def const(name, array):
        if int8 and array.ndim > 1:  # weights: int8 + scale, dequantised in the graph
            q = name + "_q"
            inits.append(numpy_helper.from_array(np.clip(np.round(array * 100), -127, 127).astype(np.int8), q))
            inits.append(numpy_helper.from_array(np.array(0.01, np.float32), q + "_scale"))
            nodes.append(helper.make_node("DequantizeLinear", [q, q + "_scale"], [name]))
        else:
            inits.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def qdq(tensor):
        if not int8:
            return tensor
        inits.append(numpy_helper.from_array(np.array(0.05, np.float32), tensor + "_s"))
        inits.append(numpy_helper.from_array(np.array(0, np.int8), tensor + "_z"))
        nodes.append(helper.make_node("QuantizeLinear", [tensor, tensor + "_s", tensor + "_z"], [tensor + "_q"]))
        nodes.append(helper.make_node("DequantizeLinear", [tensor + "_q", tensor + "_s", tensor + "_z"],
                                      [tensor + "_dq"]))
        shapes[tensor + "_dq"] = shapes[tensor]
        return tensor + "_dq"

    def emit(op, inputs, out, shape, **attrs):
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        shapes[out] = shape
        return qdq(out)

    def activation(name, act, x, shape):
        if act in (None, "linear"):
            return x
        return emit(_ACTS[act], [x], f"{name}_{act}", shape)

    graph_input = None
    for k, layer in enumerate(spec["layers"]):
        kind, name = layer["type"], layer.get("name", f"l{k}")
        src = [names[s] for s in layer["inputs"]] if "inputs" in layer else [last]
        x = src[0]
        if kind == "Input":
            shape = tuple(layer["shape"])
            cf = shape if len(shape) == 1 else (shape[-1], *shape[:-1])
            graph_input = helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", *cf])
            shapes[name] = cf
            last = qdq(name)
        elif kind in ("Conv1D", "Conv2D", "DepthwiseConv2D"):
            c, *space = shapes[x]
            rank = len(space)
            k_ = layer["kernel_size"]
            k_ = [k_] * rank if isinstance(k_, int) else list(k_)
            s_ = layer.get("strides", 1)
            s_ = [s_] * rank if isinstance(s_, int) else list(s_)
            depthwise = kind == "DepthwiseConv2D"
            m = c * layer.get("depth_multiplier", 1) if depthwise else layer["filters"]
            w = const(f"{name}_w", rng.normal(size=(m, 1 if depthwise else c, *k_)))
            inputs = [x, w]
            if layer.get("use_bias", True):
                inputs.append(const(f"{name}_b", rng.normal(size=(m,))))
            out_space, pads = _window(space, k_, s_, layer.get("padding", "valid"))
            y = emit("Conv", inputs, name, (m, *out_space), kernel_shape=k_, strides=s_, pads=pads,
                     group=c if depthwise else 1)
            last = activation(name, layer.get("activation"), y, (m, *out_space))
        elif kind == "Dense":
            (f,) = shapes[x]
            units = layer["units"]
            inputs = [x, const(f"{name}_w", rng.normal(size=(units, f)))]
            if layer.get("use_bias", True):
                inputs.append(const(f"{name}_b", rng.normal(size=(units,))))
            y = emit("Gemm", inputs, name, (units,), transB=1)
            last = activation(name, layer.get("activation"), y, (units,))
        elif kind in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"):
            c, *space = shapes[x]
            rank = len(space)
            p = layer.get("pool_size", 2)
            p = [p] * rank if isinstance(p, int) else list(p)
            s_ = layer.get("strides") or p
            s_ = [s_] * rank if isinstance(s_, int) else list(s_)
            out_space, pads = _window(space, p, s_, layer.get("padding", "valid"))
            op = "MaxPool" if kind.startswith("Max") else "AveragePool"
            last = emit(op, [x], name, (c, *out_space), kernel_shape=p, strides=s_, pads=pads)
        elif kind.startswith("GlobalAveragePooling") or kind.startswith("GlobalMaxPooling"):
            c, *space = shapes[x]
            op = "GlobalAveragePool" if "Average" in kind else "GlobalMaxPool"
            y = emit(op, [x], name, (c, *[1] * len(space)))
            last = emit("Flatten", [y], f"{name}_flat", (c,), axis=1)
        elif kind == "Flatten":
            last = emit("Flatten", [x], name, (int(np.prod(shapes[x])),), axis=1)
        elif kind == "BatchNormalization":
            c = shapes[x][0]
            params = [const(f"{name}_{p}", rng.normal(size=(c,)) ** 2 + 0.1) for p in ("g", "b", "m", "v")]
            last = emit("BatchNormalization", [x, *params], name, shapes[x])
        elif kind == "Activation":
            last = emit(_ACTS[layer["activation"]], [x], name, shapes[x])
        elif kind == "Softmax":
            last = emit("Softmax", [x], name, shapes[x])
        elif kind == "LeakyReLU":
            last = emit("LeakyRelu", [x], name, shapes[x], alpha=float(layer.get("negative_slope", 0.3)))
        elif kind == "ReLU":
            lo, hi = const(f"{name}_lo", np.array(0.0)), const(f"{name}_hi", np.array(6.0))
            last = emit("Clip", [x, lo, hi], name, shapes[x])
        elif kind == "Dropout":
            last = emit("Dropout", [x], name, shapes[x])
        elif kind == "Add":
            last = emit("Add", src, name, shapes[src[0]])
        elif kind == "Concatenate":
            c = sum(shapes[s][0] for s in src)
            last = emit("Concat", src, name, (c, *shapes[src[0]][1:]), axis=1)
        else:
            raise ValueError(f"tests/_onnx.py cannot write {kind}")
        names[name] = last
    output = helper.make_tensor_value_info(last, TensorProto.FLOAT, ["N", *shapes[last]])
    graph = helper.make_graph(nodes, spec.get("name", "net"), [graph_input], [output], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    return model


def _window(space, kernel, strides, padding: str) -> tuple[list, list]:
    """(output sizes, ONNX pads) of a window op: Keras's "same" (the extra pad at the end) or "valid"."""
    if padding == "same":
        out = [math.ceil(n / s) for n, s in zip(space, strides)]
        total = [max((o - 1) * s + k - n, 0) for o, s, k, n in zip(out, strides, kernel, space)]
        return out, [t // 2 for t in total] + [t - t // 2 for t in total]
    return [(n - k) // s + 1 for n, k, s in zip(space, kernel, strides)], [0] * 2 * len(space)
