"""memsim against the real toolchains: one row per network, signed errors in %, a summary per figure.

Error = (memsim - reference) / reference * 100, so a negative error is an
under-prediction: the dangerous direction for a deployability verdict. The
worst under-prediction per figure is what a runtime profile's safety margin
must cover (``SAFETY_MARGIN_PCT`` in memsim/profiles/).
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from validation._errors import ToolchainError, ValidationError

if TYPE_CHECKING:
    from validation.xcube_reports import XCubeReport

__all__ = ["ComparisonRow", "compare_keras", "compare_tflite", "compare_report", "compare_corpus", "report_pairs",
           "summarise", "MODEL_SUFFIXES"]

MODEL_SUFFIXES = (".keras", ".h5", ".tflite", ".json", ".toml")
# which figure of each comparison the safety margins cover
MARGIN_FIGURES = {"ram": ("arena_required", "activations"), "flash": ("flash", "weights")}


@dataclass
class ComparisonRow:
    """memsim vs one real measurement or report of one network."""

    name: str
    source: str                     # "corpus", a model path, or a report path
    reference: str                  # what memsim is compared with: "tflm" or "report: <tool> <version>"
    dtype: str
    figures: dict[str, tuple[int, int]] = field(default_factory=dict)   # figure -> (memsim, reference)
    note: str = ""
    toolchain_s: float | None = None
    memsim_s: float | None = None

    def error_pct(self, figure: str) -> float:
        predicted, reference = self.figures[figure]
        if reference == 0:
            return 0.0 if predicted == 0 else float("inf")
        return 100.0 * (predicted - reference) / reference

    def to_dict(self) -> dict:
        return {
            "name": self.name, "source": self.source, "reference": self.reference, "dtype": self.dtype,
            "figures": {f: {"predicted": p, "reference": r, "error_pct": round(self.error_pct(f), 3)}
                        for f, (p, r) in self.figures.items()},
            "note": self.note, "toolchain_s": self.toolchain_s, "memsim_s": self.memsim_s,
        }


def summarise(rows: list[ComparisonRow]) -> dict:
    """Per figure: n, median |error| %, worst |error| % (signed), worst under-prediction % (>= 0).

    Also ``observed_margin_pct``: the smallest RAM and Flash safety margins
    (percent of memsim's figure) that would have covered every row.
    """
    figures: dict[str, list[float]] = {}
    for row in rows:
        for f in row.figures:
            figures.setdefault(f, []).append(row.error_pct(f))
    summary = {}
    for f, errs in figures.items():
        worst = max(errs, key=abs)
        summary[f] = {"n": len(errs), "median_abs_error_pct": round(statistics.median(abs(e) for e in errs), 3),
                      "worst_error_pct": round(worst, 3),
                      "worst_under_prediction_pct": round(max(0.0, -min(errs)), 3)}
    # a row without both timings (e.g. a converter child that did not report its seconds: NaN) stays out
    timed = [r for r in rows if _positive(r.toolchain_s) and _positive(r.memsim_s)]
    if timed:
        summary["speed"] = {"n": len(timed),
                            "median_toolchain_s": round(statistics.median(r.toolchain_s for r in timed), 4),
                            "median_memsim_s": round(statistics.median(r.memsim_s for r in timed), 6),
                            "median_ratio": round(statistics.median(r.toolchain_s / r.memsim_s for r in timed), 1)}
    # the margin that covers every row: relative to memsim's figure, since that is what it is added to
    margins = {}
    for kind, names in MARGIN_FIGURES.items():
        needed = [100.0 * (r.figures[f][1] - r.figures[f][0]) / r.figures[f][0]
                  for r in rows for f in names if f in r.figures and r.figures[f][0] > 0]
        if needed:
            margins[kind] = round(max(0.0, *needed), 3)
    if margins:
        summary["observed_margin_pct"] = margins
    return summary


def _positive(seconds: float | None) -> bool:
    return seconds is not None and math.isfinite(seconds) and seconds > 0


def _timed_memsim(graph_source, dtype: str, runtime: str = "tflm", compression: str = "none", repeat: int = 5):
    """memsim's footprint of a network and the best of ``repeat`` timings (seconds)."""
    import memsim

    best, fp = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        fp = memsim.footprint(graph_source, runtime=runtime, dtype=dtype, compression=compression)
        best = min(best, time.perf_counter() - t)
    return fp, best


def _tflm_row(name: str, source: str, dtype: str, fp, memsim_s: float, flatbuffer: bytes, convert_s: float,
              graph) -> ComparisonRow:
    from validation.tflm import measure

    row = ComparisonRow(name, source, "tflm", dtype, memsim_s=memsim_s)
    t = time.perf_counter()
    try:
        m = measure(flatbuffer)
    except ToolchainError as exc:
        agrees = "memsim agrees: " + "; ".join(fp.unsupported) if fp.unsupported else "memsim did NOT predict this"
        row.note = f"TFLM refuses it ({exc}); {agrees}"
        return row
    row.toolchain_s = convert_s + (time.perf_counter() - t)
    from memsim.profiles.tflm import TFLMProfile

    tail, head = TFLMProfile().arena_tail(graph, fp.dtype), fp.activations_bytes
    # "required": the smallest arena that allocates, which is what a board must provide; without a target
    # memsim's runtime RAM is exactly the arena beyond the head (tail + prepare-time floor)
    row.figures = {"flash": (fp.model_bytes, m.flatbuffer), "arena_head": (head, m.head),
                   "arena_tail": (tail, m.tail), "arena_total": (head + tail, m.total),
                   "arena_required": (head + fp.runtime_ram_bytes, m.smallest)}
    if fp.unsupported:
        row.note = "memsim predicted a refusal that did not happen: " + "; ".join(fp.unsupported)
    elif not m.agree:
        row.note = f"smallest allocating arena {m.smallest:,} B differs from TFLM's reported total {m.total:,} B"
    return row


def compare_keras(model, dtype: str, name: str | None = None, source: str = "model", spec=None,
                  representative=None, isolated: bool = False) -> ComparisonRow:
    """Convert a Keras model with the real converter, measure it with TFLM, and compare memsim's prediction.

    memsim reads ``spec`` (a layer description) when given, else the Keras model itself. ``isolated``: convert
    in a child process (``validation.tflm.convert``), for models from users.
    """
    from memsim.frontends.keras import graph_from_keras
    from memsim.frontends.spec import graph_from_spec
    from validation.tflm import convert_timed

    t = time.perf_counter()
    graph = graph_from_spec(spec) if spec is not None else graph_from_keras(model)
    graph_s = time.perf_counter() - t
    fp, memsim_s = _timed_memsim(graph, dtype)
    flatbuffer, convert_s = convert_timed(model, dtype, representative=representative, isolated=isolated)
    return _tflm_row(name or graph.name, source, dtype, fp, graph_s + memsim_s, flatbuffer, convert_s, graph)


def compare_tflite(path: "str | Path") -> ComparisonRow:
    """A .tflite file: memsim plans the file's own tensors; TFLM measures it.

    The flatbuffer size is the file's, so only the arena figures test memsim.
    """
    from memsim.frontends.tflite import graph_from_tflite, model_dtype, read_tflite

    path = Path(path)
    model = read_tflite(path)
    dtype = model_dtype(model)  # the body's type: int8 with float32 I/O is an int8 model
    graph = graph_from_tflite(model, name=path.stem)
    fp, memsim_s = _timed_memsim(graph, dtype)
    return _tflm_row(path.stem, str(path), dtype, fp, memsim_s, path.read_bytes(), 0.0, graph)


def compare_zoo(variants=None, progress: Callable[[str], None] | None = None,
                names: "list[str] | None" = None) -> list[ComparisonRow]:
    """The real-world networks of validation.zoo, each converted as published models are, read back from the
    .tflite as a user's file is (memsim gets no hint of the type), and measured live."""
    from memsim.frontends.tflite import graph_from_tflite, model_dtype, read_tflite
    from validation.tflm import convert
    from validation.zoo import VARIANTS, ZOO, build_zoo_model

    variants = tuple(variants or VARIANTS)
    rows = []
    selected = [n for n in ZOO if names is None or n in names]
    for i, name in enumerate(selected, 1):
        model = build_zoo_model(name)
        shape = tuple(model.inputs[0].shape[1:])
        representative = np.random.default_rng(0).uniform(-1, 1, (32,) + shape).astype(np.float32)
        for variant in variants:
            if progress:
                progress(f"[{i}/{len(selected)}] {name} {variant}")
            t = time.perf_counter()
            flatbuffer = convert(model, "float32" if variant == "float32" else "int8", representative,
                                 float_io=variant == "int8_float_io", int16_activations=variant == "int16x8")
            convert_s = time.perf_counter() - t
            parsed = read_tflite(flatbuffer)
            graph = graph_from_tflite(parsed, name=name)
            fp, memsim_s = _timed_memsim(graph, model_dtype(parsed))
            rows.append(_tflm_row(name, "zoo", variant, fp, memsim_s, flatbuffer, convert_s, graph))
    return rows


def compare_corpus(dtypes=("float32", "int8"), progress: Callable[[str], None] | None = None,
                   names: "list[str] | None" = None) -> list[ComparisonRow]:
    """Every network of the built-in corpus, converted and measured live."""
    from validation.corpus import CORPUS, build_model

    specs = [s for s in CORPUS if names is None or s["name"] in names]
    rows = []
    for i, spec in enumerate(specs, 1):
        model = build_model(spec)
        for dtype in dtypes:
            if progress:
                progress(f"[{i}/{len(specs)}] {spec['name']} {dtype}")
            rows.append(compare_keras(model, dtype, spec["name"], "corpus", spec=spec))
    return rows


def _report_model(report: Path) -> Path | None:
    """The model file beside a report: same stem, or the stem without the report suffix."""
    stems = [report.stem]
    for suffix in ("_analyze_report", "_generate_report", "_validate_report", "_report", "_c_info"):
        if report.stem.endswith(suffix):
            stems.append(report.stem[: -len(suffix)])
    for stem in stems:
        for ext in MODEL_SUFFIXES:
            candidate = report.with_name(stem + ext)
            if candidate.exists():
                return candidate
    return None


def report_pairs(directory: "str | Path") -> tuple[list[tuple[Path, Path]], list[Path]]:
    """(report, model) pairs in a directory, and the reports with no model beside them."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValidationError(f"{str(directory)!r} is not a directory; pass the folder that holds the reports.")
    reports = sorted(p for p in directory.iterdir()
                     if (p.suffix == ".txt" and p.stem.endswith("report")) or p.name.endswith("_c_info.json")
                     or p.name == "network_report.json")
    pairs, lonely = [], []
    for report in reports:
        model = _report_model(report)
        (pairs.append((report, model)) if model else lonely.append(report))
    return pairs, lonely


def compare_report(report: "str | Path | XCubeReport", model_path: "str | Path") -> ComparisonRow:
    """memsim's xcubeai profile against one X-CUBE-AI / ST Edge AI report of the same model.

    The report fixes the options memsim must use: compression, ``-O time``
    (no conv output over its input), whether I/O sits in the activation pool
    (>= 6.0) and the MACC rules (X-CUBE-AI before
    7 leaves dense biases out). MACC a tool adds for its own layout (an ONNX
    model's NCHW->NHWC transpose) is not in memsim's count.
    """
    import memsim
    from memsim.metrics import total_macc
    from validation.xcube_reports import XCubeReport, parse_report

    if not isinstance(report, XCubeReport):
        report = parse_report(report)
    graph = memsim.load_graph(model_path)
    dtype = report.dtype  # a layer description has no type of its own; a .tflite does, and decides
    if graph.tflite is not None:
        dtype = "int8" if any(d == "int8" for d in graph.tflite.tensor_dtypes) else "float32"
    major = int(report.version.split(".")[0]) if report.version[:1].isdigit() else 10
    old_rules = report.tool.startswith("X-CUBE-AI") and major < 7  # ST Edge AI Core 1.x-3.x is newer
    runtime = "xcubeai-time" if report.optimization == "time" else "xcubeai"
    runtime = runtime if report.io_in_activations else "xcubeai-5"
    compression = report.compression if dtype == "float32" else "none"
    fp, memsim_s = _timed_memsim(graph, dtype, runtime, compression)
    macc = total_macc(graph, "5" if old_rules else "7.2")
    row = ComparisonRow(Path(report.source).stem, report.source, f"report: {report.tool} {report.version}", dtype,
                        memsim_s=memsim_s)
    row.figures = {"macc": (macc, report.macc), "weights": (fp.weights_bytes, report.weights_bytes),
                   "activations": (fp.activations_bytes, report.activations_bytes)}
    if not report.io_in_activations:
        row.figures["io"] = (fp.io_bytes, report.io_in_bytes + report.io_out_bytes)
    return row
