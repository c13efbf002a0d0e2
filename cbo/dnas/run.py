"""``shrink`` end to end as a library call: ``run_shrink(ShrinkOptions(...), confirm=validation.Finalists())``.

The seed network (a template's largest configuration, the space the data's shape picks, or a user's Keras model),
the options checked before any work, one training under memsim's constraints (cbo.dnas.shrink), then the runtime's
toolchain confirms the network (``confirm``: validation's step; cbo never imports validation) and it is exported.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cbo.tinyml.search import CommandOptions
from targets import AutoTinyMLError, format_size, get_target, load_target_file, parse_size

__all__ = ["ShrinkOptions", "ShrinkOutcome", "run_shrink"]


@dataclass
class ShrinkOptions(CommandOptions):
    """Everything shrink takes: the command line's options as a library call (its parser reads the defaults here)."""

    model: "str | None" = None
    space: "str | None" = None
    ram: "str | None" = None
    flash: "str | None" = None
    epochs: int = 20
    finetune_epochs: int = 10
    batch_size: "int | None" = None  # None: 32, smaller on small data (cbo.dnas.default_batch_size)
    out: str = "autotinyml-shrink"


@dataclass
class ShrinkOutcome:
    """What shrink ended with: report.json's content and, when nothing was written, why (one sentence)."""

    report: dict
    exported: "str | None"
    problem: "str | None" = None
    source: str = ""
    result: object = field(default=None, repr=False)
    wall_s: float = 0.0
    held_out: int = 0

    @property
    def exit_code(self) -> int:
        return 0 if self.exported else 1


def _seed_spec(args, dataset):
    """(layer description of the seed network, input shape, where it came from)."""
    from cbo.dnas import largest_config, seed_template
    from cbo.tinyml import get_template

    if args.model:
        from memsim import UnsupportedLayerError
        from memsim.frontends.keras import SUPPORTED_LAYERS, load_keras_model, spec_from_keras

        model = load_keras_model(args.model, "autotinyml shrink")
        try:
            spec = spec_from_keras(model)
        except UnsupportedLayerError as exc:
            if not getattr(exc, "layer_type", None):
                raise
            raise UnsupportedLayerError(
                f"Layer {exc.layer!r} of type {exc.layer_type} is not a layer shrink can search (it narrows the "
                f"channels of {', '.join(SUPPORTED_LAYERS)}); seed shrink with a model of those layers, or use "
                "`autotinyml search` with your own build(hp).") from None
        shape = tuple(spec["layers"][0]["shape"])
        dataset.shaped_for(shape, args.model)  # data of another shape is refused here, before any work
        return spec, shape, f"{args.model}", model
    name, why = args.space, ""
    if not name:
        name, chosen = seed_template(dataset.sample_shape)
        why = f" ({chosen}; --space or a model file chooses another)"
    template = get_template(name)
    shape = template.input_shape(dataset.sample_shape)
    config = largest_config(template)
    return (template.spec(config, shape, dataset.n_classes), shape, f"template {template.name}{why}, {config}",
            None)


