"""The real TensorFlow Lite Micro toolchain: convert, measure the arena, compare outputs.

Measurements (both are reported; a disagreement is reported, not hidden):

* ``print_allocations``: TFLM's RecordingMicroAllocator prints the arena
  total, head (planned activations) and tail (persistent data) to C-level
  stderr; it is captured by redirecting file descriptor 2.
* the smallest ``arena_size`` that allocates, by bisection to 16 bytes.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

import numpy as np

from validation._errors import ToolchainError

__all__ = ["ArenaMeasurement", "CrossAccuracy", "calibration_samples", "convert", "measure", "cross_accuracy",
           "io_details", "load_keras", "tflite_micro_version"]


def load_keras():
    """Keras, with TensorFlow's start-up chatter silenced."""
    from memsim.frontends.keras import quiet_keras

    return quiet_keras()


@contextlib.contextmanager
def _fd2_to(path_or_null: str | None):
    """Send C-level stderr (fd 2) to a file or to /dev/null while the block runs."""
    import ctypes

    target = open(path_or_null, "w+b") if path_or_null else open(os.devnull, "wb")
    saved = os.dup(2)
    try:
        os.dup2(target.fileno(), 2)
        yield target
    finally:
        ctypes.CDLL(None).fflush(None)  # C stderr is buffered when it is not a terminal
        os.dup2(saved, 2)
        os.close(saved)
        target.close()


CALIBRATION_SAMPLES = 200
CALIBRATION_TAIL = 0.02


def calibration_samples(samples: np.ndarray, seed: int = 0) -> np.ndarray:
    """The samples int8 calibration runs on: at most CALIBRATION_SAMPLES, drawn at random (seeded) from the set
    without the CALIBRATION_TAIL whose largest |value| is most extreme. The converter sets every tensor's int8 range
    from the min and max it sees, so one outlier widens a range for all inputs: on har-watch's shrunk network
    (standardised sensor data, one sample at -29.6 where most stay within +-5) calibrating on the first 200 samples
    gave an int8 network agreeing with Keras on 89.3 % of 2,000 inputs (59.7 % accuracy against Keras' 63.3 %);
    without the 2 % most extreme, 97.1 % (63.1 %) (RESULTS.md, "int8 calibration without the extremes")."""
    drop = int(CALIBRATION_TAIL * len(samples))  # none below 50 samples
    if drop:
        extreme = np.abs(samples.reshape(len(samples), -1)).max(axis=1)
        samples = samples[np.sort(np.argsort(extreme, kind="stable")[:len(samples) - drop])]
    order = np.random.default_rng(seed).permutation(len(samples))[:CALIBRATION_SAMPLES]
    return samples[np.sort(order)]


def convert(model, dtype: str = "float32", representative: np.ndarray | None = None, seed: int = 0,
            float_io: bool = False, int16_activations: bool = False, *, isolated: bool = False) -> bytes:
    """Keras model -> .tflite bytes: float32, or int8 (int8 input and output; with ``float_io`` float32 ones, the
    converter's default: QUANTIZE first, DEQUANTIZE last; with ``int16_activations`` the 16x8 scheme: int8
    weights, int16 activations, float32 I/O).

    ``representative`` holds input samples for int8 calibration (``calibration_samples`` picks at most 200 of
    them); without it, 16 uniform random inputs in [0, 1] are used.

    ``isolated`` converts in a fresh Python process, for models from users: the converter can crash its process
    (a segmentation fault on an 8.1 M-parameter int8 network with SELU layers), which then becomes a
    ToolchainError instead of killing the caller. It costs the child's TensorFlow import (seconds).
    """
    return convert_timed(model, dtype, representative, seed, float_io, int16_activations, isolated=isolated)[0]


def convert_timed(model, dtype: str = "float32", representative: np.ndarray | None = None, seed: int = 0,
                  float_io: bool = False, int16_activations: bool = False, *,
                  isolated: bool = False) -> tuple[bytes, float]:
    """``convert`` and the seconds the converter took; with ``isolated``, the child's own timing, so a speed
    comparison does not charge the child's start and TensorFlow import to the converter."""
    if isolated:
        return _convert_in_child(model, dtype, representative, seed, float_io, int16_activations)
    start = time.perf_counter()
    flatbuffer = _convert_here(model, dtype, representative, seed, float_io, int16_activations)
    return flatbuffer, time.perf_counter() - start


def _convert_here(model, dtype, representative, seed, float_io, int16_activations) -> bytes:
    load_keras()
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if dtype == "int8":
        shape = tuple(model.inputs[0].shape[1:])
        if representative is None:
            representative = np.random.default_rng(seed).uniform(0, 1, (16,) + shape)
        samples = calibration_samples(np.asarray(representative, np.float32).reshape((-1,) + shape), seed)

        def gen():
            for x in samples:
                yield [x[None]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = gen
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 if int16_activations
            else tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if not float_io and not int16_activations:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    elif dtype != "float32":
        raise ToolchainError(f"Unknown dtype {dtype!r}; use float32 or int8.")
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), _fd2_to(None):
            return converter.convert()
    except Exception as exc:
        raise ToolchainError(f"The TFLite converter failed: {str(exc).splitlines()[0]}") from None


