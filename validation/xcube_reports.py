"""Parse X-CUBE-AI / ST Edge AI reports into one typed result.

Text reports of X-CUBE-AI 5.0, 5.x, 6.x, 7.x, 8.x-10.x and ST Edge AI Core
(``network_generate_report.txt``, ``..._analyze_report.txt``,
``..._validate_report.txt``) are read by their summary lines, C-layer table
and C-array table (compressed arrays are marked ``(LUT4)``/``(LUT8)``, or
``(c)`` in 5.x). JSON: the ``<name>_c_info.json`` schema 2.0 and the legacy
5.x ``network_report.json``. Anything unreadable raises ReportParseError
with the file and line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from validation._errors import ValidationError

__all__ = ["ReportLayer", "XCubeReport", "ReportParseError", "parse_report"]


class ReportParseError(ValidationError, ValueError):
    """A report that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class ReportLayer:
    name: str
    type: str
    macc: int
    rom: int
    compressed: bool = False


@dataclass(frozen=True)
class XCubeReport:
    """Figures of one report (bytes, MACC). I/O bytes are 0 when I/O sits inside the activations pool."""

    source: str
    format: str                      # "text", "c_info_json" or "legacy_json"
    tool: str
    version: str
    compression: str = "none"
    dtype: str = "float32"           # "int8" when the network's input is quantized (QLinear ... int8/uint8)
    optimization: str = "balanced"   # ST's -O option; "time" lays convolutions out without overlap
    io_in_activations: bool = False
    macc: int = 0
    params: int | None = None
    weights_bytes: int = 0
    activations_bytes: int = 0
    io_in_bytes: int = 0
    io_out_bytes: int = 0
    ram_total_bytes: int | None = None
    rom_total_bytes: int | None = None
    layers: tuple[ReportLayer, ...] = ()
    validation: tuple[dict, ...] = field(default_factory=tuple)


_HEADERS = [
    (re.compile(r"Neural Network Tools for STM32.*\((?:AI tools|STM\.ai|stm\.ai) v([\w.\-]+)\)", re.I), "X-CUBE-AI"),
    (re.compile(r"(?:ST Edge AI Core|STEdgeAI Core) v([\w.\-]+)", re.I), "ST Edge AI Core"),
]
_INT = re.compile(r"-?\d[\d,]*")


def _int(text: str, where: str) -> int:
    m = _INT.search(text)
    if not m:
        raise ReportParseError(f"{where}: expected a number, found {text.strip()[:60]!r}.")
    return int(m.group(0).replace(",", ""))


