"""SVM-CBO against what users would pick instead (Optuna), at equal training budgets; resumable.

Run:  python benchmarks/bench_peers.py --dataset digits --target stm32f303k8 --budgets 20,40 --seeds 5
      python benchmarks/bench_peers.py --dataset har-watch --label subject --target stm32l476rg
      python benchmarks/bench_peers.py --quick          # a few trainings, to check the harness end to end

Every method gets the same template, data, target (runtime tflm, int8), budget of trainings and seeds. A
configuration's k-fold accuracy does not depend on the method or the board (the objective's seed is fixed), so it
is computed once and kept in ``--cache`` (one JSON line per configuration, with its training time), and each
finished (method, seed) run is kept there too: a run that is cut off continues where it stopped. Methods whose
proposals do not depend on the budget run once at the largest budget; the smaller budgets are prefixes of that
run (the grid, sized by its budget, runs once per budget).

Methods (a training spent on an undeployable network counts against the budget and is "wasted"; for the methods
that never read such a training's accuracy, IGNORES_UNDEPLOYABLE, it is counted but not run):
  svmcbo          the papers' SVM-CBO, memsim as the free oracle (Phase 1 labels without training)
  svmcbo-blind    SVM-CBO in the papers' black-box setting: deployability is revealed only after a training
                  (Phase 1 = 10 LHS + 5 boundary trainings); the revealed label is memsim's verdict, which equals
                  tflite-micro's on this template (RESULTS.md, issue 3), standing in for a toolchain run
  svmcbo-toolchain  the same black-box SVM-CBO with the real toolchain as the oracle: each configuration is
                  converted (int8) and allocated by tflite-micro, and judged by memsim's verdict rule on the measured
                  arena and flatbuffer (cached per configuration; architecture alone decides it)
  exact-ucb       GP-UCB over memsim's exact deployable set, with log params / log MACC as extra GP inputs
                  (version 2: spread-out first trainings, a GP with noise and scale floors)
  exact-ei        the same with expected improvement over the best training so far instead of UCB
  tpe+memsim      Optuna TPE; an undeployable sample is told to Optuna as infeasible (constraint API), untrained
  tpe-blind       Optuna TPE training everything; deployability learnt after training (the papers' BO baseline)
  gp+memsim       Optuna GPSampler with the same constraint (needs PyTorch; skipped with a note without it)
  gp-blind        Optuna GPSampler training everything
  nsga2           Optuna NSGA-II on (accuracy, RAM, Flash), training everything; its best deployable result
  random, grid, feasible-random, bo (GP-UCB blind to deployability): the project's baselines
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


import cbo  # noqa: E402
from _harness import cpu_model, library_versions, mean_std  # noqa: E402,F401  (mean_std: the tables below)
from cbo.tinyml import KFoldObjective, MemsimConstraint, OptunaDeployability, get_template, load_dataset  # noqa: E402

METHODS = ["svmcbo", "svmcbo-blind", "svmcbo-toolchain", "exact-ucb", "exact-ei",
           "tpe+memsim", "tpe-blind", "gp+memsim", "gp-blind", "nsga2",
           "feasible-random", "random", "grid", "bo"]
# Accuracies closer than this are a tie: the same fold results averaged in another order differ by ~1e-8 (float32).
TIE = 1e-6
OURS = ("svmcbo", "exact-ucb", "exact-ei")  # the methods every other is counted against (W/T/L columns)
BUDGET_SIZED = {"grid"}  # proposals depend on the budget: run once per budget
ACCURACY_KEYS = ("dataset", "label", "space", "epochs", "k")  # what a configuration's accuracy depends on
# Toolchain verdicts measured before this rule used untrained networks, whose zero biases the converter drops
# (a smaller file than the trained network's); those verdicts and the svmcbo-toolchain runs built on them are
# ignored and measured again.
TOOLCHAIN_RULE = "trained-like weights"
# Methods that never read an undeployable training's accuracy: Optuna's TPE and NSGA-II rank infeasible trials by
# their constraint violation only, SVM-CBO's GP sees deployable trainings only, random and grid read nothing. For
# them such a training counts against the budget and as wasted, but is run only if another method already ran it
# (their proposals are the same either way: tests/benchmarks_tests/test_skipped_trainings.py); the table gives the
# training time of the trainings run and how many were not run.
IGNORES_UNDEPLOYABLE = {"random", "grid", "tpe-blind", "nsga2", "svmcbo-blind", "svmcbo-toolchain"}
# A method changed since runs were stored gets a new version here; runs of its older versions are not reused.
# exact-ucb 2: spread-out first trainings and a GP with noise and scale floors (after har-watch's chance-level trap).
METHOD_VERSIONS = {"exact-ucb": 2}


def method_version(run_key: str) -> int:
    """The current version of the method of a run key such as ``exact-ucb@20``."""
    return METHOD_VERSIONS.get(run_key.rsplit("@", 1)[0], 1)


def is_current_run(row: dict) -> bool:
    """Whether a stored row is a run that counts: it has a trace (rows of the first harness kept none), its method's
    current version, and for svmcbo-toolchain verdicts measured under the current TOOLCHAIN_RULE."""
    method = row.get("method", "")
    if "trace" not in row or row.get("version", 1) != method_version(method):
        return False
    return not (method.startswith("svmcbo-toolchain") and row.get("rule") != TOOLCHAIN_RULE)

# The caches live in the repository and are committed: a run cut off on one machine continues on any checkout
# (a wiped machine once cost every stored training).
CACHE_DIR = Path(__file__).resolve().parent / "cache"


def default_cache(dataset: str, target: str) -> Path:
    """The committed cache of a task and board, ``peers-<task>-<board>.jsonl`` (har-watch is ``har``,
    har-basicmotions ``basicmotions``): a command without ``--cache`` continues the runs RESULTS.md reports."""
    task = {"har-watch": "har", "har-basicmotions": "basicmotions"}.get(dataset, Path(dataset).stem)
    return CACHE_DIR / f"peers-{task}-{target.lower()}.jsonl"


def parse_methods(text: str) -> list:
    """A comma-separated ``--methods`` value; an unknown name ends the program with one sentence."""
    methods = [m for m in text.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        sys.exit(f"Unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}.")
    return methods


def setting_of(dataset_name: str, label, space: str, target: str, epochs: int) -> dict:
    """What a stored run depends on (every run is TFLM int8, 3-fold): the key rows are matched against."""
    return {"dataset": dataset_name, "label": label, "space": space, "target": target,
            "runtime": "tflm", "dtype": "int8", "epochs": epochs, "k": 3}


class Cache:
    """Accuracy (and training seconds) per configuration, result per (method@budget, seed): one JSON-lines file."""

    def __init__(self, path: Path, setting: dict):
        self.path, self.setting = path, setting
        self.acc_setting = {k: setting[k] for k in ACCURACY_KEYS}
        self.accuracy: dict = {}
        self.seconds: dict = {}
        self.results: dict = {}
        self.verdicts: dict = {}  # toolchain verdicts per configuration (this target)
        self.libraries = library_versions()
        self.cpu = cpu_model()
        # A configuration's accuracy does not depend on the board: the other caches beside this one (other boards
        # of the task) are read for accuracies too, so a method whose proposals ignore the board (random, grid,
        # blind searches) trains nothing twice across boards; so are the committed ones, for a cache in another
        # folder (re-runs). Their runs and verdicts are theirs alone.
        others = set(path.parent.glob("*.jsonl")) | set(CACHE_DIR.glob("*.jsonl"))
        for other in sorted(others):
            if other.resolve() != path.resolve():
                for line in other.read_text().splitlines():
                    self._read_accuracy(json.loads(line))
        if path.exists():
            for line in path.read_text().splitlines():
                row = json.loads(line)
                stored = row.get("setting", {})
                if "config_key" in row:
                    self._read_accuracy(row)
                elif "verdict_key" in row:
                    if stored == setting and row.get("rule") == TOOLCHAIN_RULE:
                        self.verdicts[row["verdict_key"]] = row["deployable"]
                elif stored == setting and is_current_run(row):
                    self.results[(row["method"], row["seed"])] = row
        path.parent.mkdir(parents=True, exist_ok=True)

    def _read_accuracy(self, row: dict) -> None:
        if "config_key" in row and {k: row.get("setting", {}).get(k) for k in ACCURACY_KEYS} == self.acc_setting:
            self.accuracy[row["config_key"]] = row["accuracy"]
            if "seconds" in row:
                self.seconds[row["config_key"]] = row["seconds"]

    def _append(self, row: dict) -> None:
        # One write on an O_APPEND descriptor: processes sharing the file never interleave their lines.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(row) + "\n").encode())
        finally:
            os.close(fd)

    def accuracy_of(self, key: str, compute) -> float:
        if key not in self.accuracy:
            start = time.perf_counter()
            self.accuracy[key] = compute()
            self.seconds[key] = round(time.perf_counter() - start, 2)
            # The CPU too: another one can train the same configuration to another accuracy (RESULTS.md).
            self._append({"config_key": key, "accuracy": self.accuracy[key], "seconds": self.seconds[key],
                          "setting": self.acc_setting, "cpu": self.cpu})
        return self.accuracy[key]

    def training_seconds(self, key: str) -> float:
        known = list(self.seconds.values())
        return self.seconds.get(key, statistics.mean(known) if known else 0.0)

    def verdict_of(self, key: str, compute) -> bool:
        if key not in self.verdicts:
            self.verdicts[key] = bool(compute())
            self._append({"verdict_key": key, "deployable": self.verdicts[key], "setting": self.setting,
                          "rule": TOOLCHAIN_RULE})
        return self.verdicts[key]

    def store(self, row: dict) -> None:
        self.results[(row["method"], row["seed"])] = row
        self._append({**row, "setting": self.setting, "rule": TOOLCHAIN_RULE,
                      "version": method_version(row["method"]), "libraries": self.libraries,
                      "cpu": self.cpu})


class Harness:
    """One setting (template, data, target); ``run(method, seed, budget)`` returns the trace of trainings."""

    def __init__(self, template, constraint, dep, score, key, toolchain=None, trained=None):
        self.template, self.constraint, self.dep, self.score, self.key = template, constraint, dep, score, key
        self.toolchain = toolchain  # config -> deployable, measured by tflite-micro (svmcbo-toolchain)
        # key -> whether its accuracy is known; None: run every training (IGNORES_UNDEPLOYABLE not used)
        self.trained = trained
        self.method = ""
        self.running = ""  # "method seed s, budget b", for the progress lines

    def _train(self, trace, config, deployable):
        key = self.key(config)
        if not deployable and self.trained is not None and self.method in IGNORES_UNDEPLOYABLE \
                and not self.trained(key):
            trace.append({"key": key, "accuracy": None, "deployable": False, "trained": False})
            print(f"    {self.running}: training {len(trace)} (undeployable) not run: {self.method} never reads "
                  "its accuracy", file=sys.stderr, flush=True)
            return 0.0  # a placeholder the method ignores
        start = time.perf_counter()
        acc = self.score(config)
        trace.append({"key": key, "accuracy": acc, "deployable": bool(deployable)})
        seconds = time.perf_counter() - start
        print(f"    {self.running}: training {len(trace)}, {100 * acc:.2f} %"
              f"{'' if deployable else ' (undeployable)'}, {seconds:.0f} s", file=sys.stderr, flush=True)
        return acc

    def run_cbo(self, method, seed, budget):
        if method in ("svmcbo-blind", "svmcbo-toolchain"):
            sampler, precheck = cbo.SVMCBOSampler(seed=seed, n_init=10, n_phase1=5), False
        else:
            sampler = cbo.SAMPLERS[method](seed=seed)
            precheck = sampler.prechecks
        study = cbo.Study(self.template.space, sampler, constraint=self.constraint if precheck else None,
                          seed=seed, budget=budget)
        trace = []

        def objective(config):
            feasible = self.toolchain(config) if method == "svmcbo-toolchain" else self.constraint(config)[0]
            return {"accuracy": self._train(trace, config, feasible), "feasible": feasible}

        study.optimize(objective, budget)
        return trace

    def run_optuna(self, method, seed, budget):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        trace = []
        with_memsim = method.endswith("+memsim")
        multi = method == "nsga2"

        def objective(trial):
            config = self.dep.suggest(trial)
            deployable = self.dep.check(trial, config)  # records the constraint values either way
            if with_memsim and not deployable:
                return 0.0  # infeasible, told through the constraint; no training
            acc = self._train(trace, config, deployable)
            if multi:
                fp = trial.user_attrs["autotinyml_footprint"]
                return acc, float(fp.get("ram_bytes", 2**31)), float(fp.get("flash_bytes", 2**31))
            return acc

        if method.startswith("tpe"):
            sampler = optuna.samplers.TPESampler(seed=seed)  # Optuna 5 reads the constraints check() set
        elif method.startswith("gp"):
            sampler = optuna.samplers.GPSampler(seed=seed)
        else:
            sampler = optuna.samplers.NSGAIISampler(seed=seed, population_size=10)
        directions = ["maximize", "minimize", "minimize"] if multi else ["maximize"]
        study = optuna.create_study(directions=directions, sampler=sampler)
        for _ in range(200 * budget):  # proposals; trainings are what the budget counts
            if len(trace) >= budget:
                break
            study.optimize(objective, n_trials=1)
        return trace

    def run(self, method, seed, budget):
        self.method, self.running = method, f"{method} seed {seed} (budget {budget})"
        if method in ("tpe+memsim", "tpe-blind", "gp+memsim", "gp-blind", "nsga2"):
            return self.run_optuna(method, seed, budget)
        return self.run_cbo(method, seed, budget)


_verdict_pool = None  # one worker process for the toolchain verdicts, kept between them (TensorFlow loads once)


def measured_verdict(template, config, shape, n_classes, target) -> bool:
    """Deployable by the real toolchain: the network converted to int8 and allocated by tflite-micro (the smallest
    arena that allocates), judged by memsim's verdict rule on the measured figures. Runs in a worker process: the
    TFLite converter crashes its process on some large int8 networks (8.1 M parameters with SELU in both layers on
    har-watch), and a network the converter cannot convert is not deployable."""
    global _verdict_pool
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    if _verdict_pool is None:
        _verdict_pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        return _verdict_pool.submit(_measured_verdict_here, template.name, dict(config), tuple(shape), n_classes,
                                    target).result()
    except BrokenProcessPool:
        _verdict_pool = None
        print(f"    the TFLite converter crashed on {template.space.key(config)}: not deployable", file=sys.stderr,
              flush=True)
        return False


def _measured_verdict_here(template_name, config, shape, n_classes, target) -> bool:
    """The verdict in this process. The values of the weights do not change sizes, but zeros do (the converter
    drops all-zero biases, which a fresh Keras layer has and a trained one does not), so the untrained network
    gets trained-looking weights first."""
    from memsim import judge
    from memsim.frontends.keras import keras_from_spec
    from targets import get_target
    from validation import ToolchainError
    from validation.corpus import randomise_weights
    from validation.tflm import convert, measure

    board, template = get_target(target), get_template(template_name)
    model = keras_from_spec(template.spec(dict(config), shape, n_classes))
    randomise_weights(model)
    try:
        flatbuffer = convert(model, "int8")
        arena = measure(flatbuffer).smallest
    except ToolchainError:  # TFLM cannot run it at all (int8 SELU): not deployable
        return False
    code = board.overhead("tflm", "int8")
    return judge(board, ram_bytes=arena + code.ram_bytes, region_bytes=arena,
                 flash_bytes=len(flatbuffer) + code.code_flash_bytes, region_what="TFLM arena").deployable


def curve(trace):
    """Best deployable accuracy after each training."""
    out, best = [], 0.0
    for t in trace:
        if t["deployable"]:
            best = max(best, t["accuracy"])
        out.append(best)
    return out


def count_wasted(trace) -> int:
    """Trainings spent on networks that do not fit."""
    return sum(not t["deployable"] for t in trace)


def longest_run(cache, method, seed, budget):
    """The longest stored run of a method whose proposals do not depend on the budget, if it covers ``budget``
    trainings: its first ``budget`` trainings are the run at that budget."""
    runs = [(int(key.rsplit("@", 1)[1]), row) for (key, s), row in cache.results.items()
            if s == seed and key.rsplit("@", 1)[0] == method and key.rsplit("@", 1)[1].isdigit()]
    longest = max(runs, key=lambda r: r[0], default=(0, None))
    return longest[1] if longest[0] >= budget else None


def run_at(cache, method, seed, budget):
    """The trace of a method's run at ``budget`` trainings (a prefix of a longer run where the budget does not
    change its proposals), or None if no stored run covers it."""
    row = cache.results.get((f"{method}@{budget}", seed)) if method in BUDGET_SIZED else \
        longest_run(cache, method, seed, budget)
    return row["trace"][:budget] if row else None


def wins_ties_losses(pairs) -> str:
    """``W/T/L`` of the first accuracy of each pair against the second; closer than ``TIE`` is a tie."""
    w = sum(a > b + TIE for a, b in pairs)
    t = sum(abs(a - b) <= TIE for a, b in pairs)
    return f"{w}/{t}/{len(pairs) - w - t}"


def table(cache, methods, budgets, seeds, setting):
    """Markdown: per budget, best deployable accuracy, wasted trainings, time to within 1 point, W/T/L."""
    runs = {}
    for method in methods:
        for seed in range(seeds):
            for b in budgets:
                trace = run_at(cache, method, seed, b)
                if trace is not None:
                    runs[(method, seed, b)] = trace
    ours = [m for m in OURS if m in methods]
    lines = []
    for b in budgets:
        best_any = max((max(curve(tr), default=0.0) for (m, s, bb), tr in runs.items() if bb == b), default=0.0)
        lines += [f"\n**Budget {b} trainings** ({setting['dataset']}"
                  f"{' ' + setting['label'] if setting['label'] else ''}, {setting['target']}, tflm int8; "
                  f"best deployable accuracy any method found: {100 * best_any:.2f} %)\n",
                  "| method | seeds | best deployable accuracy % (mean ± std) | wasted trainings | "
                  "first training within 1 pt of the best found | training time s | "
                  + " | ".join(f"{m} vs this W/T/L" for m in ours) + " |",
                  "|---|---|---|---|---|---|" + "---|" * len(ours)]
        bests = {(m, s): max(curve(tr), default=0.0) for (m, s, bb), tr in runs.items() if bb == b}
        for method in methods:
            seeds_done = [s for s in range(seeds) if (method, s) in bests]
            if not seeds_done:
                continue
            vals = [100 * bests[(method, s)] for s in seeds_done]
            wasted = [count_wasted(runs[(method, s, b)]) for s in seeds_done]
            firsts = []
            for s in seeds_done:
                c = curve(runs[(method, s, b)])
                firsts.append(next((i + 1 for i, v in enumerate(c) if v >= best_any - 0.01), None))
            hit = [f for f in firsts if f is not None]
            first = f"{statistics.mean(hit):.1f} ({len(hit)}/{len(firsts)} runs)" if hit else f"never (0/{len(firsts)})"
            secs = [sum(cache.training_seconds(t["key"]) for t in runs[(method, s, b)] if t.get("trained", True))
                    for s in seeds_done]
            not_run = [sum(not t.get("trained", True) for t in runs[(method, s, b)]) for s in seeds_done]
            time_cell = f"{statistics.mean(secs):.0f}" + \
                (f" (+{statistics.mean(not_run):.1f} not run)" if any(not_run) else "")

            def wtl(reference):
                if method == reference:
                    return "-"
                pairs = [(bests[(reference, s)], bests[(method, s)]) for s in seeds_done if (reference, s) in bests]
                return wins_ties_losses(pairs) if pairs else "-"

            lines.append(f"| {method} | {len(seeds_done)} | {mean_std(vals)} | "
                         f"{statistics.mean(wasted):.1f} | {first} | {time_cell} | "
                         + " | ".join(wtl(m) for m in ours) + " |")
        per_seed = "; ".join(f"{m} " + " / ".join(f"{100 * bests[(m, s)]:.2f}" if (m, s) in bests else "-"
                                                   for s in range(seeds))
                             for m in methods if any((m, s) in bests for s in range(seeds)))
        lines.append(f"\nPer seed (best deployable %, seeds 0-{seeds - 1}): {per_seed}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--label", default=None)
    ap.add_argument("--space", default="paper-har")
    ap.add_argument("--target", default="stm32f303k8")
    ap.add_argument("--budgets", default="20,40", help="comma-separated training budgets")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--cache", default=None,
                    help="JSON-lines cache of trainings and runs (default: the task and board's file committed in "
                         "benchmarks/cache/, or a temporary file with --quick); several processes may share it")
    ap.add_argument("--first-seed", type=int, default=0, help="run seeds first-seed..seeds-1 (split across processes)")
    ap.add_argument("--plot", default=None, help="write the convergence plot (PNG) here")
    ap.add_argument("--markdown", default=None, help="also write the tables to this Markdown file")
    ap.add_argument("--quick", action="store_true", help="budget 3, 1 seed, 1 epoch: checks the harness only")
    ap.add_argument("--report-only", action="store_true", help="train nothing: tables and plot from the cache")
    args = ap.parse_args()
    if args.quick:
        args.budgets, args.seeds, args.epochs = "3", 1, 1
    if args.cache is None:  # a harness check must not add its 1-epoch trainings to the committed evidence
        args.cache = str(Path(tempfile.mkdtemp()) / "peers.jsonl") if args.quick else \
            str(default_cache(args.dataset, args.target))
    budgets = sorted({int(b) for b in args.budgets.split(",")})
    methods = parse_methods(args.methods)
    if any(m.startswith("gp") and m != "grid" for m in methods):
        try:
            import torch  # noqa: F401  (Optuna's GPSampler needs it)
        except ImportError:
            print("# note: PyTorch is not installed, so Optuna's GPSampler (gp+memsim, gp-blind) is skipped; "
                  "pip install torch --index-url https://download.pytorch.org/whl/cpu", flush=True)
            methods = [m for m in methods if not m.startswith("gp+") and m != "gp-blind"]
    ds = load_dataset(args.dataset, args.label)
    template = get_template(args.space)
    shape = template.input_shape(ds.sample_shape)
    constraint = MemsimConstraint(template, shape, ds.n_classes, args.target, "tflm", "int8")
    dep = OptunaDeployability(template, shape, ds.n_classes, args.target, "tflm", "int8")
    objective = KFoldObjective(template, ds, k=3, epochs=args.epochs, seed=0)
    setting = setting_of(ds.name, args.label, template.name, args.target, args.epochs)
    cache = Cache(Path(args.cache), setting)

    def score(config):
        return cache.accuracy_of(template.space.key(config), lambda: objective(config)["accuracy"])

    def toolchain(config):
        return cache.verdict_of(template.space.key(config),
                                lambda: measured_verdict(template, config, shape, ds.n_classes, args.target))

    harness = Harness(template, constraint, dep, score, template.space.key, toolchain,
                      trained=lambda key: key in cache.accuracy)
    print(f"# {time.strftime('%Y-%m-%d')}: {template.name} on {ds.name} ({len(ds.X)} samples) for {args.target} "
          f"(tflm int8), budgets {budgets} trainings, 3-fold x {args.epochs} epochs, seeds 0..{args.seeds - 1}; "
          f"cache {args.cache}", flush=True)
    print(f"# {cache.cpu}; " + ", ".join(f"{k} {v}" for k, v in cache.libraries.items() if v), flush=True)
    for seed in range(args.first_seed, 0 if args.report_only else args.seeds):  # seed-major: a cut-off run still has every method for the first seeds
        for method in methods:
            for b in (budgets if method in BUDGET_SIZED else [max(budgets)]):
                key = (f"{method}@{b}", seed)
                if key in cache.results:
                    continue
                start = time.perf_counter()
                trained_before = len(cache.accuracy)
                trace = harness.run(method, seed, b)
                c = curve(trace)
                row = {"method": key[0], "seed": seed, "best": c[-1] if c else 0.0,
                       "wasted": count_wasted(trace), "trace": trace,
                       "seconds": round(time.perf_counter() - start, 1),
                       "new_trainings": len(cache.accuracy) - trained_before}
                cache.store(row)
                print(f"  seed {seed} {method:16s}@{b}: best deployable {100 * row['best']:.2f} %, wasted "
                      f"{row['wasted']}/{len(trace)}, {row['seconds']} s ({row['new_trainings']} new trainings)",
                      flush=True)
    text = table(cache, methods, budgets, args.seeds, setting)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(f"Command: `python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}`\n"
                                       + text + "\n")
    if args.plot:
        from cbo.tinyml.study_plots import plot_curves

        b = max(budgets)
        traces = {m: [run_at(cache, m, s, b) for s in range(args.seeds)] for m in methods}
        curves = {m: [curve(tr) for tr in trs if tr is not None] for m, trs in traces.items()}
        plot_curves(curves, f"{template.name} on {ds.name}{' (' + args.label + ')' if args.label else ''}, "
                            f"{args.target}, tflm int8: best deployable accuracy", Path(args.plot), budgets[:-1],
                    zoom=True)


if __name__ == "__main__":
    main()
