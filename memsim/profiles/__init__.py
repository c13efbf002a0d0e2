"""Runtimes: what a deployment is judged under, each one ``Runtime`` object, and their memory rules (profiles).

A runtime is resolved once, at the edge (a command's ``--runtime``, a TOML file, a library call), with
``get_runtime``, and passed down as the object: every decision that depends on the runtime reads one of its fields
instead of comparing its name. Adding one is ``register_runtime(Runtime(...))`` (docs/architecture.md, "How to add
a runtime").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from memsim._errors import SpecError
from memsim.profiles._base import ActivationPlan, Buffer, RuntimeProfile
from memsim.profiles.tflm import TFLMProfile
from memsim.profiles.xcubeai import XCubeAIProfile
from targets import RUNTIME_FAMILIES

__all__ = ["ActivationPlan", "Buffer", "RuntimeProfile", "TFLMProfile", "XCubeAIProfile", "DEFAULT_RUNTIME",
           "PROFILES", "RUNTIMES", "Runtime", "get_profile", "get_runtime", "register_runtime",
           "unregister_runtime"]

PROFILES = RUNTIME_FAMILIES  # the families the board catalogue gives a library overhead for


@dataclass(frozen=True)
class Runtime:
    """A runtime a deployment is judged under: everything the tool decides per runtime.

    Parameters
    ----------
    name, description : str
        What the user names and what ``--help`` says about it.
    family : str
        Whose board overheads (the catalogue's ``[overhead.<family>]``) and published time data it uses.
    memory_rules : callable
        Makes its memory planner (a fresh one per call: a TFLM planner keeps the last graph it planned).
    aliases : tuple of str
        Other names that resolve to it (case does not matter).
    default_dtype : str
        The type a deployment gets where the user names none.
    compressions : tuple of str
        The weight sharing it offers to float32 models ("none" always); ``default_compression`` where none named.
    vendors : tuple of str, optional
        Board vendors it generates code for (X-CUBE-AI: STM32 only); None: any board.
    toolchain : str
        Which of validation's confirmers judges and exports for it: "tflm" (tflite-micro measures the arena) or
        "xcubeai" (ST Edge AI's report, else memsim).
    optimization : str
        The optimisation the toolchain is run with (ST Edge AI's ``-O``).
    time_data : dict, optional
        Its own entry of the time model (the layout of ``memsim/data/time_model.json``'s ``runtimes``); without
        it, the family's published data.
    """

    name: str
    description: str
    family: str
    memory_rules: Callable[[], RuntimeProfile] = field(repr=False, compare=False)
    aliases: tuple = ()
    default_dtype: str = "int8"
    compressions: tuple = ("none",)
    default_compression: str = "none"
    vendors: "tuple | None" = None
    toolchain: str = "tflm"
    optimization: str = "balanced"
    time_data: "dict | None" = field(default=None, repr=False, compare=False)
    product: str = ""  # its name in sentences ("X-CUBE-AI"); the name where empty

    def __str__(self) -> str:  # in sentences, a runtime is its name
        return self.name

    @property
    def time_key(self) -> str:
        """The time model's entry it is judged by."""
        return self.name if self.time_data is not None else self.family

    def profile(self) -> RuntimeProfile:
        return self.memory_rules()

    def defaults(self, dtype: "str | None" = None, compression: "str | None" = None) -> tuple[str, str]:
        """(dtype, compression) where the user names none."""
        dtype = dtype or self.default_dtype
        return dtype, compression or (self.default_compression if dtype == "float32" else "none")

    def check_compression(self, compression: str, dtype: str) -> None:
        if compression == "none":
            return
        if compression not in self.compressions:
            offered = [c for c in self.compressions if c != "none"]
            others = [r.name for r in RUNTIMES.values() if compression in r.compressions]
            raise SpecError(f"Compression {compression} (weight sharing) is not offered by {self.name}"
                            + (f", which offers {', '.join(offered)}" if offered else "") + "; use compression none"
                            + (f", or the {others[0]} runtime" if others else "") + ".")
        if dtype != "float32":
            raise SpecError(f"Compression {compression} (weight sharing) applies to float32 models only; use "
                            "compression none, or dtype float32.")

    def runs_on(self, board) -> bool:
        """Whether it generates code for ``board`` (a budget or custom board naming no vendor: the user's call)."""
        return self.vendors is None or not board.vendor or board.vendor in self.vendors

    def check_board(self, board) -> None:
        if board is not None and not self.runs_on(board):
            other = next((r.name for r in RUNTIMES.values() if r.runs_on(board)), DEFAULT_RUNTIME)
            raise SpecError(f"{self.product or self.name} generates code for {' and '.join(self.vendors)} "
                            f"microcontrollers only, and {board.name} is a {board.vendor} board; use --runtime "
                            f"{other} for it.")


_ST = ("STMicroelectronics",)
_XCUBE = dict(family="xcubeai", default_dtype="float32", compressions=("none", "x4", "x8"), default_compression="x8",
              vendors=_ST, toolchain="xcubeai", product="X-CUBE-AI")
RUNTIMES: dict = {}  # name -> Runtime: every runtime a user can name, the list the commands offer and errors name
_ALIASES: dict = {}


def register_runtime(runtime: Runtime) -> Runtime:
    """Make a runtime nameable everywhere (commands, footprint, search, export); returns it."""
    for name in (runtime.name, *runtime.aliases):
        taken = _ALIASES.get(name.lower())
        if taken is not None and taken != runtime.name:
            raise SpecError(f"Runtime name {name!r} is taken by {taken!r}.")
    RUNTIMES[runtime.name] = runtime
    for name in (runtime.name, *runtime.aliases):
        _ALIASES[name.lower()] = runtime.name
    return runtime


def unregister_runtime(name: str) -> None:
    """Forget a registered runtime and its aliases (a test's, a plug-in's)."""
    runtime = get_runtime(name)
    RUNTIMES.pop(runtime.name, None)
    for alias in [a for a, n in _ALIASES.items() if n == runtime.name]:
        del _ALIASES[alias]


register_runtime(Runtime("tflm", "TensorFlow Lite Micro", "tflm", TFLMProfile, product="TensorFlow Lite Micro"))
register_runtime(Runtime("xcubeai", "X-CUBE-AI >= 7.2 / ST Edge AI, ST's default 'balanced' optimisation",
                         memory_rules=XCubeAIProfile, aliases=("x-cube-ai", "stedgeai"), **_XCUBE))
register_runtime(Runtime("xcubeai-time", "X-CUBE-AI with -O time (no conv output over its input)",
                         memory_rules=lambda: XCubeAIProfile(conv_overlap=False), aliases=("xcubeai-o-time",),
                         optimization="time", **_XCUBE))
register_runtime(Runtime("xcubeai-5", "X-CUBE-AI 5.x/6.x (input and output outside the pool)",
                         memory_rules=lambda: XCubeAIProfile(io_in_pool=False, conv_overlap=False, im2col=False),
                         aliases=("xcubeai5",), **_XCUBE))
DEFAULT_RUNTIME = "tflm"  # the library's and every command's default: the one every board can run


def get_runtime(name: "str | Runtime | None" = None) -> Runtime:
    """A runtime by name or alias (case-insensitive), the object itself, or the default for None."""
    if isinstance(name, Runtime):
        return name
    if name is None:
        name = DEFAULT_RUNTIME
    if not isinstance(name, str):  # a profile object of one's own: judged as its family
        if not hasattr(name, "activation_plan"):
            raise SpecError(f"A runtime is a name ({', '.join(RUNTIMES)}), a memsim.Runtime or a profile object, "
                            f"not {type(name).__name__} {name!r}.")
        profile = name
        return Runtime(profile.name, f"{profile.name} (a profile object)", profile.name, lambda: profile,
                       **({k: v for k, v in _XCUBE.items() if k != "family"} if profile.name == "xcubeai" else {}))
    key = _ALIASES.get(str(name).lower())
    if key is None:
        raise SpecError(f"Unknown runtime profile {name!r}; use one of {', '.join(RUNTIMES)}.")
    return RUNTIMES[key]


def get_profile(name: "str | Runtime | RuntimeProfile") -> RuntimeProfile:
    """A runtime's memory rules (a new planner), or the profile object itself."""
    if name is not None and not isinstance(name, (str, Runtime)):
        return name
    return get_runtime(name).profile()
