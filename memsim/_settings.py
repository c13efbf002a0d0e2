"""One resolver for what a deployment is judged under: runtime, dtype, compression, safety margin.

``footprint``, the batch evaluator, the search and the export all call it, so a combination is accepted or
refused, with the same sentence, everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from memsim._errors import SpecError
from memsim.metrics import normalise_compression
from memsim.profiles import RuntimeProfile, get_profile
from targets import DTYPES

__all__ = ["DTYPES", "Settings", "check_board", "deployment_defaults", "resolve", "resolve_shared"]


@dataclass(frozen=True)
class Settings:
    profile: RuntimeProfile
    runtime: str        # as asked (``xcubeai-5`` stays ``xcubeai-5``; ``profile.name`` is the family)
    dtype: str
    compression: str    # none, x4 or x8
    ram_pct: float      # safety margin on the network's RAM, % of memsim's figure
    flash_pct: float


def margin_pair(margin, profile, dtype: str = "float32") -> tuple[float, float]:
    """(RAM %, Flash %) from a margin argument, or the profile's calibrated default for the dtype."""
    if margin is None:
        default = profile.safety_margin_pct(dtype)
        return float(default["ram"]), float(default["flash"])
    pair = (margin, margin) if isinstance(margin, (int, float)) else tuple(margin)
    if len(pair) != 2 or not all(isinstance(v, (int, float)) and 0 <= v < 100 for v in pair):
        raise SpecError(f"Safety margin {margin!r} must be a percentage in [0, 100) or a (RAM, Flash) pair of them.")
    return float(pair[0]), float(pair[1])


def resolve(runtime: "str | RuntimeProfile" = "xcubeai", dtype: str = "float32", compression: str = "none",
            margin=None) -> Settings:
    """Check a combination and fill in defaults; an impossible or unknown value is a SpecError saying why."""
    profile = get_profile(runtime)  # an unknown runtime is an error, never another runtime's figures
    if dtype not in DTYPES:
        raise SpecError(f"Unknown dtype {dtype!r}; use {' or '.join(DTYPES)}.")
    compression = normalise_compression(compression)
    if compression != "none" and profile.name != "xcubeai":
        raise SpecError(f"Compression {compression} is an X-CUBE-AI feature, not available under {profile.name}; "
                        "use compression none, or the xcubeai runtime.")
    if compression != "none" and dtype != "float32":
        raise SpecError(f"Compression {compression} (X-CUBE-AI weight sharing) applies to float32 models only; "
                        "use compression none, or dtype float32.")
    ram_pct, flash_pct = margin_pair(margin, profile, dtype)
    name = runtime if isinstance(runtime, str) else profile.name
    return Settings(profile, name, dtype, compression, ram_pct, flash_pct)


def deployment_defaults(runtime: str, dtype: "str | None" = None, compression: "str | None" = None
                        ) -> tuple[str, str]:
    """(dtype, compression) a deployment under ``runtime`` gets where the user names none, checked by ``resolve``:
    tflm -> int8 (what TFLM users deploy); xcubeai -> float32 with x8 weight sharing (the papers' setting)."""
    dtype = dtype or ("int8" if runtime == "tflm" else "float32")
    compression = compression or ("x8" if runtime.startswith("xcubeai") and dtype == "float32" else "none")
    return dtype, resolve(runtime, dtype, compression).compression  # x4/x8 (low, medium, high are ST's names)


_SHARED: dict = {}


def resolve_shared(runtime: str = "xcubeai", dtype: str = "float32", compression: str = "none",
                   margin=None) -> Settings:
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
        if isinstance(runtime, str):
            if len(_SHARED) >= 256:
                _SHARED.clear()
            _SHARED[(runtime, dtype, compression, margin)] = hit
    return hit


def check_board(settings: Settings, board) -> None:
    """Refuse a runtime on a board it does not run on (X-CUBE-AI generates code for STM32 only)."""
    if board is not None and settings.profile.name == "xcubeai" and not board.runs_xcubeai:
        raise SpecError(f"X-CUBE-AI generates code for STM32 microcontrollers only, and {board.name} is a "
                        f"{board.vendor} board; use --runtime tflm for it.")
