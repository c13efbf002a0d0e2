"""`autotinyml report`: an HTML page of plots and tables from one or more study databases (the figures and plots
themselves are the library's, cbo.tinyml.study_plots; nothing is retrained)."""

from __future__ import annotations

import html
import json
import statistics
from pathlib import Path

from cbo.tinyml.study_plots import (StudyRecord, board_table, load_study, plot_accuracy_vs, plot_convergence,
                                    plot_region, plot_timeline)
from targets import AutoTinyMLError

__all__ = ["StudyRecord", "load_study", "write_report", "add_parser"]


def _table_html(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;font-size:13px;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 7px;text-align:right}}
th{{background:#f2f2f2}}img{{max-width:100%;border:1px solid #eee;margin:.5em 0}}</style></head>
<body><h1>{title}</h1><p>{intro}</p>{body}
<script>
window.addEventListener("load", function () {{
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {{ if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; }}
  document.body.setAttribute("data-images-loaded", ok + "/" + imgs.length);
}});
</script></body></html>
"""


def write_report(paths: list, out: "str | Path", region_params: "tuple[str, str] | None" = None) -> Path:
    """Write the PNGs and ``index.html`` into ``out``; returns the page's path."""
    records = [load_study(p) for p in paths]
    settings = {(r.meta["dataset"], r.meta["target"], r.meta["runtime"], r.meta["dtype"]) for r in records}
    if len(settings) > 1:
        raise AutoTinyMLError("The studies were made for different datasets, boards or runtimes "
                              f"({'; '.join(', '.join(map(str, s)) for s in sorted(settings))}); report them "
                              "separately.")
    if region_params is not None:
        names = records[0].template.space.names
        bad = [p for p in region_params if p not in names]
        if bad:
            raise AutoTinyMLError(f"--region {','.join(region_params)}: {bad[0]!r} is not a parameter of the space; "
                                  f"its parameters are {', '.join(names)}.")
    out = Path(out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _write_page(records, out, region_params)
    except BaseException:
        if created:  # a page that could not be finished leaves no half-written folder behind
            import shutil

            shutil.rmtree(out, ignore_errors=True)
        raise


def _write_page(records: list, out: Path, region_params) -> Path:
    figures = [("Convergence: best deployable accuracy vs trainings", plot_convergence(records, out)),
               ("Accuracy vs RAM", plot_accuracy_vs(records, "ram", out)),
               ("Accuracy vs Flash", plot_accuracy_vs(records, "flash", out))]
    winner_rec = max(records, key=lambda r: r.best().value if r.best() else -1)
    region = plot_region(winner_rec, out, region_params)
    if region:
        figures.append(("Deployable region (memsim's exact answer; the SVM's estimate where the study has "
                        "SVM-CBO's labels)", region))
    timeline = plot_timeline(winner_rec, out)
    if timeline:
        figures.append(("The winner's memory timeline", timeline))
    body = []
    for caption, path in figures:
        body.append(f"<h2>{html.escape(caption)}</h2><img src=\"{path.name}\" alt=\"{html.escape(caption)}\">")
    boards = board_table(records)
    budget = records[0].meta.get("latency_ms")
    body.append("<h2>Which board does this accuracy need?</h2><p>For each board of the catalogue, the most accurate "
                "trained trial that memsim says fits it (same runtime and rules; nothing retrained). Latency: "
                "memsim's time model on that board's core and clock, the estimate and the top of its band"
                + (f" (the top must meet the study's {budget:g} ms budget)" if budget is not None else "")
                + ".</p>")
    body.append(_table_html(
        ["board", "RAM B", "largest region B", "Flash B", "best trial", "accuracy %", "its RAM B", "its Flash B",
         "its latency ms"],
        [[b["board"], f"{b['ram_bytes']:,}", f"{b['region_bytes']:,}", f"{b['flash_bytes']:,}",
          b.get("none", "none fits") if b["trial"] is None else f"{b['trial']} ({b['study']})",
          "" if b["trial"] is None else f"{100 * b['accuracy']:.2f}",
          "" if b["trial"] is None else f"{b['pred_ram']:,}", "" if b["trial"] is None else f"{b['pred_flash']:,}",
          "" if b["trial"] is None else f"{b['latency_ms']:.2f} (up to {b['latency_high_ms']:.2f})"]
         for b in boards]))
    trials = sorted(((t, r) for r in records for t in r.trained() if t.value is not None),
                    key=lambda tr: -tr[0].value)[:30]
    body.append("<h2>Trained trials (best 30)</h2>")
    body.append(_table_html(
        ["study", "trial", "accuracy %", "deployable", "RAM B", "Flash B", "MACC", "configuration"],
        [[r.label, t.number, f"{100 * t.value:.2f}", "yes" if t.feasible is not False else "no",
          f"{t.footprint.get('ram_bytes', 0):,}", f"{t.footprint.get('flash_bytes', 0):,}",
          f"{t.footprint.get('macc', 0):,}", json.dumps(t.config)] for t, r in trials]))
    r0 = records[0]
    n_trained = [len(r.trained()) for r in records]
    intro = (f"{len(records)} stud{'y' if len(records) == 1 else 'ies'} ({', '.join(sorted({r.label for r in records}))}); "
             f"dataset {html.escape(r0.meta['dataset'])}, board {r0.target.name} (RAM {r0.target.ram_bytes:,} B, "
             f"Flash {r0.target.flash_bytes:,} B), runtime {r0.meta['runtime']}, {r0.meta['dtype']}; "
             f"{statistics.mean(n_trained):.0f} trainings per study on average.")
    page = out / "index.html"
    page.write_text(_PAGE.format(title="AutoTinyML search report", intro=intro, body="\n".join(body)),
                    encoding="utf-8")
    return page


def cmd_report(args) -> int:
    region = tuple(args.region.split(",")) if args.region else None
    if region is not None and len(region) != 2:
        raise AutoTinyMLError(f"--region takes two parameter names separated by a comma, got {args.region!r}.")
    from validation.export import check_writable

    check_writable(args.out)  # before the studies are read: an --out that is a file is refused at once
    page = write_report(args.studies, args.out, region)
    print(f"Report: {page} (open it in a browser)")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="plots and an HTML page from study databases (nothing is retrained)")
    p.add_argument("studies", nargs="+", help="study .sqlite files (several: methods or seeds side by side)")
    p.add_argument("--out", default="autotinyml-report", help="output folder (default autotinyml-report/)")
    p.add_argument("--region", default=None, metavar="A,B",
                   help="two hyperparameters for the deployable-region plot (default: two numeric ones)")
    p.set_defaults(func=cmd_report)
