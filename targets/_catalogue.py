"""The board catalogue: validated, frozen targets loaded from TOML data."""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from collections.abc import Iterable, Mapping

from targets._cores import core_class
from targets._errors import InvalidSizeError, TargetFileError, UnknownTargetError
from targets._sizes import parse_size

__all__ = [
    "MemoryRegion", "RuntimeOverhead", "Target", "RUNTIME_FAMILIES", "DTYPES",
    "get_target", "list_targets", "load_target_file", "custom_target",
]

RUNTIME_FAMILIES = ("xcubeai", "tflm")  # the families a board gives a library overhead for (memsim.Runtime.family)
DTYPES = ("float32", "int8")


@dataclass(frozen=True)
class MemoryRegion:
    """One contiguous SRAM region."""

    name: str
    bytes: int


@dataclass(frozen=True)
class RuntimeOverhead:
    """What the inference library itself costs, beside the network."""

    code_flash_bytes: int = 0
    ram_bytes: int = 0


_NO_OVERHEAD = RuntimeOverhead()  # frozen, so one instance serves every board that lists none


@dataclass(frozen=True)
class Target:
    """A microcontroller (or a named budget) that a network must fit.

    Attributes
    ----------
    name : str
        Canonical name, e.g. ``"STM32F303K8"``.
    flash_bytes : int
        Flash available for weights, model blob and runtime code (bytes).
    ram_regions : tuple of MemoryRegion
        Contiguous SRAM regions (bytes each).
    clock_hz : int
        Core clock (Hz), used for latency estimates.
    overheads : mapping
        ``{(runtime, dtype): RuntimeOverhead}``.
    """

    name: str
    flash_bytes: int
    ram_regions: tuple[MemoryRegion, ...]
    clock_hz: int = 80_000_000
    core: str = "Cortex-M4F"
    vendor: str = ""  # the silicon vendor; "" for a budget or a board that does not say
    aliases: tuple[str, ...] = ()
    description: str = ""
    source: str = ""
    overheads: Mapping[tuple[str, str], RuntimeOverhead] = field(default_factory=dict)
    clock_assumed: bool = False  # no clock given (a board file without clock_hz, a custom target): 80 MHz assumed

    @cached_property  # read for every verdict; a frozen Target cannot change it
    def ram_bytes(self) -> int:
        """Total SRAM over all regions (bytes)."""
        return sum(r.bytes for r in self.ram_regions)

    @cached_property
    def largest_region_bytes(self) -> int:
        """The largest contiguous SRAM region (bytes): the pool limit."""
        return max((r.bytes for r in self.ram_regions), default=0)


    @cached_property
    def core_class(self) -> str:
        """The core's class for the time model (``targets.CORE_CLASSES``), e.g. ``"cortex-m4"``."""
        return core_class(self.core)

    @cached_property
    def figures(self) -> str:
        """Every figure a verdict reads (sizes, regions, clock, core, library overheads), in one line: stored work
        judged against a board is continued only while the board's figures are the same."""
        overheads = sorted((k, (v.code_flash_bytes, v.ram_bytes)) for k, v in self.overheads.items())
        regions = [(r.name, r.bytes) for r in self.ram_regions]
        return repr((self.name, self.flash_bytes, regions, self.clock_hz, self.clock_assumed, self.core, overheads))

    def overhead(self, runtime: str, dtype: str = "float32") -> RuntimeOverhead:
        """Runtime library overhead for a runtime profile and data type."""
        return self.overheads.get((runtime, dtype), _NO_OVERHEAD)


ASSUMED_CLOCK_HZ = 80_000_000  # a board that gives no clock: latency is judged at this, and says so


def _clock(value, where: str) -> int:
    if value is None:
        return ASSUMED_CLOCK_HZ
    hz = _check_int(value, "clock_hz", where)
    if hz <= 0:
        raise TargetFileError(f"{where} has clock_hz {value!r}; a latency needs the core's clock, e.g. "
                              "clock_hz = 72_000_000 (or leave it out to assume 80 MHz).")
    return hz


def _check_int(value, what: str, source: str) -> int:
    try:
        return parse_size(value, what=what)
    except InvalidSizeError as exc:
        raise TargetFileError(f"{source}: {exc}") from None


def _overheads_from(table: Mapping, where: str) -> dict[tuple[str, str], RuntimeOverhead]:
    result = {}
    for runtime, per_dtype in table.items():
        if runtime == "source":
            continue
        if runtime not in RUNTIME_FAMILIES or not isinstance(per_dtype, Mapping):
            raise TargetFileError(f"{where}: unknown runtime {runtime!r}; expected one of {', '.join(RUNTIME_FAMILIES)}.")
        for dtype, figures in per_dtype.items():
            if dtype not in DTYPES:
                raise TargetFileError(f"{where}: unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}.")
            result[(runtime, dtype)] = RuntimeOverhead(
                code_flash_bytes=_check_int(figures.get("code_flash_bytes", 0), "code_flash_bytes", where),
                ram_bytes=_check_int(figures.get("ram_bytes", 0), "ram_bytes", where),
            )
    return result


