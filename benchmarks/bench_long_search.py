"""Does a long search slow down or grow? Many trainings in ONE process, time and resident memory as it goes.

Each training is the search's own objective (KFoldObjective: 3-fold, paper-har) on a random deployable
configuration of the papers' tiny board, on a 640-sample, 9-class dataset shaped like har-watch windows, with one
TensorFlow thread, as `benchmarks/bench_peers.py` trains. Printed at trainings 10, 100 and 200 (or --at): the
mean seconds of the last 10 trainings and the process's resident memory, and their ratio to the first point.
Speeds are compared like with like: the configurations are drawn once, from --seed, and cycle if --trainings
exceeds them, so the same networks are trained early and late.

Trainings run as the search runs them: in a child process replaced every 10 trainings (cbo.tinyml.recycled);
resident memory is the search process's plus its children's (the successor too, while it waits). --in-process trains in this process, as before.

With --workers N the trainings run on a local Dask cluster of N workers, as `autotinyml search --workers N` runs
them: in each worker, a recycled child (cbo.tinyml.recycled.WorkerRecycled); with --in-process as well, in the
workers' own long-lived processes (as before). Memory is then the workers' with their children, summed.

Run:  python benchmarks/bench_long_search.py [--trainings 200] [--epochs 10] [--in-process] [--workers N] [--log FILE]
Every training is appended to --log (JSON lines); a cut-off run started again continues from the log in a new
process, and the report marks where the process changed (growth is only comparable within one process).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


def rss_bytes(pid: "int | str" = "self") -> int:
    """Resident memory now (not the peak): /proc/PID/statm's resident pages."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except FileNotFoundError:
        return 0


def dataset(seed: int):
    import numpy as np

    from cbo.tinyml.datasets import Dataset

    rng = np.random.default_rng(seed)
    y = np.arange(640) % 9
    X = rng.normal(size=(640, 100, 6)).astype("float32") + y[:, None, None] * 0.05
    return Dataset("synthetic-640x9", X, y.astype("int64"), tuple(range(9)))


def configurations(n: int, seed: int) -> list[dict]:
    import numpy as np

    from cbo.tinyml import MemsimConstraint, get_template

    template = get_template("paper-har")
    constraint = MemsimConstraint(template, template.input_shape((100, 6)), 9, "stm32f303k8", "tflm", "int8",
                                  "none")
    rng = np.random.default_rng(seed)
    pool = template.space.sample(rng, 4000)
    fits = [c for c, (ok, _) in zip(pool, constraint.many(pool)) if ok]
    return [fits[i] for i in rng.choice(len(fits), min(n, len(fits)), replace=False)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainings", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--at", default="10,100,200", help="report points (trainings)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--distinct", type=int, default=50, help="distinct configurations, trained in turn")
    parser.add_argument("--in-process", action="store_true",
                        help="train in this process (as before), not in the search's recycled child processes")
    parser.add_argument("--workers", type=int, default=0,
                        help="train on a local Dask cluster of N workers, as `autotinyml search --workers N` does "
                             "(with --in-process: in the workers' own long-lived processes, as before)")
    parser.add_argument("--log", default=None, help="default benchmarks/cache/long-search-{recycled|in-process}"
                                                    "[-workersN].jsonl")
    args = parser.parse_args()
    if args.workers:
        return on_workers(args)

    from cbo.tinyml.recycled import RecycledObjective

    how = "in-process" if args.in_process else "recycled"
    log, rows, process, configs, train = _set_up(args, how, RecycledObjective)
    with log.open("a") as out:
        for n in range(len(rows), args.trainings):
            start = time.perf_counter()
            result = train(configs[n % len(configs)])
            child = 0 if args.in_process else sum(rss_bytes(pid) for pid in train.pids)
            row = {"n": n + 1, "process": process, "seconds": round(time.perf_counter() - start, 3),
                   "rss": rss_bytes() + child, "accuracy": result["accuracy"]}
            out.write(json.dumps(row) + "\n")
            out.flush()
            rows.append(row)
            print(f"training {n + 1}: {row['seconds']:.2f} s, resident {row['rss'] / 2**20:.0f} MiB", file=sys.stderr)
    if not args.in_process:
        train.close()
    report(rows, [int(a) for a in args.at.split(",")])
    return 0


