"""``shrink`` (one training, memsim's constraints) against the search (SVM-CBO, exact-ucb) and the seed network; resumable.

Run:  python benchmarks/bench_shrink.py --dataset digits --targets stm32f303k8,stm32l476rg --seeds 3
      python benchmarks/bench_shrink.py --dataset digits --targets stm32f303k8 --ram-sweep 4KiB,6KiB,8KiB,12KiB \\
          --plot docs/img/shrink-ram-sweep.png
      python benchmarks/bench_shrink.py --report-only          # tables from the cache

Per (target, seed): ``shrink`` on a template's largest configuration (tflm int8; --seed-template, by default the
one the command line chooses for the data: ds-cnn-1d for sensor windows, paper-har for 8x8 digits), train/validation
split 75/25 (the seed picks it); recorded: the channels found, validation accuracy before and after projection
and after fine-tuning, whether the targets were met before the projection, memsim's RAM / Flash / MACC / latency
of the result, and wall time relative to one training of the seed network (same epochs). For a like-for-like
comparison with the search, the architecture ``shrink`` found is also scored by the search's own objective
(3-fold accuracy, 10 epochs or --objective-epochs, seed 0; the network itself, whatever its seed) and put beside the best deployable configuration of SVM-CBO and exact-ucb from the peer
benchmark's cache (benchmarks/bench_peers.py, same objective), overall and within shrink's wall time.
Results are kept one JSON line per run in ``--cache``; a cut-off run continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path


import numpy as np  # noqa: E402
from bench_peers import CACHE_DIR, Cache, longest_run, mean_std, setting_of  # noqa: E402  (the committed caches; see there)

CACHE = CACHE_DIR / "shrink.jsonl"
# The peer benchmark's objective, by which the found network is scored too: 3-fold x 10 epochs (bench_peers'
# default; its BasicMotions runs used 20, the quick start's setting: --objective-epochs 20 compares with those).
SEARCH_FOLDS, SEARCH_EPOCHS = 3, 10
SEARCH_BUDGET = 20  # trainings of the search runs the shrink result is put beside


def guarded_run(dataset, template, target, seed, epochs, finetune, ram=None, activations=True,
                objective_epochs=SEARCH_EPOCHS) -> dict:
    """``one_run``, or ``{"infeasible": why}`` for limits no network of this shape meets (refused before training)."""
    from cbo import SpaceError

    try:
        return one_run(dataset, template, target, seed, epochs, finetune, ram, activations, objective_epochs)
    except SpaceError as exc:
        print(f"    refused: {exc}", flush=True)
        return {"infeasible": str(exc)}


def one_run(dataset, template, target, seed, epochs, finetune, ram=None, activations=True,
            objective_epochs=SEARCH_EPOCHS) -> dict:
    from sklearn.model_selection import train_test_split

    from cbo.dnas import NetworkCosts, default_batch_size, largest_config, shrink
    from cbo.tinyml import KFoldObjective
    from memsim.frontends.keras import keras_from_spec, quiet_keras

    keras = quiet_keras()
    shape = template.input_shape(dataset.sample_shape)
    config = largest_config(template)
    spec = template.spec(config, shape, dataset.n_classes)
    costs = NetworkCosts(spec, target, "tflm", "int8", ram=ram)
    X = dataset.X.reshape((len(dataset.X),) + shape).astype("float32")
    X_tr, X_val, y_tr, y_val = train_test_split(X, dataset.y, test_size=0.25, stratify=dataset.y, random_state=seed)
    keras.utils.set_random_seed(seed)  # one plain training of the seed network: the unit of wall time
    t = time.perf_counter()
    plain = keras_from_spec(spec)
    plain.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    plain.fit(X_tr, y_tr, epochs=epochs, batch_size=default_batch_size(len(X_tr)), verbose=0)  # shrink's own
    one_training = time.perf_counter() - t
    seed_acc = float(np.mean(np.argmax(plain.predict(X_val, verbose=0), -1) == y_val))
    keras.backend.clear_session()
    t = time.perf_counter()
    result = shrink(costs, X_tr, y_tr, X_val, y_val, epochs=epochs, finetune_epochs=finetune, seed=seed,
                    choose_activations=activations, log=lambda line: print("   ", line, flush=True))
    wall = time.perf_counter() - t
    found = dict(config)
    for g, c in zip(costs.searchable, result.counts):
        found["filters" if costs.spec["layers"][costs.index[g]]["type"].lower().startswith("conv") else "units"] = int(c)
    for name, act in result.activations.items():  # the template's parameter for that layer's activation
        found["conv_activation" if costs.spec["layers"][costs.index[name]]["type"].lower().startswith("conv")
              else "dense_activation"] = act
    fig = costs.with_activations(result.activations).figures(result.counts)
    kfold = KFoldObjective(network_template(template, result.spec), dataset, k=SEARCH_FOLDS, epochs=objective_epochs,
                           seed=0)(found)["accuracy"]
    return {"channels": result.counts, "seed_channels": result.seed_counts, "config": found, "spec": result.spec,
            "activations": result.activations,
            "val_accuracy": result.accuracy, "val_accuracy_gated": result.accuracy_before_projection,
            "val_accuracy_projected": result.accuracy_after_projection, "seed_val_accuracy": seed_acc,
            "finetune_start": result.finetune_start, "finetune_choice_accuracy": result.finetune_choice_accuracy,
            "seed_fits": bool(costs.figures(costs.full)["fits"][0]), "met_before_projection": result.met_before_projection,
            "removed_by_projection": result.removed_by_projection, "kfold_accuracy": kfold,
            "ram_bytes": float(fig["costs"][0][0]), "flash_bytes": float(fig["costs"][0][2]),
            "latency_ms": float(fig["costs"][0][3]), "macc": int(fig["macc"][0]), "wall_s": round(wall, 1),
            "one_training_s": round(one_training, 1), "ratio": round(wall / one_training, 2),
            "epochs_log": result.history}


def network_template(template, spec: dict):
    """``template`` building the one network ``spec`` describes, whatever the configuration (its optimiser aside):
    the search's objective then scores shrink's network itself, per-layer widths, skipped blocks and all."""
    import dataclasses

    layers = spec["layers"][1:]  # after the Input, which the template writes from the data's shape
    return dataclasses.replace(template, name=f"{template.name}-shrunk", layers=lambda config, n_classes: layers)


SEARCHES = {"svmcbo": "SVM-CBO", "exact-ucb": "exact-ucb", "exact-ei": "exact-ei (search's default)"}


def search_runs(method, dataset_name, label, target, epochs=SEARCH_EPOCHS):
    """(cache, run) of each seed's ``method`` run in the peer caches (every ``peers-*.jsonl``, read by bench_peers'
    rules: current method versions only, a longer run's first ``SEARCH_BUDGET`` trainings as the shorter run)."""
    setting = setting_of(dataset_name, label, "paper-har", target, epochs)
    for path in sorted(CACHE_DIR.glob("peers*.jsonl")):
        cache = Cache(path, setting)
        for seed in sorted({s for _, s in cache.results}):
            run = longest_run(cache, method, seed, SEARCH_BUDGET)
            if run is not None:
                yield cache, run


