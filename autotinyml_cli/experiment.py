"""`autotinyml experiment paper-har`: the papers' experiment, in the slides' layout.

1. The papers' baseline network (the template's baseline configuration) trained once and judged under X-CUBE-AI
   float32 at x1 / x4 / x8 weight sharing: accuracy, RAM, ROM, X-CROSS, MACC, deployable on paper-big / paper-tiny.
2. A search for each board x compression of the slides (big x1, big x4, tiny x4, tiny x8) over N seeds, each run
   a full `autotinyml search` (its study, confirmation and export kept under --out), mean +/- std per cell. The
   papers' SVM-CBO by default, as in the papers; `--method exact-ei` (or any search method) fills the same tables
   with another one, in folders and files of its own beside SVM-CBO's.
Written as Markdown and CSV; each cell's studies also get a report page.
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
from pathlib import Path

import cbo
import memsim
from cbo.tinyml.search import DEFAULT_PHASE1_LABELS, check_labels_option
from targets import AutoTinyMLError, get_target

__all__ = ["EXPERIMENTS", "CELLS", "add_parser"]

EXPERIMENTS = {
    "paper-har": {"dataset": "har-basicmotions", "label": None, "space": "paper-har",
                  "about": "the papers' HAR CNN (Perego et al. 2020 / 2022)"},
    "paper-digits": {"dataset": "digits", "label": None, "space": "paper-har",
                     "about": "the same template on 8x8 digit images, in the role of the papers' second task"},
}
PAPERS_METHOD = "svmcbo"
METHOD_TITLES = {"svmcbo": "SVM-CBO"}
CELLS = [("paper-big", "none"), ("paper-big", "x4"), ("paper-tiny", "x4"), ("paper-tiny", "x8")]
COMPRESSIONS = memsim.COMPRESSIONS
# The slides' tables (HAR, X-CUBE-AI 5.x figures, KB as printed there), for side-by-side reading.
SLIDES = {
    "baseline": {"none": (92.09, 24.58, 2955.80, 100.0, 874970), "x4": (92.07, 24.58, 794.14, 99.98, 874970),
                 "x8": (91.32, 24.58, 375.45, 98.04, 874970)},
    ("paper-big", "none"): (92.44, 9.75, 688.30, 100.0, 269327),
    ("paper-big", "x4"): (92.93, 15.16, 546.31, 99.70, 784767),
    ("paper-tiny", "x4"): (88.27, 5.17, 44.93, 99.86, 87110),
    ("paper-tiny", "x8"): (91.41, 5.42, 49.51, 98.42, 159714),
}


# The slides' rows: (label, baseline figure, search-cell figure, format, index in SLIDES' tuples)
METRICS = (("Accuracy %", "accuracy", "accuracy", "{:.2f}", 0), ("RAM KiB", "ram_bytes", "ram_kib", "{:.2f}", 1),
           ("ROM KiB", "flash_bytes", "rom_kib", "{:.2f}", 2), ("X-CROSS %", "xcross", "xcross", "{:.2f}", 3),
           ("MACC", "macc", "macc", "{:,.0f}", 4))


def _ms(values: list[float], fmt: str = "{:.2f}") -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.mean(values))} ± {fmt.format(statistics.stdev(values))}"


def _baseline(spec_name: str, args, progress) -> dict:
    """The baseline's k-fold accuracy, and its figures and X-CROSS at every compression (one training each)."""
    from sklearn.model_selection import train_test_split

    import memsim
    from cbo.tinyml import KFoldObjective, get_template, load_dataset
    from cbo.tinyml.training import without_input_autotune
    from cbo.tinyml.objective import optimizer
    from validation.tflm import convert, cross_accuracy
    from validation.weight_sharing import share_weights

    exp = EXPERIMENTS[spec_name]
    template, ds = get_template(exp["space"]), load_dataset(exp["dataset"], exp["label"])
    shape = template.input_shape(ds.sample_shape)
    spec = template.spec(dict(template.baseline), shape, ds.n_classes)
    progress(f"baseline: {args.k}-fold accuracy ({args.k} trainings of {args.epochs} epochs)")
    acc = KFoldObjective(template, ds, k=args.k, epochs=args.epochs, seed=0)(dict(template.baseline))["accuracy"]
    X = ds.X.reshape((len(ds.X),) + shape)
    X_tr, X_val, y_tr, y_val = train_test_split(X, ds.y, test_size=0.25, stratify=ds.y, random_state=0)
    model = template.keras_model(dict(template.baseline), shape, ds.n_classes, seed=0)
    model.compile(optimizer=optimizer(template.baseline), loss="sparse_categorical_crossentropy")
    progress("baseline: one training for X-CROSS")
    with without_input_autotune():
        model.fit(X_tr, y_tr, epochs=args.epochs, batch_size=16, verbose=0)
    rows = {}
    for comp in COMPRESSIONS:
        shared, _ = share_weights(model, comp)
        xc = cross_accuracy(model, convert(shared, "float32"), X_val, y_val)
        fps = {b: memsim.footprint(spec, b, "xcubeai", "float32", comp) for b in ("paper-big", "paper-tiny")}
        fp = fps["paper-big"]
        rows[comp] = {"accuracy": acc, "ram_bytes": fp.ram_bytes, "flash_bytes": fp.flash_bytes,
                      "xcross": xc.acc, "macc": fp.macc,
                      "deployable": {b: bool(f.deployable) for b, f in fps.items()}}
    return rows


