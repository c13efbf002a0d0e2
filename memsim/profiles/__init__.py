"""Runtime profiles: how X-CUBE-AI and TFLM lay memory out."""

from memsim._errors import SpecError
from memsim.profiles._base import ActivationPlan, Buffer, RuntimeProfile
from memsim.profiles.tflm import TFLMProfile
from memsim.profiles.xcubeai import XCubeAIProfile

__all__ = ["ActivationPlan", "Buffer", "RuntimeProfile", "TFLMProfile", "XCubeAIProfile", "PROFILES", "get_profile"]

PROFILES = ("xcubeai", "tflm")


def get_profile(name: "str | RuntimeProfile") -> RuntimeProfile:
    """A profile by name: ``xcubeai`` (>= 7.2, ST's default "balanced" optimisation), ``xcubeai-time`` (``-O time``),
    ``xcubeai-5`` (I/O outside the pool) or ``tflm``."""
    if not isinstance(name, str):
        return name
    key = name.lower()
    if key in ("xcubeai", "x-cube-ai", "stedgeai"):
        return XCubeAIProfile()
    if key in ("xcubeai-5", "xcubeai5"):
        return XCubeAIProfile(io_in_pool=False, conv_overlap=False, im2col=False)
    if key in ("xcubeai-time", "xcubeai-o-time"):  # ST's `-O time`: no conv output over its input
        return XCubeAIProfile(conv_overlap=False)
    if key == "tflm":
        return TFLMProfile()
    raise SpecError(f"Unknown runtime profile {name!r}; use one of xcubeai, xcubeai-5, xcubeai-time, tflm.")
