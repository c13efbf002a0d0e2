"""The deployability rule: one function, used by memsim's predictions and by the measured exports alike.

A network deploys on a board when

* its total RAM (network + runtime library) fits the board's SRAM,
* the bytes the runtime needs in one piece (X-CUBE-AI: the activation pool;
  TFLM: the whole tensor arena, head + tail) fit the largest contiguous SRAM
  region, and
* its Flash (model + runtime code) fits the board's Flash,

each figure after its safety margin, the runtime can run every op, and, given a latency or energy budget, the top
of its band (the most the published measurements put such an estimate at) meets it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from targets import Target

__all__ = ["KINDS", "MEMORY_KINDS", "TIME_KINDS", "Verdict", "Violation", "headroom_pct", "judge", "safety_bytes"]

# What a violation is about. memsim's verdict gives the first six; a confirmation by the real toolchain adds the rest.
MEMORY_KINDS = ("ram", "region", "flash")
TIME_KINDS = ("latency", "energy")
KINDS = ("unsupported", *MEMORY_KINDS, *TIME_KINDS, "x-cross", "re-read", "toolchain")


class Violation(str):
    """One reason a network does not deploy: the sentence users read (it is that string) and its ``kind``
    (``KINDS``), which callers test instead of reading the sentence."""

    __slots__ = ()  # no per-instance dict: a search judges thousands of configurations a second
    kind = ""

    def __new__(cls, text: str, kind: str):
        try:
            return str.__new__(_BY_KIND[kind], text)  # each kind a subclass that carries it
        except KeyError:
            raise ValueError(f"violation kind {kind!r} is not one of {KINDS}") from None

    def __reduce__(self):  # pickled with its kind (Dask workers, training children)
        return Violation, (str(self), self.kind)

    def __repr__(self) -> str:
        return f"Violation({str(self)!r}, {self.kind!r})"


_BY_KIND = {kind: type(f"Violation[{kind}]", (Violation,), {"__slots__": (), "kind": kind}) for kind in KINDS}


def safety_bytes(pct: float, nbytes: int) -> int:
    """The safety margin added to a figure before the verdict: ``pct`` % of it, rounded up."""
    return math.ceil(pct * nbytes / 100.0) if pct else 0


@dataclass(frozen=True)
class Verdict:
    """The verdict and the headroom left on each limit (negative: over the limit)."""

    deployable: bool
    violations: tuple[str, ...]
    ram_headroom_bytes: int
    region_headroom_bytes: int
    flash_headroom_bytes: int
    ram_capacity_bytes: int
    region_capacity_bytes: int
    flash_capacity_bytes: int


def headroom_pct(headroom_bytes: int, capacity_bytes: int) -> float | None:
    """Headroom in % of a capacity, to two decimals (None for a zero capacity)."""
    return round(100.0 * headroom_bytes / capacity_bytes, 2) if capacity_bytes else None


def _plus(safety: int, pct: float) -> str:
    return f" + {safety:,} B safety margin ({pct:g} %)" if safety else ""


def judge(board: Target, *, ram_bytes: int, region_bytes: int, flash_bytes: int, region_what: str,
          ram_safety: int = 0, region_safety: int = 0, flash_safety: int = 0,
          safety_pct: tuple[float, float] = (0.0, 0.0), unsupported: "tuple[str, ...] | list[str]" = (),
          latency_ms: "float | None" = None, latency_budget_ms: "float | None" = None,
          energy_uj: "float | None" = None, energy_budget_uj: "float | None" = None) -> Verdict:
    """Judge figures (bytes) against a board.

    ``region_bytes`` is what must sit in one contiguous SRAM region, named by
    ``region_what`` in the violation (``"activation pool"``, ``"TFLM arena"``).
    """
    ram_pct, flash_pct = safety_pct
    violations = [v if isinstance(v, Violation) else Violation(v, "unsupported") for v in unsupported]
    region = board.largest_region_bytes
    if ram_bytes + ram_safety > board.ram_bytes:
        violations.append(Violation(f"RAM {ram_bytes:,} B{_plus(ram_safety, ram_pct)} > {board.ram_bytes:,} B",
                                    "ram"))
    if region_bytes + region_safety > region:
        violations.append(Violation(f"{region_what} {region_bytes:,} B{_plus(region_safety, ram_pct)} > "
                                    f"largest SRAM region {region:,} B", "region"))
    if flash_bytes + flash_safety > board.flash_bytes:
        violations.append(Violation(f"Flash {flash_bytes:,} B{_plus(flash_safety, flash_pct)} > "
                                    f"{board.flash_bytes:,} B", "flash"))
    if latency_budget_ms is not None and latency_ms is not None and latency_ms > latency_budget_ms:
        violations.append(Violation(f"latency up to {latency_ms:,.2f} ms (top of the time model's band) > "
                                    f"{latency_budget_ms:g} ms budget", "latency"))
    if energy_budget_uj is not None and energy_uj is not None and energy_uj > energy_budget_uj:
        violations.append(Violation(f"energy up to {energy_uj:,.1f} uJ per inference (top of its band) > "
                                    f"{energy_budget_uj:g} uJ budget", "energy"))
    verdict = object.__new__(Verdict)  # every field is set here; the frozen __init__ would double judge's time
    verdict.__dict__.update(
        deployable=not violations, violations=tuple(violations),
        ram_headroom_bytes=board.ram_bytes - ram_bytes - ram_safety,
        region_headroom_bytes=region - region_bytes - region_safety,
        flash_headroom_bytes=board.flash_bytes - flash_bytes - flash_safety,
        ram_capacity_bytes=board.ram_bytes, region_capacity_bytes=region, flash_capacity_bytes=board.flash_bytes,
    )
    return verdict