def cell_dir(out: Path, board: str, comp: str, method: str) -> Path:
    """A cell's studies, exports and report; SVM-CBO's keep the names they had before other methods could run."""
    return out / (f"{board}-{comp}" if method == PAPERS_METHOD else f"{board}-{comp}-{method}")


def tables_stem(method: str) -> str:
    return "tables" if method == PAPERS_METHOD else f"tables-{method}"


def _search_cell(spec_name: str, board: str, comp: str, seed: int, args, out: Path) -> dict:
    """One search, as ``autotinyml search`` runs it (the library call); its JSON summary."""
    from cbo.tinyml.search import SearchOptions, run_search
    from validation import Finalists

    exp = EXPERIMENTS[spec_name]
    cell = cell_dir(out, board, comp, args.method)
    cell.mkdir(parents=True, exist_ok=True)
    options = SearchOptions(
        dataset=exp["dataset"], label=exp["label"] or None, space=exp["space"], target=board, runtime="xcubeai",
        dtype="float32", compression=comp, trainings=args.trainings, method=args.method, epochs=args.epochs,
        k=args.k, seed=seed, confirm=args.confirm, study=str(cell / f"seed{seed}.sqlite"),
        out=str(cell / f"export-seed{seed}"), labels=args.labels if args.method == PAPERS_METHOD else None)
    summary = run_search(options, confirm=Finalists())
    return {**summary.to_dict(), "exit_code": summary.exit_code}


def _cell_row(results: list[dict]) -> dict:
    """Mean/std over seeds of the confirmed winners (a seed with no confirmed winner counts as a miss)."""
    acc, ram, rom, xc, macc, misses = [], [], [], [], [], 0
    for r in results:
        conf = next((c for c in r.get("confirmed", {}).values() if c.get("deployable")), None)
        if conf is None:
            misses += 1
            continue
        m = conf.get("measured") or conf["predicted"]
        acc.append(100 * conf["kfold_accuracy"])
        ram.append(m["ram_bytes"] / 1024)
        rom.append(m["flash_bytes"] / 1024)
        xc.append(100 * conf["cross_accuracy"]["acc"])
        macc.append(conf["predicted"]["macc"])
    return {"accuracy": acc, "ram_kib": ram, "rom_kib": rom, "xcross": xc, "macc": macc, "misses": misses,
            "seeds": len(results)}


def render(spec_name: str, baseline: dict, cells: dict, args) -> tuple[str, list[list]]:
    """Markdown (the slides' layout, the slides' figures beside ours) and CSV rows."""
    exp = EXPERIMENTS[spec_name]
    md = [f"# Experiment {spec_name}: {exp['about']}", "",
          f"Dataset {exp['dataset']}, runtime xcubeai (X-CUBE-AI >= 7.2 rules) float32; {args.trainings} trainings "
          f"per search, {args.k}-fold x {args.epochs} epochs, seeds 0..{args.seeds - 1}. RAM and ROM in KiB as "
          "memsim predicts them (ST Edge AI not installed) or as stedgeai measures them; X-CROSS by tflite-micro on "
          "the weight-shared network (X-CUBE-AI's k-means emulated); paper-big / paper-tiny are the papers' "
          "decimal budgets (128,000 / 16,000 B RAM, 1,990,000 / 60,000 B ROM). Slides' figures in brackets: their "
          "network ran on 90x3 accelerometer windows with 6 classes and one more dense layer, so absolute figures "
          "differ; what compares is the shape (where the baseline deploys, how far the search shrinks it).", "",
          "## Deployability of the baseline", "",
          "| | x1 | x4 | x8 |", "|---|---|---|---|"]
    slides = SLIDES["baseline"]
    for label, key, _, fmt, idx in METRICS:
        cells_md = []
        for comp in COMPRESSIONS:
            v = baseline[comp][key]
            v = 100 * v if key in ("accuracy", "xcross") else (v / 1024 if key.endswith("bytes") else v)
            cells_md.append(f"{fmt.format(v)} [{fmt.format(slides[comp][idx])}]")
        md.append(f"| {label} | " + " | ".join(cells_md) + " |")
    for board, slide in (("paper-big", ("NO", "YES", "YES")), ("paper-tiny", ("NO", "NO", "NO"))):
        md.append(f"| Deployable {board} | " + " | ".join(
            f"{'YES' if baseline[c]['deployable'][board] else 'NO'} [{s}]" for c, s in zip(COMPRESSIONS, slide)) + " |")
    md += ["", f"## AutoTinyML ({METHOD_TITLES.get(args.method, args.method)}) per board and compression, "
               "mean ± std over seeds", "",
           "| | " + " | ".join(f"{b} {'x1' if c == 'none' else c}" for b, c in CELLS) + " |",
           "|---|" + "---|" * len(CELLS)]
    csv_rows = [["section", "board", "compression", "metric", "value", "std", "slides"]]
    for label, _, key, fmt, idx in METRICS:
        row = []
        for cell in CELLS:
            vals = cells[cell][key]
            row.append(f"{_ms(vals, fmt)} [{fmt.format(SLIDES[cell][idx])}]")
            csv_rows.append(["autotinyml", cell[0], cell[1], key, statistics.mean(vals) if vals else "",
                             statistics.stdev(vals) if len(vals) > 1 else "", SLIDES[cell][idx]])
        md.append(f"| {label} | " + " | ".join(row) + " |")
    md.append("| Seeds without a confirmed winner | " + " | ".join(
        f"{cells[c]['misses']}/{cells[c]['seeds']}" for c in CELLS) + " |")
    for comp in COMPRESSIONS:
        for key in ("accuracy", "ram_bytes", "flash_bytes", "xcross", "macc"):
            csv_rows.append(["baseline", "", comp, key, baseline[comp][key], "", ""])
    return "\n".join(md) + "\n", csv_rows