def run_shrink(args: ShrinkOptions, confirm) -> ShrinkOutcome:
    """Shrink, confirm with ``confirm`` (``validation.Finalists()``: the runtime's toolchain) and export; progress on
    stderr. Bad input raises ``AutoTinyMLError`` before any work; Ctrl-C raises ``KeyboardInterrupt`` after saying
    where the finished epochs are kept."""
    from cbo.dnas import NetworkCosts, shrink
    from cbo.tinyml import TEMPLATES, load_dataset
    from cbo.tinyml.search import check_budget, check_seed_and_epochs, runtime_defaults

    if args.model and args.space:
        raise AutoTinyMLError("Give one seed network: a Keras model file (autotinyml shrink MODEL.keras ...) or a "
                              "template (--space paper-har), not both.")
    if args.space and Path(args.space).suffix.lower() in (".py", ".toml"):
        raise AutoTinyMLError(f"shrink seeds from a built-in template ({', '.join(TEMPLATES)}) or a Keras model "
                              f"file (autotinyml shrink MODEL.keras), not a space file like {args.space!r}; search "
                              f"a space file with autotinyml search --space {args.space}.")
    from dataclasses import replace

    from memsim import get_runtime

    args = replace(args, runtime=get_runtime(args.runtime))  # resolved once, here; passed down as the object
    dtype, compression = runtime_defaults(args.runtime, args.dtype, args.compression, args.margin)
    for name, value, low in (("--epochs", args.epochs, 1), ("--finetune-epochs", args.finetune_epochs, 0),
                             ("--batch-size", args.batch_size, 1)):
        if value is not None and value < low:
            raise AutoTinyMLError(f"{name} must be at least {low}, got {value}.")
    check_seed_and_epochs(args.seed, max(args.epochs, args.finetune_epochs))
    check_budget("latency", args.latency_ms)
    ram = parse_size(args.ram, what="--ram") if args.ram is not None else None
    flash = parse_size(args.flash, what="--flash") if args.flash is not None else None
    for name, budget in (("--ram", ram), ("--flash", flash)):
        if budget == 0:
            raise AutoTinyMLError(f"{name} 0 leaves no room for any network; give a positive budget, e.g. 8KiB, "
                                  "or leave it out to use the board's.")
    target = get_target(args.target, load_target_file(args.target_file) if args.target_file else ())
    for name, budget, has in (("--ram", ram, target.ram_bytes), ("--flash", flash, target.flash_bytes)):
        if budget is not None and budget > has:  # the board's own limit would decide, not the budget
            raise AutoTinyMLError(f"{name} {format_size(budget)} is more than {target.name} has "
                                  f"({format_size(has)}); leave {name} out to use the board's, or choose a larger "
                                  "--target.")
    confirm.check_out(args.out)
    dataset = load_dataset(args.dataset, args.label)
    confirm.check_data(dataset, "shrink")
    spec, shape, source, seed_model = _seed_spec(args, dataset)
    costs = NetworkCosts(spec, target, args.runtime, dtype, compression, args.margin, ram, flash, args.latency_ms)
    runtime = costs.runtime  # resolved once (memsim.Runtime), passed down as the object
    costs.check_feasible()

    from sklearn.model_selection import train_test_split

    X = dataset.shaped_for(shape, args.model or source).astype("float32")
    X_tr, X_val, y_tr, y_val = train_test_split(X, dataset.y, test_size=0.25, stratify=dataset.y,
                                                random_state=args.seed)
    seed_fig = costs.figures(costs.full)
    print(f"AutoTinyML shrink: {source} on {dataset.name} ({len(dataset.X)} samples) for {target.name}, runtime "
          f"{runtime}, {dtype}; searched layers {[costs.producers[g] for g in costs.searchable]} with "
          f"{costs.describe(costs.full).replace('channels ', '', 1)} channels; the seed network "
          f"{'fits' if seed_fig['fits'][0] else 'does not fit'} (RAM {format_size(int(seed_fig['costs'][0][0]))}, "
          f"Flash {format_size(int(seed_fig['costs'][0][2]))}); {args.epochs} search + {args.finetune_epochs} "
          f"fine-tuning epochs.", file=sys.stderr)
    state_dir = Path(args.out).with_name(Path(args.out).name + ".shrink-state")
    start = time.perf_counter()
    try:
        result = shrink(costs, X_tr, y_tr, X_val, y_val, epochs=args.epochs,
                        finetune_epochs=args.finetune_epochs, batch_size=args.batch_size, seed=args.seed,
                        state_dir=state_dir, start_from=seed_model,
                        choose_activations=seed_model is None)  # a trained model keeps the activations it learnt with
    except KeyboardInterrupt:
        print(f"\ninterrupted; {_kept_epochs(state_dir, args.epochs)}", file=sys.stderr)
        raise
    shutil.rmtree(state_dir, ignore_errors=True)  # the search is done; what follows does not read its state
    wall = time.perf_counter() - start

    report, files = confirm.confirm_model(result.model, target, dtype, X_val, y_val, representative=X_tr,
                                          seed=args.seed, runtime=runtime, compression=compression,
                                          margin=args.margin, labels=list(dataset.classes),
                                          latency_budget_ms=args.latency_ms, what="The shrunk network")
    report = {**report, "shrink": {
        "seed_network": source, "searched_layers": [costs.producers[g] for g in costs.searchable],
        "seed_channels": result.seed_counts[:len(costs.searchable)],
        "channels": result.counts[:len(costs.searchable)], "skipped_blocks": result.skipped_blocks,
        "narrowed_kernels": result.narrowed_kernels,
        "activations": result.activations, "activation_weights": result.activation_weights,
        "budgets": {"ram_bytes": ram, "flash_bytes": flash, "latency_ms": args.latency_ms},
        "targets_met_before_projection": result.met_before_projection,
        "channels_removed_by_projection": result.removed_by_projection,
        "val_accuracy": {"gated": result.accuracy_before_projection, "projected": result.accuracy_after_projection,
                         "fine_tuned": result.accuracy},
        "fine_tuned_from": result.finetune_start, "fine_tune_choice_accuracy": result.finetune_choice_accuracy,
        "seconds": {**result.seconds, "total": round(wall, 1)}, "epochs": result.history}}
    figures = report.get("measured") or report["predicted"]  # what the verdict rests on
    missed = [f"{what} {figures[key]:,} B > budget {limit:,} B" for what, key, limit in
              (("RAM", "ram_bytes", ram), ("Flash", "flash_bytes", flash)) if limit and figures[key] > limit]
    report["shrink"]["budgets_met"] = not missed
    outcome = ShrinkOutcome(report, None, source=source, result=result, wall_s=wall, held_out=len(y_val))
    if missed:  # memsim kept the budget with its margin; the toolchain's figure is what counts
        outcome.problem = ("the shrunk network fits the board but not your budget: " + "; ".join(missed)
                           + "; nothing written. Lower the budget a little (or raise --margin) and run again.")
        return outcome
    if not report["deployable"]:
        outcome.problem = (f"the shrunk network was rejected by {confirm.describe(report['verdict_source'])}: "
                           + "; ".join(report["violations"]) + "; nothing written. " + _what_to_change(report, args))
        return outcome
    confirm.write(args.out, files, report)
    outcome.exported = str(args.out)
    return outcome


def _kept_epochs(state_dir: Path, epochs: int) -> str:
    """What an interrupted shrink leaves, as it is: finished search epochs, or nothing (the folder removed)."""
    try:
        done = json.loads((state_dir / "state.json").read_text())["epoch"] + 1
    except (OSError, ValueError, KeyError):
        shutil.rmtree(state_dir, ignore_errors=True)
        return "no search epoch was stored yet, so nothing is kept; the same command starts anew."
    return (f"{done} of {epochs} search epochs are kept in {str(state_dir)!r}; run the same command to continue "
            f"from epoch {done + 1}.")


def _what_to_change(report: dict, args) -> str:
    """The one thing a user can do about a rejection, from what rejected it."""
    if "x-cross" in report.get("violation_kinds", ()):
        return (f"Its {report['dtype']} version disagrees with the trained network, which happens when few channels "
                f"are left or training is short: train longer (--epochs {2 * args.epochs}, --finetune-epochs "
                f"{2 * args.finetune_epochs}), loosen the budget so more channels stay, or give more data.")
    return "The toolchain measured more than memsim predicted: raise --margin (e.g. --margin 5) and run again."
