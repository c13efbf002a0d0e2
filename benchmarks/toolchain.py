"""Convert with TensorFlow and measure with the real TFLite-Micro interpreter.

Shared by the tests and benchmarks (the validation package will own the
user-facing version of this).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def randomise_weights(model, seed: int = 0) -> None:
    """Give every weight a non-zero value, as after training.

    Zero biases would be folded away by the converter, which trained models
    never see.
    """
    rng = np.random.default_rng(seed)
    for w in model.weights:
        low, high = (0.5, 1.5) if "variance" in w.path else (-0.5, 0.5)
        w.assign(rng.uniform(low, high, w.shape).astype("float32"))


def convert(model, dtype: str = "float32", seed: int = 0) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if dtype == "int8":
        rng = np.random.default_rng(seed)
        shape = tuple(model.inputs[0].shape[1:])

        def representative():
            for _ in range(16):
                yield [rng.uniform(0, 1, (1,) + shape).astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return converter.convert()


def _capture_fd2(fn) -> str:
    fd = 2  # C code writes to descriptor 2 whatever sys.stderr is
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as f:
        os.dup2(f.fileno(), fd)
        try:
            fn()
        finally:
            import ctypes

            ctypes.CDLL(None).fflush(None)  # C stderr is buffered when it is not a terminal
            os.dup2(saved, fd)
            os.close(saved)
        f.seek(0)
        return f.read().decode(errors="replace")


def measure(flatbuffer: bytes, arena_size: int = 8 * 1024 * 1024) -> dict:
    """Arena total/head/tail (bytes) reported by the real interpreter."""
    from tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(flatbuffer, arena_size=arena_size)
    text = _capture_fd2(it.print_allocations)
    figures = {k: int(v) for k, v in re.findall(r"Arena allocation (\w+) (\d+) bytes", text)}
    persistent = re.search(r"'Persistent buffer data' used (\d+)", text)
    figures["persistent_buffers"] = int(persistent.group(1)) if persistent else 0
    figures["flatbuffer"] = len(flatbuffer)
    return figures