def _boards_from(data: Mapping, source: str, shared_overheads: Mapping) -> list[Target]:
    overheads = dict(shared_overheads)
    for key, table in data.get("overheads", {}).items():
        overheads[key] = _overheads_from(table, f"{source} [overheads.{key}]")
    boards = []
    for i, board in enumerate(data.get("board", [])):
        where = f"{source} board #{i + 1}"
        if "name" not in board:
            raise TargetFileError(f"{where} has no 'name'; every [[board]] needs name, flash_bytes and ram_regions.")
        where = f"{source} board {board['name']!r}"
        for key in ("flash_bytes", "ram_regions"):
            if key not in board:
                raise TargetFileError(f"{where} has no {key!r}; every [[board]] needs name, flash_bytes and ram_regions.")
        regions = board["ram_regions"]
        if isinstance(regions, (int, str)):
            regions = [{"name": "SRAM", "bytes": regions}]
        regions = tuple(
            MemoryRegion(str(r.get("name", f"region{j}")), _check_int(r.get("bytes"), "ram region bytes", where))
            for j, r in enumerate(regions)
        )
        if not regions:
            raise TargetFileError(f"{where} lists no RAM region.")
        if max(r.bytes for r in regions) == 0:
            raise TargetFileError(f"{where} has 0 B of RAM, so no network can run on it; give ram_regions their "
                                  "sizes, e.g. ram_regions = \"64KiB\".")
        ov = board.get("overhead", {})
        if isinstance(ov, str):
            if ov not in overheads:
                raise TargetFileError(f"{where}: unknown overhead set {ov!r}; known: {', '.join(sorted(overheads))}.")
            ov = overheads[ov]
        else:
            ov = _overheads_from(ov, where)
        flash = _check_int(board["flash_bytes"], "flash_bytes", where)
        if flash == 0:
            raise TargetFileError(f"{where} has 0 B of Flash, so no network can be stored on it; give flash_bytes "
                                  "its size, e.g. flash_bytes = \"512KiB\".")
        boards.append(Target(
            name=str(board["name"]),
            flash_bytes=flash,
            ram_regions=regions,
            clock_hz=_clock(board.get("clock_hz"), where),
            clock_assumed="clock_hz" not in board,
            core=str(board.get("core", "Cortex-M4F")),
            vendor=str(board.get("vendor", "")),
            aliases=tuple(str(a) for a in board.get("aliases", ())),
            description=str(board.get("description", "")),
            source=str(board.get("source", "")),
            overheads=ov,
        ))
    return boards


@lru_cache(maxsize=1)
def _builtin() -> tuple[tuple[Target, ...], dict]:
    boards: list[Target] = []
    overheads: dict = {}
    for entry in sorted(resources.files("targets").joinpath("data").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            for key, table in data.get("overheads", {}).items():
                overheads[key] = _overheads_from(table, f"{entry.name} [overheads.{key}]")
            boards.extend(_boards_from(data, entry.name, overheads))
    return tuple(boards), overheads


def list_targets() -> tuple[Target, ...]:
    """All built-in targets, in catalogue order."""
    return _builtin()[0]


def _index(boards: Iterable[Target]) -> dict[str, Target]:
    index = {}
    for board in boards:
        for key in (board.name, *board.aliases):
            index[key.lower()] = board
    return index


@lru_cache(maxsize=1)
def _builtin_index() -> dict[str, Target]:
    return _index(list_targets())


def get_target(name: "str | Target", extra: Iterable[Target] = ()) -> Target:
    """Look a target up by name or alias, case-insensitively.

    Parameters
    ----------
    name : str or Target
        A board name (``"STM32F303K8"``), an alias (``"nucleo-f303k8"``), or a
        Target, which is returned unchanged.
    extra : iterable of Target
        User targets searched before the catalogue.

    Raises
    ------
    UnknownTargetError
        With the closest known names.
    """
    if isinstance(name, Target):
        return name
    index = _builtin_index()
    if extra:
        index = {**index, **_index(extra)}
    key = str(name).strip().lower()
    if key in index:
        return index[key]
    close = difflib.get_close_matches(key, list(index), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else "run 'autotinyml targets' to list them."
    raise UnknownTargetError(f"Unknown target {name!r}; {hint}")


def load_target_file(path: "str | Path") -> tuple[Target, ...]:
    """Read user targets from a TOML file with the catalogue's layout.

    A board may name a built-in overhead set (``overhead = "cortex-m4"``) or
    give its own ``[board.overhead.xcubeai.float32]`` figures.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetFileError(f"Target file {str(path)!r} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetFileError(f"Target file {str(path)!r} cannot be read: {exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise TargetFileError(f"Target file {str(path)!r} is not valid TOML: {exc}.") from None
    boards = _boards_from(data, str(path), _builtin()[1])
    if not boards:
        raise TargetFileError(f"Target file {str(path)!r} defines no [[board]] table.")
    return tuple(boards)


def custom_target(
    *,
    flash: "str | int",
    ram: "str | int",
    name: str = "custom",
    clock_hz: "int | str | None" = None,
    overhead: str = "none",
) -> Target:
    """A target from sizes alone, e.g. ``custom_target(flash="64KiB", ram="16KiB")``.

    ``overhead`` names a built-in overhead set ("cortex-m4", "none", ...).
    """
    sets = _builtin()[1]
    if overhead not in sets:
        raise UnknownTargetError(f"Unknown overhead set {overhead!r}; choose one of {', '.join(sorted(sets))}.")
    sizes = {"flash": parse_size(flash, what="flash"), "ram": parse_size(ram, what="ram"),
             "clock_hz": ASSUMED_CLOCK_HZ if clock_hz is None else parse_size(clock_hz, what="clock_hz")}
    for what, value in sizes.items():
        if value <= 0:
            raise InvalidSizeError(f"A custom target needs a positive {what}, got {value}; e.g. --flash 64KiB --ram 16KiB.")
    return Target(
        name=name,
        flash_bytes=sizes["flash"],
        ram_regions=(MemoryRegion("RAM", sizes["ram"]),),
        clock_hz=sizes["clock_hz"],
        clock_assumed=clock_hz is None,
        description="user-defined",
        source="command line",
        overheads=sets[overhead],
    )
