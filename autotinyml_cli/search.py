"""``autotinyml search``: parse, call ``cbo.tinyml.run_search`` with the toolchain's confirmation, print."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cbo
from autotinyml_cli._format import report_figures, verdict_source_text
from autotinyml_cli._options import add_budget, add_compression, add_dtype, add_runtime
from cbo import stop_signals
from cbo.tinyml import MemsimConstraint, TEMPLATES
from cbo.tinyml.search import (DEFAULT_PHASE1_LABELS, DEFAULT_STUDY_DIR, SearchOptions, SearchSummary,
                               run_search)
from targets import AutoTinyMLError, format_size
from validation import Finalists


def _column(label: str, acc, std, fp: dict, deployable, xcross: str = "-", confirmed: str = "-") -> list[str]:
    acc_s = "-" if acc is None else f"{100 * acc:.2f}%" + (f" (+/- {100 * std:.2f})" if std else "")
    return [label, acc_s, f"{fp.get('ram_bytes', 0):,}", f"{fp.get('flash_bytes', 0):,}", f"{fp.get('macc', 0):,}",
            confirmed, xcross, "YES" if deployable else "NO"]


def summary_table(study: cbo.Study, k: int, baseline: dict | None, constraint: MemsimConstraint,
                  baseline_result: dict | None, confirmed: dict | None = None) -> str:
    confirmed = confirmed or {}
    cols = []
    if baseline is not None:
        feasible, fp = constraint(baseline)
        r = baseline_result or {}
        cols.append(_column("baseline", r.get("accuracy"), None, fp, feasible))
    for rank, t in enumerate(study.ranked(k), 1):
        c = confirmed.get(t.number)
        xc = "-" if c is None or "cross_accuracy" not in c else f"{100 * c['cross_accuracy']['acc']:.2f}%"
        m = (c or {}).get("measured")
        conf = "-" if c is None else (f"{m['ram_bytes']:,} / {m['flash_bytes']:,}" if m else
                                      ("predicted only" if "verdict_source" in c else "failed"))
        ok = t.feasible if c is None else (t.feasible and c["deployable"])
        cols.append(_column(f"#{rank} (trial {t.number})", t.value, t.value_std, t.footprint, ok, xc, conf))
    rows = ["", "Accuracy (k-fold)", "RAM predicted (B)", "Flash predicted (B)", "MACC",
            "RAM / Flash measured (B)", "X-CROSS", "Deployable"]
    table = [[rows[i]] + [c[i] for c in cols] for i in range(len(rows))]
    widths = [max(len(r[j]) for r in table) for j in range(len(table[0]))]
    lines = ["  ".join(r[j].ljust(widths[j]) if j == 0 else r[j].rjust(widths[j]) for j in range(len(r)))
             for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_search(args) -> int:
    """``autotinyml search``: run the search, then print its table (or ``--json``) and return the exit code."""
    try:
        summary = run_search(SearchOptions.from_args(args), confirm=Finalists())
    except KeyboardInterrupt:
        return stop_signals.exit_code()
    summary.report = write_study_report(summary.study_path)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
        return summary.exit_code
    print_summary(summary, summary.settings["runtime"])
    return summary.exit_code


def print_summary(summary: SearchSummary, runtime: str) -> None:
    """The table of the best configurations and what was exported, as the command line prints them."""
    study, template, confirmed = summary.study, summary.template, summary.confirmed
    print()
    print(summary_table(study, 3, template.baseline if summary.baseline else None, summary.constraint,
                        summary.baseline_result, confirmed))
    rejected = summary.rejected_by_toolchain
    print(f"\n{summary.n_trained} trainings ({summary.wasted_trainings} on configurations memsim found undeployable), "
          f"{summary.n_labels} memsim labels"
          + (f"; {len(rejected)} finalist(s) accepted by memsim but rejected by the toolchain" if summary.confirm
             else "")
          + f"; study in {str(summary.study_path)!r}.")
    if summary.report:
        print(f"Report (plots, board table): {summary.report}")
    best, winner = study.best_trial, summary.winner
    if best is None:
        failed = [t for t in study.trials if t.state == cbo.TrialState.FAIL]
        if failed and len(failed) == study.n_trained:  # nothing to do with the board: the trainings broke
            print(f"Every training failed ({len(failed)} of {study.n_trained}); the first error: {failed[0].error}")
        else:
            print("No deployable configuration was trained: enlarge the target, allow compression, or widen the "
                  "space.")
        return
    if summary.confirm and winner is None:
        print("No finalist passed the toolchain confirmation; see the reasons above.")
        return
    chosen = next(t for t in study.trials if t.number == (winner if winner is not None else best.number))
    print(f"Best deployable configuration (by k-fold accuracy): trial {chosen.number}, {chosen.config}")
    if winner is None:
        fp = chosen.footprint
        print(f"  memsim's {runtime} prediction: RAM {format_size(fp['ram_bytes'])}, "
              f"Flash {format_size(fp['flash_bytes'])}, MACC {fp['macc']:,} (not confirmed: --confirm 0)")
        return
    report = confirmed[winner]
    print(f"  verdict from {verdict_source_text(report['verdict_source'])}:")
    print(report_figures(report))
    if summary.exported:
        print(f"Exported trial {winner} to {summary.exported!r}: {', '.join(report['files'])}.")
        print(f"  re-check: cd {summary.exported} && {report['recheck']}")
    else:
        print(f"Trial {winner} was confirmed, but writing the export failed (see above); the study "
              f"is kept in {str(summary.study_path)!r}.")
        return
    if report["verdict_source"]["kind"] == "predicted":
        from validation.stedgeai import INSTALL_HINT

        print(f"ST Edge AI is not installed here, so the RAM/Flash verdict is memsim's X-CUBE-AI prediction; to "
              f"check it with ST's tool, {INSTALL_HINT}, then run the same command.")


def write_study_report(study_path: Path) -> "str | None":
    """The study's report next to it (<study>-report/index.html); a report that cannot be drawn costs a note,
    never the search's result."""
    from autotinyml_cli.report import write_report

    try:
        return str(write_report([study_path], study_path.with_name(study_path.stem + "-report")))
    except (AutoTinyMLError, ImportError, OSError) as exc:
        print(f"autotinyml: note: no report written ({exc})", file=sys.stderr)
        return None


