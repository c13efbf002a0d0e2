"""Test and benchmark helpers around the real toolchain (the measuring itself lives in validation.tflm)."""

from __future__ import annotations

from validation.corpus import randomise_weights
from validation.tflm import ToolchainError, convert, measure as _measure

__all__ = ["convert", "measure", "randomise_weights"]


def measure(flatbuffer: bytes) -> dict:
    """validation.tflm.measure as a dict; RuntimeError when TFLM refuses the model (as the tests expect)."""
    try:
        m = _measure(flatbuffer)
    except ToolchainError as exc:
        raise RuntimeError(str(exc)) from None
    return {"total": m.total, "head": m.head, "tail": m.tail, "flatbuffer": m.flatbuffer, "smallest": m.smallest}
