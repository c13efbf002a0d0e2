"""Read a .tflite flatbuffer into memsim's IR, without TensorFlow.

The file is walked with the ``flatbuffers`` runtime using the TFLite schema's
field numbers (tensorflow/compiler/mlir/lite/schema/schema.fbs). Besides the
IR (one layer per operator, shapes taken from the file) it keeps the exact
tensor/op structure, which the TFLM profile plans directly instead of
predicting the converter's lowering, and the real file size as Flash.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from math import prod
from pathlib import Path

from flatbuffers import number_types as N
from flatbuffers.table import Table

from memsim._errors import ModelFileError, UnsupportedLayerError
from memsim.graph import Graph, Layer
from memsim.ops import ACTIVATION_MACC

__all__ = ["TFLiteModel", "read_tflite", "graph_from_tflite", "model_dtype", "OPERATOR_NAMES", "SUPPORTED_OPS"]

OPERATOR_NAMES = (
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
    "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION",
    "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL",
    "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH",
    "SVDF", "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
    "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN",
    "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN",
    "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU",
    "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL",
    "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL",
    "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD",
    "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN",
    "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE",
    "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE",
    "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE",
    "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE",
    "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM",
    "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D",
    "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT",
    "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE",
    "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU",
    "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX",
    "UNSORTED_SEGMENT_SUM", "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT",
    "STABLEHLO_LOGISTIC", "STABLEHLO_ADD", "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM",
    "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE", "STABLEHLO_BROADCAST_IN_DIM",
    "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE", "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE", "STABLEHLO_ABS",
    "STABLEHLO_AND", "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL", "STABLEHLO_FLOOR", "STABLEHLO_LOG",
    "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR", "STABLEHLO_POWER", "STABLEHLO_REMAINDER",
    "STABLEHLO_RSQRT", "STABLEHLO_SELECT", "STABLEHLO_SUBTRACT", "STABLEHLO_TANH", "STABLEHLO_SCATTER",
    "STABLEHLO_COMPARE", "STABLEHLO_CONVERT", "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE",
    "STABLEHLO_PAD", "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SORT",
    "STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE", "STABLEHLO_RNG_BIT_GENERATOR",
    "REDUCE_WINDOW", "STABLEHLO_COMPOSITE", "STABLEHLO_SHIFT_LEFT", "STABLEHLO_CBRT", "STABLEHLO_CASE",
)
_TYPE_BYTES = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1, 10: 8, 12: 8, 15: 4, 16: 2, 18: 2}
_TYPE_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8"}
# TFLite op -> memsim op for the IR; None marks helper ops that only move shapes.
_OP_MAP = {
    "CONV_2D": "conv2d", "DEPTHWISE_CONV_2D": "depthwise_conv2d", "FULLY_CONNECTED": "dense",
    "MAX_POOL_2D": "max_pool2d", "AVERAGE_POOL_2D": "avg_pool2d", "MEAN": "global_avg_pool",
    "REDUCE_MAX": "global_max_pool", "RESHAPE": "reshape", "SQUEEZE": "reshape", "EXPAND_DIMS": "reshape",
    "ADD": "add", "CONCATENATION": "concatenate", "PAD": "zero_padding", "MUL": "batch_norm",
    "SOFTMAX": "activation", "TANH": "activation", "LOGISTIC": "activation", "RELU": "activation",
    "RELU6": "activation", "LEAKY_RELU": "activation", "ELU": "activation",
    "QUANTIZE": "activation", "DEQUANTIZE": "activation",
    "SHAPE": None, "STRIDED_SLICE": None, "PACK": None,
    "GREATER": "activation", "EXP": "activation", "SUB": "activation", "SELECT_V2": "activation",
}
SUPPORTED_OPS = frozenset(_OP_MAP)
_ACT_OF_OP = {"SOFTMAX": "softmax", "TANH": "tanh", "LOGISTIC": "sigmoid", "RELU": "relu", "RELU6": "relu6",
              "LEAKY_RELU": "leaky_relu", "ELU": "elu"}
_FUSED = {1: "relu", 3: "relu6", 4: "tanh"}


@dataclass(frozen=True)
class TFLiteModel:
    """What a .tflite file holds, as far as memory is concerned."""

    file_bytes: int
    op_types: list
    op_inputs: list
    op_outputs: list
    op_options: list        # small dicts of the options memsim reads
    tensor_names: list
    tensor_shapes: list
    tensor_dtypes: list
    tensor_sizes: list      # bytes
    tensor_const: list
    tensor_channels: list   # quantisation scales per tensor
    inputs: list
    outputs: list


def _table(buf: bytes, pos: int) -> Table:
    return Table(buf, pos)


def _field(t: Table, fid: int) -> int:
    return t.Offset(4 + 2 * fid)


def _scalar(t: Table, fid: int, flags, default=0):
    o = _field(t, fid)
    return t.Get(flags, o + t.Pos) if o else default


def _vector(t: Table, fid: int, flags, width: int) -> list:
    o = _field(t, fid)
    if not o:
        return []
    start, n = t.Vector(o), t.VectorLen(o)
    return [t.Get(flags, start + k * width) for k in range(n)]


def _tables(t: Table, fid: int) -> list:
    o = _field(t, fid)
    if not o:
        return []
    start, n = t.Vector(o), t.VectorLen(o)
    return [Table(t.Bytes, t.Indirect(start + 4 * k)) for k in range(n)]


def _subtable(t: Table, fid: int):
    o = _field(t, fid)
    return Table(t.Bytes, t.Indirect(o + t.Pos)) if o else None


def _string(t: Table, fid: int) -> str:
    o = _field(t, fid)
    return t.String(o + t.Pos).decode("utf-8", "replace") if o else ""


def read_tflite(source: "bytes | str | Path") -> TFLiteModel:
    """Parse a .tflite file (path or bytes).

    Raises
    ------
    ModelFileError
        If the file is missing, truncated or not a TFLite flatbuffer.
    """
    label = "<bytes>"
    if isinstance(source, (str, Path)):
        label = str(source)
        try:
            buf = Path(source).read_bytes()
        except FileNotFoundError:
            raise ModelFileError(f"Model file {label!r} does not exist.") from None
        except OSError as exc:
            raise ModelFileError(f"Model file {label!r} cannot be read: {exc.strerror}.") from None
    else:
        buf = bytes(source)
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelFileError(
            f"{label!r} is not a TFLite flatbuffer (no 'TFL3' identifier); convert the model with "
            "tf.lite.TFLiteConverter or pass a .keras/.h5 file."
        )
    try:
        return _parse(buf)
    except (struct.error, IndexError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ModelFileError(
            f"{label!r} is a truncated or corrupt TFLite file ({type(exc).__name__} while reading it); "
            "re-export it from the converter."
        ) from None


def _parse(buf: bytes) -> TFLiteModel:
    root = _table(buf, N.UOffsetTFlags.py_type(struct.unpack_from("<I", buf, 0)[0]))
    codes = []
    for oc in _tables(root, 1):
        code = max(_scalar(oc, 0, N.Int8Flags), _scalar(oc, 3, N.Int32Flags))
        codes.append(OPERATOR_NAMES[code] if 0 <= code < len(OPERATOR_NAMES) else f"OP_{code}")
    buffers, buffer_starts = [], []
    for b in _tables(root, 4):
        o = _field(b, 0)
        size = b.VectorLen(o) if o else _scalar(b, 2, N.Uint64Flags)
        buffers.append(size)
        buffer_starts.append(b.Vector(o) if o else -1)  # -1: data outside the flatbuffer (models over 2 GB)
    subgraphs = _tables(root, 2)
    if not subgraphs:
        raise ValueError("no subgraph")
    sg = subgraphs[0]
    names, shapes, dtypes, sizes, const, channels, tensor_buffer = [], [], [], [], [], [], []
    for t in _tables(sg, 0):
        shape = _vector(t, 0, N.Int32Flags, 4)
        ttype = _scalar(t, 1, N.Int8Flags)
        bidx = _scalar(t, 2, N.Uint32Flags)
        q = _subtable(t, 4)
        n_scales = 0
        if q is not None:
            o = _field(q, 2)
            n_scales = q.VectorLen(o) if o else 0
        names.append(_string(t, 3))
        shapes.append(tuple(int(d) for d in shape))
        dtypes.append(_TYPE_NAMES.get(ttype, f"type{ttype}"))
        sizes.append(prod(max(int(d), 1) for d in shape) * _TYPE_BYTES.get(ttype, 4))
        const.append(0 < bidx < len(buffers) and buffers[bidx] > 0)
        channels.append(n_scales)
        tensor_buffer.append(bidx)
    op_types, op_in, op_out, op_opts = [], [], [], []
    for op in _tables(sg, 3):
        kind = codes[_scalar(op, 0, N.Uint32Flags)]
        op_types.append(kind)
        op_in.append([i for i in _vector(op, 1, N.Int32Flags, 4) if i >= 0])
        op_out.append(_vector(op, 2, N.Int32Flags, 4))
        opt = _subtable(op, 4)
        options = {}
        if opt is not None:
            if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                options = {"padding": _scalar(opt, 0, N.Int8Flags), "stride_w": _scalar(opt, 1, N.Int32Flags),
                           "stride_h": _scalar(opt, 2, N.Int32Flags),
                           "activation": _scalar(opt, 3 if kind == "CONV_2D" else 4, N.Int8Flags)}
            elif kind in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
                options = {"padding": _scalar(opt, 0, N.Int8Flags), "stride_w": _scalar(opt, 1, N.Int32Flags),
                           "stride_h": _scalar(opt, 2, N.Int32Flags), "filter_w": _scalar(opt, 3, N.Int32Flags),
                           "filter_h": _scalar(opt, 4, N.Int32Flags), "activation": _scalar(opt, 5, N.Int8Flags)}
            elif kind in ("FULLY_CONNECTED", "ADD", "CONCATENATION", "MUL"):
                fid = {"FULLY_CONNECTED": 0, "ADD": 0, "MUL": 0, "CONCATENATION": 1}[kind]
                options = {"activation": _scalar(opt, fid, N.Int8Flags)}
        if kind in ("PAD", "PADV2") and len(op_in[-1]) > 1:
            # the (before, after) pairs per axis live in a constant int32 [rank, 2] tensor, not in the options
            t = op_in[-1][1]
            bidx = tensor_buffer[t]
            start = buffer_starts[bidx] if 0 < bidx < len(buffers) else -1
            if start >= 0 and dtypes[t] == "int32":
                flat = struct.unpack_from(f"<{buffers[bidx] // 4}i", buf, start)
                options = {"paddings": [list(flat[k:k + 2]) for k in range(0, len(flat), 2)]}
        op_opts.append(options)
    return TFLiteModel(
        file_bytes=len(buf), op_types=op_types, op_inputs=op_in, op_outputs=op_out, op_options=op_opts,
        tensor_names=names, tensor_shapes=shapes, tensor_dtypes=dtypes, tensor_sizes=sizes,
        tensor_const=const, tensor_channels=channels,
        inputs=list(_vector(sg, 1, N.Int32Flags, 4)), outputs=list(_vector(sg, 2, N.Int32Flags, 4)),
    )


def _spatial_pads(paddings, in_shape, out_shape) -> list:
    """A PAD's (before, after) per spatial axis (batch and channels dropped), as ZeroPadding layers hold them.

    Where the file holds no readable paddings tensor, the growth of each axis is split the way TF's "same" does
    (the extra pad at the end)."""
    rank = len(out_shape)
    if paddings and len(paddings) == rank:
        return [[int(b), int(a)] for b, a in paddings[1:-1]]
    grow = [max(int(o) - int(i), 0) for i, o in zip(in_shape[1:-1], out_shape[1:-1])] or [0] * (rank - 2)
    return [[g // 2, g - g // 2] for g in grow]


def model_dtype(model: TFLiteModel) -> str:
    """The type the file's body computes in: int8 when any conv/dense kernel is int8, else float32.

    An int8 body with float32 input/output (QUANTIZE first, DEQUANTIZE last) is an int8 model.
    """
    for k, kind in enumerate(model.op_types):
        ins = model.op_inputs[k]
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and len(ins) > 1 and ins[1] >= 0:
            if model.tensor_dtypes[ins[1]] == "int8":
                return "int8"
    return "int8" if any(model.tensor_dtypes[t] == "int8" for t in model.inputs) else "float32"


def graph_from_tflite(source: "bytes | str | Path | TFLiteModel", name: str | None = None) -> Graph:
    """Build the IR from a .tflite file; the parsed model rides along as ``graph.tflite``."""
    model = source if isinstance(source, TFLiteModel) else read_tflite(source)
    if name is None:
        name = Path(source).stem if isinstance(source, (str, Path)) else "model"
    layers: list[Layer] = []
    producer: dict[int, int] = {}
    for t in model.inputs:
        producer[t] = len(layers)
        layers.append(Layer(model.tensor_names[t] or f"input_{t}", "input", (), model.tensor_shapes[t][1:] or (1,),
                            source_type="INPUT"))
    for k, kind in enumerate(model.op_types):
        if kind not in _OP_MAP:
            raise UnsupportedLayerError(
                f"Operator #{k} of type {kind} is not supported; supported TFLite operators are "
                f"{', '.join(sorted(_OP_MAP))}."
            )
        ins = model.op_inputs[k]
        data_in = [t for t in ins if not model.tensor_const[t]]
        out = model.op_outputs[k][0]
        shape = model.tensor_shapes[out][1:] or (1,)
        src = tuple(producer[t] for t in data_in if t in producer)
        mapped = _OP_MAP[kind]
        lname = model.tensor_names[out] or f"op_{k}"
        opts = model.op_options[k]
        weights = biases = macc = 0
        attrs: dict = {}
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            kernel = model.tensor_shapes[ins[1]]
            weights = prod(kernel)
            biases = prod(model.tensor_shapes[ins[2]]) if len(ins) > 2 and model.tensor_const[ins[2]] else 0
            out_elems = prod(shape)
            if kind == "FULLY_CONNECTED":
                macc = (out_elems // shape[-1]) * weights + biases
                attrs = {"units": shape[-1], "use_bias": bool(biases)}
            else:
                kh, kw = kernel[1], kernel[2]
                per_out = kh * kw * (kernel[3] if kind == "CONV_2D" else 1)
                macc = out_elems * per_out + biases
                attrs = {"kernel_size": (kh, kw), "strides": (opts.get("stride_h", 1), opts.get("stride_w", 1)),
                         "padding": "same" if opts.get("padding") == 0 else "valid", "use_bias": bool(biases)}
        elif kind in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            window = (opts.get("filter_h", 1), opts.get("filter_w", 1))
            macc = prod(shape) * prod(window)
            attrs = {"pool_size": window, "strides": (opts.get("stride_h", 1), opts.get("stride_w", 1)),
                     "padding": "same" if opts.get("padding") == 0 else "valid"}
        elif kind in ("MEAN", "REDUCE_MAX") and data_in:
            macc = prod(model.tensor_shapes[data_in[0]][1:] or (1,))
        elif mapped == "activation":
            act = _ACT_OF_OP.get(kind, "relu")
            attrs = {"activation": act}
            macc = prod(shape) * (ACTIVATION_MACC[act] if kind in _ACT_OF_OP else 1)
        elif kind == "ADD":
            macc = prod(shape)
        elif mapped == "zero_padding":
            attrs = {"padding": _spatial_pads(opts.get("paddings"), model.tensor_shapes[data_in[0]] if data_in
                                              else (), model.tensor_shapes[out])}
        elif kind == "MUL":
            attrs = {"folded": False}
            macc = prod(shape)
        if mapped is None:
            mapped = "reshape"
            attrs = {"helper": True}
        producer[out] = len(layers)
        layers.append(Layer(lname, mapped, src or ((len(layers) - 1,) if layers else ()), tuple(shape),
                            weights, biases, macc, attrs, kind))
        fused = _FUSED.get(opts.get("activation", 0))
        if fused:
            layers.append(Layer(f"{lname}_{fused}", "activation", (len(layers) - 1,), tuple(shape), 0, 0,
                                prod(shape), {"activation": fused, "fused": True}, kind))
            producer[out] = len(layers) - 1
    outputs = tuple(producer[t] for t in model.outputs if t in producer)
    return Graph(name, tuple(layers), outputs, sum(l.params for l in layers), tflite=model)
