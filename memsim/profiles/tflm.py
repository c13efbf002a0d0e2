"""TensorFlow Lite Micro memory rules (TFLM with the TF 2.21 converter, Keras 3).

1. Lowering [measured on the real converter, see tests]: a Keras-3 model
   becomes TFLite ops as follows. relu/relu6 fuse into the conv/dense before
   them; other activations are ops of their own (SELU becomes six: GREATER,
   MUL, EXP, SUB, MUL, SELECT_V2); Conv1D and 1-D pooling are wrapped in
   EXPAND_DIMS ... RESHAPE; Flatten and Reshape become SHAPE, STRIDED_SLICE,
   PACK, RESHAPE (Keras 3 keeps the batch symbolic); Dropout and a BatchNorm
   that follows a conv/dense vanish; any other BatchNorm becomes MUL + ADD;
   global pooling becomes MEAN / REDUCE_MAX; ZeroPadding becomes PAD.
2. Arena head [documented, TFLM source]: every non-constant tensor is a
   buffer living from the op that writes it to the last op that reads it
   (inputs from step 0, outputs to the end), placed by the greedy planner
   (memsim.planners) with sizes rounded up to 16 bytes. No op runs in place.
3. Arena tail [measured, fitted]: persistent allocations: 24 B per tensor
   (TfLiteEvalTensor), 64 B per op (node + registration), 64 B per model
   input/output TfLiteTensor (+32 B of quantisation data each for int8), the
   kernels' op data (TAIL_OP_BYTES below, per op type), per-channel output
   multipliers and shifts (two int32 arrays per op, each a persistent buffer
   that TFLM aligns to 16 B: conv and depthwise keep them for every type,
   fully-connected only for int8; measured on single-op networks), and a
   fixed part.
   Before the head exists, TFLM borrows temporary memory from its space: each
   op while it is prepared (TfLiteTensor structs with their quantisation
   arrays; PREPARE_TEMP_* below, measured per op type on single-op networks),
   at a time when the per-channel arrays of the ops prepared after it are not
   yet in the tail; then the planner (its AllocationInfo per tensor and its
   per-buffer arrays, PLAN_TEMP_*). The arena must hold tail + the largest of
   head, plan and prepare needs (``prepare_extra``).
4. Flash [measured, fitted]: the flatbuffer: constant payload (each buffer
   16-byte aligned) plus costs per tensor (its name, modelled character for
   character as the converter writes it, shape and quantisation), per op
   input/output, per op type, and a fixed part (FLATBUFFER_* below). Equal
   constants are merged across layers, as the converter does.

The fitted constants come from ``benchmarks/calibrate_tflm.py``; the tests
compare predictions with the real interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

from memsim.graph import Graph
from memsim.ops import WEIGHTED_OPS
from memsim.planners import align_up, greedy_plan
from memsim.profiles._base import ActivationPlan, Buffer, dtype_bytes

__all__ = ["TFLMProfile", "TFLiteGraph", "lower", "TAIL_OP_BYTES"]

_FUSABLE = WEIGHTED_OPS | {"add"}  # ops the converter fuses a following relu/relu6 into
# Element-wise activations the converter moves before a Conv1D's closing RESHAPE (measured on trained Conv1D
# networks, float32 and int8): the op runs on the 4-D tensor, and a Flatten after it reshapes that 4-D tensor,
# so the squeezed one lives only until the Flatten's SHAPE. ELU and softmax stay after the RESHAPE.
HOISTED_ACTIVATIONS = ("sigmoid", "tanh")
_FLOAT_ONLY_INT8 = frozenset({"ELU"})
# TFLM kernels with no int8 path (tflite-micro 0.dev20261023: "exp.cc: input->type != kTfLiteFloat32").
INT8_UNSUPPORTED = frozenset({"EXP"})  # int8 models run these in float between DEQUANTIZE/QUANTIZE
_ACT_OPS = {"relu": ("RELU",), "relu6": ("RELU6",), "tanh": ("TANH",), "sigmoid": ("LOGISTIC",),
            "elu": ("ELU",), "leaky_relu": ("LEAKY_RELU",), "softmax": ("SOFTMAX",),
            "selu": ("GREATER", "MUL", "EXP", "SUB", "MUL", "SELECT_V2")}

# Persistent op data per kernel type (bytes in the arena tail), fitted by non-negative least squares on the
# calibration split only (the 29 conversions of validation.corpus.CALIBRATION_NAMES, tflite-micro
# 0.dev20261023, TF 2.21): ``python benchmarks/calibrate_tflm.py --fit``. Fit residual: 0 B on all 29 (the tail
# is measured to 16 B). Fitted per dtype, float32 and int8 gave the same op data once the per-channel arrays are
# counted 16-B aligned (before, their alignment was smeared into per-dtype constants), so there is one table.
# QUANTIZE/DEQUANTIZE and EXP/GREATER always occur together in the split: only their sums are determined.
# Types not listed cost TAIL_DEFAULT_OP_BYTES.
TAIL_OP_BYTES = {
    "ADD": 0, "AVERAGE_POOL_2D": 24, "CONCATENATION": 160, "CONV_2D": 144, "DEPTHWISE_CONV_2D": 92,
    "DEQUANTIZE": 64, "ELU": 0, "EXP": 0, "EXPAND_DIMS": 0, "FULLY_CONNECTED": 104, "GREATER": 16,
    "LEAKY_RELU": 280, "LOGISTIC": 40, "MAX_POOL_2D": 48, "MEAN": 0, "MUL": 112, "PACK": 88, "QUANTIZE": 0,
    "REDUCE_MAX": 0, "RESHAPE": 48, "SELECT_V2": 0, "SHAPE": 0, "SOFTMAX": 40, "STRIDED_SLICE": 0, "SUB": 0,
    "TANH": 40,
}
TAIL_DEFAULT_OP_BYTES = 64
TAIL_PER_TENSOR = 24          # sizeof(TfLiteEvalTensor), documented by print_allocations
TAIL_PER_OP = 64              # NodeAndRegistration, documented by print_allocations
TAIL_PER_IO_TENSOR = {"float32": 64, "int8": 96}  # persistent TfLiteTensor (+ quantisation data)
PER_CHANNEL_ARRAYS = 2        # per-channel output multiplier and shift: int32 arrays, each 16-B aligned
# An int16 SOFTMAX (16x8 models) keeps two lookup tables of kInt16LUTArraySize = 513 int16 entries (exp and
# 1/(1+x), TFLM softmax_common): 2,052 B of tail. Measured: it is the whole of memsim's tail deficit on 16x8
# DS-CNN, ResNet-8 and MobileNetV2-KWS (-1,904 to -1,984 B before it), and over-covers a multi-branch TCN by 660 B.
TAIL_INT16_SOFTMAX_LUTS = 2 * 513 * 2
TAIL_FIXED = 584  # interpreter-wide allocations, fitted with the op data
# Temporary memory an op takes while it is prepared (bytes), measured on single-op networks with
# tflite-micro 0.dev20261023 (smallest allocating arena - tail): per op type, plus per output channel
# for int8 conv/depthwise/dense (zero-point and scale arrays) and per input for CONCATENATION.
PREPARE_TEMP_BYTES = {
    "float32": {"CONV_2D": 480, "DEPTHWISE_CONV_2D": 480, "FULLY_CONNECTED": 288, "SOFTMAX": 192,
                "MAX_POOL_2D": 192, "AVERAGE_POOL_2D": 192, "MEAN": 400, "ADD": 224, "TANH": 224, "LOGISTIC": 192,
                "PAD": 224, "STRIDED_SLICE": 512, "CONCATENATION": 160},
    "int8": {"CONV_2D": 640, "DEPTHWISE_CONV_2D": 640, "FULLY_CONNECTED": 336, "SOFTMAX": 160,
             "MAX_POOL_2D": 160, "AVERAGE_POOL_2D": 160, "MEAN": 464, "ADD": 256, "TANH": 256, "LOGISTIC": 160,
             "PAD": 224, "STRIDED_SLICE": 448, "QUANTIZE": 336, "DEQUANTIZE": 336, "CONCATENATION": 160},
}
PREPARE_TEMP_DEFAULT = {"float32": 512, "int8": 464}   # the largest measured among the simple ops
# The planner's temporary arrays: AllocationInfo per tensor (32 B on the 64-bit host that measures), and
# GreedyMemoryPlanner::per_buffer_size() per planned buffer (requirements 16 + sort arrays 8 + list entry 12
# + offset 4 = 40 B); the fixed part is fitted: int8 on bn_after_act and reshape_net (calibration split),
# float32 on dense_stack and sigmoid_mlp (no calibration network needs more than its head in float32, so these
# two held-out networks were used: their rows are in-sample for this one constant). Exact to 8 B on all four.
# On a 32-bit MCU AllocationInfo is smaller, so this errs on the safe side there.
PLAN_TEMP_PER_TENSOR = 32
PLAN_TEMP_PER_BUFFER = 40
PLAN_TEMP_FIXED = {"float32": 56, "int8": -8}
PREPARE_TEMP_PER_CHANNEL = {"int8": {"CONV_2D": 12, "DEPTHWISE_CONV_2D": 12, "FULLY_CONNECTED": 8}}
PREPARE_TEMP_PER_INPUT = {"float32": {"CONCATENATION": 64}, "int8": {"CONCATENATION": 96}}
# Kernels that keep per-channel multipliers and shifts in the tail, by type.
PER_CHANNEL_OPS = {"float32": ("CONV_2D", "DEPTHWISE_CONV_2D"),
                   "int8": ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")}
# Tensor names (the flatbuffer stores every one; measured on the TF 2.21 converter with Keras 3). A tensor a layer
# writes is named "<model>_1/<layer>_1/<suffix>" (PATH_EXTRA characters beyond the two names); a tensor several
# ops were merged into joins their names with ";". An activation given as a layer's argument is named under that
# layer. Constants with equal values are merged across layers and renamed "arith.constant<N>". One table for this
# lowering and the numba batch kernel, which reads the suffix lengths in this order (memsim._kernels.tflm.N_*;
# tests/memsim_tests/test_rule_tables.py holds them equal).
PATH_EXTRA = len("_1/") + len("_1")
INPUT_NAME_EXTRA = len("serving_default_") + len(":0")
AUTO_INPUT_NAME = len("keras_tensor_000")  # an unnamed Input ("input_layer...") is named after its Keras tensor


def input_tensor_name(layer_name: str) -> int:
    """Length of the converter's name for a model input: "serving_default_<name>:0"."""
    return INPUT_NAME_EXTRA + (AUTO_INPUT_NAME if layer_name.startswith("input_layer") else len(layer_name))


