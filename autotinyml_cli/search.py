"""``autotinyml search``: the deployability-constrained search, end to end."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import cbo
from cbo.tinyml import KFoldObjective, MemsimConstraint, Template, get_template, load_dataset
from targets import AutoTinyMLError, format_size, get_target


def load_space(name: str) -> Template:
    """A built-in template, or a TOML file naming one and narrowing its parameters."""
    path = Path(name)
    if name in cbo.tinyml.TEMPLATES or path.suffix != ".toml":
        return get_template(name)
    space = cbo.Space.from_toml(path)
    import tomllib

    base_name = tomllib.loads(path.read_text(encoding="utf-8")).get("template")
    if base_name is None:
        raise cbo.SpaceError(f"Search space file {name!r} must name the template it narrows, e.g. template = \"paper-har\".")
    base = get_template(base_name)
    missing = sorted(set(base.space.names) - set(space.names))
    if missing:
        raise cbo.SpaceError(f"Search space file {name!r} lacks parameter(s) {missing} that template {base_name!r} uses.")
    from dataclasses import replace

    return replace(base, name=f"{base_name}:{path.stem}", space=space)


def _fmt_time(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """One line per finished training (a live bar when stderr is a terminal)."""

    def __init__(self, total: int, stream=None):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr  # looked up now: sys.stderr may be replaced
        self.start = time.perf_counter()
        self.tty = self.stream.isatty()

    def __call__(self, study: cbo.Study, trial: cbo.FrozenTrial) -> None:
        done = study.n_trained
        elapsed = time.perf_counter() - self.start
        per = elapsed / max(done, 1)
        best = study.best_trial
        width = 20
        bar = "#" * int(width * done / self.total) + "-" * (width - int(width * done / self.total))
        result = f"{trial.value:.3f}" if trial.value is not None else f"failed ({trial.error[:40]})"
        line = (f"[{bar}] {done}/{self.total} trainings  phase {trial.phase:<12s} acc {result}  "
                f"best deployable {best.value if best else float('nan'):.3f}  labels {len(study.trials) - done}  "
                f"elapsed {_fmt_time(elapsed)}  remaining ~{_fmt_time(per * (self.total - done))}")
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        if self.tty and done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def _column(label: str, config: dict, acc, std, fp: dict, deployable, xcross: str = "-") -> list[str]:
    acc_s = "-" if acc is None else f"{100 * acc:.2f}%" + (f" (+/- {100 * std:.2f})" if std else "")
    return [label, acc_s, f"{fp.get('ram_bytes', 0) / 1000:.2f}", f"{fp.get('flash_bytes', 0) / 1000:.2f}",
            f"{fp.get('macc', 0):,}", xcross, "YES" if deployable else "NO"]


def summary_table(study: cbo.Study, k: int, baseline: dict | None, constraint: MemsimConstraint,
                  baseline_result: dict | None, confirmed: dict | None = None) -> str:
    confirmed = confirmed or {}
    cols = []
    if baseline is not None:
        feasible, fp = constraint(baseline)
        r = baseline_result or {}
        cols.append(_column("baseline", baseline, r.get("accuracy"), None, fp, feasible))
    for rank, t in enumerate(study.ranked(k), 1):
        c = confirmed.get(t.number)
        xc = "-" if c is None else f"{100 * c['cross_accuracy']['acc']:.2f}%"
        ok = t.feasible if c is None else (t.feasible and c["deployable"])
        cols.append(_column(f"#{rank} (trial {t.number})", t.config, t.value, t.value_std, t.footprint, ok, xc))
    rows = ["", "Accuracy (k-fold)", "RAM (KB)", "ROM (KB)", "MACC", "X-CROSS", "Deployable"]
    table = [[rows[i]] + [c[i] for c in cols] for i in range(len(rows))]
    widths = [max(len(r[j]) for r in table) for j in range(len(table[0]))]
    lines = ["  ".join(r[j].ljust(widths[j]) if j == 0 else r[j].rjust(widths[j]) for j in range(len(r)))
             for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_search(args) -> int:
    template = load_space(args.space)
    dataset = load_dataset(args.dataset, args.label)
    target = get_target(args.target)
    compression = args.compression or ("x8" if args.runtime.startswith("xcubeai") and args.dtype == "float32" else "none")
    input_shape = template.input_shape(dataset.sample_shape)
    constraint = MemsimConstraint(template, input_shape, dataset.n_classes, target, args.runtime, args.dtype,
                                  compression, margin=args.margin)
    settings = {"dataset": dataset.name, "space": template.space.to_dict(), "template": template.name,
                "target": target.name, "runtime": args.runtime, "dtype": args.dtype, "compression": compression,
                "method": args.method, "seed": args.seed, "k": args.k, "epochs": args.epochs}
    if args.margin is not None:  # only when given, so studies made before the option still resume
        settings["margin"] = args.margin
    study_path = Path(args.study or f"autotinyml-{dataset.name}-{template.name.replace(':', '-')}-{target.name}-"
                                    f"{args.method}-seed{args.seed}.sqlite")
    storage = cbo.SQLiteStorage(study_path)
    meta = storage.get_meta()
    if meta and meta != settings:
        diff = sorted(k for k in settings if meta.get(k) != settings[k])
        raise cbo.StorageError(f"Study {str(study_path)!r} belongs to another search (differs in {', '.join(diff)}); "
                               "pass a new --study path or the same options.")
    storage.set_meta(settings)
    sampler_cls = cbo.SAMPLERS[args.method]
    sampler = sampler_cls(seed=args.seed, n_phase1=args.labels) if args.method == "svmcbo" else sampler_cls(seed=args.seed)
    study = cbo.Study(template.space, sampler, storage=storage, constraint=constraint, seed=args.seed,
                      budget=args.trainings)
    objective = KFoldObjective(template, dataset, k=args.k, epochs=args.epochs, batch_size=args.batch_size,
                               seed=args.seed)
    print(f"AutoTinyML search: {template.name} on {dataset.name} ({len(dataset.X)} samples, "
          f"{dataset.n_classes} classes, input {input_shape}) for {target.name} "
          f"(RAM {target.ram_bytes:,} B, largest region {target.largest_region_bytes:,} B, Flash {target.flash_bytes:,} B), "
          f"{args.runtime} {args.dtype} compression {compression}; method {args.method}, {args.trainings} trainings, "
          f"{args.k}-fold x {args.epochs} epochs, seed {args.seed}.", file=sys.stderr)
    if study.trials:
        print(f"Continuing study {str(study_path)!r}: {study.n_trained} trainings and "
              f"{len(study.trials) - study.n_trained} labels already stored.", file=sys.stderr)
    else:
        print(f"Study database: {str(study_path)!r} (rerun with --study to continue it).", file=sys.stderr)
    study.optimize(objective, args.trainings, callback=Progress(args.trainings))
    confirmed = {} if args.confirm == 0 else confirm_finalists(study, template, dataset, target, args, input_shape)
    baseline_result = None
    if args.baseline:
        print("Training the template's baseline configuration for comparison...", file=sys.stderr)
        baseline_result = objective(dict(template.baseline))
    best = study.best_trial
    if args.json:
        print(json.dumps({"study": str(study_path), "settings": settings, "n_trained": study.n_trained,
                          "n_labels": len(study.trials) - study.n_trained, "wasted_trainings": study.n_wasted,
                          "best": None if best is None else {"config": best.config, "accuracy": best.value,
                                                             "fold_scores": list(best.fold_scores),
                                                             "footprint": best.footprint},
                          "baseline": None if not args.baseline else {"config": template.baseline,
                                                                      "accuracy": baseline_result["accuracy"]},
                          "confirmed": {str(k): v for k, v in confirmed.items()}},
                         indent=2))
        return 0 if best else 1
    print()
    print(summary_table(study, 3, template.baseline if args.baseline else None, constraint, baseline_result,
                        confirmed))
    print(f"\n{study.n_trained} trainings ({study.n_wasted} on undeployable configurations), "
          f"{len(study.trials) - study.n_trained} memsim labels; study in {str(study_path)!r}.")
    if best is None:
        print("No deployable configuration was trained: enlarge the target, allow compression, or widen the space.")
        return 1
    print(f"Best deployable configuration (by k-fold accuracy): {best.config}")
    print(f"  RAM {format_size(best.footprint['ram_bytes'])}, Flash {format_size(best.footprint['flash_bytes'])}, "
          f"MACC {best.footprint['macc']:,}, latency ~{best.footprint['latency_ms']:.1f} ms")
    winner = next((n for n, c in confirmed.items() if c["deployable"]), None)
    if args.confirm and winner is None:
        print("No finalist passed the toolchain confirmation; see the reasons above.")
        return 1
    if winner is not None:
        print(f"Exported trial {winner} to {args.out!r}: model.tflite, model_data.h, model_data.c, report.json.")
    if args.runtime.startswith("xcubeai"):
        _check_with_stedgeai(Path(args.out) / "model.tflite" if winner is not None else None, target.name,
                             compression, next((t.footprint for t in study.trials if t.number == winner), None))
    return 0


def _check_with_stedgeai(model: "Path | None", target: str, compression: str, predicted: "dict | None") -> None:
    """Where ST's tool is installed, analyze the exported winner with it; else say what the figures rest on."""
    from validation import ToolchainError
    from validation.stedgeai import INSTALL_HINT, find_stedgeai, run_stedgeai

    if find_stedgeai() is None or model is None or not model.exists():
        print(f"stedgeai is not installed here, so RAM/ROM are memsim's xcubeai figures and X-CROSS comes from the real "
              f"TFLite-Micro interpreter; to check the winner with ST's tool, {INSTALL_HINT}.")
        return
    try:
        run = run_stedgeai(model, "analyze", target, compression)
    except ToolchainError as exc:
        print(f"stedgeai could not analyze the winner: {exc}")
        return
    r = run.report
    print(f"stedgeai {r.version} on the winner: MACC {r.macc:,}, weights {r.weights_bytes:,} B, activations "
          f"{r.activations_bytes:,} B" + (f" (memsim: {predicted['weights_bytes']:,} B, {predicted['activations_bytes']:,} B)"
                                           if predicted else ""))


