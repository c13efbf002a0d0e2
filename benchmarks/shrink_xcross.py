"""X-CROSS of shrink's exports on every offline task and both boards: does the int8 network agree with Keras?

Each cell runs the command users run, `autotinyml shrink --dataset D --target T` (the seed network shrink chooses for
the data, or --space; tflm, int8, default epochs, seed 0), and records from its report.json the X-CROSS count,
agreement and 95 % interval, the verdict, and the validation accuracy; a refusal or rejection is recorded with its
message. One JSON line per cell in --cache: a cut-off run continues where it stopped.

Run:  python benchmarks/shrink_xcross.py [--seeds 1] [--report-only]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path


from _harness import cpu_model  # noqa: E402

TASKS = [("har-basicmotions", None), ("har-watch", "subject"), ("digits", None)]
BOARDS = ("stm32f303k8", "stm32l476rg")
CACHE = Path(__file__).resolve().parent / "cache" / "shrink-xcross.jsonl"


def run_cell(dataset: str, label: "str | None", board: str, seed: int, space: "str | None") -> dict:
    """``autotinyml shrink`` with these options, as the library runs it (cbo.dnas.run_shrink), quietly."""
    from cbo.dnas.run import ShrinkOptions, run_shrink
    from validation import Finalists

    with tempfile.TemporaryDirectory(prefix="autotinyml-shrink-xcross-") as tmp:
        options = ShrinkOptions(dataset=dataset, label=label, target=board, seed=seed, space=space,
                                out=str(Path(tmp) / "exp"))
        row = {"dataset": dataset, "label": label, "board": board, "seed": seed, "space": space, "cpu": cpu_model()}
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                outcome = run_shrink(options, confirm=Finalists())
        except Exception as exc:  # a refusal is a row too, as the command's message
            return {**row, "exit": 2, "message": str(exc)}
        report = outcome.report
        row["exit"] = outcome.exit_code
        if "cross_accuracy" in report:
            xc = report["cross_accuracy"]
            row.update(n=xc["n"], agree=xc["agree"], acc=xc["acc"], interval=xc["interval_95"],
                       deployable=report["deployable"], val_accuracy=report["shrink"]["val_accuracy"]["fine_tuned"],
                       channels=report["shrink"]["channels"])
        if outcome.problem:
            row["message"] = outcome.problem
        return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--cache", default=str(CACHE))
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--space", default=None, help="the seed network's template (default: shrink's own choice)")
    args = parser.parse_args()
    cache = Path(args.cache)
    cache.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in cache.read_text().splitlines()] if cache.exists() else []
    # (rows before the automatic choice ran --space paper-har)
    rows = [r for r in rows if r.get("space", "paper-har") == args.space]
    done = {(r["dataset"], r["board"], r["seed"]) for r in rows}
    if not args.report_only:
        for dataset, label in TASKS:
            for board in BOARDS:
                for seed in range(args.seeds):
                    if (dataset, board, seed) in done:
                        continue
                    print(f"shrink {dataset} {board} seed {seed} ...", file=sys.stderr, flush=True)
                    row = run_cell(dataset, label, board, seed, args.space)
                    with cache.open("a") as f:
                        f.write(json.dumps(row) + "\n")
                    rows.append(row)
    print("| task | board | seed | X-CROSS (agree / n) | 95 % interval | verdict | val. accuracy | channels |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        task = r["dataset"] + (f" ({r['label']})" if r.get("label") else "")
        if "n" in r:
            print(f"| {task} | {r['board']} | {r['seed']} | {100 * r['acc']:.2f} % ({r['agree']} / {r['n']}) | "
                  f"{100 * r['interval'][0]:.1f}-{100 * r['interval'][1]:.1f} % | "
                  f"{'exported' if r['exit'] == 0 else 'rejected'} | {100 * r['val_accuracy']:.2f} % | "
                  f"{r['channels']} |")
        else:
            print(f"| {task} | {r['board']} | {r['seed']} | - | - | exit {r['exit']}: {r['message']} | - | - |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