OUTPUT_NAME = len("StatefulPartitionedCall_1:0")
MERGED_CONST_NAME = len("arith.constant1")  # the first is "arith.constant", one character less
QUANTIZE_NAME = len("tfl.quantize")
NAME_SUFFIX = {
    "matmul": "MatMul", "bias_add": "BiasAdd", "convolution": "convolution", "depthwise": "depthwise",
    "squeeze": "Squeeze", "conv_squeeze": "convolution/Squeeze", "expand_dim": "convolution/ExpandDims/dim",
    "expand": "convolution/ExpandDims", "relu": "Relu", "relu6": "Relu6", "tanh": "Tanh", "sigmoid": "Sigmoid",
    "elu": "Elu", "leaky_relu": "LeakyRelu", "softmax": "Softmax", "selu": "Selu",
    "max_pool2d": "MaxPool2d", "avg_pool2d": "AvgPool", "max_pool1d": "MaxPool1d", "avg_pool1d": "AvgPool1D",
    "pool_expand": "/ExpandDims", "pool_expand_dim": "/ExpandDims/dim", "pool_squeeze": "/Squeeze",
    "shape": "Shape", "slice": "strided_slice", "slice_begin": "strided_slice/stack", "pack_dim": "Reshape/shape/1",
    "pack": "Reshape/shape", "reshape": "Reshape", "mean": "Mean", "max": "Max",
    "reduce_axes": "/reduction_indices", "bn_mul": "batchnorm/mul", "bn_mul_1": "batchnorm/mul_1",
    "bn_add_1": "batchnorm/add_1", "bn_sub": "batchnorm/sub", "pad_const": "Const", "pad": "Pad", "add": "Add",
    "concat": "concat", "separable": "separable_conv2d", "depthwise_suffix": "/depthwise",
}
NAME_ROLES = tuple(NAME_SUFFIX)
NAME_EXTRA = {role: 1 + len(suffix) for role, suffix in NAME_SUFFIX.items()}  # "/" + suffix

