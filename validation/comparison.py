"""memsim against the real toolchains as one table: which models are compared (``collect``: reports beside their
models, ``stedgeai analyze`` runs, the zoo, model files, or the built-in corpus), and the table with its summaries
(``summary``, ``text``). ``autotinyml validate`` prints it; the benchmarks print the same."""

from __future__ import annotations

import json
from pathlib import Path

from targets import AutoTinyMLError
from validation import compare

__all__ = ["collect", "summary", "text", "text_table"]


def text_table(headers: list[str], rows: list[list], right: "set[int]" = frozenset()) -> str:
    """A plain-text table, columns padded (the ``right`` ones aligned right)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]

    def line(values):
        return "  ".join(v.rjust(widths[i]) if i in right else v.ljust(widths[i])
                         for i, v in enumerate(values)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def collect(reports: "str | None" = None, models: "list | tuple" = (), stedgeai: bool = False, zoo: bool = False,
            dtypes: "list | None" = None, target: "str | None" = None, compression: "str | None" = None,
            progress=lambda text: None) -> tuple[list, list]:
    """(rows, skipped): the comparisons asked for, and what could not be compared with the reason."""
    import memsim
    from memsim.metrics import normalise_compression

    rows, skipped = [], []
    if reports:
        pairs, skipped = compare.report_pairs(reports)
        if not pairs and not skipped:
            raise AutoTinyMLError(f"No reports found in {reports!r} (looked for *report.txt, *_c_info.json and "
                                  "network_report.json).")
        if not pairs:
            raise AutoTinyMLError(f"No report in {reports!r} has its model beside it; put the model next to its "
                                  "report with the same stem (e.g. network.h5 beside network_analyze_report.txt).")
        for report, model in pairs:
            progress(f"{report.name}")
            try:
                rows.append(compare.compare_report(report, model))
            except AutoTinyMLError as exc:
                skipped.append(f"{report.name}: {exc}")
    elif stedgeai:
        from validation.stedgeai import run_stedgeai

        if not models:
            raise AutoTinyMLError("--stedgeai needs model files to analyze, e.g. autotinyml validate model.h5 "
                                  "--stedgeai.")
        for path in models:
            progress(f"{path}: stedgeai analyze")
            run = run_stedgeai(path, "analyze", target, normalise_compression(compression))
            row = compare.compare_report(run.report, path)
            row.name, row.source, row.toolchain_s = Path(path).stem, path, run.seconds
            rows.append(row)
    elif zoo:
        rows = compare.compare_zoo(progress=progress)
    elif models:
        from memsim.frontends.keras import load_keras_model

        for path in models:
            progress(path)
            if str(path).lower().endswith(".tflite"):
                rows.append(compare.compare_tflite(path))
                continue
            model = load_keras_model(path, "autotinyml validate", ", or a .tflite")
            for dtype in dtypes or list(memsim.DTYPES):
                rows.append(compare.compare_keras(model, dtype, source=path, isolated=True))
    else:
        rows = compare.compare_corpus(tuple(dtypes or memsim.DTYPES), progress)
    return rows, skipped


def summary(rows: list, skipped: list) -> dict:
    """The rows, their summary and one per dtype (where there are several), as ``--json`` prints them."""
    dtypes = sorted({r.dtype for r in rows})
    by_dtype = {d: compare.summarise([r for r in rows if r.dtype == d]) for d in dtypes} if len(dtypes) > 1 else {}
    return {"rows": [r.to_dict() for r in rows], "summary": compare.summarise(rows), "summary_by_dtype": by_dtype,
            "skipped": [str(s) for s in skipped]}


def _pct(value: float) -> str:
    return f"{value:+.1f}%" if abs(value) < 1e6 else "inf"


def text(rows: list, skipped: list, against: str) -> str:
    """The table (memsim/reference and error per figure), notes, what was skipped and the summaries."""
    whole = summary(rows, skipped)
    figures = list(dict.fromkeys(f for r in rows for f in r.figures))
    table = [[r.name[:32], r.dtype, *(f"{r.figures[f][0]:,}/{r.figures[f][1]:,} {_pct(r.error_pct(f))}"
                                      if f in r.figures else "-" for f in figures)] for r in rows]
    out = [f"memsim vs {against} (each cell: memsim/reference, error; negative = memsim under-predicts)\n",
           text_table(["network", "dtype", *(f if f == "macc" else f"{f} (B)" for f in figures)], table)]
    notes = [f"  {r.name} {r.dtype}: {r.note}" for r in rows if r.note]
    if notes:
        out.append("\nnotes:\n" + "\n".join(notes))
    out += [f"skipped: {s}" for s in skipped]
    parts = [(f"{len(rows)} rows", whole["summary"])] + list(whole["summary_by_dtype"].items())
    for label, part in parts:
        out.append(f"\nsummary, {label}:")
        if not any(f in part for f in figures):
            out.append("  nothing to compare: the toolchain refused every model (see the notes above)")
        for f in figures:
            if f in part:
                s = part[f]
                out.append(f"  {f:14s} median |error| {s['median_abs_error_pct']:5.2f} %, worst "
                           f"{s['worst_error_pct']:+6.2f} %, worst under-prediction "
                           f"{s['worst_under_prediction_pct']:.2f} % (n={s['n']})")
    overall = whole["summary"]
    if "observed_margin_pct" in overall:
        out.append("  margins that cover every row: " + ", ".join(
            f"{k} {v:.2f} %" for k, v in overall["observed_margin_pct"].items())
            + " (of memsim's figure; the profiles' defaults: memsim/profiles/)")
    if "speed" in overall:
        sp = overall["speed"]
        out.append(f"  speed        toolchain {sp['median_toolchain_s']:.2f} s per model vs memsim "
                   f"{1e6 * sp['median_memsim_s']:.0f} us: memsim {sp['median_ratio']:,.0f}x faster (medians)")
    return "\n".join(out)


def dumps(rows: list, skipped: list) -> str:
    return json.dumps(summary(rows, skipped), indent=2)
