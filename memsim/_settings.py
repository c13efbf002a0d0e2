"""One resolver for what a deployment is judged under: runtime, dtype, compression, safety margin.

``footprint``, the batch evaluator, the search and the export all call it, so a combination is accepted or
refused, with the same sentence, everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from memsim._errors import SpecError
from memsim.metrics import normalise_compression
from memsim.profiles import Runtime, RuntimeProfile, get_runtime
from targets import DTYPES

__all__ = ["DTYPES", "Settings", "check_board", "deployment_defaults", "resolve", "resolve_shared"]


@dataclass(frozen=True)
class Settings:
    runtime: Runtime    # resolved once: its name, family, defaults and rules
    profile: RuntimeProfile
    dtype: str
    compression: str    # none, x4 or x8
    ram_pct: float      # safety margin on the network's RAM, % of memsim's figure
    flash_pct: float


def _named(runtime) -> bool:
    """A runtime given by name, as the object or as None, rather than as a profile object (a cheap test: isinstance
    against the runtime-checkable RuntimeProfile protocol costs ~15 us, a footprint's whole budget is ~60 us)."""
    return runtime is None or isinstance(runtime, (str, Runtime))


def margin_pair(margin, profile, dtype: str = "float32") -> tuple[float, float]:
    """(RAM %, Flash %) from a margin argument, or the profile's calibrated default for the dtype."""
    if margin is None:
        default = profile.safety_margin_pct(dtype)
        return float(default["ram"]), float(default["flash"])
    pair = (margin, margin) if isinstance(margin, (int, float)) else tuple(margin)
    if len(pair) != 2 or not all(isinstance(v, (int, float)) and 0 <= v < 100 for v in pair):
        raise SpecError(f"Safety margin {margin!r} must be a percentage in [0, 100) or a (RAM, Flash) pair of them.")
    return float(pair[0]), float(pair[1])


def resolve(runtime: "str | Runtime | RuntimeProfile | None" = None, dtype: "str | None" = None,
            compression: "str | None" = None, margin=None) -> Settings:
    """Check a combination and fill in defaults (``None``: the default runtime; its dtype; no weight sharing - a
    model is judged as it is unless sharing is asked for; ``deployment_defaults`` gives what a search deploys); an
    impossible or unknown value is a SpecError saying why."""
    rt = get_runtime(runtime)  # an unknown runtime is an error, never another runtime's figures
    if dtype is not None and dtype not in DTYPES:
        raise SpecError(f"Unknown dtype {dtype!r}; use {' or '.join(DTYPES)}.")
    dtype, compression = dtype or rt.default_dtype, normalise_compression(compression or "none")
    rt.check_compression(compression, dtype)
    profile = rt.profile() if _named(runtime) else runtime  # a profile object of one's own is used as it is
    ram_pct, flash_pct = margin_pair(margin, profile, dtype)
    return Settings(rt, profile, dtype, compression, ram_pct, flash_pct)


def deployment_defaults(runtime: "str | Runtime | None", dtype: "str | None" = None,
                        compression: "str | None" = None) -> tuple[str, str]:
    """(dtype, compression) a deployment under ``runtime`` gets where the user names none, checked by ``resolve``:
    the runtime's own defaults (tflm -> int8; xcubeai -> float32 with x8 weight sharing, the papers' setting)."""
    rt = get_runtime(runtime)
    settings = resolve(rt, *rt.defaults(dtype, compression))
    return settings.dtype, settings.compression  # x4/x8 (low, medium, high are ST's names)


_SHARED: dict = {}


def resolve_shared(runtime: "str | Runtime | None" = None, dtype: "str | None" = None,
                   compression: "str | None" = None, margin=None) -> Settings:
    """``resolve``, remembered per combination, for callers that read only the profile's constants.

    The profile is shared between calls, so it must never plan a graph (TFLM's keeps the last one it planned).
    A refused combination raises every time; nothing about it is remembered.
    """
    try:
        hit = _SHARED.get((runtime, dtype, compression, margin))
    except TypeError:  # a list margin: not hashable
        return resolve(runtime, dtype, compression, margin)
    if hit is None:
        hit = resolve(runtime, dtype, compression, margin)
        if _named(runtime):
            if len(_SHARED) >= 256:
                _SHARED.clear()
            _SHARED[(runtime, dtype, compression, margin)] = hit
    return hit


def check_board(settings: Settings, board) -> None:
    """Refuse a runtime on a board it does not run on (X-CUBE-AI generates code for STM32 only)."""
    settings.runtime.check_board(board)
