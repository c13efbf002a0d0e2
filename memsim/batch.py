"""Score many configurations of one template family in a single numba call.

A *family* is a chain of L slots (the papers' templates are chains: HAR,
bottle-level with skipped layers, DS-CNN). Each configuration gives every
slot an op code and eight integer parameters:

==============  ====================================================================
slot op         parameters (index: meaning)
==============  ====================================================================
conv1d/conv2d   0 filters, 1 k_h, 2 k_w, 3 s_h, 4 s_w, 5 same(0/1), 6 use_bias, 7 act
depthwise       0 depth multiplier, then as conv
dense           0 units, 1 use_bias, 2 act
pooling 1D/2D   0 p_h, 1 p_w, 2 s_h, 3 s_w, 4 same
activation      0 act
skip, dropout,  none (skip removes the slot: the papers' "skipped layers")
flatten, global
pooling, BN
==============  ====================================================================

Activation codes follow ``ACTIVATIONS``. The result columns are
``RESULT_FIELDS``; ``valid`` is 0 where shapes do not fit (then figures are -1).
The rules are those of the single-network path, and the tests hold the two
equal on random configurations.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from collections.abc import Mapping, Sequence

import numpy as np

from memsim._errors import SpecError, UnsupportedLayerError
from memsim._latency import time_model
from memsim._settings import Settings, check_board, resolve_shared
from memsim._kernels import codes as K
from memsim._kernels.driver import XCUBE_OPTIONS, batch_kernel
from memsim._kernels.timing import TIME_FEATURES
from memsim._tflite_names import input_tensor_name
from memsim.frontends.spec import activation_of_layer, normalise_activation
from memsim.metrics import COMPRESSIONS, MIN_WEIGHTS
from memsim.ops import ACTIVATION_MACC, ACTIVATIONS, LAYER_TYPES
from memsim.profiles import tflm as _tflm
from memsim.profiles import xcubeai as _xcube
from targets import Target, get_target

__all__ = ["ACTIVATIONS", "RESULT_FIELDS", "ChainFamily", "SLOT_OPS"]

RESULT_FIELDS = K.RESULT_FIELDS
# canonical op (memsim.ops.LAYER_TYPES) -> the kernel's slot code; the slot names are the registry's Keras names
_BATCH_CODES = {op: K.OP[op] for op in (  # the ops memsim._kernels.chain_ir builds
    "conv1d", "conv2d", "depthwise_conv2d", "dense", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
    "global_avg_pool", "global_max_pool", "flatten", "activation", "batch_norm", "dropout")}
SLOT_OPS = {"skip": K.OP_SKIP, **{name.lower(): _BATCH_CODES[op] for op, names in LAYER_TYPES.items()
                                  if op in _BATCH_CODES for name in names}}
def _pair(value, default):
    if value is None:
        value = default
    if isinstance(value, int):
        return value, value
    value = tuple(value)
    return (value[0], value[0]) if len(value) == 1 else (value[0], value[1])


def _act_code(value, where):
    return ACTIVATIONS.index(normalise_activation(value, where))


_ACT_MACC = np.array([ACTIVATION_MACC[a] for a in ACTIVATIONS], np.int64)


class _Where:
    """A slot's description for error messages, formatted only when one is raised."""

    def __init__(self, s: int, item: Mapping):
        self.s, self.item = s, item

    def __format__(self, spec: str) -> str:
        return f"Slot {self.s} ({self.item['type']})"

    __str__ = lambda self: format(self, "")  # noqa: E731


_CONV_CODES = (K.OP_CONV1D, K.OP_CONV2D, K.OP_DWCONV2D)
_POOL_CODES = (K.OP_MAXPOOL1D, K.OP_MAXPOOL2D, K.OP_AVGPOOL1D, K.OP_AVGPOOL2D)


def _encode_slot(s: int, item: Mapping) -> tuple[int, list]:
    """(op code, 8 parameters) of one slot."""
    where = _Where(s, item)
    op = SLOT_OPS.get(str(item["type"]).lower().replace("_", ""))
    if op is None:
        raise UnsupportedLayerError(f"{where} is not supported by the batch evaluator; "
                                    f"supported: {', '.join(sorted(SLOT_OPS))}.")
    if "inputs" in item:
        raise SpecError(f"{where}: the batch evaluator takes chains only; 'inputs' is not allowed.")
    get = item.get
    if op in _CONV_CODES:
        kh, kw = _pair(get("kernel_size"), 1)
        sh, sw = _pair(get("strides"), 1)
        first = get("depth_multiplier", 1) if op == K.OP_DWCONV2D else item["filters"]
        return op, [first, kh, kw, sh, sw, str(get("padding", "valid")).lower() == "same",
                    bool(get("use_bias", True)), _act_code(get("activation"), where)]
    if op == K.OP_DENSE:
        return op, [item["units"], bool(get("use_bias", True)), _act_code(get("activation"), where), 0, 0, 0, 0, 0]
    if op in _POOL_CODES:
        ph, pw = _pair(get("pool_size"), 2)
        sh, sw = _pair(get("strides"), (ph, pw))
        return op, [ph, pw, sh, sw, str(get("padding", "valid")).lower() == "same", 0, 0, 0]
    if op == K.OP_ACT:  # Activation(act), ReLU, LeakyReLU, Softmax, ELU: as the spec front-end reads them
        return op, [ACTIVATIONS.index(activation_of_layer(str(item["type"]), item, str(where))), 0, 0, 0, 0, 0, 0, 0]
    return op, [0] * 8


@lru_cache(maxsize=256)
def _family(input_shape: tuple, slot_names: tuple, name: str, input_name: str) -> "ChainFamily":
    """A ChainFamily, reused across calls (footprint's fast path asks for the same family many times)."""
    return ChainFamily(input_shape, slot_names, name=name, input_name=input_name)