def search_reference(method, dataset_name, label, target, within_s, epochs=SEARCH_EPOCHS) -> "tuple[list, list]":
    """The search ``method``'s best deployable 3-fold accuracy per seed after ``SEARCH_BUDGET`` trainings
    (``search_runs``): overall, and within ``within_s`` seconds of cumulative training (the shrink run's wall
    time)."""
    overall, timed = [], []
    for cache, run in search_runs(method, dataset_name, label, target, epochs):
        best = best_t = spent = 0.0
        for t in run["trace"][:SEARCH_BUDGET]:
            spent += cache.seconds.get(t["key"], 0.0)
            if t["deployable"]:
                best = max(best, t["accuracy"])
                if spent <= within_s:
                    best_t = max(best_t, t["accuracy"])
        overall.append(best)
        timed.append(best_t)
    return overall, timed


def _ms(vals) -> str:
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    return mean_std(vals, 100)


def seed_figures(dataset, template, target) -> dict:
    """memsim's RAM, Flash and latency (with the verdict's margin, top of the latency band) of the seed network."""
    from cbo.dnas import NetworkCosts, largest_config

    shape = template.input_shape(dataset.sample_shape)
    costs = NetworkCosts(template.spec(largest_config(template), shape, dataset.n_classes), target, "tflm", "int8")
    ram, _, flash, latency = costs.figures(costs.full)["costs"][0]
    return {"ram_bytes": float(ram), "flash_bytes": float(flash), "latency_ms": float(latency)}