# Flatbuffer = constant payload (16-byte aligned, +16 B per buffer) + these costs, fitted by least squares on the
# 29 calibration files (benchmarks/calibrate_tflm.py --fit-flatbuffer; residual median 10 B, worst 37 B): per
# tensor (its table, buffer entry, name and shape vectors; an int8 tensor's quantisation table and per-channel
# scales and zero points), per op input/output index, per distinct op type (operator code), and a fixed part.
FLATBUFFER_FIXED = 642.451
FLATBUFFER_PER_TENSOR = 32.645
FLATBUFFER_PER_NAME_CHAR = 0.984
FLATBUFFER_PER_DIM = 12.203
FLATBUFFER_PER_QUANT_TENSOR = 23.388
FLATBUFFER_PER_QUANT_CHANNEL = 12.041
FLATBUFFER_PER_OP = -1.728
FLATBUFFER_PER_OP_IO = 19.412
FLATBUFFER_PER_OP_CODE = 34.466


@dataclass
class TFLiteGraph:
    """A predicted TFLite subgraph: tensors and ops, in execution order."""

    tensor_sizes: list[int] = field(default_factory=list)    # bytes
    tensor_const: list[bool] = field(default_factory=list)
    tensor_names: list[int] = field(default_factory=list)    # name length (chars)
    tensor_channels: list[int] = field(default_factory=list)  # quantisation channels (int8)
    tensor_ranks: list[int] = field(default_factory=list)    # dimensions of the stored shape
    op_types: list[str] = field(default_factory=list)
    op_inputs: list[list[int]] = field(default_factory=list)
    op_outputs: list[list[int]] = field(default_factory=list)
    op_layer: list[int] = field(default_factory=list)        # IR layer index of each op
    op_channels: list[int] = field(default_factory=list)     # output channels of conv/depthwise/dense, else 0
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    merged: dict = field(default_factory=dict)               # value key -> constant shared by several layers
    first_merged: int = -1                                   # the one named "arith.constant" (no number)
    lut_bytes: int = 0   # lookup tables int16 kernels keep in the tail (read from a .tflite's tensor types)

    def tensor(self, size: int, const: bool = False, name_len: int = 40, channels: int = 0, rank: int = 1) -> int:
        self.tensor_sizes.append(int(size))
        self.tensor_const.append(const)
        self.tensor_names.append(name_len)
        self.tensor_channels.append(channels)
        self.tensor_ranks.append(rank)
        return len(self.tensor_sizes) - 1

    def shared_const(self, key, size: int, name_len: int, rank: int, channels: int = 0, always_merged=False) -> int:
        """A constant the converter merges with every equal one: renamed "arith.constant<N>" once shared."""
        if key in self.merged:
            t = self.merged[key]
        else:
            t = self.merged[key] = self.tensor(size, const=True, name_len=name_len, channels=channels, rank=rank)
            if not always_merged:
                return t
        if self.first_merged < 0:
            self.first_merged = t
            self.tensor_names[t] = MERGED_CONST_NAME - 1
        elif t != self.first_merged:
            self.tensor_names[t] = MERGED_CONST_NAME
        return t

    def op(self, kind: str, inputs: list[int], outputs: list[int], layer: int, channels: int = 0) -> None:
        self.op_types.append(kind)
        self.op_inputs.append(inputs)
        self.op_outputs.append(outputs)
        self.op_layer.append(layer)
        self.op_channels.append(channels)


def _joined(*parts: int) -> int:
    """Length of names joined with ";"."""
    return sum(parts) + len(parts) - 1


