"""The winner's curse, measured: the search's best configurations and shrink's networks re-scored on other fold splits.

The search reports the best of its 20 scored configurations on one set of 3 folds (``KFoldObjective(seed=0)``);
shrink's network is scored once on the same folds. On small data the maximum of 20 noisy scores sits above what the
configuration scores on other splits. This scores every exact-ei winner (per seed, from the peer caches, as
bench_shrink's search column reads them) and every configuration shrink found (from a bench_shrink cache) on fold
seeds 0..N-1 and prints the mean over the fold seeds other than 0.

Run:  python benchmarks/rescore_winners.py --dataset har-basicmotions --target stm32f303k8 --epochs 20
          --shrink-cache benchmarks/cache/shrink-basicmotions-v7.jsonl [--fold-seeds 5]
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import time

from bench_shrink import (SEARCH_BUDGET, SEARCH_FOLDS, network_template,  # noqa: E402  (a sibling, see _harness)
                          search_runs)


def search_winners(dataset: str, label, target: str, epochs: int) -> list:
    """(configuration, accuracy as selected, None) of exact-ei's best deployable training per seed, first 20
    trainings (None: the paper-har configuration is the network)."""
    out = []
    for _, run in search_runs("exact-ei", dataset, label, target, epochs):
        scored = [t for t in run["trace"][:SEARCH_BUDGET] if t["deployable"]]
        if scored:
            best = max(scored, key=lambda t: t["accuracy"])
            out.append((dict(ast.literal_eval(best["key"])), best["accuracy"], None))
    return out


def shrink_configs(path: str, target: str, epochs: int) -> list:
    """Shrink's distinct found networks for ``target`` from a bench_shrink cache: (configuration, 3-fold score, (seed
    template, layer description), or None where the cache predates it and the paper-har configuration is the
    network)."""
    seen = {}
    for line in open(path):
        row = json.loads(line)
        result = row["result"]
        if row["target"] != target or row["ram"] is not None or "config" not in result \
                or row["setting"].get("objective_epochs", 10) != epochs:
            continue
        network = (row["setting"].get("seed_template", "paper-har"), result["spec"]) if "spec" in result else None
        seen.setdefault(json.dumps(network or result["config"], sort_keys=True),
                        (result["config"], result["kfold_accuracy"], network))
    return list(seen.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="har-basicmotions")
    ap.add_argument("--label", default=None)
    ap.add_argument("--target", default="stm32f303k8")
    ap.add_argument("--epochs", type=int, default=20, help="the objective's epochs (BasicMotions' searches: 20)")
    ap.add_argument("--shrink-cache", required=True)
    ap.add_argument("--fold-seeds", type=int, default=5)
    args = ap.parse_args()
    from cbo.tinyml import KFoldObjective, get_template, load_dataset

    ds = load_dataset(args.dataset, args.label)
    template = get_template("paper-har")

    def objectives(network):  # network: (seed template, layer description), or None for a paper-har configuration
        scored = template if network is None else network_template(get_template(network[0]), network[1])
        return [KFoldObjective(scored, ds, k=SEARCH_FOLDS, epochs=args.epochs, seed=s) for s in range(args.fold_seeds)]

    print(f"# {time.strftime('%Y-%m-%d')}: {ds.name}, {args.target}, {SEARCH_FOLDS}-fold x {args.epochs} epochs, "
          f"fold seeds 0..{args.fold_seeds - 1} (the search selected on seed 0)", flush=True)
    means = {"search": [], "shrink": []}
    for who, rows in (("search", search_winners(ds.name, args.label, args.target, args.epochs)),
                      ("shrink", shrink_configs(args.shrink_cache, args.target, args.epochs))):
        for config, selected, network in rows:
            scores = [100 * objective(config)["accuracy"] for objective in objectives(network)]
            fresh = statistics.mean(scores[1:])
            means[who].append(fresh)
            print(f"| {who} | {config} | {100 * selected:.2f} | {', '.join(f'{s:.2f}' for s in scores)} | "
                  f"{fresh:.2f} |", flush=True)
    for who, values in means.items():
        if values:
            print(f"{who}: mean over fold seeds 1..{args.fold_seeds - 1}: {statistics.mean(values):.2f} "
                  f"({len(values)} configuration(s))")


if __name__ == "__main__":
    main()
