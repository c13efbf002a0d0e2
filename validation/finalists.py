"""The search's last step: its finalists retrained, confirmed by the runtime's toolchain, the first that passes
exported (``cbo.tinyml.run_search(options, confirm=Finalists())``)."""

from __future__ import annotations

import sys

from targets import AutoTinyMLError

__all__ = ["Finalists"]


class Finalists:
    """Confirm a search's best trials with its runtime's toolchain and export the first that passes; its checks run
    before the search does any work."""

    def check_data(self, dataset, what: str = "a search that confirms its winner") -> None:
        """X-CROSS judges the deployed network on the dataset's samples; too few and no verdict is possible."""
        from validation.agreement import MIN_SAMPLES

        if len(dataset.X) < MIN_SAMPLES:
            raise AutoTinyMLError(f"{dataset.name} has {len(dataset.X)} samples; {what} needs at least {MIN_SAMPLES} "
                                  "to check the deployed network against the trained one (X-CROSS). Add samples.")

    def check_out(self, out) -> None:
        from validation.export import check_writable

        check_writable(out)

    def confirm_model(self, model, target, dtype, X_val, y_val, *, what: str = "The network", **options):
        """(report, files) of one trained model (``validation.export.confirm``); a toolchain that cannot take it
        is one sentence."""
        from validation import ToolchainError
        from validation.export import confirm

        try:
            return confirm(model, target, dtype, X_val, y_val, **options)
        except ToolchainError as exc:
            raise AutoTinyMLError(f"{what} could not be confirmed: {exc}") from None

    def describe(self, verdict_source: dict) -> str:
        from validation.export import verdict_source_text

        return verdict_source_text(verdict_source)

    def write(self, out, files: dict, report: dict) -> None:
        """The export written (an export already there moved aside, and said so)."""
        from validation.export import replaced_note, write_export

        kept = write_export(out, files, report)
        if kept:
            print(replaced_note(out, kept), file=sys.stderr)

    def __call__(self, study, template, dataset, target, args, input_shape, dtype, compression):
        """Retrain the best deployable candidates and confirm them for the search's own runtime.

        ``validation.export.confirm`` gives the verdict (tflm: measured by real
        tflite-micro; xcubeai: stedgeai where installed, else memsim, with X-CROSS
        from tflite-micro). A rejected candidate is reported and the next one is
        tried; the first accepted one is exported to ``args.out``.
        Returns ({trial number: report}, exported folder or None).
        """
        from sklearn.model_selection import train_test_split

        from cbo.tinyml.objective import optimizer
        from cbo.tinyml.training import without_input_autotune
        from memsim import Violation
        from memsim.frontends.keras import quiet_keras
        from validation import ToolchainError
        from validation.export import confirm, replaced_note, verdict_source_text, write_export

        quiet_keras()
        X = dataset.X.reshape((len(dataset.X),) + input_shape)
        X_tr, X_val, y_tr, y_val = train_test_split(X, dataset.y, test_size=0.25, stratify=dataset.y,
                                                    random_state=args.seed)
        results = {}
        for t in study.ranked(args.confirm):
            model = template.keras_model(t.config, input_shape, dataset.n_classes, seed=args.seed)
            model.compile(optimizer=optimizer(t.config), loss="sparse_categorical_crossentropy")
            with without_input_autotune():
                model.fit(X_tr, y_tr, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
            try:
                report, files = confirm(model, target, dtype, X_val, y_val, representative=X_tr, seed=args.seed,
                                        runtime=args.runtime, compression=compression,
                                        margin=args.margin, labels=list(dataset.classes),
                                        latency_budget_ms=args.latency_ms, energy_budget_uj=args.energy_uj)
            except ToolchainError as exc:
                print(f"  trial {t.number}: rejected by the toolchain: {exc}", file=sys.stderr)
                results[t.number] = {"deployable": False, "violations": [Violation(str(exc), "toolchain")]}
                continue
            verdict = "accepted" if report["deployable"] else "rejected: " + "; ".join(report["violations"])
            m = report["measured"] or report["predicted"]
            print(f"  trial {t.number}: RAM {m['ram_bytes']:,} B, Flash {m['flash_bytes']:,} B "
                  f"({verdict_source_text(report['verdict_source'])}), X-CROSS {100 * report['cross_accuracy']['acc']:.1f} % "
                  f"on {report['cross_accuracy']['n']} samples -> {verdict}", file=sys.stderr)
            report = {**report, "config": t.config, "trial": t.number, "kfold_accuracy": t.value}
            results[t.number] = report
            if report["deployable"]:
                try:
                    kept = write_export(args.out, files, report)
                    if kept:
                        print(replaced_note(args.out, kept), file=sys.stderr)
                except AutoTinyMLError as exc:
                    print(f"autotinyml: {exc}", file=sys.stderr)
                    return results, None
                return results, str(args.out)
        return results, None
