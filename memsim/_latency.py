"""Latency of one inference: the one formula every figure of memsim's comes from (footprint, footprint_many, the
search's labels, shrink's budget), so the time model replaces it in one place."""

from __future__ import annotations

__all__ = ["CYCLES_PER_MACC", "latency_ms"]

# Latency assumption: cycles per MACC on a Cortex-M4F. Not measured here;
# ST quotes roughly 5-10 cycles/MACC for float32 and 2-4 for int8 with
# CMSIS-NN depending on layer shapes. Override with ``cycles_per_macc``.
CYCLES_PER_MACC = {"float32": 6.0, "int8": 3.0}


def latency_ms(macc: int, clock_hz: float, dtype: str, cycles_per_macc: "float | None" = None,
               digits: "int | None" = 3) -> float:
    """Milliseconds for ``macc`` multiply-accumulates at ``clock_hz``, to ``digits`` decimals (None: unrounded,
    for optimisers that differentiate it)."""
    cpm = cycles_per_macc if cycles_per_macc is not None else CYCLES_PER_MACC[dtype]
    ms = 1000.0 * macc * cpm / clock_hz
    return ms if digits is None else round(ms, digits)