def cmd_experiment(args) -> int:
    check_labels_option(args.method, args.labels)
    if args.labels is None:
        args.labels = DEFAULT_PHASE1_LABELS
    if args.quick:
        args.seeds, args.trainings, args.epochs, args.k, args.labels, args.confirm = 1, 2, 1, 2, 8, 2
    for name, value, low in (("--seeds", args.seeds, 1), ("--trainings", args.trainings, 1),
                             ("--epochs", args.epochs, 1), ("--k", args.k, 2), ("--confirm", args.confirm, 1)):
        if value < low:
            raise AutoTinyMLError(f"{name} must be at least {low}, got {value}.")
    for board, _ in CELLS:
        get_target(board)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AutoTinyMLError(f"Cannot write the experiment to {str(out)!r} ({exc.strerror}); "
                              "pass another --out.") from None

    def progress(msg):
        print(f"[{args.name}] {msg}", file=sys.stderr, flush=True)

    saved = out / "baseline.json"  # a rerun (after Ctrl-C) reuses it; the searches resume from their studies
    key = {"name": args.name, "epochs": args.epochs, "k": args.k}
    stored = json.loads(saved.read_text()) if saved.exists() else {}
    if stored.get("key") == key:
        baseline = stored["rows"]
    else:
        baseline = _baseline(args.name, args, progress)
        saved.write_text(json.dumps({"key": key, "rows": baseline}, indent=1))
    cells = {}
    for board, comp in CELLS:
        results = []
        for seed in range(args.seeds):
            progress(f"{METHOD_TITLES.get(args.method, args.method)} on {board}, compression {comp}, seed {seed} "
                     f"({args.trainings} trainings)")
            results.append(_search_cell(args.name, board, comp, seed, args, out))
        cells[(board, comp)] = _cell_row(results)
        from autotinyml_cli.report import write_report

        cell = cell_dir(out, board, comp, args.method)
        page = write_report(sorted(cell.glob("seed*.sqlite")), cell / "report")
        progress(f"  report: {page}")
    md, rows = render(args.name, baseline, cells, args)
    stem = tables_stem(args.method)
    (out / f"{stem}.md").write_text(md, encoding="utf-8")
    with (out / f"{stem}.csv").open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    print(md)
    print(f"Written: {out / (stem + '.md')}, {out / (stem + '.csv')}; per-cell studies, exports and reports in "
          f"{cell_dir(out, '<board>', '<compression>', args.method)}/ (report/index.html).")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("experiment", help="the papers' experiments, in the slides' layout (Markdown + CSV)")
    p.add_argument("name", choices=sorted(EXPERIMENTS), help="paper-har or paper-digits")
    p.add_argument("--quick", action="store_true",
                   help="1 seed, 2 trainings of 1 epoch, 2 folds: checks the pipeline in a few minutes")
    p.add_argument("--seeds", type=int, default=5, help="seeds per board x compression (default 5)")
    p.add_argument("--trainings", type=int, default=10, help="training budget per search (default 10)")
    p.add_argument("--epochs", type=int, default=20, help="epochs per training (default 20)")
    p.add_argument("--k", type=int, default=3, help="folds of the accuracy estimate (default 3)")
    p.add_argument("--method", default=PAPERS_METHOD, choices=sorted(cbo.SAMPLERS),
                   help="search method of every cell (default svmcbo, the papers'; exact-ei is `search`'s default)")
    p.add_argument("--labels", type=int, default=None,
                   help=f"--method svmcbo only: Phase-1 memsim labels (default {DEFAULT_PHASE1_LABELS})")
    p.add_argument("--confirm", type=int, default=3, help="finalists confirmed per search (default 3)")
    p.add_argument("--out", default="autotinyml-experiment", help="output folder (default autotinyml-experiment/)")
    p.set_defaults(func=cmd_experiment)