# The child's command; its arguments follow (validation._convert_child documents them and its exit codes).
_CONVERT_CHILD = [sys.executable, "-m", "validation._convert_child"]


def _child_env() -> dict:
    """The environment of a child process: this one's, with this package importable and TensorFlow quiet."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3"}


def _convert_in_child(model, dtype, representative, seed, float_io, int16_activations) -> tuple[bytes, float]:
    """``convert_timed`` in a child process: the model travels as a .keras file, the .tflite comes back as one,
    the child's conversion seconds on its stdout."""
    import signal
    import subprocess

    with tempfile.TemporaryDirectory(prefix="autotinyml-convert-") as tmp:
        model_path, out_path, rep_path = (os.path.join(tmp, n) for n in ("model.keras", "model.tflite", "rep.npy"))
        try:
            model.save(model_path)
        except Exception:  # a model Keras cannot save (e.g. with a Lambda layer) converts here, unprotected
            return convert_timed(model, dtype, representative, seed, float_io, int16_activations)
        if representative is not None:
            np.save(rep_path, np.asarray(representative, np.float32))
        flags = [f for f, on in (("--float-io", float_io), ("--int16-activations", int16_activations)) if on]
        proc = subprocess.run([*_CONVERT_CHILD, model_path, out_path, dtype, str(seed),
                               rep_path if representative is not None else "-", *flags],
                              capture_output=True, text=True, env=_child_env())
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        if proc.returncode < 0:
            name = signal.Signals(-proc.returncode).name
            raise ToolchainError(f"The TFLite converter crashed ({name}) on this model, so TFLite cannot deploy it "
                                 "as it is; a smaller model, or float32 instead of int8, may convert.")
        if proc.returncode == 3:  # the child could not load the saved model: convert here, as before isolation
            return convert_timed(model, dtype, representative, seed, float_io, int16_activations)
        if proc.returncode == 2:
            raise ToolchainError(last)
        if proc.returncode != 0:
            raise ToolchainError(f"The TFLite converter's process failed (exit code {proc.returncode}: {last}).")
        with open(out_path, "rb") as f:
            return f.read(), _child_seconds(proc.stdout)


def _child_seconds(stdout: str) -> float:
    """The conversion seconds the child printed ("convert_seconds S"); NaN if a library's output hid them."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("convert_seconds "):
            return float(line.split()[1])
    return float("nan")


@dataclass(frozen=True)
class ArenaMeasurement:
    """Real TFLM figures (bytes)."""

    flatbuffer: int
    total: int
    head: int
    tail: int
    smallest: int

    @property
    def agree(self) -> bool:
        """Whether the smallest allocating arena is within 32 B of the reported total.

        Measured: they agree for float32 models; int8 models need a little more
        than the recorded total (temporary allocations while preparing ops).
        """
        return abs(self.smallest - self.total) <= 32

    def to_dict(self) -> dict:
        return {**asdict(self), "agree": self.agree}


def _interpreter(flatbuffer: bytes, arena_size: int):
    from tflite_micro import runtime

    return runtime.Interpreter.from_bytes(flatbuffer, arena_size=arena_size)


def tflite_micro_version() -> str:
    """The installed tflite-micro package's version (what measured the figures)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tflite-micro")
    except PackageNotFoundError:
        return "unknown"


def io_details(flatbuffer: bytes) -> list[dict]:
    """Shape, type and (first) quantisation parameters of each input and output, as the interpreter sees them."""
    from memsim.frontends.tflite import read_tflite

    parsed = read_tflite(flatbuffer)
    with _fd2_to(None):
        it = _interpreter(flatbuffer, 8 * 1024 * 1024)
    out = []
    for kind, get, count in (("input", it.get_input_details, len(parsed.inputs)),
                             ("output", it.get_output_details, len(parsed.outputs))):
        for index in range(count):
            d = get(index)
            q = d.get("quantization_parameters") or {}
            scales, zeros = list(q.get("scales", [])), list(q.get("zero_points", []))
            out.append({"kind": kind, "index": index, "shape": [int(x) for x in d["shape"]],
                        "dtype": np.dtype(d["dtype"]).name, "scale": float(scales[0]) if len(scales) else 0.0,
                        "zero_point": int(zeros[0]) if len(zeros) else 0})
    return out


