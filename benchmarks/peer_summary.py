"""One table over every task, board and budget of bench_peers: best deployable accuracy per method, and the first
method's per-seed wins/ties/losses against each other one. Trains nothing; reads the committed caches.

Run:  python benchmarks/peer_summary.py
      python benchmarks/peer_summary.py --methods exact-ei,svmcbo,tpe-blind,nsga2 --budgets 20
      python benchmarks/peer_summary.py --wasted      # trainings spent on networks that do not fit, instead
      python benchmarks/peer_summary.py --caches benchmarks/cache/rerun-2026-12-01   # the re-runs' table

Cells are ``mean ± std`` over the seeds stored (``[n seeds]`` when fewer than ``--seeds``), then, for every method
but the first, the first method's ``(W/T/L)`` over the seeds both have; ``-`` where nothing is stored. With
``--wasted``, cells are the mean number of trainings spent on undeployable networks and their share of the budget.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path


from bench_peers import (CACHE_DIR, Cache, count_wasted, curve, default_cache, mean_std, parse_methods,  # noqa: E402
                         run_at, setting_of, wins_ties_losses)

# (dataset, label, board, how the table names it); the settings issue 10 asks for.
SETTINGS = [("digits", None, "stm32f303k8", "digits, STM32F303K8"),
            ("digits", None, "stm32l476rg", "digits, STM32L476RG"),
            ("har-watch", "subject", "stm32f303k8", "har-watch users, STM32F303K8"),
            ("har-watch", "subject", "stm32l476rg", "har-watch users, STM32L476RG")]
MAIN_METHODS = "exact-ei,exact-ucb,svmcbo,tpe+memsim,gp+memsim,feasible-random"


def summary_rows(methods, budgets, seeds, epochs=10, space="paper-har", wasted=False, cache_dir=CACHE_DIR):
    """Markdown rows, one per (setting, budget): best deployable accuracy, or with ``wasted`` the trainings spent
    on undeployable networks."""
    from cbo.tinyml import load_dataset  # the dataset's own name is what the runs are stored under

    rows = []
    for dataset, label, target, title in SETTINGS:
        setting = setting_of(load_dataset(dataset, label).name, label, space, target, epochs)
        cache = Cache(Path(cache_dir) / default_cache(dataset, target).name, setting)
        for budget in budgets:
            best, lost = {}, {}
            for method in methods:
                for seed in range(seeds):
                    trace = run_at(cache, method, seed, budget)
                    if trace is not None:
                        best[(method, seed)] = 100 * max(curve(trace), default=0.0)
                        lost[(method, seed)] = count_wasted(trace)
            cells = []
            for method in methods:
                vals = [best[(method, s)] for s in range(seeds) if (method, s) in best]
                if not vals:
                    cells.append("-")
                    continue
                if wasted:
                    mean = statistics.mean(lost[(method, s)] for s in range(seeds) if (method, s) in lost)
                    cells.append(f"{mean:.1f} ({100 * mean / budget:.0f} %)" + _seeds_mark(len(vals), seeds))
                    continue
                cell = mean_std(vals) + _seeds_mark(len(vals), seeds)
                pairs = [(best[(methods[0], s)], best[(method, s)]) for s in range(seeds)
                         if (methods[0], s) in best and (method, s) in best]
                if method != methods[0] and pairs:
                    cell += f" ({wins_ties_losses(pairs)})"
                cells.append(cell)
            rows.append(f"| {title} | {budget} | " + " | ".join(cells) + " |")
    return rows


def _seeds_mark(stored: int, seeds: int) -> str:
    return f" [{stored} seed{'s' if stored > 1 else ''}]" if stored < seeds else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--methods", default=MAIN_METHODS, help="comma-separated; the first is counted against the rest")
    ap.add_argument("--budgets", default="20,40")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--wasted", action="store_true",
                    help="show the trainings spent on undeployable networks instead of accuracy")
    ap.add_argument("--caches", type=Path, default=CACHE_DIR,
                    help="folder of the bench_peers caches to read (default: the committed ones)")
    args = ap.parse_args()
    if not args.caches.is_dir():
        sys.exit(f"peer_summary: {args.caches} is not a folder; pass the folder that holds the peers-*.jsonl caches.")
    methods = parse_methods(args.methods)
    budgets = sorted({int(b) for b in args.budgets.split(",")})
    print(f"| task, board | trainings | {' | '.join(methods)} |")
    print("|---|---|" + "---|" * len(methods))
    print("\n".join(summary_rows(methods, budgets, args.seeds, wasted=args.wasted, cache_dir=args.caches)))
    if args.wasted:
        print(f"\n(trainings spent on networks that do not fit, mean over seeds 0-{args.seeds - 1}, and their share "
              "of the budget)")
    else:
        print(f"\n(best deployable accuracy %, mean ± std over seeds 0-{args.seeds - 1}; in brackets {methods[0]}'s "
              "wins/ties/losses against the column's method, seed by seed)")


if __name__ == "__main__":
    main()
