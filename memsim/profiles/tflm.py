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
from functools import cached_property, lru_cache

import numpy as np

from memsim._kernels import tflm as _lowering
from memsim._kernels import tflm_memory as _memory
from memsim._kernels.codes import N_TFL, TFL, TFL_OPS, TFL_OTHER
from memsim._kernels.graph_ir import graph_ir
from memsim._tflite_names import (MERGED_CONST_NAME, NAME_EXTRA, NAME_ROLES, OUTPUT_NAME, PATH_EXTRA,
                                   QUANTIZE_NAME)
from memsim.graph import Graph
from memsim.ops import ACTIVATIONS
from memsim.planners import align_up
from memsim.profiles._base import ActivationPlan, Buffer, live_bytes

__all__ = ["TFLMProfile", "TFLiteGraph", "lower", "TAIL_OP_BYTES"]

# The lowering's rules (which ops fuse, SELU's six ops, Conv1D's wrapper, names) are compiled in
# memsim._kernels.tflm, with their measurements; the constants below are handed to it.
# TFLM kernels with no int8 path (tflite-micro 0.dev20261023: "exp.cc: input->type != kTfLiteFloat32").
INT8_UNSUPPORTED = frozenset({"EXP"})  # int8 models run these in float between DEQUANTIZE/QUANTIZE

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
# What an int8 MEAN or REDUCE_MAX adds to the arena the planning needs (bytes; it shows only where the head is
# smaller than that need). Both kernels request scratch buffers while they are prepared (MEAN one, REDUCE_MAX two:
# tflite-micro reduce_common.cc), but the measured amount is more than those buffers' AllocationInfo and planner
# entries; read off the smallest allocating arena (tflite-micro 0.dev20261023, 16-B bisection) of three small
# networks (8x8 input, two convolutions, global average / max pooling, dense: MEAN +280 on 4 and 12 channels,
# REDUCE_MAX +168), and confirmed on six it was not read off: MEAN after four more convolutions, on 16x16 inputs,
# in a Conv1D network, and DS-CNN with 0, 1 and 3 blocks (+272 to +280; twenty-third session, RESULTS.md).
PLAN_TEMP_PER_OP = {"int8": {"MEAN": 280, "REDUCE_MAX": 168}}
PREPARE_TEMP_PER_CHANNEL = {"int8": {"CONV_2D": 12, "DEPTHWISE_CONV_2D": 12, "FULLY_CONNECTED": 8}}
PREPARE_TEMP_PER_INPUT = {"float32": {"CONCATENATION": 64}, "int8": {"CONCATENATION": 96}}
# Kernels that keep per-channel multipliers and shifts in the tail, by type.
PER_CHANNEL_OPS = {"float32": ("CONV_2D", "DEPTHWISE_CONV_2D"),
                   "int8": ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")}
# Tensor names: memsim._tflite_names (the lowering compiled in memsim._kernels.tflm reads them too).

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


FLATBUFFER_BUFFER_ALIGN = 16  # each constant buffer's payload is aligned to 16 B ...
FLATBUFFER_PER_BUFFER = 16    # ... and takes 16 B more (its Buffer table)
ARENA_ALIGN = 16  # TFLM aligns the head's buffers and every persistent allocation to 16 B


@dataclass
class TFLiteGraph:
    """A TFLite subgraph as arrays (``memsim._kernels.tflm``'s layout): lowered from a network or read from a file.

    The list properties are for people and calibration scripts; the rules read the arrays.
    """

    tens: np.ndarray            # tensors x T_*: size, constant, name length, quantisation channels, stored rank
    ops: np.ndarray             # ops x O_*: operator code, IR layer, channels, tensor start, inputs, outputs, type
    op_in: np.ndarray           # each op's input then output tensor ids (-1: an optional input left out)
    gio: np.ndarray             # row 0: model inputs, row 1: outputs
    n_tensors: int
    n_ops: int
    n_inputs: int
    n_outputs: int
    op_type_names: list = field(default_factory=list)  # each op's operator name, as in the file or lowered
    lut_bytes: int = 0   # lookup tables int16 kernels keep in the tail (read from a .tflite's tensor types)

    @property
    def op_types(self) -> list[str]:
        return self.op_type_names

    tensor_sizes = property(lambda self: self._tensor_column(_lowering.T_SIZE))
    tensor_const = property(lambda self: [bool(c) for c in self._tensor_column(_lowering.T_CONST)])
    tensor_names = property(lambda self: self._tensor_column(_lowering.T_NAME))
    tensor_channels = property(lambda self: self._tensor_column(_lowering.T_CH))
    tensor_ranks = property(lambda self: self._tensor_column(_lowering.T_RANK))
    op_layer = property(lambda self: self.ops[:self.n_ops, _lowering.O_LAYER].tolist())
    op_channels = property(lambda self: self.ops[:self.n_ops, _lowering.O_CH].tolist())
    inputs = property(lambda self: self.gio[0, :self.n_inputs].tolist())
    outputs = property(lambda self: self.gio[1, :self.n_outputs].tolist())

    def _tensor_column(self, column: int) -> list[int]:
        return self.tens[:self.n_tensors, column].tolist()

    @cached_property
    def _io(self) -> tuple[list[list[int]], list[list[int]]]:
        """Each op's input and output tensor lists (built once: people and the plan's buffer names read them)."""
        flat = self.op_in.tolist()
        rows = self.ops[:self.n_ops, [_lowering.O_IN, _lowering.O_NIN, _lowering.O_NOUT]].tolist()
        return ([flat[start:start + n_in] for start, n_in, _ in rows],
                [flat[start + n_in:start + n_in + n_out] for start, n_in, n_out in rows])

    @property
    def op_inputs(self) -> list[list[int]]:
        return self._io[0]

    @property
    def op_outputs(self) -> list[list[int]]:
        return self._io[1]


_NAME_ROLES = np.array([NAME_EXTRA[role] for role in NAME_ROLES], np.int64)
# The TFLite op a standalone activation lowers to (SELU: six ops, and linear: none, are the lowering's own rules).
ACTIVATION_OPS = {"relu": "RELU", "relu6": "RELU6", "tanh": "TANH", "sigmoid": "LOGISTIC", "elu": "ELU",
                  "leaky_relu": "LEAKY_RELU", "softmax": "SOFTMAX"}
_ACT_TABLE = np.zeros((len(ACTIVATIONS), 2), np.int64)
for _code, _act in enumerate(ACTIVATIONS):
    _ACT_TABLE[_code, _lowering.AT_NAME] = NAME_EXTRA.get(_act, 0)
    _ACT_TABLE[_code, _lowering.AT_OP] = TFL.get(ACTIVATION_OPS.get(_act, ""), TFL_OTHER)


def _by_index(values: dict, dtype=np.int64) -> np.ndarray:
    """An array with ``values[i]`` at index i: the compiled rules read constants by the index names they define."""
    out = np.zeros(len(values), dtype)
    for index, value in values.items():
        out[index] = value
    return out


def name_constants(graph_name: str) -> np.ndarray:
    """The naming constants the compiled lowering reads (memsim._kernels.tflm.NC_*)."""
    return _by_index({_lowering.NC_PATH: PATH_EXTRA, _lowering.NC_OUTPUT: OUTPUT_NAME,
                      _lowering.NC_MERGED: MERGED_CONST_NAME, _lowering.NC_QUANTIZE: QUANTIZE_NAME,
                      _lowering.NC_GRAPH: len(graph_name)})


def name_tables() -> tuple[np.ndarray, np.ndarray]:
    """("/" + suffix length per name role, per activation code its name's suffix length and TFLite op)."""
    return _NAME_ROLES, _ACT_TABLE


def lower(graph: Graph, dtype: str = "float32") -> TFLiteGraph:
    """Predict the TFLite graph the converter makes from this network (``memsim._kernels.tflm.lower``)."""
    ir, ir_in = graph_ir(graph)
    n = ir.shape[0]
    tens, ops, op_in, gio, cnt, reg, lw = _lowering.work_arrays(n, len(ir_in))
    _lowering.lower(n, ir, ir_in, dtype == "int8", _NAME_ROLES, _ACT_TABLE, name_constants(graph.name), tens, ops,
                    op_in, gio, cnt, reg, lw)
    nops = int(cnt[_lowering.C_NOPS])
    names = [TFL_OPS[k] for k in ops[:nops, _lowering.O_KIND]]
    return TFLiteGraph(tens, ops, op_in, gio, int(cnt[_lowering.C_NT]), nops, int(cnt[_lowering.C_GIN]),
                       int(cnt[_lowering.C_GOUT]), names)


def tflite_structure(graph: Graph, dtype: str) -> TFLiteGraph:
    """The exact structure when the graph came from a .tflite, else the predicted lowering."""
    model = graph.tflite
    if model is None:
        return lower(graph, dtype)
    # map each op to the IR layer built from it (tflite front-end: one layer per op, fused activations after)
    op_layer = [j for j, layer in enumerate(graph.layers) if layer.op != "input" and not layer.attrs.get("fused")]
    lut_bytes = TAIL_INT16_SOFTMAX_LUTS * sum(1 for kind, ins in zip(model.op_types, model.op_inputs)
                                              if kind == "SOFTMAX" and model.tensor_dtypes[ins[0]] == "int16")
    nt, nops = len(model.tensor_sizes), len(model.op_types)
    tens = np.zeros((max(nt, 1), 5), np.int64)
    for t, row in enumerate(zip(model.tensor_sizes, model.tensor_const, (len(n) for n in model.tensor_names),
                                model.tensor_channels, (len(shape) for shape in model.tensor_shapes))):
        tens[t] = row
    ops = np.zeros((max(nops, 1), 7), np.int64)
    op_in: list[int] = []
    type_id: dict = {}
    for k, (kind, ins, outs) in enumerate(zip(model.op_types, model.op_inputs, model.op_outputs)):
        ops[k] = (TFL.get(kind, TFL_OTHER), op_layer[k], _per_channel_count(model, kind, ins, outs), len(op_in),
                  len(ins), len(outs), type_id.setdefault(kind, len(type_id)))
        op_in += [*ins, *outs]
    gio = np.zeros((2, max(len(model.inputs), len(model.outputs), 1)), np.int64)
    gio[0, :len(model.inputs)] = model.inputs
    gio[1, :len(model.outputs)] = model.outputs
    return TFLiteGraph(tens, ops, np.array(op_in or [0], np.int64), gio, nt, nops, len(model.inputs),
                       len(model.outputs), list(model.op_types), lut_bytes)


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


@lru_cache(maxsize=4)
def op_table(dtype: str) -> np.ndarray:
    """Per-operator costs for the compiled memory rules: one row per memsim._kernels.codes.TFL_OPS code, the last
    row for any other operator (the defaults), columns memsim._kernels.tflm_memory.R_*."""
    table = np.zeros((N_TFL, 7), np.int64)
    for code, name in enumerate((*TFL_OPS, None)):
        table[code, _memory.R_TAIL] = TAIL_OP_BYTES.get(name, TAIL_DEFAULT_OP_BYTES)
        table[code, _memory.R_TEMP] = PREPARE_TEMP_BYTES.get(dtype, {}).get(name, PREPARE_TEMP_DEFAULT.get(dtype, 0))
        table[code, _memory.R_TEMP_CH] = PREPARE_TEMP_PER_CHANNEL.get(dtype, {}).get(name, 0)
        table[code, _memory.R_TEMP_IN] = PREPARE_TEMP_PER_INPUT.get(dtype, {}).get(name, 0)
        table[code, _memory.R_PERCH] = PER_CHANNEL_ARRAYS * (name in PER_CHANNEL_OPS.get(dtype, ()))
        table[code, _memory.R_UNSUPPORTED] = dtype == "int8" and name in INT8_UNSUPPORTED
        table[code, _memory.R_PLAN] = PLAN_TEMP_PER_OP.get(dtype, {}).get(name, 0)
    table.setflags(write=False)
    return table


@lru_cache(maxsize=4)
def memory_constants(dtype: str) -> np.ndarray:
    """The arena's constants for the compiled memory rules (memsim._kernels.tflm_memory.TC_*)."""
    m = _memory
    return _by_index({m.TC_FIXED: TAIL_FIXED, m.TC_PER_TENSOR: TAIL_PER_TENSOR, m.TC_PER_OP: TAIL_PER_OP,
                      m.TC_PER_IO: TAIL_PER_IO_TENSOR.get(dtype, 64), m.TC_PLAN_PER_TENSOR: PLAN_TEMP_PER_TENSOR,
                      m.TC_PLAN_PER_BUFFER: PLAN_TEMP_PER_BUFFER, m.TC_PLAN_FIXED: PLAN_TEMP_FIXED.get(dtype, 0),
                      m.TC_ALIGN: ARENA_ALIGN, m.TC_FB_ALIGN: FLATBUFFER_BUFFER_ALIGN,
                      m.TC_FB_PER_BUFFER: FLATBUFFER_PER_BUFFER})


FLATBUFFER_COSTS = _by_index({
    _memory.FB_FIXED: FLATBUFFER_FIXED, _memory.FB_TENSOR: FLATBUFFER_PER_TENSOR,
    _memory.FB_NAME_CHAR: FLATBUFFER_PER_NAME_CHAR, _memory.FB_DIM: FLATBUFFER_PER_DIM,
    _memory.FB_QUANT_TENSOR: FLATBUFFER_PER_QUANT_TENSOR, _memory.FB_QUANT_CHANNEL: FLATBUFFER_PER_QUANT_CHANNEL,
    _memory.FB_OP: FLATBUFFER_PER_OP, _memory.FB_OP_IO: FLATBUFFER_PER_OP_IO,
    _memory.FB_OP_CODE: FLATBUFFER_PER_OP_CODE}, np.float64)


def flatbuffer_bytes(g: TFLiteGraph, dtype: str) -> int:
    """Predicted .tflite size: constant payload plus the FLATBUFFER_* costs of its tensors and ops."""
    return int(_memory.flatbuffer_bytes(g.n_tensors, g.tens, g.n_ops, g.ops, dtype == "int8", memory_constants(dtype),
                                        FLATBUFFER_COSTS))


def documented_tail(g: TFLiteGraph, dtype: str) -> int:
    """The tail's parts whose sizes TFLM documents (structs per tensor, op, I/O tensor, int8 channel).

    The rest (TAIL_FIXED and the op data per kernel) is fitted on top of this.
    """
    return int(_memory.documented_tail(g.n_ops, g.ops, g.n_tensors, g.n_inputs + g.n_outputs, op_table(dtype),
                                       memory_constants(dtype), g.lut_bytes))


def temporary_need(g: TFLiteGraph, dtype: str) -> int:
    """Arena beyond the final tail that TFLM needs before the head exists (memsim._kernels.tflm_memory)."""
    return int(_memory.temporary_need(g.n_ops, g.ops, g.n_tensors, g.tens, op_table(dtype), memory_constants(dtype)))


KERNEL_PLANNER = 1  # the batch kernel plans TFLM's arena (0: X-CUBE-AI's pool)


class TFLMProfile:
    """TFLM's arena (greedy planner, 16 B) and flatbuffer size."""

    name = "tflm"
    kernel_planner = KERNEL_PLANNER  # the batch kernel's code for this planner
    alignment = ARENA_ALIGN
    fuses_argument_activations = False  # the converter fuses ReLU / ReLU6 only: TANH, LOGISTIC... are ops
    # Default safety margin (% of memsim's figure): what covers the worst under-prediction against the real
    # toolchain. RAM: the 45 corpus conversions (`autotinyml validate`, 2026-11-21: smallest allocating arena
    # 2.29 %, wide_dense float32). Flash: 2026-11-22, after the exact name model: corpus 0.45 % (`autotinyml
    # validate`), real-world zoo predicted from its Keras models 1.65 % (multi-branch TCN int8,
    # `benchmarks/calibrate_tflm.py`); 2.0 % covers both. A .tflite's own size is exact and needs none.
    SAFETY_MARGIN_PCT = {"ram": 2.3, "flash": 2.0}

    def batchable(self, dtype: str) -> bool:
        """Whether the batch kernel gives this profile's figures exactly (it does for every TFLM plan)."""
        return True

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
        nt = g.n_tensors
        first, last, ids, sizes, f, l, offsets = (np.zeros(nt + 1, np.int64) for _ in range(7))
        scratch = np.zeros((3, nt + 1), np.int64)
        _memory.lifetimes(nt, g.tens, g.n_ops, g.ops, g.op_in, g.gio, g.n_inputs, g.n_outputs, first, last)
        head, k = _memory.arena_head(nt, g.tens, first, last, memory_constants(dtype), ids, sizes, f, l, offsets,
                                     scratch)
        io = int(g.tens[g.inputs + g.outputs, _lowering.T_SIZE].sum())
        plan = ActivationPlan(int(head), io, True, lambda: self._detail(graph, g, ids[:k], sizes[:k], f[:k], l[:k],
                                                                        offsets[:k]))
        self._plan = (g, plan)
        return plan

    def _detail(self, graph: Graph, g: TFLiteGraph, ids, sizes, first, last, offsets):
        """(live bytes per layer, named buffers) of a planned arena head."""
        producer = {t: q for q, outs in enumerate(g.op_outputs) for t in outs}
        op_layer, op_types = g.op_layer, g.op_types
        names = [f"{graph.layers[op_layer[producer[t]]].name}:{op_types[producer[t]]}" if t in producer
                 else "input" for t in ids.tolist()]
        buffers = [Buffer(*row) for row in zip(names, sizes.tolist(), first.tolist(), last.tolist(),
                                                offsets.tolist())]
        live_by_op = live_bytes(buffers, max(g.n_ops, 1), lambda b: align_up(b.size, self.alignment))
        layer_live = [0] * len(graph.layers)
        for q, j in enumerate(op_layer):
            layer_live[j] = max(layer_live[j], live_by_op[q])
        return layer_live, buffers

    def _beyond_head(self, graph: Graph, dtype: str) -> tuple[int, int]:
        """(tail, temporary need) of this network, computed once per structure."""
        g = self._structure(graph, dtype)
        if self._beyond is None or self._beyond[0] is not g:
            tail = _memory.tail_bytes(g.n_ops, g.ops, g.n_tensors, g.n_inputs + g.n_outputs, op_table(dtype),
                                      memory_constants(dtype), g.lut_bytes)
            self._beyond = (g, int(tail), temporary_need(g, dtype))
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
        head = self.activation_plan(graph, dtype).pool_bytes
        return int(_memory.prepare_extra(head, self._beyond_head(graph, dtype)[1]))

    def runtime_ram(self, graph: Graph, dtype: str, extra_ram: int) -> int:
        return self.arena_tail(graph, dtype) + self.prepare_bytes(graph, dtype) + extra_ram

    region_what = "TFLM arena (head + tail)"

    def region_bytes(self, graph: Graph, dtype: str, plan: ActivationPlan) -> int:
        """The tensor arena: TFLM allocates head, tail and prepare-time scratch from one contiguous buffer."""
        tail, need = self._beyond_head(graph, dtype)
        return align_up(plan.pool_bytes + tail + int(_memory.prepare_extra(plan.pool_bytes, need)), self.alignment)

    def region_from_figures(self, activations, io, ram, extra_ram):
        """``region_bytes`` from whole-network figures (scalars or arrays; the batch evaluator's path): the arena
        is TFLM's RAM but the board's library figure, rounded up to the arena's alignment as ``region_bytes``."""
        return -(-(ram - extra_ram) // self.alignment) * self.alignment

    def notes(self, graph: Graph, dtype: str) -> list[str]:
        """What this prediction leaves out (nothing known beyond the safety margin)."""
        return []

    def check(self, graph: Graph, dtype: str) -> list[str]:
        """Ops TFLM cannot run. Measured: its EXP kernel is float-only, so int8 SELU fails to allocate."""
        g = self._structure(graph, dtype)
        table = op_table(dtype)
        bad = sorted({name for name, kind in zip(g.op_types, g.ops[:g.n_ops, _lowering.O_KIND])
                      if table[kind, _memory.R_UNSUPPORTED]})
        return [f"TFLM has no int8 kernel for {k}" + (" (used by SELU)" if k == "EXP" else "") for k in bad]
