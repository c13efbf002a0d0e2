"""memsim's speed at two commits, side by side in one run: the check that a redesign is no slower.

Run:  python benchmarks/compare_memsim_speed.py --against REV [--configs 200000] [--rounds 3]

Each round times both trees in fresh interpreters, alternately (the same machine state for both): footprint of one
10-layer network (fast path and full path) and the batch evaluator on the papers' HAR template, under X-CUBE-AI and
TFLM (best of 3 calls). Only public API is used, so any commit can be the other side. REV gets a git worktree in
benchmarks/cache/worktrees/ (kept, so a second run starts at once).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from _harness import cpu_model  # noqa: E402

# Timed in each tree's own interpreter; prints one JSON object.
_PROBE = r'''
import json, sys, time
import numpy as np
import memsim
from memsim.batch import ChainFamily
from memsim._footprint import _full_footprint

N = int(sys.argv[1])
ACTS = ("linear", "relu", "relu6", "tanh", "sigmoid", "elu", "selu", "leaky_relu", "softmax")
TEN = {"name": "net10", "layers": [
    {"type": "Input", "name": "x", "shape": [32, 32, 3]},
    {"type": "Conv2D", "name": "c1", "filters": 16, "kernel_size": 3}, {"type": "BatchNormalization", "name": "bn"},
    {"type": "Activation", "name": "a1", "activation": "relu"}, {"type": "MaxPooling2D", "name": "p1", "pool_size": 2},
    {"type": "Conv2D", "name": "c2", "filters": 32, "kernel_size": 3, "activation": "relu"},
    {"type": "MaxPooling2D", "name": "p2", "pool_size": 2}, {"type": "Flatten", "name": "f"},
    {"type": "Dense", "name": "d1", "units": 64, "activation": "relu"}, {"type": "Dropout", "name": "dr", "rate": 0.2},
    {"type": "Dense", "name": "d2", "units": 10, "activation": "softmax"}]}


def best(fn, number, repeat=5):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t) / number)
    return min(times)


out = {}
for rt in ("xcubeai", "tflm"):
    # float32 named: the trees' defaults differ (before 2026-12-07 every runtime defaulted to float32)
    out[f"footprint {rt} (us)"] = 1e6 * best(lambda: memsim.footprint(TEN, "stm32f303k8", rt, "float32"), 2000)
    out[f"full path {rt} (us)"] = 1e6 * best(lambda: _full_footprint(TEN, "stm32f303k8", rt, "float32", "none", None,
                                                                      None), 200)
rng = np.random.default_rng(0)
har = [{"type": "Conv2D", "filters": 8, "kernel_size": 1, "activation": "relu"},
       {"type": "MaxPooling2D", "pool_size": 1}, {"type": "Dropout", "rate": 0.2}, {"type": "Flatten"},
       {"type": "Dense", "units": 8, "activation": "relu"}, {"type": "Dense", "units": 6, "activation": "softmax"}]
fam = ChainFamily((90, 3, 1), ("conv", "pool", "drop", "flat", "hidden", "out"), name="har", input_name="x")
ops, prm = fam.encode([har])
ops, prm = np.repeat(ops, N, 0), np.repeat(prm, N, 0)
k, p = rng.choice([1, 2], N), rng.choice([1, 2], N)
prm[:, 0, 0] = rng.choice([8, 16, 32, 64, 128, 256], N)
prm[:, 0, 1] = prm[:, 0, 2] = k
prm[:, 0, 7] = rng.choice([ACTS.index(a) for a in ("relu", "sigmoid", "selu", "tanh")], N)
prm[:, 1, 0] = prm[:, 1, 1] = prm[:, 1, 2] = prm[:, 1, 3] = p
prm[:, 4, 0] = 8 + np.arange(N)  # all distinct: every configuration is evaluated
for rt in ("xcubeai", "tflm"):
    fam.evaluate(ops[:10], prm[:10], rt, "float32")
    rates = []
    for _ in range(3):  # the first call also pays page faults on fresh arrays
        t = time.perf_counter()
        fam.evaluate(ops, prm, rt, "float32", target="stm32f303k8")
        rates.append(N / (time.perf_counter() - t))
    out[f"batch {rt} (configs/s)"] = max(rates)
print(json.dumps(out))
'''


def worktree(rev: str) -> Path:
    sha = subprocess.check_output(["git", "rev-parse", "--short", rev], cwd=ROOT, text=True).strip()
    path = ROOT / "benchmarks" / "cache" / "worktrees" / sha
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", "-f", str(path), sha], cwd=ROOT, check=True,
                       capture_output=True)
    return path


def probe(tree: Path, n: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", _PROBE, str(n)], cwd=tree, env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--against", required=True, metavar="REV", help="the commit to compare with (e.g. HEAD~3)")
    ap.add_argument("--configs", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    head = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True).strip()
    trees = {f"{args.against} ({worktree(args.against).name})": worktree(args.against),
             f"this tree ({head}{'+' if _dirty() else ''})": ROOT}
    print(f"# {time.strftime('%Y-%m-%d')}  {platform.python_version()}  {cpu_model()}  {os.cpu_count()} cores  "
          f"python benchmarks/compare_memsim_speed.py --against {args.against} --configs {args.configs} "
          f"--rounds {args.rounds}")
    for tree in trees.values():
        probe(tree, 1000)  # compile and cache each tree's kernels before timing
    runs: dict = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            runs[name].append(probe(tree, args.configs))
    before, after = list(trees)
    print(f"\n{'median of ' + str(args.rounds) + ' rounds':34s} {before:>22s} {after:>22s} {'after/before':>13s}")
    for key in runs[before][0]:
        b = statistics.median(r[key] for r in runs[before])
        a = statistics.median(r[key] for r in runs[after])
        print(f"{key:34s} {b:22,.1f} {a:22,.1f} {a / b:13.2f}")


def _dirty() -> bool:
    return bool(subprocess.check_output(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, text=True))


if __name__ == "__main__":
    main()
