"""SVM-CBO against what users would pick instead (Optuna TPE), at equal training budgets; resumable.

Run:  python benchmarks/bench_peers.py --dataset digits --target stm32f303k8 --budget 20 --seeds 5
      python benchmarks/bench_peers.py --quick          # a few trainings, to check the harness end to end

Every method gets the same template, data, target (runtime tflm, int8), budget of trainings and seeds. A
configuration's k-fold accuracy does not depend on the method (the objective's seed is fixed), so it is computed
once and kept in ``--cache`` (one JSON line per configuration), and each finished (method, seed) run is kept there
too: a run that is cut off continues where it stopped.

Methods: ``svmcbo`` (memsim oracle), ``feasible-random``, ``random``, ``bo`` (GP-UCB blind to deployability),
``tpe+memsim`` (Optuna TPE; an undeployable sample is told to Optuna as infeasible through its constraint API,
without training) and ``tpe-blind`` (Optuna TPE training everything; deployability learnt after training, as the
papers' BO baseline). A training spent on an undeployable network counts against the budget and is "wasted".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cbo  # noqa: E402
from cbo.tinyml import KFoldObjective, MemsimConstraint, OptunaDeployability, get_template, load_dataset  # noqa: E402

METHODS = ["svmcbo", "tpe+memsim", "tpe-blind", "feasible-random", "random", "bo"]


class Cache:
    """Accuracy per configuration and result per (method, seed), appended to one JSON-lines file."""

    def __init__(self, path: Path, setting: dict):
        self.path, self.setting = path, setting
        self.accuracy: dict = {}
        self.results: dict = {}
        if path.exists():
            for line in path.read_text().splitlines():
                row = json.loads(line)
                if row.get("setting") != setting:
                    continue
                if "config_key" in row:
                    self.accuracy[row["config_key"]] = row["accuracy"]
                else:
                    self.results[(row["method"], row["seed"])] = row
        path.parent.mkdir(parents=True, exist_ok=True)

    def _append(self, row: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps({**row, "setting": self.setting}) + "\n")

    def accuracy_of(self, key: str, compute) -> float:
        if key not in self.accuracy:
            self.accuracy[key] = compute()
            self._append({"config_key": key, "accuracy": self.accuracy[key]})
        return self.accuracy[key]

    def store(self, row: dict) -> None:
        self.results[(row["method"], row["seed"])] = row
        self._append(row)


def run_cbo(method, seed, budget, template, constraint, score):
    sampler_cls = cbo.SAMPLERS[method]
    sampler = sampler_cls(seed=seed)
    precheck = method in ("svmcbo", "feasible-random")
    study = cbo.Study(template.space, sampler, constraint=constraint if precheck else None, seed=seed,
                      budget=budget)
    trace = []

    def objective(config):
        feasible, _ = constraint(config)
        acc = score(config)
        trace.append(acc if feasible else None)
        return {"accuracy": acc, "feasible": feasible}

    study.optimize(objective, budget)
    return trace


def run_tpe(method, seed, budget, template, constraint, score, dep):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trace = []

    def objective(trial):
        config = dep.suggest(trial)
        deployable = dep.check(trial, config)  # records the constraint values either way
        if method == "tpe+memsim" and not deployable:
            return 0.0  # infeasible, told through the constraint; no training
        acc = score(config)
        trace.append(acc if deployable else None)
        return acc

    sampler = optuna.samplers.TPESampler(seed=seed)  # Optuna 5 reads the constraints dep.check() set
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for _ in range(200 * budget):  # proposals; trainings are what the budget counts
        if len(trace) >= budget:
            break
        study.optimize(objective, n_trials=1)
    return trace


def summarise(trace, budget):
    best = max((a for a in trace if a is not None), default=0.0)
    return {"best": best, "wasted": sum(a is None for a in trace), "trainings": len(trace),
            "curve": [max((a for a in trace[:i + 1] if a is not None), default=0.0) for i in range(len(trace))]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--label", default=None)
    ap.add_argument("--space", default="paper-har")
    ap.add_argument("--target", default="stm32f303k8")
    ap.add_argument("--budget", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "autotinyml" / "peers.jsonl"))
    ap.add_argument("--quick", action="store_true", help="budget 3, 1 seed, 1 epoch: checks the harness only")
    args = ap.parse_args()
    if args.quick:
        args.budget, args.seeds, args.epochs = 3, 1, 1
    methods = [m for m in args.methods.split(",") if m]
    ds = load_dataset(args.dataset, args.label)
    template = get_template(args.space)
    shape = template.input_shape(ds.sample_shape)
    constraint = MemsimConstraint(template, shape, ds.n_classes, args.target, "tflm", "int8")
    dep = OptunaDeployability(template, shape, ds.n_classes, args.target, "tflm", "int8")
    objective = KFoldObjective(template, ds, k=3, epochs=args.epochs, seed=0)
    setting = {"dataset": ds.name, "label": args.label, "space": template.name, "target": args.target,
               "runtime": "tflm", "dtype": "int8", "epochs": args.epochs, "k": 3}
    cache = Cache(Path(args.cache), setting)

    def score(config):
        return cache.accuracy_of(template.space.key(config), lambda: objective(config)["accuracy"])

    print(f"# {time.strftime('%Y-%m-%d')}: {template.name} on {ds.name} ({len(ds.X)} samples) for {args.target} "
          f"(tflm int8), budget {args.budget} trainings, 3-fold x {args.epochs} epochs, seeds 0..{args.seeds - 1}; "
          f"cache {args.cache}", flush=True)
    for method in methods:
        for seed in range(args.seeds):
            key = (f"{method}@{args.budget}", seed)
            if key in cache.results:
                continue
            start = time.perf_counter()
            if method.startswith("tpe"):
                trace = run_tpe(method, seed, args.budget, template, constraint, score, dep)
            else:
                trace = run_cbo(method, seed, args.budget, template, constraint, score)
            row = {"method": key[0], "seed": seed, **summarise(trace, args.budget),
                   "seconds": round(time.perf_counter() - start, 1)}
            cache.store(row)
            print(f"  {method:16s} seed {seed}: best deployable {100 * row['best']:.2f} %, wasted "
                  f"{row['wasted']}/{row['trainings']}, {row['seconds']} s", flush=True)
    print(f"\n{'method':16s} {'best deployable (mean +/- std)':>32s} {'wasted':>8s}  wins/ties/losses of svmcbo")
    ours = {s: cache.results[(f"svmcbo@{args.budget}", s)]["best"] for s in range(args.seeds)
            if (f"svmcbo@{args.budget}", s) in cache.results}
    for method in methods:
        rows = [cache.results[(f"{method}@{args.budget}", s)] for s in range(args.seeds)
                if (f"{method}@{args.budget}", s) in cache.results]
        if not rows:
            continue
        best = [100 * r["best"] for r in rows]
        std = statistics.stdev(best) if len(best) > 1 else 0.0
        versus = ""
        if method != "svmcbo" and ours:
            pairs = [(ours[r["seed"]], r["best"]) for r in rows if r["seed"] in ours]
            w = sum(a > b + 1e-9 for a, b in pairs)
            t = sum(abs(a - b) <= 1e-9 for a, b in pairs)
            versus = f"{w}/{t}/{len(pairs) - w - t}"
        print(f"{method:16s} {statistics.mean(best):24.2f} +/- {std:5.2f} {statistics.mean(r['wasted'] for r in rows):8.1f}"
              f"  {versus}")


if __name__ == "__main__":
    main()