def add_parser(sub) -> None:
    d = SearchOptions()  # the defaults, in one place
    p = sub.add_parser("search", help="find the most accurate network that deploys on the target")
    p.add_argument("--dataset", default=d.dataset,
                   help="har-basicmotions (default), har-watch, digits, or an .npz/.csv file")
    p.add_argument("--label", default=None, help="har-watch labels: exercise (default) or subject")
    p.add_argument("--space", default=d.space,
                   help="default: the space for the data's shape (ds-cnn for images of 16x16 or more, ds-cnn-1d for "
                        "sensor windows, paper-har otherwise - the papers' space); or a built-in template ("
                        f"{', '.join(TEMPLATES)}), a Python file with build(hp) (docs/your-own-model.md), or a TOML "
                        "file narrowing a template")
    p.add_argument("--target", default=d.target, help="board name or alias (default: the papers' tiny board)")
    p.add_argument("--target-file", help="TOML file with extra boards (the catalogue's layout)")
    add_runtime(p, "; the winner is judged and exported for it (tflm: confirmed by real tflite-micro; xcubeai: "
                   "the papers' X-CUBE-AI setting)")
    add_dtype(p, "deployed type (default int8 for tflm, float32 for xcubeai)")
    add_compression(p, extra=" (default x8 for float32 xcubeai, as in the papers' tiny-board runs)")
    p.add_argument("--margin", type=float, default=None, metavar="PCT",
                   help="safety margin in %% on memsim's RAM and Flash (default: the runtime profile's calibrated one)")
    add_budget(p, "latency")
    add_budget(p, "energy")
    p.add_argument("--trainings", type=int, default=d.trainings, help="training budget (default 10)")
    p.add_argument("--method", default=d.method, choices=sorted(cbo.SAMPLERS),
                   help="; ".join(f"{name}{' (default)' if name == d.method else ''}: {cbo.METHOD_HELP[name]}"
                                  for name in cbo.METHOD_HELP))
    p.add_argument("--labels", type=int, default=None,
                   help=f"--method svmcbo only: Phase-1 memsim labels after the initial design "
                        f"(default {DEFAULT_PHASE1_LABELS})")
    p.add_argument("--study", default=None,
                   help=f"SQLite study file; an existing one is continued (default: {DEFAULT_STUDY_DIR}/<settings>.sqlite)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the sampler, the folds and the training (default 0)")
    p.add_argument("--k", type=int, default=d.k, help="folds of the cross-validated accuracy (default 3)")
    p.add_argument("--epochs", type=int, default=d.epochs, help="training epochs per fold (default 20)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="training batch size (default 16)")
    p.add_argument("--baseline", action="store_true", help="also train the template's baseline configuration")
    p.add_argument("--confirm", type=int, default=d.confirm,
                   help="confirm up to this many finalists with the runtime's toolchain; 0 skips it (default 3)")
    p.add_argument("--out", default=d.out, help="where the confirmed winner is exported "
                                                              "(default ./autotinyml-export)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="train N configurations at a time on a local Dask cluster of N processes (needs dask)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="train on an existing Dask cluster (e.g. tcp://host:8786); the study file stays here")
    p.add_argument("--parallel", type=int, default=None, metavar="Q",
                   help="with a cluster: trainings running at once (default: its worker slots)")
    p.add_argument("--trial-timeout", type=float, default=None, metavar="SECONDS",
                   help="with a cluster: a training running longer is recorded as failed and its worker restarted")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.set_defaults(func=cmd_search)
