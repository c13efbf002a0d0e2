"""Trainings in parallel on Dask: the speed-up of real workers, and what batch proposals cost in accuracy; resumable.

Run:  python benchmarks/bench_workers.py speed [--trainings 16]          # wall time: in-process, 1 and 2 workers
      python benchmarks/bench_workers.py quality [--q 1,2,4] [--seeds 5]  # best deployable accuracy vs trainings

speed: the same fixed search (digits, paper-har, tiny board, tflm int8, feasible-random seed 0, 3-fold x 10 epochs)
run three ways, side by side in one run: in this process, on a LocalCluster of 1 worker, and of 2 workers. The
feasible-random sampler draws the same configurations whatever the number of workers (its generator advances with
stored + pending trials), so every column trains the same 16 networks. Run it on an otherwise idle machine.

quality: the search with q configurations out at once, for q in --q. Asynchronous workers are simulated: each
training takes the time it took when it was computed (cached), a free slot gets the next proposal at once, and
results are told in the order the trainings finish. Those times were recorded under different machine loads, so
they set a plausible order of arrival, not a wall time worth reporting (`speed` measures that). Accuracies and
training times come from the peer benchmark's cache (the same 3-fold x 10-epoch objective, seed 0), so q = 1 is
exactly the peer benchmark's run and a configuration is trained once for all q and seeds. Each finished (method, q,
seed) run is stored in the cache: a cut-off run resumes.
"""

from __future__ import annotations

import argparse
import heapq
import os
import time
from pathlib import Path


import cbo  # noqa: E402
from _harness import mean_std  # noqa: E402
from bench_peers import Cache, curve, default_cache  # noqa: E402
from cbo.tinyml import KFoldObjective, MemsimConstraint, get_template, load_dataset  # noqa: E402



def _setting(args, ds, template):
    return {"dataset": ds.name, "label": None, "space": template.name, "target": args.target, "runtime": "tflm",
            "dtype": "int8", "epochs": args.epochs, "k": 3}


def speed(args) -> None:
    from distributed import Client

    from cbo import local_cluster

    ds, template = load_dataset("digits"), get_template("paper-har")
    shape = template.input_shape(ds.sample_shape)
    constraint = MemsimConstraint(template, shape, ds.n_classes, args.target, "tflm", "int8")
    objective = KFoldObjective(template, ds, k=3, epochs=args.epochs, seed=0)
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores: {args.trainings} trainings of paper-har on "
          f"digits for {args.target}, feasible-random seed 0, 3-fold x {args.epochs} epochs", flush=True)
    rows = []
    for workers in (0, 1, 2):
        study = cbo.Study(template.space, cbo.FeasibleRandomSampler(seed=0), constraint=constraint, seed=0)
        start = time.perf_counter()
        if workers == 0:
            study.optimize(objective, args.trainings)
        else:
            with local_cluster(workers) as cluster, Client(cluster) as client:
                study.optimize(objective, args.trainings, client=client)
        wall = time.perf_counter() - start
        keys = sorted(template.space.key(t.config) for t in study.trials if t.value is not None)
        rows.append((workers, wall, keys, study.best_trial.value))
        label = "in-process" if workers == 0 else f"{workers} worker{'s' if workers > 1 else ''}"
        print(f"  {label:10s}: {wall:7.1f} s wall (cluster start-up included), "
              f"best {100 * study.best_trial.value:.2f} %", flush=True)
    base = rows[0][1]
    same = all(r[2] == rows[0][2] for r in rows)
    print("\n| run | wall time s | speed-up vs in-process |\n|---|---|---|")
    for workers, wall, _, _ in rows:
        print(f"| {'in-process' if workers == 0 else f'LocalCluster, {workers} worker(s)'} | {wall:.1f} | "
              f"{base / wall:.2f}x |")
    print(f"\nthe same {args.trainings} configurations trained in every run: {same}")