def _cut(seed: float, found: float) -> str:
    return f"{100 * (1 - found / seed):.1f} %"


def tables(rows, dataset_name, label, seeds_of=None, objective_epochs=SEARCH_EPOCHS, seed_name="paper-har") -> str:
    """The tables of the runs in ``rows``; ``seeds_of(target)``: the seed network's figures (the seed paper's
    layout: the seed's memory and latency, the shrunk network's, the reduction)."""
    out = []
    main = [r for r in rows if r["ram"] is None and "infeasible" not in r["result"]]
    for target in dict.fromkeys(r["target"] for r in main):
        rs = [r["result"] for r in main if r["target"] == target]
        wall = statistics.mean(r["wall_s"] for r in rs)
        refs = {m: search_reference(m, dataset_name, label, target, wall, objective_epochs) for m in SEARCHES}
        heads = " | ".join(f"{name}, {SEARCH_BUDGET} trainings | {name.split(' (')[0]} within shrink's wall time"
                           for name in SEARCHES.values())

        def row(name, shrunk, seed="-"):
            return f"| {name} | {shrunk} | {seed} | " + " | ".join("- | -" for _ in SEARCHES) + " |"

        def cells(overall, timed):
            return (f"{_ms(overall)} ({len(overall)} runs) | {_ms([t for t in timed if t > 0])} "
                    f"({sum(t > 0 for t in timed)} of {len(timed)} runs had trained a deployable network by then)")

        out += [f"\n**{dataset_name}{' ' + label if label else ''}, {target}, tflm int8** ({len(rs)} seeds; "
                f"seed network {seed_name} {rs[0]['seed_channels']}: {'fits' if rs[0]['seed_fits'] else 'does not fit'})\n",
                f"| | shrink | seed network (trained once) | {heads} |",
                "|---|---|---|" + "---|---|" * len(SEARCHES),
                f"| 3-fold accuracy % (search's objective) | {_ms([r['kfold_accuracy'] for r in rs])} | - | "
                + " | ".join(cells(*refs[m]) for m in SEARCHES) + " |",
                row("validation accuracy % (25 % held out)", _ms([r["val_accuracy"] for r in rs]),
                    _ms([r["seed_val_accuracy"] for r in rs])),
                row("channels (conv, dense)", ", ".join(str(r["channels"]) for r in rs), str(rs[0]["seed_channels"])),
                row("activations (conv, dense)", ", ".join("/".join(r.get("activations", {}).values()) or "seed's"
                                                           for r in rs)),
                row("RAM / Flash (memsim, with margin)", f"{statistics.mean(r['ram_bytes'] for r in rs):,.0f} / "
                    f"{statistics.mean(r['flash_bytes'] for r in rs):,.0f} B"),
                row("MACC / latency", f"{statistics.mean(r['macc'] for r in rs):,.0f} / "
                    f"{statistics.mean(r['latency_ms'] for r in rs):.2f} ms"),
                *([] if seeds_of is None else _reduction_rows(row, rs, seeds_of(target))),
                row("targets met before projection", f"{sum(r['met_before_projection'] for r in rs)}/{len(rs)}"),
                row("val accuracy: gated -> projected -> fine-tuned",
                    "; ".join(f"{100 * r['val_accuracy_gated']:.1f} -> {100 * r['val_accuracy_projected']:.1f} -> "
                              f"{100 * r['val_accuracy']:.1f}" for r in rs)),
                row("wall time (x one training of the seed)",
                    f"{wall:.0f} s ({statistics.mean(r['ratio'] for r in rs):.2f}x)",
                    f"{statistics.mean(r['one_training_s'] for r in rs):.0f} s")]
    sweep = [r for r in rows if r["ram"] is not None]
    if sweep:
        out += [f"\n**RAM sweep** ({sweep[0]['target']}, tflm int8, seed {sweep[0]['seed']})\n",
                "| RAM budget | channels | RAM (memsim) | validation accuracy % | 3-fold accuracy % |", "|---|---|---|---|---|"]
        for r in sorted(sweep, key=lambda r: r["ram"]):
            res = r["result"]
            if "infeasible" in res:
                out.append(f"| {r['ram']:,} B | refused before training: {res['infeasible']} | | | |")
                continue
            out.append(f"| {r['ram']:,} B | {res['channels']} | {res['ram_bytes']:,.0f} B | "
                       f"{100 * res['val_accuracy']:.2f} | {100 * res['kfold_accuracy']:.2f} |")
    return "\n".join(out)


