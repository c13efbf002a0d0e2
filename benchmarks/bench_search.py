"""SVM-CBO vs random, feasible-random, grid and unconstrained BO, at equal training budgets.

Run: python benchmarks/bench_search.py [--seeds 5] [--trainings 8] [--epochs 10]

Every method gets the same budget of trainings on the same data and target.
The k-fold accuracy of a configuration does not depend on the method (the
objective's own seed is fixed), so it is computed once and cached across
methods and seeds: the comparison is about which configurations each method
chooses. Wall time is reported with and without that cache.
"""

from __future__ import annotations

import argparse
import statistics
import time


import cbo  # noqa: E402
from _harness import mean_std  # noqa: E402
from cbo.tinyml import KFoldObjective, MemsimConstraint, get_template, load_dataset  # noqa: E402

METHODS = ["svmcbo", "feasible-random", "random", "grid", "bo"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="har-basicmotions")
    ap.add_argument("--space", default="paper-har")
    ap.add_argument("--target", default="stm32f303k8")
    ap.add_argument("--compression", default="x8")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--trainings", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=10)
    args = ap.parse_args()
    ds = load_dataset(args.dataset)
    template = get_template(args.space)
    shape = template.input_shape(ds.sample_shape)
    constraint = MemsimConstraint(template, shape, ds.n_classes, args.target, compression=args.compression)
    objective = KFoldObjective(template, ds, k=3, epochs=args.epochs, seed=0)
    cache: dict = {}
    train_seconds: dict = {}

    def cached(config):
        key = template.space.key(config)
        if key not in cache:
            t = time.perf_counter()
            cache[key] = objective(config)
            train_seconds[key] = time.perf_counter() - t
        return cache[key]

    print(f"# {time.strftime('%Y-%m-%d')}: {args.space} on {args.dataset} for {args.target} (xcubeai float32 "
          f"{args.compression}), {args.trainings} trainings per run, 3-fold x {args.epochs} epochs, "
          f"seeds 0..{args.seeds - 1}", flush=True)
    rows = {}
    for method in METHODS:
        best, wasted, wall, walls_uncached = [], [], [], []
        for seed in range(args.seeds):
            sampler = cbo.SAMPLERS[method](seed=seed)
            study = cbo.Study(template.space, sampler, constraint=constraint, seed=seed, budget=args.trainings)
            t = time.perf_counter()
            used = []

            def objective_logged(config):
                used.append(template.space.key(config))
                return cached(config)

            study.optimize(objective_logged, args.trainings, catch=objective.training_errors())
            wall.append(time.perf_counter() - t)
            walls_uncached.append(wall[-1] + sum(train_seconds[k] for k in used) -
                                  0)  # each training at its full cost
            b = study.best_trial
            best.append(b.value if b else 0.0)
            wasted.append(study.n_wasted)
            print(f"  {method:16s} seed {seed}: best deployable {best[-1]:.4f}  wasted {wasted[-1]}  "
                  f"labels {len(study.trials) - study.n_trained}", flush=True)
        rows[method] = (best, wasted, walls_uncached)
    print(f"\n{'method':16s} {'best deployable accuracy':>26s} {'wasted trainings':>18s} {'wall s / run':>14s}")
    for method, (best, wasted, walls) in rows.items():
        print(f"{method:16s} {mean_std(best, 100):>20s} %  "
              f"{statistics.mean(wasted):10.1f} / {args.trainings:<5d} {statistics.mean(walls):12.0f}")
    print("(a run with no deployable training counts 0 %; wall time = search overhead + every training at its "
          "measured cost)")


if __name__ == "__main__":
    main()