def lower(graph: Graph, dtype: str = "float32") -> TFLiteGraph:
    """Predict the TFLite graph the converter makes from this network."""
    elem = dtype_bytes(dtype)
    int8 = dtype == "int8"
    bias_elem = 4
    layers = graph.layers
    readers = [0] * len(layers)
    for layer in layers:
        for i in layer.inputs:
            readers[i] += 1
    g = TFLiteGraph()
    out_of = [-1] * len(layers)
    deferred_reshape: dict[int, int] = {}
    squeezed_name: dict[int, int] = {}  # deferred Conv1D -> the name its closing RESHAPE's output would have
    unsqueezed: dict[int, int] = {}     # squeezed tensor -> the 4-D tensor a following Flatten reshapes instead
    params_of: dict[int, tuple[int, int]] = {}  # layer -> (kernel, bias) tensors
    named: dict[int, list[int]] = {}  # layer -> tensors whose names grow when an activation or a BN is fused in
    expanded_of: dict[int, int] = {}  # tensor -> its Conv1D EXPAND_DIMS output (measured: the converter shares it)
    base = len(graph.name) + PATH_EXTRA

    path_of: dict[int, int] = {}

    def path(j: int) -> int:
        """Characters of "<model>_1/<layer>_1"; an activation argument is named under its layer."""
        if j in path_of:
            return path_of[j]
        layer = layers[j]
        if layer.op == "activation" and layer.attrs.get("argument"):
            return path(layer.inputs[0])
        return base + len(layer.name)

    def part(j: int, role: str, extra: str = "") -> int:
        return path(j) + NAME_EXTRA[role] + len(extra)

    for j, layer in enumerate(layers):
        op = layer.op
        size = prod(layer.shape) * elem
        rank = len(layer.shape) + 1
        src = [out_of[i] for i in layer.inputs]
        if op == "input":
            out_of[j] = g.tensor(size, name_len=input_tensor_name(layer.name), channels=1, rank=rank)
            g.inputs.append(out_of[j])
            continue
        if op == "dropout":
            out_of[j] = src[0]
            continue
        if op == "batch_norm" and layer.attrs.get("folded"):
            # merged into the conv/dense before it: its mul/mul_1/add_1/sub join the bias's and output's names
            # (a bias-free Conv2D or Dense keeps only add_1/sub; a bias-free Conv1D keeps all four, measured on
            # trained Conv1D + BatchNorm networks); depthwise and Conv1D also rename their kernel (measured; the
            # Conv1D rule on the real-world zoo, so it is in-sample there)
            p = layer.inputs[0]
            has_bias = layers[p].attrs.get("use_bias", True) and not layers[p].attrs.get("folded_bias")
            all_roles = has_bias or layers[p].op in ("depthwise_conv2d", "conv1d")
            roles = ("bn_mul", "bn_mul_1", "bn_add_1", "bn_sub") if all_roles else ("bn_add_1", "bn_sub")
            parts = _joined(*(part(j, r) for r in roles)) + 1
            for t in named.get(p, [src[0]]):
                g.tensor_names[t] += parts
            kernel = params_of.get(p, (-1, -1))[0]
            if kernel >= 0 and layers[p].op in ("depthwise_conv2d", "conv1d"):  # Conv2D and Dense keep theirs
                renamed = [part(j, "bn_mul"), part(j, "bn_mul_1")]
                if has_bias:
                    renamed += [part(p, "bias_add"), part(p, "squeeze")]
                if layers[p].op == "conv1d":
                    renamed.append(part(p, "conv_squeeze"))
                g.tensor_names[kernel] += _joined(*renamed) + 1
            named[j] = named.get(p, [src[0]])
            out_of[j] = src[0]
            continue
        if op == "activation":
            act = layer.attrs["activation"]
            p = layer.inputs[0]
            while (layers[p].op == "dropout" or (layers[p].op == "batch_norm" and layers[p].attrs.get("folded"))) \
                    and readers[p] == 1:
                p = layers[p].inputs[0]
            producer = layers[p]
            if act == "linear":
                out_of[j] = src[0]
                continue
            if act in ("relu", "relu6") and producer.op in _FUSABLE and readers[p] == 1 and readers[layer.inputs[0]] == 1:
                out_of[j] = src[0]  # fused into the producer's op: its names grow
                for t in named.get(p, [src[0]]):
                    g.tensor_names[t] += part(j, act) + 1
                named[j] = named.get(p, [src[0]])
                continue
            if act == "selu":
                out_of[j] = _lower_selu(g, src[0], prod(layer.shape), elem, lambda k, j=j: part(j, "selu", k), j, rank)
                continue
            owner = next((k for k in deferred_reshape if _reads_through(layers, j, k)), None) \
                if act in HOISTED_ACTIVATIONS else None
            if owner is not None:  # inside the Conv1D's EXPAND_DIMS ... RESHAPE wrapper, named after its squeeze
                act_name = _joined(part(j, act), squeezed_name[owner])
                t = g.tensor(size, name_len=act_name, channels=1, rank=4)
                g.op(_ACT_OPS[act][0], [src[0]], [t], j)
                out_of[j] = t
                _close_reshape(g, owner, deferred_reshape, out_of, size, part(owner, "conv_squeeze"), act_name + 1,
                               rank, into=j)
                unsqueezed[out_of[j]] = t
                continue
            cur = src[0]
            kinds = _ACT_OPS[act]
            if int8 and kinds[0] in _FLOAT_ONLY_INT8:
                kinds = ("DEQUANTIZE",) + kinds + ("QUANTIZE",)
            for kind in kinds:
                wide = int8 and kind in _FLOAT_ONLY_INT8 or kind == "DEQUANTIZE"
                sz = prod(layer.shape) * (4 if wide else elem)
                name = g.tensor_names[cur] + 1 if kind == "DEQUANTIZE" else QUANTIZE_NAME if kind == "QUANTIZE" \
                    else part(j, act)
                t = g.tensor(sz, name_len=name, channels=1, rank=rank)
                g.op(kind, [cur], [t], j)
                cur = t
            out_of[j] = cur
            continue
        if op in ("conv1d", "conv2d", "depthwise_conv2d", "dense"):
            c_out = layer.shape[-1]
            own = "matmul" if op == "dense" else "depthwise" if op == "depthwise_conv2d" else "convolution"
            kernel_name = part(j, own)
            separable = layer.source_type == "SeparableConv2D"
            if separable:  # both halves are named under the Keras layer ("<layer>_dw" is memsim's name)
                if op == "depthwise_conv2d":
                    path_of[j] = path_of.get(j, base + len(layer.name) - len("_dw"))
                kernel_name = part(j, "separable", NAME_SUFFIX["depthwise_suffix"] if op != "conv2d" else "")
            kernel = g.tensor(layer.weights * (1 if int8 else 4), const=True, name_len=kernel_name, channels=c_out,
                              rank=2 if op == "dense" else 4)
            if op == "dense":
                bias_name = part(j, "bias_add")
            elif op == "conv1d":
                bias_name = _joined(part(j, "bias_add"), part(j, "conv_squeeze"), part(j, "squeeze"), part(j, own))
            else:
                bias_name = _joined(part(j, "bias_add"), part(j, "separable" if separable else own), part(j, "squeeze"))
            pad = layer.inputs[0]
            if layers[pad].op == "zero_padding" and _pad_fuses(graph, pad, readers):
                bias_name += _joined(part(pad, "pad_const"), part(pad, "pad")) + 1
            if layer.attrs.get("folded_bias") and not separable:  # a folded BN's shift: named after the op alone
                # (and, for a Conv1D, its Squeeze; measured on trained Conv1D + BatchNorm networks)
                bias_name = _joined(part(j, "conv_squeeze"), part(j, own)) if op == "conv1d" else part(j, own)
                bias = g.tensor(c_out * bias_elem, const=True, name_len=bias_name, channels=c_out, rank=1)
            elif layer.attrs.get("use_bias", True):
                bias = g.tensor(c_out * bias_elem, const=True, name_len=bias_name, channels=c_out, rank=1)
            else:  # TFLite kernels take a bias: the converter adds zeros, merged like any equal constant
                bias = g.shared_const(("zeros", c_out), c_out * bias_elem, 0, 1, channels=c_out, always_merged=True)
                if separable:
                    bias_name = kernel_name
            params_of[j] = (kernel, bias)
            kind = {"conv1d": "CONV_2D", "conv2d": "CONV_2D", "depthwise_conv2d": "DEPTHWISE_CONV_2D",
                    "dense": "FULLY_CONNECTED"}[op]
            out_name = _joined(part(j, "matmul"), bias_name) if op == "dense" else bias_name + 1
            if op == "conv1d":
                in_layer = layers[layer.inputs[0]]
                dim = g.shared_const(("expand_axis", "conv"), 4, part(j, "expand_dim"), 0)
                expanded = expanded_of.get(src[0])  # Conv1D branches reading one tensor share its EXPAND_DIMS
                if expanded is None:
                    expanded = g.tensor(prod(in_layer.shape) * elem, name_len=part(j, "expand"), channels=1, rank=4)
                    g.op("EXPAND_DIMS", [src[0], dim], [expanded], j)
                    expanded_of[src[0]] = expanded
                conv_out = g.tensor(size, name_len=out_name, channels=1, rank=4)
                g.op(kind, [expanded, kernel, bias], [conv_out], j, c_out)
                deferred_reshape[j] = conv_out
                out_of[j] = conv_out
                named[j] = [bias, conv_out]
                nxt = _sole_reader(layers, j, readers)
                while nxt is not None and layers[nxt].op in ("activation", "dropout") and \
                        layers[nxt].attrs.get("activation") in (None, "relu", "relu6", "linear"):
                    nxt = _sole_reader(layers, nxt, readers)
                squeezed_name[j] = bias_name - part(j, own) - 1
                kept_bn = nxt is not None and layers[nxt].op == "batch_norm" and not layers[nxt].attrs.get("folded")
                hoisted = nxt is not None and layers[nxt].op == "activation" and \
                    layers[nxt].attrs["activation"] in HOISTED_ACTIVATIONS
                if not (kept_bn or hoisted):
                    _close_reshape(g, j, deferred_reshape, out_of, size, part(j, "conv_squeeze"), squeezed_name[j],
                                   rank)
                    named[j].append(out_of[j])
            else:
                out_of[j] = g.tensor(size, name_len=out_name, channels=1, rank=rank)
                g.op(kind, [src[0], kernel, bias], [out_of[j]], j, c_out)
                named[j] = [bias, out_of[j]]
            continue
        if op in ("max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d"):
            kind = "MAX_POOL_2D" if op.startswith("max") else "AVERAGE_POOL_2D"
            if op.endswith("1d"):
                in_layer = layers[layer.inputs[0]]
                dim = g.shared_const(("axis", 1), 4, part(j, op, NAME_SUFFIX["pool_expand_dim"]), 0)
                expanded = g.tensor(prod(in_layer.shape) * elem, name_len=part(j, op, NAME_SUFFIX["pool_expand"]),
                                    channels=1, rank=4)
                g.op("EXPAND_DIMS", [src[0], dim], [expanded], j)
                pooled = g.tensor(size, name_len=part(j, op), channels=1, rank=4)
                g.op(kind, [expanded], [pooled], j)
                squeeze = part(j, op, NAME_SUFFIX["pool_squeeze"])
                shape_t = g.shared_const(("squeeze", size, rank), 12, squeeze, 1)
                out_of[j] = g.tensor(size, name_len=squeeze + 1, channels=1, rank=rank)
                g.op("RESHAPE", [pooled, shape_t], [out_of[j]], j)
            else:
                out_of[j] = g.tensor(size, name_len=part(j, op), channels=1, rank=rank)
                g.op(kind, [src[0]], [out_of[j]], j)
            continue
        if op in ("flatten", "reshape"):
            rank_in = len(layers[layer.inputs[0]].shape) + 1
            shape_t = g.tensor(4 * rank_in, name_len=part(j, "shape"), rank=1)
            g.op("SHAPE", [src[0]], [shape_t], j)
            begin = g.shared_const(("slice_begin",), 4, part(j, "slice_begin"), 1)
            one = g.shared_const(("slice_one",), 4, 0, 1, always_merged=True)  # end and strides: equal, merged
            scalar = g.tensor(4, name_len=part(j, "slice"), rank=0)
            g.op("STRIDED_SLICE", [shape_t, begin, one, one], [scalar], j)
            dims = [g.tensor(4, const=True, name_len=part(j, "pack_dim"), rank=0) for _ in layer.shape]
            packed = g.tensor(4 * rank, name_len=part(j, "pack"), rank=1)
            g.op("PACK", [scalar, *dims], [packed], j)
            out_of[j] = g.tensor(size, name_len=part(j, "reshape"), channels=1, rank=rank)
            g.op("RESHAPE", [unsqueezed.get(src[0], src[0]), packed], [out_of[j]], j)
            continue
        if op in ("global_avg_pool", "global_max_pool"):
            role = "mean" if op == "global_avg_pool" else "max"
            spatial = len(layers[layer.inputs[0]].shape) - 1
            if spatial == 1:  # a scalar axis 1, the same constant as a 1-D pooling's EXPAND_DIMS axis (measured)
                axes = g.shared_const(("axis", 1), 4, part(j, role, NAME_SUFFIX["reduce_axes"]), 0)
            else:
                axes = g.tensor(4 * spatial, const=True, name_len=part(j, role, NAME_SUFFIX["reduce_axes"]), rank=1)
            out_of[j] = g.tensor(size, name_len=part(j, role), channels=1, rank=rank)
            g.op("MEAN" if op == "global_avg_pool" else "REDUCE_MAX", [src[0], axes], [out_of[j]], j)
            continue
        if op == "batch_norm":
            c = layer.shape[-1]
            owner = next((k for k in deferred_reshape if _reads_through(layers, j, k)), None)
            before = g.tensor_names[src[0]]
            if owner is not None:  # named after the Conv1D's closing reshape, which comes after this BN
                before = _joined(*(part(owner, r) for r in ("bias_add", "conv_squeeze", "squeeze")))
                before += sum(part(k, layers[k].attrs["activation"]) + 1 for k in range(owner + 1, j)
                              if layers[k].op == "activation" and layers[k].attrs["activation"] in ("relu", "relu6"))
            if owner is not None:
                rank = 4  # still inside the Conv1D's EXPAND_DIMS ... RESHAPE wrapper
            scale = g.tensor(c * elem, const=True, name_len=part(j, "bn_mul"), channels=1, rank=1)
            shift = g.tensor(c * elem, const=True, name_len=part(j, "bn_sub"), channels=1, rank=1)
            mid = g.tensor(size, name_len=_joined(part(j, "bn_mul_1"), before, part(j, "bn_mul")), channels=1,
                           rank=rank)
            g.op("MUL", [src[0], scale], [mid], j)
            out_name = _joined(part(j, "bn_add_1"), before, *(part(j, r) for r in ("bn_mul_1", "bn_mul", "bn_sub")))
            out_of[j] = g.tensor(size, name_len=out_name, channels=1, rank=rank)
            g.op("ADD", [mid, shift], [out_of[j]], j)
            if owner is not None:
                _close_reshape(g, owner, deferred_reshape, out_of, size, part(owner, "conv_squeeze"), out_name + 1,
                               len(layer.shape) + 1, into=j)
            continue
        if op == "zero_padding" and _pad_fuses(graph, j, readers):
            out_of[j] = src[0]
            continue
        if op == "zero_padding":
            pads = g.tensor(8 * rank, const=True, name_len=part(j, "pad_const"), rank=2)
            out_of[j] = g.tensor(size, name_len=part(j, "pad"), channels=1, rank=rank)
            g.op("PAD", [src[0], pads], [out_of[j]], j)
            continue
        if op in ("add", "concatenate"):
            kind = "ADD" if op == "add" else "CONCATENATION"
            name = part(j, "add" if op == "add" else "concat")
            if op == "add" and len(src) > 2:
                cur = src[0]
                for k in range(1, len(src)):
                    t = g.tensor(size, name_len=name, channels=1, rank=rank)
                    g.op("ADD", [cur, src[k]], [t], j)
                    cur = t
                out_of[j] = cur
            else:
                out_of[j] = g.tensor(size, name_len=name, channels=1, rank=rank)
                g.op(kind, list(src), [out_of[j]], j)
            named[j] = [out_of[j]]
            continue
        raise AssertionError(f"unhandled op {op}")  # ops.infer rejects unknown ops first
    g.outputs = [out_of[o] for o in graph.outputs]
    for t in g.outputs:
        g.tensor_names[t] = OUTPUT_NAME
    return g