def _allocates(flatbuffer: bytes, size: int) -> bool:
    """Whether an arena of ``size`` bytes allocates, probed in a forked child.

    tflite-micro 0.dev2026 sometimes segfaults instead of failing when the
    arena is too small, so a probe must not run in this process; a child
    that crashes counts as "does not allocate".
    """
    pid = os.fork()
    if pid == 0:  # child: no cleanup handlers, only an exit code
        try:
            import faulthandler

            faulthandler.disable()  # an expected crash here must not print a Python traceback (pytest enables it)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            _interpreter(flatbuffer, size)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def measure(flatbuffer: bytes, max_arena: int = 8 * 1024 * 1024) -> ArenaMeasurement:
    """Measure the arena both ways. Raises ToolchainError if TFLM cannot allocate the model at all."""
    with tempfile.NamedTemporaryFile(suffix=".log", delete=False) as f:
        log = f.name
    try:
        try:
            with _fd2_to(log):
                it = _interpreter(flatbuffer, max_arena)
                it.print_allocations()
        except RuntimeError:
            detail = open(log, errors="replace").read().strip().splitlines()
            reason = next((l for l in detail if "failed" in l.lower() or "!=" in l), detail[-1] if detail else "")
            raise ToolchainError(f"tflite-micro cannot allocate this model ({reason.strip()}).") from None
        text = open(log, errors="replace").read()
    finally:
        os.unlink(log)
    figures = {k: int(v) for k, v in re.findall(r"Arena allocation (\w+) (\d+) bytes", text)}
    # the tail alone can never hold the model: start the bisection there
    lo, hi = figures.get("tail", 0), figures.get("total", max_arena) + 1024  # invariant: hi allocates, lo does not
    if not _allocates(flatbuffer, hi):
        hi = max_arena
    while hi - lo > 16:
        mid = (lo + hi) // 2 // 16 * 16
        if mid <= lo:
            break
        if _allocates(flatbuffer, mid):
            hi = mid
        else:
            lo = mid
    return ArenaMeasurement(len(flatbuffer), figures.get("total", -1), figures.get("head", -1),
                            figures.get("tail", -1), hi)


@dataclass(frozen=True)
class CrossAccuracy:
    """TFLM outputs against the Keras model's (X-CROSS, as X-CUBE-AI's validate reports it)."""

    n: int
    agree: int            # samples whose predicted class is the same in TFLM and Keras
    acc: float            # agree / n
    rmse: float
    mae: float
    l2r: float            # ||ref - pred||_2 / ||ref||_2
    acc_reference: float | None = None   # Keras vs true labels (on the labelled samples)
    acc_tflm: float | None = None        # TFLM vs true labels (on the labelled samples)
    n_labelled: int = 0

    def to_dict(self) -> dict:
        from validation.agreement import interval

        low, high = interval(self.agree, self.n)
        return {**asdict(self), "interval_95": [round(low, 4), round(high, 4)]}


def cross_accuracy(model, flatbuffer: bytes, X: np.ndarray, y: np.ndarray | None = None,
                   arena_size: int | None = None) -> CrossAccuracy:
    """Run the real TFLM interpreter on ``X`` and compare with ``model.predict``.

    Agreement needs no label, so ``X`` may hold more samples than ``y``: the label accuracies are over the first
    ``len(y)`` samples (the held-out ones, by the callers' convention)."""
    X = np.asarray(X, np.float32)
    ref = np.asarray(model.predict(X, verbose=0), np.float64)
    with _fd2_to(None):
        it = _interpreter(flatbuffer, arena_size or 8 * 1024 * 1024)
    inp, out = it.get_input_details(0), it.get_output_details(0)
    qin, qout = inp["quantization_parameters"], out["quantization_parameters"]
    preds = []
    for x in X:
        x = x[None]
        if np.dtype(inp["dtype"]) == np.int8:
            x = np.clip(np.round(x / qin["scales"][0] + qin["zero_points"][0]), -128, 127).astype(np.int8)
        it.set_input(x.astype(inp["dtype"]), 0)
        it.invoke()
        o = it.get_output(0).astype(np.float64)
        if np.dtype(out["dtype"]) == np.int8:
            o = (o - qout["zero_points"][0]) * qout["scales"][0]
        preds.append(o.reshape(ref.shape[1:]))
    pred = np.stack(preds)
    diff = ref - pred
    norm = float(np.linalg.norm(ref))
    agree = int(np.sum(ref.argmax(-1) == pred.argmax(-1)))
    result = dict(n=len(X), agree=agree, acc=agree / len(X) if len(X) else float("nan"),
                  rmse=float(np.sqrt(np.mean(diff ** 2))), mae=float(np.mean(np.abs(diff))),
                  l2r=float(np.linalg.norm(diff) / norm) if norm else float("nan"))
    if y is not None and len(y):
        y = np.asarray(y)
        m = len(y)
        result.update(acc_reference=float(np.mean(ref[:m].argmax(-1) == y)),
                      acc_tflm=float(np.mean(pred[:m].argmax(-1) == y)), n_labelled=m)
    return CrossAccuracy(**result)