def _set_up(args, how: str, recycled):
    """The run's log (continued where it stopped), its configurations and what trains them; prints its header."""
    from _harness import cpu_model

    from cbo.tinyml.objective import KFoldObjective
    from cbo.tinyml.templates import get_template

    log = Path(args.log or f"benchmarks/cache/long-search-{how}.jsonl")
    log.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    process = max((r["process"] for r in rows), default=-1) + 1
    configs = configurations(args.distinct, args.seed)
    objective = KFoldObjective(get_template("paper-har"), dataset(args.seed), k=3, epochs=args.epochs, seed=0)
    train = objective if args.in_process else recycled(objective)
    print(f"{time.strftime('%Y-%m-%d')}  {cpu_model()}  {platform.python_version()}  "
          f"{args.trainings} trainings ({how}) of {len(configs)} configurations, {args.epochs} epochs, 3 folds; "
          f"{len(rows)} already in {log}", file=sys.stderr)
    return log, rows, process, configs, train


def _timed(objective, config: dict) -> dict:
    """On a worker: one training, its seconds, and the worker's resident memory with its training children."""
    import psutil  # a Dask dependency

    start = time.perf_counter()
    result = objective(config)
    seconds = time.perf_counter() - start
    me = psutil.Process()
    rss = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            rss += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return {"seconds": round(seconds, 3), "rss": rss, "pid": os.getpid(), "accuracy": result["accuracy"]}


def on_workers(args) -> int:
    """The same trainings on a local Dask cluster: each worker keeps one training at a time, as the search does;
    resident memory is every worker's with its children, summed over the workers' latest figures."""
    from distributed import Client, wait

    from cbo import local_cluster
    from cbo.tinyml.recycled import WorkerRecycled

    how = ("in-process" if args.in_process else "recycled") + f"-workers{args.workers}"
    log, rows, process, configs, train = _set_up(args, how, WorkerRecycled)
    latest: dict = {}
    with local_cluster(args.workers, threads_per_training=1) as cluster, Client(cluster) as client, \
            log.open("a") as out:
        remote = client.scatter(train, broadcast=True)
        todo = list(range(len(rows), args.trainings))
        running = {}
        while todo or running:
            while todo and len(running) < args.workers:
                n = todo.pop(0)
                running[client.submit(_timed, remote, configs[n % len(configs)], pure=False)] = n
            done, _ = wait(list(running), return_when="FIRST_COMPLETED")
            for future in done:
                n = running.pop(future)
                got = future.result()
                latest[got["pid"]] = got["rss"]
                row = {"n": len(rows) + 1, "training": n + 1, "process": process, "seconds": got["seconds"],
                       "rss": sum(latest.values()), "accuracy": got["accuracy"], "worker": got["pid"]}
                out.write(json.dumps(row) + "\n")
                out.flush()
                rows.append(row)
                print(f"training {row['n']}: {row['seconds']:.2f} s on worker {got['pid']}, workers resident "
                      f"{row['rss'] / 2**20:.0f} MiB", file=sys.stderr)
        if not args.in_process:
            client.run(_close_children)
    report(rows, [int(a) for a in args.at.split(",")])
    return 0


def _close_children() -> int:
    from cbo.tinyml.recycled import close_worker_children

    return close_worker_children()


def report(rows: list[dict], points: list[int]) -> None:
    first = None
    print("trainings  s/training (last 10)  resident MiB  vs first point  process")
    for p in points:
        window = [r for r in rows if p - 10 < r["n"] <= p]
        if not window:
            continue
        per = sum(r["seconds"] for r in window) / len(window)
        rss = window[-1]["rss"] / 2**20
        first = first or (per, rss)
        print(f"{p:9d}  {per:20.2f}  {rss:12.0f}  time x{per / first[0]:.2f}, memory x{rss / first[1]:.2f}"
              f"  {window[-1]['process']}")


if __name__ == "__main__":
    sys.exit(main())
