"""``autotinyml export`` and ``autotinyml validate``: the commands that run the real toolchains."""

from __future__ import annotations

import json
import sys

from autotinyml_cli._format import report_figures, verdict_source_text
from autotinyml_cli._options import add_budget, add_compression, add_dtype, add_runtime, check_budget
from targets import AutoTinyMLError, get_target, load_target_file


def cmd_export(args) -> int:
    from memsim.frontends.keras import load_keras_model
    from validation import NotDeployableError
    from validation.export import check_options, check_writable, export, replaced_note

    # the runtime's dtype where none is given (int8 under tflm), no weight sharing unless asked: before loading
    settings = check_options(args.runtime, args.dtype, args.compression)
    dtype, compression = settings.dtype, settings.compression
    if not 0 < args.min_cross_acc <= 1:
        raise AutoTinyMLError(f"--min-cross-acc {args.min_cross_acc:g} must be in (0, 1], e.g. 0.95.")
    check_budget("latency", args.latency_ms)
    check_budget("energy", args.energy_uj)
    target = get_target(args.target, load_target_file(args.target_file) if args.target_file else ())
    check_options(args.runtime, dtype, compression, target, args.energy_uj)  # the runtime on this board, before the model loads
    check_writable(args.out)
    model = load_keras_model(args.model, "autotinyml export")
    X = y = labels = None
    if args.dataset:
        from cbo.tinyml import load_dataset

        ds = load_dataset(args.dataset)
        X, y, labels = ds.shaped_for(model.inputs[0].shape[1:], args.model), ds.y, list(ds.classes)
    try:
        report = export(model, target, args.out, dtype, X_val=X, y_val=y, representative=X,
                        min_cross_acc=args.min_cross_acc, runtime=args.runtime, compression=compression,
                        margin=args.margin, with_tflite=args.with_tflite, isolated=True, labels=labels,
                        latency_budget_ms=args.latency_ms, energy_budget_uj=args.energy_uj)
    except NotDeployableError as exc:
        if args.json:
            print(json.dumps(exc.report, indent=2))
        print(f"autotinyml: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.model} -> {args.out}: deployable on {report['target']['name']} under {report['runtime']} "
              f"({report['dtype']}), verdict from {verdict_source_text(report['verdict_source'])}")
        print(report_figures(report))
        print(f"  wrote {', '.join(report['files'])}")
        print(f"  re-check: {report['recheck']}")
    if report.get("replaced_export"):
        print(replaced_note(args.out, report["replaced_export"]), file=sys.stderr)
    return 0


def cmd_validate(args) -> int:
    from validation import comparison

    def progress(text: str) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)

    rows, skipped = comparison.collect(args.reports, args.models, args.stedgeai, args.zoo, args.dtype, args.target,
                                       args.compression, progress)
    if not args.json and sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr)
    if not rows:
        for s in skipped:
            print(f"skipped: {s}", file=sys.stderr)
        raise AutoTinyMLError("No model could be compared; the reasons are listed above.")
    print(comparison.dumps(rows, skipped) if args.json else
          comparison.text(rows, skipped, "the reports" if args.reports else "TFLite Micro, measured live"))
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("export", help="confirm a trained model for one runtime and write its files + report.json")
    p.add_argument("model", help=".keras or .h5 file")
    p.add_argument("--target", required=True, help="board name or alias")
    p.add_argument("--target-file", help="TOML file with extra boards (the catalogue's layout)")
    add_runtime(p, "; tflm writes .tflite + C array, measured by tflite-micro; the X-CUBE-AI ones write .keras + "
                   ".h5 for ST's tool, judged by stedgeai where installed, else by memsim")
    add_dtype(p, "type of the deployed model (default the runtime's: int8 for tflm, float32 for X-CUBE-AI)")
    add_compression(p, extra=" (default none)")
    p.add_argument("--margin", type=float, default=None, metavar="PCT",
                   help="safety margin in %% on memsim's figures (default: the runtime profile's calibrated one)")
    add_budget(p, "latency")
    add_budget(p, "energy")
    p.add_argument("--with-tflite", action="store_true", help="with --runtime xcubeai: also write model.tflite")
    p.add_argument("--out", required=True, help="output directory (written only if the model deploys)")
    p.add_argument("--dataset", default=None,
                   help="samples for int8 calibration and X-CROSS (built-in name or .npz/.csv; default 10 random inputs)")
    p.add_argument("--min-cross-acc", type=float, default=0.95, help="required X-CROSS accuracy (default 0.95)")
    p.add_argument("--json", action="store_true", help="print report.json's content")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("validate", help="compare memsim with real TFLM measurements or X-CUBE-AI reports")
    p.add_argument("models", nargs="*", help=".keras/.h5/.tflite files (default: the built-in corpus of 23 networks)")
    p.add_argument("--zoo", action="store_true",
                   help="the real-world networks (MLPerf-Tiny-style; float32, int8 with float I/O, full int8, 16x8), "
                        "read back from their .tflite files")
    p.add_argument("--reports", metavar="DIR",
                   help="compare with every X-CUBE-AI / ST Edge AI report in DIR whose model sits beside it")
    add_dtype(p, "convert to this type (repeatable; default both)", action="append")
    p.add_argument("--stedgeai", action="store_true",
                   help="run ST's stedgeai analyze on each model (found on PATH or via STEDGEAI_PATH) and compare")
    p.add_argument("--target", default="stm32f4", help="with --stedgeai: board or STM32 series (default stm32f4)")
    add_compression(p, "none", extra=" (with --stedgeai)")
    p.add_argument("--json", action="store_true", help="print one JSON object: rows and summary")
    p.set_defaults(func=cmd_validate)