def _reduction_rows(row, rs, seed: dict) -> list:
    """RAM, Flash and latency of the seed and of the shrunk networks, and the cut, as the seed paper reports them."""
    out = []
    for what, key, unit in (("RAM", "ram_bytes", "B"), ("Flash", "flash_bytes", "B"), ("latency", "latency_ms", "ms")):
        found = statistics.mean(r[key] for r in rs)
        shown = (lambda v: f"{v:,.0f} B") if unit == "B" else (lambda v: f"{v:.2f} ms")
        out.append(row(f"{what}: shrunk (cut from the seed)", f"{shown(found)} ({_cut(seed[key], found)})",
                       shown(seed[key])))
    return out


def main() -> None:
    from targets import parse_size

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--label", default=None)
    ap.add_argument("--targets", default="stm32f303k8,stm32l476rg")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=10, help="search epochs = epochs of the one reference training")
    ap.add_argument("--finetune", type=int, default=10, help="fine-tuning epochs (the command line's default)")
    ap.add_argument("--ram-sweep", default="", help="RAM budgets for a sweep on the first target, seed 0")
    ap.add_argument("--cache", default=str(CACHE))
    ap.add_argument("--markdown", default=None)
    ap.add_argument("--plot", default=None, help="accuracy vs RAM of the sweep (PNG)")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--objective-epochs", type=int, default=SEARCH_EPOCHS,
                    help="epochs of the 3-fold objective the found network is scored by: the search runs' own "
                         "(bench_peers --epochs; 20 for its BasicMotions runs)")
    ap.add_argument("--fixed-activations", action="store_true",
                    help="keep the seed's activations (shrink before it chose them): the ablation")
    ap.add_argument("--seed-template", default=None,
                    help="the template whose largest configuration seeds shrink (default: the command line's choice "
                         "for the data, cbo.dnas.seed_template)")
    ap.add_argument("--workers", type=int, default=0,
                    help="run the runs side by side on a local Dask cluster of this many processes (their wall "
                         "times then share the machine: use it for sweeps, not for the time ratios)")
    args = ap.parse_args()
    from cbo.dnas import seed_template
    from cbo.tinyml import get_template, load_dataset

    ds = load_dataset(args.dataset, args.label)
    template = get_template(args.seed_template or seed_template(ds.sample_shape)[0])
    cache = Path(args.cache)
    setting = {"dataset": ds.name, "label": args.label, "epochs": args.epochs, "finetune": args.finetune,
               "finetune_from": "carried or fresh (when channels were removed), the better on a tenth of the training data"}
    if template.name != "paper-har":  # (runs before other seeds existed carry no such key: they seeded from it)
        setting["seed_template"] = template.name
    if args.fixed_activations:  # (runs before the choice existed carry no such key: they kept the seed's)
        setting["activations"] = "the seed's"
    if args.objective_epochs != SEARCH_EPOCHS:  # (older runs carry no such key: they were scored at 10)
        setting["objective_epochs"] = args.objective_epochs
    done = [json.loads(line) for line in cache.read_text().splitlines()] if cache.exists() else []
    done = [r for r in done if r["setting"] == setting]
    jobs = [(t, s, None) for t in args.targets.split(",") for s in range(args.seeds)]
    jobs += [(args.targets.split(",")[0], 0, parse_size(b)) for b in args.ram_sweep.split(",") if b]
    print(f"# {time.strftime('%Y-%m-%d')}: shrink on {ds.name} ({len(ds.X)} samples), {template.name} seed network, "
          f"{args.epochs} search + {args.finetune} fine-tuning epochs; cache {cache}", flush=True)
    todo = [] if args.report_only else [
        (target, seed, ram) for target, seed, ram in jobs
        if not any(r["target"] == target and r["seed"] == seed and r["ram"] == ram for r in done)]

    def record(target, seed, ram, result):
        row = {"setting": setting, "target": target, "seed": seed, "ram": ram, "result": result}
        cache.parent.mkdir(parents=True, exist_ok=True)
        with cache.open("a") as f:
            f.write(json.dumps(row) + "\n")
        done.append(row)

    if args.workers and todo:  # the runs side by side on a local Dask cluster; each recorded as it finishes
        from distributed import Client, as_completed

        from cbo import local_cluster

        with local_cluster(args.workers) as cluster, Client(cluster) as client:
            futures = {client.submit(guarded_run, ds, template, target, seed, args.epochs, args.finetune, ram,
                                     not args.fixed_activations, args.objective_epochs, pure=False): (target, seed, ram)
                       for target, seed, ram in todo}
            for future in as_completed(futures):
                target, seed, ram = futures[future]
                result = future.result()
                print(f"  {target} seed {seed}{f' RAM budget {ram:,} B' if ram else ''}: "
                      f"{result.get('channels', result.get('infeasible'))}", flush=True)
                record(target, seed, ram, result)
    for target, seed, ram in ([] if args.workers else todo):
        print(f"  {target} seed {seed}{f' RAM budget {ram:,} B' if ram else ''}:", flush=True)
        record(target, seed, ram, guarded_run(ds, template, target, seed, args.epochs, args.finetune, ram,
                                              not args.fixed_activations, args.objective_epochs))
    text = tables(done, ds.name, args.label, lambda target: seed_figures(ds, template, target), args.objective_epochs,
                  template.name)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(f"Command: `python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}`\n"
                                       + text + "\n")
    sweep = sorted((r for r in done if r["ram"] is not None and "infeasible" not in r["result"]), key=lambda r: r["ram"])
    if args.plot and sweep:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot([r["result"]["ram_bytes"] / 1024 for r in sweep], [100 * r["result"]["kfold_accuracy"] for r in sweep],
                "o-", label="shrink (3-fold accuracy)")
        ax.plot([r["result"]["ram_bytes"] / 1024 for r in sweep], [100 * r["result"]["val_accuracy"] for r in sweep],
                "s--", label="shrink (held-out accuracy)")
        for r in sweep:
            ax.axvline(r["ram"] / 1024, color="grey", lw=0.5, ls=":")
        ax.set_xlabel("RAM predicted by memsim (KiB; dotted: budgets)")
        ax.set_ylabel("accuracy %")
        ax.set_title(f"shrink on {ds.name}: accuracy vs RAM budget\n({sweep[0]['target']}, tflm int8)")
        ax.legend()
        fig.tight_layout()
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=120)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
