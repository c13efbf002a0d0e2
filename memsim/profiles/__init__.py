"""Runtime profiles: how X-CUBE-AI and TFLM lay memory out."""

from memsim._errors import SpecError
from memsim.profiles._base import ActivationPlan, Buffer, RuntimeProfile
from memsim.profiles.tflm import TFLMProfile
from memsim.profiles.xcubeai import XCubeAIProfile

__all__ = ["ActivationPlan", "Buffer", "RuntimeProfile", "TFLMProfile", "XCubeAIProfile", "DEFAULT_RUNTIME", "PROFILES",
           "RUNTIMES", "get_profile"]

PROFILES = ("xcubeai", "tflm")  # the runtime families (a board's library overhead is given per family)
# Every runtime a user can name, and what each is: the one list the commands offer and the errors name.
_RUNTIMES = {
    "tflm": ("TensorFlow Lite Micro", TFLMProfile),
    "xcubeai": ("X-CUBE-AI >= 7.2 / ST Edge AI, ST's default 'balanced' optimisation", XCubeAIProfile),
    "xcubeai-time": ("X-CUBE-AI with -O time (no conv output over its input)",
                     lambda: XCubeAIProfile(conv_overlap=False)),
    "xcubeai-5": ("X-CUBE-AI 5.x/6.x (input and output outside the pool)",
                  lambda: XCubeAIProfile(io_in_pool=False, conv_overlap=False, im2col=False)),
}
RUNTIMES = tuple(_RUNTIMES)
RUNTIME_HELP = {name: what for name, (what, _) in _RUNTIMES.items()}
DEFAULT_RUNTIME = "tflm"  # every command's default (the one every board can run)
_ALIASES = {"x-cube-ai": "xcubeai", "stedgeai": "xcubeai", "xcubeai5": "xcubeai-5", "xcubeai-o-time": "xcubeai-time"}


def get_profile(name: "str | RuntimeProfile") -> RuntimeProfile:
    """A profile by name (``RUNTIMES``, case-insensitive), or the profile object itself."""
    if not isinstance(name, str):
        return name
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _RUNTIMES:
        raise SpecError(f"Unknown runtime profile {name!r}; use one of {', '.join(RUNTIMES)}.")
    return _RUNTIMES[key][1]()