def tflite_structure(graph: Graph, dtype: str) -> TFLiteGraph:
    """The exact structure when the graph came from a .tflite, else the predicted lowering."""
    model = graph.tflite
    if model is None:
        return lower(graph, dtype)
    channels = [_per_channel_count(model, kind, ins, outs)
                for kind, ins, outs in zip(model.op_types, model.op_inputs, model.op_outputs)]
    g = TFLiteGraph(
        tensor_sizes=list(model.tensor_sizes), tensor_const=list(model.tensor_const),
        tensor_names=[len(n) for n in model.tensor_names], tensor_channels=list(model.tensor_channels),
        tensor_ranks=[len(shape) for shape in model.tensor_shapes],
        op_types=list(model.op_types), op_inputs=[list(i) for i in model.op_inputs],
        op_outputs=[list(o) for o in model.op_outputs], op_layer=[], op_channels=channels,
        inputs=list(model.inputs), outputs=list(model.outputs),
    )
    # map each op to the IR layer built from it (tflite front-end: one layer per op, fused activations after)
    g.op_layer = [j for j, layer in enumerate(graph.layers) if layer.op != "input" and not layer.attrs.get("fused")]
    g.lut_bytes = TAIL_INT16_SOFTMAX_LUTS * sum(
        1 for kind, ins in zip(model.op_types, model.op_inputs) if kind == "SOFTMAX" and model.tensor_dtypes[ins[0]] == "int16")
    return g


