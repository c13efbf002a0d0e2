"""Test and benchmark helpers around the real toolchain (the measuring itself lives in validation.tflm)."""

from __future__ import annotations

import numpy as np

from validation.tflm import ToolchainError, convert, measure as _measure

__all__ = ["convert", "measure", "randomise_weights"]


def randomise_weights(model, seed: int = 0) -> None:
    """Give every weight a non-zero value, as after training.

    Zero biases would be folded away by the converter, which trained models never see.
    """
    rng = np.random.default_rng(seed)
    for w in model.weights:
        low, high = (0.5, 1.5) if "variance" in w.path else (-0.5, 0.5)
        w.assign(rng.uniform(low, high, w.shape).astype("float32"))


def measure(flatbuffer: bytes) -> dict:
    """validation.tflm.measure as a dict; RuntimeError when TFLM refuses the model (as the tests expect)."""
    try:
        m = _measure(flatbuffer)
    except ToolchainError as exc:
        raise RuntimeError(str(exc)) from None
    return {"total": m.total, "head": m.head, "tail": m.tail, "flatbuffer": m.flatbuffer, "smallest": m.smallest}
