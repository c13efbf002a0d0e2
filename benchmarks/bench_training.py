"""Training speed with and without the project's two speed settings, side by side in one run.

Run:  python benchmarks/bench_training.py [--epochs 1] [--networks small,mid,large]

Each network of the paper-har space is trained by the search's own objective (3-fold, har-watch --label subject,
one thread) in a fresh process per setting: as TensorFlow and Keras come ("plain": the default CPU allocator,
``TF_CPU_ALLOCATOR_USE_BFC=false``, and tf.data autotuning on), with the pooling allocator only ("pooling"), and as
the project trains ("project": pooling allocator, no input autotuning; cbo.tinyml.training). Printed per network:
wall, user and kernel seconds and page faults of the training alone, the speed-up over plain, and whether the fold
accuracies are equal.
Run it on an otherwise idle core: another process on the same core skews the wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from _harness import cpu_model  # noqa: E402

# Small: the quick start's kind of network; mid and large: the largest paper-har networks the blind peers trained
# on har-watch (large: 9.8 M parameters, 2,475 s for 3 folds x 10 epochs under the default allocator).
NETWORKS = {
    "small": {"filters": 8, "conv_activation": "relu", "kernel": 2, "pool": 2, "dropout": 0.3, "units": 16,
              "dense_activation": "relu", "optimizer": "adam"},
    "mid": {"filters": 256, "conv_activation": "relu", "kernel": 1, "pool": 2, "dropout": 0.3, "units": 128,
            "dense_activation": "tanh", "optimizer": "adam"},
    "large": {"filters": 128, "conv_activation": "relu", "kernel": 1, "pool": 1, "dropout": 0.3, "units": 128,
              "dense_activation": "relu", "optimizer": "adam"},
}

_CHILD = """
import contextlib, json, resource, sys, time
import cbo.tinyml.training
from cbo.tinyml.datasets import load_dataset
from cbo.tinyml.objective import KFoldObjective
from cbo.tinyml.templates import get_template
from memsim.frontends.keras import quiet_keras

quiet_keras()
config, epochs = json.loads(sys.argv[1]), int(sys.argv[2])
if sys.argv[3] == "autotune":
    cbo.tinyml.training.without_input_autotune = contextlib.nullcontext
template = get_template("paper-har")
dataset = load_dataset("har-watch", "subject")
objective = KFoldObjective(template, dataset, k=3, epochs=epochs, seed=0)
before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
result = objective(config)
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall": time.perf_counter() - start, "user": after.ru_utime - before.ru_utime,
                  "sys": after.ru_stime - before.ru_stime, "faults": after.ru_minflt - before.ru_minflt,
                  "fold_scores": result["fold_scores"]}))
"""

# setting -> (TF_CPU_ALLOCATOR_USE_BFC, input pipeline)
SETTINGS = {"plain": ("false", "autotune"), "pooling": ("true", "autotune"), "project": ("true", "no-autotune")}


def train(config: dict, epochs: int, setting: str) -> dict:
    allocator, pipeline = SETTINGS[setting]
    env = {**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": allocator, "TF_NUM_INTRAOP_THREADS": "1",
           "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    out = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(config), str(epochs), pipeline],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        sys.exit(f"bench_training: the training child failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def params_of(config: dict) -> int:
    import memsim
    from cbo.tinyml.datasets import load_dataset
    from cbo.tinyml.templates import get_template

    template, dataset = get_template("paper-har"), load_dataset("har-watch", "subject")
    spec = template.spec(config, template.input_shape(dataset.sample_shape), dataset.n_classes)
    return memsim.footprint(spec, "stm32l476rg", "tflm", "int8").params


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--networks", default=",".join(NETWORKS), help=f"comma-separated, of {', '.join(NETWORKS)}")
    args = ap.parse_args(argv)
    names = args.networks.split(",")
    unknown = [n for n in names if n not in NETWORKS]
    if unknown:
        ap.error(f"unknown network {unknown[0]!r}; choose from {', '.join(NETWORKS)}")
    print(f"# {time.strftime('%Y-%m-%d')}, {cpu_model()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}; command: python benchmarks/bench_training.py "
          f"--epochs {args.epochs} --networks {','.join(names)}")
    print(f"# paper-har on har-watch --label subject, 3 folds x {args.epochs} epoch(s), batch 16, one thread")
    header = (f"{'network':8s} {'params':>10s}  {'setting':9s} {'wall s':>8s} {'user s':>8s} {'kernel s':>8s} "
              f"{'faults':>11s}  {'speed-up':>8s}  same accuracies")
    print(header)
    print("-" * len(header))
    for name in names:
        config = NETWORKS[name]
        runs = {setting: train(config, args.epochs, setting) for setting in SETTINGS}
        base, params = runs["plain"], params_of(config)
        for setting, r in runs.items():
            ratio = f"{base['wall'] / r['wall']:.2f}x"
            same = ("yes" if r["fold_scores"] == base["fold_scores"] else "NO") if setting != "plain" else ""
            print(f"{name:8s} {params:>10,d}  {setting:9s} {r['wall']:8.1f} {r['user']:8.1f} "
                  f"{r['sys']:8.1f} {r['faults']:>11,d}  {ratio:>8s}  {same}", flush=True)


if __name__ == "__main__":
    main()
