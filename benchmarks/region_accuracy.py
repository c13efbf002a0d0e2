"""How well does SVM-CBO's Phase-1 SVM know the deployable region, against memsim's exact answer for every
configuration of the space? And how long does labelling the whole space take, one footprint at a time vs the
batch path the search's constraint uses? No training: only memsim labels.

Run:  python benchmarks/region_accuracy.py [--dataset har-watch] [--runtime tflm] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time


import numpy as np  # noqa: E402

import cbo  # noqa: E402
from memsim import deployment_defaults  # noqa: E402
from cbo.tinyml import MemsimConstraint, get_template, load_dataset  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="har-watch")
    ap.add_argument("--space", default="paper-har")
    ap.add_argument("--runtime", default="tflm")
    ap.add_argument("--targets", default="stm32f303k8,stm32l476rg")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--single-sample", type=int, default=2000, help="configurations timed one footprint at a time")
    args = ap.parse_args()
    ds = load_dataset(args.dataset)
    template = get_template(args.space)
    shape = template.input_shape(ds.sample_shape)
    dtype, compression = deployment_defaults(args.runtime)  # what a search deploys under the runtime
    space = template.space
    every = space.grid(10 ** 7)
    print(f"# {time.strftime('%Y-%m-%d')}: {template.name} space, {len(every):,} configurations, input {shape} "
          f"({ds.name}), {args.runtime} {dtype} {compression}")
    for target in args.targets.split(","):
        c = MemsimConstraint(template, shape, ds.n_classes, target, args.runtime, dtype, compression)
        t = time.perf_counter()
        truth = np.array([ok for ok, _ in c.many(every)])
        batch_s = time.perf_counter() - t
        sample = every[:: max(1, len(every) // args.single_sample)]
        t = time.perf_counter()
        for config in sample:
            c(config)
        single_us = 1e6 * (time.perf_counter() - t) / len(sample)
        print(f"\n{target}: {truth.mean():.1%} of the space deployable; labelling all {len(every):,}: batch path "
              f"{batch_s:.2f} s ({1e6 * batch_s / len(every):.1f} us each), one footprint at a time "
              f"{single_us:.0f} us each (~{single_us * len(every) / 1e6:.1f} s for all)")
        X = space.encode_many(every)
        missed, false_ok = [], []
        for seed in range(args.seeds):
            sampler = cbo.SVMCBOSampler(seed=seed)
            study = cbo.Study(space, sampler, constraint=c, seed=seed)
            for label in sampler.propose(cbo.StudyView(study)).labels:  # Phase 1: n_init LHS + n_phase1 boundary
                study.label(label.config, label.phase)                 # labels, no training
            sampler._fit_svm(study)
            predicted = sampler._predict_feasible(X)
            missed.append(float((truth & ~predicted).sum() / max(truth.sum(), 1)))
            false_ok.append(float((predicted & ~truth).sum() / max(predicted.sum(), 1)))
            print(f"  seed {seed}: after {sum(t.feasible is not None for t in study.trials)} labels the SVM's region "
                  f"misses {missed[-1]:.1%} of the deployable configurations; {false_ok[-1]:.1%} of what it calls "
                  "deployable is not")
        print(f"  mean over {args.seeds} seeds: misses {statistics.mean(missed):.1%}, false 'deployable' "
              f"{statistics.mean(false_ok):.1%}")


if __name__ == "__main__":
    main()
