"""What a runtime profile is: how one inference runtime lays memory out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

from memsim._rules import element_bytes
from memsim.graph import Graph

__all__ = ["Buffer", "ActivationPlan", "RuntimeProfile", "dtype_bytes", "live_bytes"]


def dtype_bytes(dtype: str) -> int:
    """Bytes of one activation or weight element of a model of this type (memsim._rules.element_bytes)."""
    return element_bytes(dtype == "int8")


@dataclass(frozen=True, slots=True)
class Buffer:
    """One activation buffer: bytes, inclusive lifetime in steps, placed offset."""

    name: str
    size: int
    first: int
    last: int
    offset: int = -1


def live_bytes(buffers: list, steps: int, size=lambda b: b.size) -> list[int]:
    """Per step, the bytes of the buffers alive then (``size(b)`` each: a profile may count them aligned)."""
    live = [0] * steps
    for b in buffers:
        nbytes = size(b)
        for step in range(b.first, b.last + 1):
            live[step] += nbytes
    return live


class ActivationPlan:
    """Where activations live.

    Attributes
    ----------
    pool_bytes : int
        Size of the activation pool (X-CUBE-AI "activations", TFLM arena head).
    io_bytes : int
        Input + output bytes (counted inside the pool when ``io_in_pool``).
    io_in_pool : bool
        Whether input/output buffers are part of the pool.
    layer_live_bytes : list of int
        For each IR layer, the pool bytes alive while it runs.
    buffers : list of Buffer
        The planned buffers (steps are the profile's own op steps).

    The last two are built on first reading by ``detail()`` (a footprint needs only the totals; naming every buffer
    costs more than planning them).
    """

    __slots__ = ("pool_bytes", "io_bytes", "io_in_pool", "_detail", "_built")

    def __init__(self, pool_bytes: int, io_bytes: int, io_in_pool: bool,
                 detail: "Callable[[], tuple[list[int], list[Buffer]]]"):
        self.pool_bytes, self.io_bytes, self.io_in_pool = pool_bytes, io_bytes, io_in_pool
        self._detail, self._built = detail, None

    def _parts(self) -> tuple[list[int], list[Buffer]]:
        if self._built is None:
            self._built = self._detail()
        return self._built

    @property
    def layer_live_bytes(self) -> list[int]:
        return self._parts()[0]

    @property
    def buffers(self) -> list[Buffer]:
        return self._parts()[1]

    def __repr__(self) -> str:
        return (f"ActivationPlan(pool_bytes={self.pool_bytes}, io_bytes={self.io_bytes}, "
                f"io_in_pool={self.io_in_pool})")


@runtime_checkable
class RuntimeProfile(Protocol):
    """A runtime's memory rules. Implementations state which are documented and which inferred."""

    name: str
    # Whether an activation given as a conv's or dense's argument runs inside that layer's kernel whatever it is
    # (else only ReLU / ReLU6 do, and tanh, sigmoid and the rest run a kernel of their own): the time model counts
    # kernels as the runtime runs them.
    fuses_argument_activations: bool

    def activation_plan(self, graph: Graph, dtype: str) -> ActivationPlan:
        """Plan the activation pool."""

    def model_bytes(self, graph: Graph, dtype: str, weights_bytes: int) -> int:
        """Bytes of the deployable model blob in Flash (without runtime code)."""

    def runtime_ram(self, graph: Graph, dtype: str, extra_ram: int) -> int:
        """RAM the runtime needs beside the pool; ``extra_ram`` is the target's library figure."""

    region_what: str  # what region_bytes is called in a violation
    kernel_planner: int  # which planner the batch kernel runs for it (memsim.batch)

    def batchable(self, dtype: str) -> bool:
        """Whether the batch kernel gives this profile's figures exactly for the dtype."""

    def region_bytes(self, graph: Graph, dtype: str, plan: ActivationPlan) -> int:
        """Bytes the runtime needs in one contiguous SRAM region."""

    def region_from_figures(self, activations, io, ram, extra_ram):
        """The same bytes from whole-network figures (what the batch evaluator has)."""

    def notes(self, graph: Graph, dtype: str) -> list[str]:
        """Known gaps of this prediction for this network (empty when none)."""

    def check(self, graph: Graph, dtype: str) -> list[str]:
        """Reasons the runtime cannot run this network at all (empty when it can)."""

    def safety_margin_pct(self, dtype: str) -> dict:
        """Default safety margin, ``{"ram": %, "flash": %}`` of memsim's figures: the worst under-prediction
        observed against the real toolchain for that dtype."""