def confirm_finalists(study, template, dataset, target, args, input_shape) -> dict:
    """Retrain the best deployable candidates and confirm them with the real TFLM interpreter.

    X-CROSS (TFLM vs Keras on the held-out split) must reach 95 %; under the
    tflm runtime the measured flatbuffer and arena must also fit the target.
    A rejected candidate is reported and the next one is tried; the first
    accepted one is exported to ``args.out``.
    """
    from sklearn.model_selection import train_test_split

    from memsim.frontends.keras import keras_from_spec, quiet_keras
    from validation import ToolchainError
    from validation.export import confirm, write_export

    keras = quiet_keras()
    X = dataset.X.reshape((len(dataset.X),) + input_shape)
    X_tr, X_val, y_tr, y_val = train_test_split(X, dataset.y, test_size=0.25, stratify=dataset.y,
                                                random_state=args.seed)
    results = {}
    for t in study.ranked(args.confirm):
        keras.utils.set_random_seed(args.seed)
        model = keras_from_spec(template.spec(t.config, input_shape, dataset.n_classes))
        model.compile(optimizer=t.config.get("optimizer", "adam"), loss="sparse_categorical_crossentropy")
        model.fit(X_tr, y_tr, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
        try:
            report, flatbuffer = confirm(model, target, args.dtype, X_val, y_val, representative=X_tr)
        except ToolchainError as exc:
            print(f"  trial {t.number}: rejected by the toolchain: {exc}", file=sys.stderr)
            results[t.number] = {"deployable": False, "violations": [str(exc)], "cross_accuracy": {"acc": 0.0}}
            continue
        if args.runtime != "tflm":  # memory is judged by memsim's model of the chosen runtime
            report["violations"] = [v for v in report["violations"] if v.startswith("X-CROSS")]
            report["deployable"] = not report["violations"]
        xc = report["cross_accuracy"]
        verdict = "accepted" if report["deployable"] else "rejected: " + "; ".join(report["violations"])
        print(f"  trial {t.number}: TFLM flatbuffer {report['tflm']['flatbuffer']:,} B, arena "
              f"{report['tflm']['total']:,} B, X-CROSS {100 * xc['acc']:.1f} % on {xc['n']} held-out samples "
              f"-> {verdict}", file=sys.stderr)
        results[t.number] = report
        if report["deployable"]:
            write_export(args.out, flatbuffer, {**report, "config": t.config, "trial": t.number,
                                                "kfold_accuracy": t.value, "memsim": t.footprint})
            break
    return results


def add_parser(sub) -> None:
    p = sub.add_parser("search", help="find the most accurate network that deploys on the target")
    p.add_argument("--dataset", default="har-basicmotions",
                   help="har-basicmotions (default), har-watch, digits, or an .npz/.csv file")
    p.add_argument("--label", default=None, help="har-watch labels: exercise (default) or subject")
    p.add_argument("--space", default="paper-har", help="paper-har (default), paper-bottle, ds-cnn, or a TOML file")
    p.add_argument("--target", default="stm32f303k8", help="board name or alias (default: the papers' tiny board)")
    p.add_argument("--runtime", default="xcubeai", choices=["xcubeai", "xcubeai-5", "tflm"])
    p.add_argument("--dtype", default="float32", choices=["float32", "int8"])
    p.add_argument("--compression", default=None, choices=["none", "x4", "x8"],
                   help="X-CUBE-AI weight sharing (default x8 for float32 xcubeai, as in the papers' tiny-board runs)")
    p.add_argument("--margin", type=float, default=None, metavar="PCT",
                   help="safety margin in %% on memsim's RAM and Flash (default: the runtime profile's calibrated one)")
    p.add_argument("--trainings", type=int, default=10, help="training budget (default 10)")
    p.add_argument("--method", default="svmcbo", choices=sorted(cbo.SAMPLERS))
    p.add_argument("--labels", type=int, default=64, help="SVM-CBO Phase-1 memsim labels after the initial design")
    p.add_argument("--study", default=None, help="SQLite study file; an existing one is continued")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--k", type=int, default=3, help="folds (default 3)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--baseline", action="store_true", help="also train the template's baseline configuration")
    p.add_argument("--confirm", type=int, default=3,
                   help="confirm up to this many finalists with real TFLM (X-CROSS >= 95 %%); 0 skips it (default 3)")
    p.add_argument("--out", default="autotinyml-export", help="where the confirmed winner is exported")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_search)