def parse_report(path: "str | Path", text: str | None = None) -> XCubeReport:
    """Parse a report file (or ``text`` with ``path`` as its name for messages).

    Raises
    ------
    ReportParseError
        With file and line, for a missing or truncated summary or an unreadable table.
    """
    name = str(path)
    if text is None:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise ReportParseError(f"{name}: cannot read the report ({exc.strerror or exc}).") from None
        text = raw.decode("utf-8", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return _parse_json(name, text)
    return _parse_text(name, text)


def _parse_text(name: str, text: str) -> XCubeReport:
    lines = text.splitlines()
    tool = version = None
    for line in lines[:5]:
        for pattern, label in _HEADERS:
            m = pattern.search(line)
            if m:
                tool, version = label, m.group(1)
                break
        if tool:
            break
    if tool is None:
        raise ReportParseError(f"{name}:1: no X-CUBE-AI / ST Edge AI header line; is this a generate/analyze/validate report?")
    summary: dict[str, tuple[int, str]] = {}
    for i, line in enumerate(lines):
        m = re.match(r"^\s*([a-z][\w ()#/]*?)\s*:\s*(.*)$", line)
        if m and m.group(1) not in summary:
            summary[m.group(1).strip()] = (i + 1, m.group(2))

    def get(key):
        return summary.get(key)

    def number(key, required=True):
        item = get(key)
        if item is None:
            if required:
                raise ReportParseError(f"{name}:{len(lines)}: the summary has no {key!r} line; the report looks truncated.")
            return None
        return _int(item[1], f"{name}:{item[0]}")

    macc = number("macc")
    weights = number("weights (ro)")
    activations = number("activations (rw)", required=False)
    params = number("params #", required=False)
    ram_total = io_in = io_out = None
    ram = get("ram (total)")
    if ram is not None:
        nums = [int(n.replace(",", "")) for n in _INT.findall(ram[1].split("(")[0] + " " + ram[1].split("=")[-1])]
        if len(nums) < 4 and "=" in ram[1]:
            raise ReportParseError(f"{name}:{ram[0]}: 'ram (total)' should read 'T B (...) = A + I + O'.")
        ram_total = nums[0]
        if len(nums) >= 4:
            activations = nums[1] if activations is None else activations
            io_in, io_out = nums[2], nums[3]
    if activations is None:
        raise ReportParseError(f"{name}:{len(lines)}: no activations figure ('activations (rw)' or 'ram (total)').")
    params_line = next((l for l in lines[:6] if l.lower().startswith("parameters")), "")
    comp = get("compression")
    compression = (comp[1].strip().split()[0].lower() if comp and comp[1].strip() else "none")
    compression = {"1": "none", "none": "none", "lossless": "none"}.get(compression, compression)
    opt = get("optimization")
    optimization = "time" if re.search(r"(?:^|\s)-O\s+time\b", params_line) or (
        opt is not None and opt[1].strip().lower().startswith("time")) else "balanced"
    strategy = get("allocator strategy")
    io_inside = ("--allocate-inputs" in params_line or (strategy is not None and "allocate-inputs" in strategy[1])
                 or any("can be used from the activations buffer" in l for l in lines)
                 or (io_in == 0 and io_out == 0 and ram is not None and "=" in ram[1]))
    if io_inside:
        io_in, io_out = io_in or 0, io_out or 0
    compressed_arrays = set()
    for l in lines:
        m = re.match(r"^\s*\d+\s+(\S+?)(?:_array)?\s+\d+/\d+\s.*\((?:LUT\d)\)", l)
        if m:
            compressed_arrays.add(m.group(1))
    layers = _c_layers(name, lines, compressed_arrays) or _model_table(lines)
    rom_total = weights
    first_input = get("input 1/1") or get("input")
    dtype = "int8" if first_input and re.search(r"\bu?int8\(", first_input[1]) else "float32"
    return XCubeReport(
        source=name, format="text", tool=tool, version=version, compression=compression, dtype=dtype,
        optimization=optimization,
        io_in_activations=io_inside, macc=macc, params=params, weights_bytes=weights, activations_bytes=activations,
        io_in_bytes=io_in or 0, io_out_bytes=io_out or 0, ram_total_bytes=ram_total, rom_total_bytes=rom_total,
        layers=tuple(layers), validation=tuple(_validation_rows(lines)),
    )


def _c_layers(name: str, lines: list[str], compressed_arrays: set) -> list[ReportLayer]:
    """Rows of the C-Layers table: c_id, name, id, type, macc, rom (then the tensors)."""
    start = next((i for i, l in enumerate(lines) if re.match(r"^C-Layers\s*\(", l)), None)
    if start is None:
        return []
    layers = []
    current = None
    for i in range(start + 1, len(lines)):
        l = lines[i]
        if not l.strip():
            if layers:
                break
            continue
        m = re.match(r"^(\d+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(\d+)\b(.*)$", l)
        if m:
            current = ReportLayer(m.group(2), m.group(4), int(m.group(5)), int(m.group(6)), False)
            layers.append(current)
        elif current is not None and re.search(r"W:\s*(\S+)", l):
            w = re.search(r"W:\s*(\S+)", l).group(1)
            if w in compressed_arrays or w.replace("_array", "") in compressed_arrays:
                layers[-1] = ReportLayer(current.name, current.type, current.macc, current.rom, True)
                current = layers[-1]
        elif l.startswith(("Number of", "Complexity", "Generated", "Evaluation")):
            break
    return layers


def _model_table(lines: list[str]) -> list[ReportLayer]:
    """5.0-style model table (no C-Layers): fixed-width columns found from the header line."""
    header = next((i for i, l in enumerate(lines) if re.match(r"^id\s+layer \(type\)", l)), None)
    if header is None:
        return []
    h = lines[header]
    cols = {k: h.find(k) for k in ("layer (type)", "output shape", "macc", "rom")}
    if min(cols.values()) < 0:
        return []
    layers = []
    for l in lines[header + 1:]:
        if l.startswith(("model ", "Generated", "Complexity")) or (l.strip() and l.split()[0].startswith("model")):
            break
        if not l.strip() or l.startswith("-"):
            continue
        m = re.match(r"(\S+) \(([^)]+)\)", l[cols["layer (type)"]:cols["output shape"]].strip())
        if not m or m.group(2) == "Input":
            continue
        macc = l[cols["macc"]:cols["rom"]].strip().replace(",", "")
        rom = l[cols["rom"]:].strip().split(" ")[0].replace(",", "")
        layers.append(ReportLayer(m.group(1), m.group(2), int(macc) if macc.isdigit() else 0,
                                  int(rom) if rom.isdigit() else 0, "(c)" in l[cols["rom"]:]))
    return layers


def _validation_rows(lines: list[str]) -> list[dict]:
    """Metric rows (acc, rmse, mae, l2r) of a validate report's evaluation table, when present."""
    header = next((i for i, l in enumerate(lines) if re.search(r"\bacc\b.*\brmse\b.*\bmae\b", l)), None)
    if header is None:
        return []
    cols = re.findall(r"[a-z0-9]+", lines[header].lower())
    rows = []
    for l in lines[header + 1:header + 12]:
        if not l.strip() or l.startswith("-"):
            continue
        values = re.findall(r"(?:n\.a\.|-?\d+(?:\.\d+)?(?:e-?\d+)?%?)", l)
        desc = l.split()[0] if l.split() else ""
        if len(values) >= 3:
            row = {"desc": desc}
            for key in ("acc", "rmse", "mae", "l2r"):
                if key in cols:
                    j = [c for c in cols if c in ("acc", "rmse", "mae", "l2r", "mean", "std", "nse", "cos")].index(key)
                    if j < len(values):
                        v = values[j].rstrip("%")
                        row[key] = None if v == "n.a." else float(v) / (100.0 if values[j].endswith("%") else 1.0)
            rows.append(row)
    return rows


def _parse_json(name: str, text: str) -> XCubeReport:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportParseError(f"{name}:{exc.lineno}: not valid JSON ({exc.msg}).") from None
    if not isinstance(data, dict):
        raise ReportParseError(f"{name}:1: expected a JSON object at the top level.")
    try:
        if "memory_footprint" in data:  # <name>_c_info.json, schema 2.0
            mf = data["memory_footprint"]
            tools = data.get("environment", {}).get("tools", [{}])
            io = mf.get("io", [0, 0])
            nodes = data.get("graphs", [{}])[0].get("nodes", [])
            val = data.get("validation", {}).get("val_metrics", [])
            return XCubeReport(
                source=name, format="c_info_json", tool="ST Edge AI Core", version=str(tools[0].get("version", "")),
                compression=str(data.get("compression", "none")), io_in_activations=io in ([0, 0], [0], 0),
                macc=int(sum(int(n.get("macc", 0)) for n in nodes)) if nodes else int(data.get("macc", 0)),
                weights_bytes=int(mf["weights"]), activations_bytes=int(mf["activations"]),
                io_in_bytes=int(io[0]) if io else 0, io_out_bytes=int(io[1]) if len(io) > 1 else 0,
                layers=tuple(ReportLayer(str(n.get("name", "")), str(n.get("type", "")), int(n.get("macc", 0)),
                                         int(n.get("rom", 0))) for n in nodes),
                validation=tuple(dict(v) for v in val),
            )
        if "rom_size" in data:  # legacy 5.x network_report.json
            layers = data.get("layers", [])
            return XCubeReport(
                source=name, format="legacy_json", tool="X-CUBE-AI", version=str(data.get("tools_version", "5.x")),
                macc=int(data.get("rom_n_macc", data.get("n_macc", 0))), weights_bytes=int(data["rom_size"]),
                activations_bytes=int(data.get("ram_size", 0)), io_in_bytes=int((data.get("ram_io_size") or [0, 0])[0]),
                io_out_bytes=int((data.get("ram_io_size") or [0, 0])[-1]),
                layers=tuple(ReportLayer(str(l.get("name", "")), str(l.get("type", "")),
                                         int(l.get("extras", {}).get("n_macc", 0)),
                                         int(l.get("extras", {}).get("rom_size", 0))) for l in layers),
            )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ReportParseError(f"{name}:1: a required field is missing or malformed ({type(exc).__name__}: {exc}).") from None
    raise ReportParseError(f"{name}:1: JSON without 'memory_footprint' (c_info schema 2.0) or 'rom_size' (5.x report).")