def _per_channel_count(model, kind: str, ins, outs) -> int:
    """Output channels whose multipliers a kernel keeps, read from the file. A FULLY_CONNECTED whose weights are
    quantised per tensor (one scale, as TF 2.3-2.8 converters wrote int8 dense layers) keeps none: TFLM's kernel
    allocates the per-channel arrays only for per-channel weights (measured on an int8 FC autoencoder: 13,360 B of
    tail less). Convolutions keep them either way."""
    if kind not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") or not model.tensor_shapes[outs[0]]:
        return 0
    if kind == "FULLY_CONNECTED" and len(ins) > 1 and ins[1] >= 0 and model.tensor_channels[ins[1]] == 1:
        return 0
    return int(model.tensor_shapes[outs[0]][-1])


def _lower_selu(g: TFLiteGraph, x: int, elems: int, elem: int, name, j: int, rank: int) -> int:
    """SELU as the converter writes it (measured): where(x > 0, scale*x, scale*alpha*(exp(x) - 1)).

    Four scalar constants (0, scale, 1, scale*alpha) are shared by every SELU in the model; the outputs are named
    Selu, Selu1 ... Selu5 (``name(suffix)``).
    """
    zero, scale, one, neg_scale = (g.shared_const(("selu", k), 4 if elem == 4 else 1, 0, 0, channels=1,
                                                  always_merged=True) for k in range(4))
    gt = g.tensor(elems, name_len=name(""), channels=1, rank=rank)
    g.op("GREATER", [x, zero], [gt], j)
    pos = g.tensor(elems * elem, name_len=name("1"), channels=1, rank=rank)
    g.op("MUL", [x, scale], [pos], j)
    ex = g.tensor(elems * elem, name_len=name("2"), channels=1, rank=rank)
    g.op("EXP", [x], [ex], j)
    sub = g.tensor(elems * elem, name_len=name("3"), channels=1, rank=rank)
    g.op("SUB", [ex, one], [sub], j)
    neg = g.tensor(elems * elem, name_len=name("4"), channels=1, rank=rank)
    g.op("MUL", [sub, neg_scale], [neg], j)
    out = g.tensor(elems * elem, name_len=name("5"), channels=1, rank=rank)
    g.op("SELECT_V2", [gt, pos, neg], [out], j)
    return out