def simulate(study, score, seconds, n_trainings, q):
    """Asynchronous workers, simulated: q trainings out; the one that finishes first is told first.
    Returns the trace (key, accuracy, deployable, finished at) in the order results arrive."""
    clock, running, trace, order = 0.0, [], [], 0
    while len(trace) < n_trainings:
        while len(running) < q and len(trace) + len(running) < n_trainings:
            trial = study.ask()
            key = study.space.key(trial.config)
            acc = score(trial.config)  # computed (or read from the cache) now; told when its simulated time is up
            heapq.heappush(running, (clock + seconds(key), order, trial, acc, key))
            order += 1
        clock, _, trial, acc, key = heapq.heappop(running)
        study.tell(trial, acc)
        trace.append({"key": key, "accuracy": acc, "deployable": bool(trial.feasible), "at": round(clock, 1)})
    return trace


def quality(args) -> None:
    ds, template = load_dataset("digits"), get_template("paper-har")
    shape = template.input_shape(ds.sample_shape)
    constraint = MemsimConstraint(template, shape, ds.n_classes, args.target, "tflm", "int8")
    objective = KFoldObjective(template, ds, k=3, epochs=args.epochs, seed=0)
    setting = _setting(args, ds, template)
    cache = Cache(Path(args.cache), setting)
    qs = [int(q) for q in args.q.split(",")]
    methods = args.methods.split(",")

    def score(config):
        return cache.accuracy_of(template.space.key(config), lambda: objective(config)["accuracy"])

    print(f"# {time.strftime('%Y-%m-%d')}: paper-har on digits for {args.target} (tflm int8), {args.trainings} "
          f"trainings, q in {qs}, seeds {args.first_seed}..{args.seeds - 1}; cache {args.cache}", flush=True)
    for seed in range(args.first_seed, 0 if args.report_only else args.seeds):
        for method in methods:
            for q in qs:
                key = (f"{method}@{args.trainings}/q{q}", seed)
                if key in cache.results:
                    continue
                study = cbo.Study(template.space, cbo.SAMPLERS[method](seed=seed), constraint=constraint, seed=seed,
                                  budget=args.trainings)
                start, before = time.perf_counter(), len(cache.accuracy)
                trace = simulate(study, score, cache.training_seconds, args.trainings, q)
                row = {"method": key[0], "seed": seed, "best": curve(trace)[-1], "trace": trace,
                       "seconds": round(time.perf_counter() - start, 1),
                       "new_trainings": len(cache.accuracy) - before}
                cache.store(row)
                print(f"  seed {seed} {method} q={q}: best deployable {100 * row['best']:.2f} %, "
                      f"{row['new_trainings']} new trainings", flush=True)
    print(report(cache, methods, qs, args))


def report(cache, methods, qs, args) -> str:
    checkpoints = sorted({args.trainings // 2, args.trainings})
    # no simulated wall time: the recorded training times come from runs under different loads (see `speed`)
    lines = ["\n| method | q | seeds | " + " | ".join(f"best deployable % after {c} trainings" for c in checkpoints)
             + " |", "|---|---|---|" + "---|" * len(checkpoints)]
    for method in methods:
        # seeds every q has finished, so that the rows compare the same seeds
        seeds = [s for s in range(args.seeds) if all((f"{method}@{args.trainings}/q{q}", s) in cache.results
                                                       for q in qs)]
        for q in qs:
            runs = [cache.results[(f"{method}@{args.trainings}/q{q}", s)] for s in seeds]
            if not runs:
                continue
            cells = []
            for c in checkpoints:
                vals = [100 * curve(r["trace"])[c - 1] for r in runs]
                cells.append(mean_std(vals))
            lines.append(f"| {method} | {q} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["speed", "quality"])
    ap.add_argument("--target", default="stm32f303k8")
    ap.add_argument("--trainings", type=int, default=None, help="default 16 (speed), 20 (quality)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--q", default="1,2,4", help="quality: configurations out at once")
    ap.add_argument("--methods", default="exact-ucb,svmcbo", help="quality: samplers (cbo.SAMPLERS names)")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--cache", default=None, help="default: digits' committed peer cache for --target")
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    args.trainings = args.trainings or (16 if args.what == "speed" else 20)
    args.cache = args.cache or str(default_cache("digits", args.target))
    speed(args) if args.what == "speed" else quality(args)


if __name__ == "__main__":
    main()