@dataclass(frozen=True)
class ChainFamily:
    """A chain template: input shape and slot names (used for TFLM name sizes).

    Parameters
    ----------
    input_shape : tuple of int
        Without batch: (n,), (L, C) or (H, W, C).
    slot_names : sequence of str
        One name per slot, as the Keras layers will be named.
    name : str
        Model name (the TFLite converter puts it in tensor names).
    input_name : str
        Name of the input layer.
    """

    input_shape: tuple
    slot_names: tuple
    name: str = "model"
    input_name: str = "x"

    def encode(self, specs: Sequence[Sequence[Mapping]]) -> tuple[np.ndarray, np.ndarray]:
        """Arrays (ops, params) from layer descriptions (without the Input layer), one per configuration.

        A slot may be ``{"type": "Skip"}``. Slow (Python); templates build the arrays directly.
        """
        L = len(self.slot_names)
        all_ops, all_prm = [], []
        for i, layers in enumerate(specs):
            if len(layers) != L:
                raise SpecError(f"Configuration {i} has {len(layers)} layers; the family has {L} slots.")
            ops_i, prm_i = [], []
            for s, item in enumerate(layers):
                op, p = _encode_slot(s, item)
                ops_i.append(op)
                prm_i.append(p)
            all_ops.append(ops_i)
            all_prm.append(prm_i)
        return np.array(all_ops, np.int64).reshape(len(specs), L), np.array(all_prm, np.int64).reshape(len(specs), L, 8)

    @cached_property
    def _names(self) -> np.ndarray:
        return np.array([len(n) for n in self.slot_names], np.int64)

    @cached_property
    def _in_shape(self) -> np.ndarray:
        shape = tuple(self.input_shape)
        return np.array([shape[0], shape[1] if len(shape) == 3 else 1, shape[-1]] if len(shape) > 1
                        else [1, 1, shape[0]], np.int64)

    def evaluate(self, ops: np.ndarray, params: np.ndarray, runtime=None, dtype: "str | None" = None,
                 compression: "str | None" = None, target: "str | Target | None" = None) -> dict[str, np.ndarray]:
        """RAM, Flash, MACC (bytes / MACC) and the time model's features of every configuration, as arrays of
        length N (runtime, dtype and compression as ``memsim.footprint`` takes them); with a target also ``latency_ms`` and ``latency_high_ms`` (the estimate and the top of its band on
        the target's core and clock, what a latency budget is held against)."""
        ops = np.ascontiguousarray(ops, np.int64)
        params = np.ascontiguousarray(params, np.int64)
        if ops.ndim != 2 or params.shape != ops.shape + (8,):
            raise SpecError(f"ops must be (N, L) and params (N, L, 8); got {ops.shape} and {params.shape}.")
        if ops.shape[1] != len(self.slot_names):
            raise SpecError(f"ops has {ops.shape[1]} slots; the family has {len(self.slot_names)}.")
        settings = resolve_shared(runtime, dtype, compression)  # an unknown value is an error, as in footprint
        board = get_target(target) if target is not None else None
        check_board(settings, board)
        out = self._run(ops, params, settings, board)
        result = {f: out[:, k] for k, f in enumerate(RESULT_FIELDS)}
        if board is not None:
            result["latency_ms"], result["latency_high_ms"] = time_model().ms_many(
                out[:, K.R_TIME:K.R_TIME + len(TIME_FEATURES)], board.clock_hz, board.core_class,
                settings.runtime.time_key, settings.dtype)
        return result

    def _run(self, ops: np.ndarray, params: np.ndarray, settings: Settings, board: "Target | None") -> np.ndarray:
        """The kernel's (N, len(RESULT_FIELDS)) figures for checked int64 arrays (``footprint``'s fast path calls
        this directly: it checked everything already)."""
        ov = board.overhead(settings.runtime.family, settings.dtype) if board else None
        out = np.empty((ops.shape[0], len(RESULT_FIELDS)), np.int64)
        batch_kernel(ops, params, *self._kernel_args(settings.profile, settings.dtype, settings.compression),
                     ov.ram_bytes if ov else 0, ov.code_flash_bytes if ov else 0, out)
        return out

    def _kernel_args(self, prof, dtype: str, compression: str) -> tuple:
        """The kernel's arguments between the configurations and the board's overhead, built once per profile,
        dtype and compression (the profile by identity: ``resolve_shared`` hands out one per combination). Every
        option and constant of both profiles is handed in: the kernel has none of its own."""
        key = (prof, dtype, compression)
        args = self._args.get(key)
        if args is None:
            xcube_profile = prof if isinstance(prof, _xcube.XCubeAIProfile) else _xcube.XCubeAIProfile()  # (unused
            # under TFLM's planner)
            xcube = np.array([getattr(xcube_profile, option) for option in XCUBE_OPTIONS], np.int64)
            args = (self._in_shape, len(self.input_shape), input_tensor_name(self.input_name),
                    int(prof.kernel_planner == _tflm.KERNEL_PLANNER), dtype == "int8", COMPRESSIONS.index(compression), xcube, _ACT_MACC,
                    MIN_WEIGHTS, self._names, _xcube.SCRATCH_CONSTS, *_tflm.name_tables(),
                    _tflm.name_constants(self.name), _tflm.op_table(dtype), _tflm.memory_constants(dtype),
                    _tflm.FLATBUFFER_COSTS)
            if len(self._args) >= 16:  # profiles from ``resolve`` are new objects each time: keep the cache small
                self._args.clear()
            self._args[key] = args
        return args

    @cached_property
    def _args(self) -> dict:
        return {}