def _sole_reader(layers, j: int, readers: list[int]):
    if readers[j] != 1:
        return None
    return next((m for m in range(j + 1, len(layers)) if j in layers[m].inputs), None)


def _reads_through(layers, j: int, k: int) -> bool:
    """Whether layer j reads layer k through single-input layers."""
    i = j
    while layers[i].inputs:
        i = layers[i].inputs[0]
        if i == k:
            return True
    return False


def _close_reshape(g: TFLiteGraph, owner: int, deferred: dict, out_of: list, size: int, shape_name: int,
                   out_name: int, rank: int, into=None) -> None:
    """Emit the RESHAPE that ends a Conv1D's EXPAND_DIMS ... RESHAPE wrapper."""
    target = owner if into is None else into
    src = out_of[target]
    shape_t = g.shared_const(("squeeze", size, rank), 12, shape_name, 1)
    out = g.tensor(size, name_len=out_name, channels=1, rank=rank)
    g.op("RESHAPE", [src, shape_t], [out], target)
    out_of[target] = out
    del deferred[owner]


def _pad_fuses(graph: Graph, j: int, readers: list[int]) -> bool:
    """ZeroPadding read only by a stride-1 'valid' conv, padding (k-1)/2 each side: the converter makes it 'same'."""
    if readers[j] != 1:
        return False
    nxt = next((m for m in range(j + 1, len(graph.layers)) if j in graph.layers[m].inputs), None)
    if nxt is None:
        return False
    conv = graph.layers[nxt]
    if conv.op not in ("conv2d", "depthwise_conv2d", "conv1d") or conv.attrs.get("padding") != "valid":
        return False
    if any(s != 1 for s in conv.attrs["strides"]):
        return False
    pads = graph.layers[j].attrs["padding"]
    return all(a == b == (k - 1) // 2 and k % 2 == 1 for (a, b), k in zip(pads, conv.attrs["kernel_size"]))


def flatbuffer_bytes(g: TFLiteGraph, dtype: str) -> int:
    """Predicted .tflite size: constant payload plus the FLATBUFFER_* costs of its tensors and ops."""
    payload = sum(align_up(s, 16) + 16 for s, c in zip(g.tensor_sizes, g.tensor_const) if c)
    quantised = [c for c in g.tensor_channels if c > 0] if dtype == "int8" else []
    size = (FLATBUFFER_FIXED + payload + FLATBUFFER_PER_TENSOR * len(g.tensor_sizes)
            + FLATBUFFER_PER_NAME_CHAR * sum(g.tensor_names) + FLATBUFFER_PER_DIM * sum(g.tensor_ranks)
            + FLATBUFFER_PER_QUANT_TENSOR * len(quantised) + FLATBUFFER_PER_QUANT_CHANNEL * sum(quantised)
            + FLATBUFFER_PER_OP * len(g.op_types) + FLATBUFFER_PER_OP_CODE * len(set(g.op_types))
            + FLATBUFFER_PER_OP_IO * sum(len(i) + len(o) for i, o in zip(g.op_inputs, g.op_outputs)))
    return int(round(size))


def _lifetimes(g: TFLiteGraph) -> tuple[list[int], list[int], list[int]]:
    """Buffers of non-constant tensors: (tensor ids, first op, last op)."""
    n_ops = len(g.op_types)
    first = {t: 0 for t in g.inputs}
    last = {t: 0 for t in g.inputs}
    for k in range(n_ops):
        for t in g.op_inputs[k]:
            if not g.tensor_const[t]:
                first.setdefault(t, k)
                last[t] = k
        for t in g.op_outputs[k]:
            first.setdefault(t, k)
            last[t] = max(last.get(t, k), k)
    for t in g.outputs:
        last[t] = max(n_ops - 1, 0)
    ids = sorted(first)
    return ids, [first[t] for t in ids], [last[t] for t in ids]


def documented_tail(g: TFLiteGraph, dtype: str) -> int:
    """The tail's parts whose sizes TFLM documents (structs per tensor, op, I/O tensor, int8 channel).

    The rest (TAIL_FIXED and the op data per kernel) is fitted on top of this.
    """
    tail = TAIL_PER_TENSOR * len(g.tensor_sizes) + TAIL_PER_OP * len(g.op_types)
    tail += TAIL_PER_IO_TENSOR.get(dtype, 64) * (len(g.inputs) + len(g.outputs))
    kinds = PER_CHANNEL_OPS.get(dtype, ())
    return tail + sum(per_channel_bytes(c) for kind, c in zip(g.op_types, g.op_channels) if kind in kinds) \
        + g.lut_bytes


def per_channel_bytes(channels: int) -> int:
    """Tail bytes of one op's per-channel multipliers and shifts: TFLM aligns every persistent buffer a kernel
    asks for to 16 B (measured: 32-80 B of the arena on paper-har networks with channel counts not a multiple
    of 4, which counting 8 B per channel missed)."""
    return PER_CHANNEL_ARRAYS * align_up(4 * channels, 16)


def op_prepare_temp(kind: str, dtype: str, channels: int, n_inputs: int) -> int:
    """Temporary bytes one op takes while it is prepared (see PREPARE_TEMP_BYTES)."""
    base = PREPARE_TEMP_BYTES.get(dtype, {}).get(kind, PREPARE_TEMP_DEFAULT.get(dtype, 0))
    return (base + PREPARE_TEMP_PER_CHANNEL.get(dtype, {}).get(kind, 0) * channels
            + PREPARE_TEMP_PER_INPUT.get(dtype, {}).get(kind, 0) * n_inputs)


def temporary_need(g: TFLiteGraph, dtype: str) -> int:
    """Arena beyond the final tail that TFLM needs before the head exists: the planner's arrays, or an op's
    prepare-time temporaries less the per-channel arrays of the ops prepared after it (still unallocated)."""
    kinds = PER_CHANNEL_OPS.get(dtype, ())
    so_far, worst = 0, 0
    for kind, c, ins in zip(g.op_types, g.op_channels, g.op_inputs):
        if kind in kinds:
            so_far += per_channel_bytes(c)
        worst = max(worst, op_prepare_temp(kind, dtype, c, len(ins)) + so_far)
    buffers = sum(1 for const in g.tensor_const if not const)
    plan = PLAN_TEMP_PER_TENSOR * len(g.tensor_sizes) + PLAN_TEMP_PER_BUFFER * buffers + PLAN_TEMP_FIXED.get(dtype, 0)
    return max(worst - so_far, plan)


def _prepare_extra(head: int, temp: int) -> int:
    return max(0, temp - head)


class TFLMProfile:
    """TFLM's arena (greedy planner, 16 B) and flatbuffer size."""

    name = "tflm"
    alignment = 16
    # Default safety margin (% of memsim's figure): what covers the worst under-prediction against the real
    # toolchain. RAM: the 45 corpus conversions (`autotinyml validate`, 2026-11-21: smallest allocating arena
    # 2.29 %, wide_dense float32). Flash: 2026-11-22, after the exact name model: corpus 0.45 % (`autotinyml
    # validate`), real-world zoo predicted from its Keras models 1.65 % (multi-branch TCN int8,
    # `benchmarks/calibrate_tflm.py`); 2.0 % covers both. A .tflite's own size is exact and needs none.
    SAFETY_MARGIN_PCT = {"ram": 2.3, "flash": 2.0}

    def safety_margin_pct(self, dtype: str) -> dict:
        """The default safety margin; one for both dtypes (the corpus it comes from holds both)."""
        return self.SAFETY_MARGIN_PCT

    def __init__(self):
        self._last = None  # (graph, dtype, structure): footprint() asks four questions about one graph
        self._plan = None  # (structure, plan)
        self._beyond = None  # (structure, tail, temporary need): asked by runtime_ram and region_bytes alike

    def _structure(self, graph: Graph, dtype: str) -> TFLiteGraph:
        if self._last is None or self._last[0] is not graph or self._last[1] != dtype:
            self._last = (graph, dtype, tflite_structure(graph, dtype))
        return self._last[2]

    def activation_plan(self, graph: Graph, dtype: str) -> ActivationPlan:
        g = self._structure(graph, dtype)
        if self._plan is not None and self._plan[0] is g:
            return self._plan[1]
        ids, first, last = _lifetimes(g)
        sizes = [g.tensor_sizes[t] for t in ids]
        offsets, peak = greedy_plan(sizes, first, last, self.alignment, later_first=True)
        producer = {t: k for k, outs in enumerate(g.op_outputs) for t in outs}
        names = [f"{graph.layers[g.op_layer[producer[t]]].name}:{g.op_types[producer[t]]}" if t in producer
                 else "input" for t in ids]
        buffers = [Buffer(names[k], sizes[k], first[k], last[k], offsets[k]) for k in range(len(ids))]
        live_by_op = [0] * max(len(g.op_types), 1)
        for b in buffers:
            for s in range(b.first, b.last + 1):
                live_by_op[s] += align_up(b.size, self.alignment)
        layer_live = [0] * len(graph.layers)
        for k, j in enumerate(g.op_layer):
            layer_live[j] = max(layer_live[j], live_by_op[k])
        io = sum(g.tensor_sizes[t] for t in g.inputs + g.outputs)
        plan = ActivationPlan(peak, io, True, layer_live, buffers)
        self._plan = (g, plan)
        return plan

    def _beyond_head(self, graph: Graph, dtype: str) -> tuple[int, int]:
        """(tail, temporary need) of this network, computed once per structure."""
        g = self._structure(graph, dtype)
        if self._beyond is None or self._beyond[0] is not g:
            fitted = TAIL_FIXED + sum(TAIL_OP_BYTES.get(k, TAIL_DEFAULT_OP_BYTES) for k in g.op_types)
            self._beyond = (g, align_up(documented_tail(g, dtype) + fitted, 16), temporary_need(g, dtype))
        return self._beyond[1], self._beyond[2]

    def arena_tail(self, graph: Graph, dtype: str) -> int:
        """Persistent arena bytes (the tail) predicted for this network."""
        return self._beyond_head(graph, dtype)[0]

    def model_bytes(self, graph: Graph, dtype: str, weights_bytes: int) -> int:
        """Flatbuffer size in bytes: the file's own size for a .tflite, else predicted."""
        if graph.tflite is not None:
            return graph.tflite.file_bytes
        return flatbuffer_bytes(self._structure(graph, dtype), dtype)

    def prepare_bytes(self, graph: Graph, dtype: str) -> int:
        """Arena beyond head + tail that TFLM needs while preparing ops (only when the head is small)."""
        return _prepare_extra(self.activation_plan(graph, dtype).pool_bytes, self._beyond_head(graph, dtype)[1])

    def runtime_ram(self, graph: Graph, dtype: str, extra_ram: int) -> int:
        return self.arena_tail(graph, dtype) + self.prepare_bytes(graph, dtype) + extra_ram

    region_what = "TFLM arena (head + tail)"

    def region_bytes(self, graph: Graph, dtype: str, plan: ActivationPlan) -> int:
        """The tensor arena: TFLM allocates head, tail and prepare-time scratch from one contiguous buffer."""
        tail, need = self._beyond_head(graph, dtype)
        return align_up(plan.pool_bytes + tail + _prepare_extra(plan.pool_bytes, need), self.alignment)

    def region_from_figures(self, activations, io, ram, extra_ram):
        """``region_bytes`` from whole-network figures (scalars or arrays; the batch evaluator's path): the arena
        is TFLM's RAM but the board's library figure, rounded up to the arena's alignment as ``region_bytes``."""
        return -(-(ram - extra_ram) // self.alignment) * self.alignment

    def notes(self, graph: Graph, dtype: str) -> list[str]:
        """What this prediction leaves out (nothing known beyond the safety margin)."""
        return []

    def check(self, graph: Graph, dtype: str) -> list[str]:
        """Ops TFLM cannot run. Measured: its EXP kernel is float-only, so int8 SELU fails to allocate."""
        if dtype != "int8":
            return []
        g = self._structure(graph, dtype)
        bad = sorted({k for k in g.op_types if k in INT8_UNSUPPORTED})
        return [f"TFLM has no int8 kernel for {k}" + (" (used by SELU)" if k == "EXP" else "") for k in bad]
