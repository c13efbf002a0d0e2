"""``autotinyml`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from autotinyml_cli import _signals
from autotinyml_cli._options import (add_budget, add_compression, add_dtype, add_runtime,
                                     check_budget)
from autotinyml_cli._format import describe_headroom, describe_ms, report_figures, verdict_source_text
from targets import AutoTinyMLError, Target, custom_target, format_size, get_target, list_targets, load_target_file


def _table(headers: list[str], rows: list[list], right: set[int] = frozenset()) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    def line(values):
        return "  ".join(v.rjust(widths[i]) if i in right else v.ljust(widths[i]) for i, v in enumerate(values)).rstrip()
    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _short_names(names: list[str], width: int = 44) -> list[str]:
    """Layer names that fit a column and stay distinct: a .tflite's ``a/b;c/d`` keeps its first part, long names
    keep their end (where converters put what differs)."""
    short, seen = [], {}
    for name in names:
        n = name.split(";")[0]
        n = n if len(n) <= width else "..." + n[-(width - 3):]
        seen[n] = seen.get(n, 0) + 1
        short.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return short


def _resolve_target(args) -> "Target | None":
    extra = load_target_file(args.target_file) if getattr(args, "target_file", None) else ()
    if args.flash is not None or args.ram is not None:
        if args.flash is None or args.ram is None:
            raise AutoTinyMLError("A custom target needs both --flash and --ram (e.g. --flash 64KiB --ram 16KiB).")
        return custom_target(flash=args.flash, ram=args.ram, overhead=args.overhead or "none")
    if args.target is None:
        return extra[0] if extra else None
    return get_target(args.target, extra)


def _region_size(n: int) -> str:
    return f"{n // 1024} KiB" if n % 1024 == 0 and n % 1000 != 0 else f"{n:,} B"


def cmd_targets(args) -> int:
    from memsim import get_runtime

    rows, xcubeai = [], get_runtime("xcubeai")
    boards = list(list_targets()) + (list(load_target_file(args.target_file)) if args.target_file else [])
    for t in boards:
        regions = " + ".join(f"{_region_size(r.bytes)} {r.name}" for r in t.ram_regions)
        ov = t.overhead(xcubeai.family, "float32")
        tflm = t.overhead(get_runtime("tflm").family, "int8")
        xcube = f"{ov.code_flash_bytes:,} / {ov.ram_bytes:,}" if xcubeai.runs_on(t) else "(STM32 only)"
        rows.append([t.name, ", ".join(t.aliases), t.core, f"{t.clock_hz / 1e6:g} MHz", f"{t.flash_bytes:,}",
                     f"{t.ram_bytes:,}", regions, xcube, f"{tflm.code_flash_bytes:,}", f"[{len(rows) + 1}]"])
    if args.json:
        print(json.dumps([{"name": t.name, "vendor": t.vendor, "aliases": list(t.aliases), "core": t.core,
                           "core_class": t.core_class, "clock_hz": t.clock_hz, "flash_bytes": t.flash_bytes,
                           "ram_regions": [{"name": r.name, "bytes": r.bytes} for r in t.ram_regions],
                           "runs_xcubeai": xcubeai.runs_on(t), "source": t.source} for t in boards], indent=2))
        return 0
    print(_table(["name", "aliases", "core", "clock", "Flash (B)", "RAM (B)", "SRAM regions",
                  "X-CUBE-AI code / RAM (B)", "TFLM code (B)", "source"], rows, right={4, 5, 8}))
    print("\nKiB = 1024 B. The papers' budgets are decimal (paper-big: 128,000 B RAM, 1,990,000 B ROM).\nSources:")
    for i, t in enumerate(boards, 1):
        print(f"  [{i}] {t.name}: {t.source or 'not given'}")
    return 0


def cmd_footprint(args) -> int:
    import memsim

    if args.cycles_per_macc is not None and args.cycles_per_macc <= 0:
        raise AutoTinyMLError(f"--cycles-per-macc {args.cycles_per_macc:g} must be positive, e.g. 6 for float32.")
    check_budget("latency", args.latency_ms)
    check_budget("energy", args.energy_uj)

    target = _resolve_target(args)
    runtime_given = args.runtime is not None
    args.runtime = args.runtime or memsim.DEFAULT_RUNTIME  # every command's default
    fp = memsim.footprint(args.model, target=target, runtime=args.runtime, dtype=args.dtype,
                          compression=args.compression, cycles_per_macc=args.cycles_per_macc, margin=args.margin,
                          latency_budget_ms=args.latency_ms, energy_budget_uj=args.energy_uj)
    if args.json:
        print(json.dumps(fp.to_dict(), indent=2))
    else:
        names = _short_names([r["name"] for r in fp.layers])
        rows = [[n, r["type"] + (" (c)" if r["compressed"] else ""), "x".join(map(str, r["shape"])),
                 f"{r['params']:,}", f"{r['weights_bytes']:,}", f"{r['macc']:,}", f"{r['live_bytes']:,}"]
                for n, r in zip(names, fp.layers)]
        why = "" if runtime_given else " (the default; --runtime to change)"
        print(f"{fp.name}: runtime {fp.runtime}{why}, {fp.dtype}, compression {fp.compression}\n")
        print(_table(["layer", "type", "output shape", "params", "weights (B)", "MACC", "live (B)"], rows,
                     right={3, 4, 5, 6}))
        print("(c) = weights compressed; live (B) = activation bytes alive while the layer runs")
        io_note = "inside the pool" if fp.io_in_pool else "outside the pool"
        print(f"\nMACC             {fp.macc:,}")
        print(f"params           {fp.params:,}")
        print(f"weights          {format_size(fp.weights_bytes)}")
        print(f"model (Flash)    {format_size(fp.model_bytes)}")
        print(f"activations      {format_size(fp.activations_bytes)}  (I/O {fp.io_bytes:,} B {io_note})")
        print(f"runtime RAM      {format_size(fp.runtime_ram_bytes)}")
        print(f"RAM total        {format_size(fp.ram_bytes)}")
        print(f"Flash total      {format_size(fp.flash_bytes)}")
        if fp.target:
            t = get_target(target)
            print(f"one SRAM region  {format_size(fp.region_bytes)}  ({fp.region_what}: must be contiguous)")
            print(f"\ntarget           {fp.target}: RAM {t.ram_bytes:,} B (largest region {t.largest_region_bytes:,} B), "
                  f"Flash {t.flash_bytes:,} B")
            ram_pct, flash_pct = fp.safety_margin_pct
            print(f"safety margin    RAM {ram_pct:g} % = {fp.ram_safety_bytes:,} B, Flash {flash_pct:g} % = "
                  f"{fp.flash_safety_bytes:,} B ({'--margin' if args.margin is not None else 'calibrated default'})")
            print(f"RAM headroom     {describe_headroom(fp.ram_headroom_bytes, t.ram_bytes)}")
            print(f"region headroom  {describe_headroom(fp.region_headroom_bytes, t.largest_region_bytes)}")
            print(f"Flash headroom   {describe_headroom(fp.flash_headroom_bytes, t.flash_bytes)}")
            budget = "" if fp.latency_budget_ms is None else (
                f"; budget {fp.latency_budget_ms:g} ms: {describe_ms(fp.latency_headroom_ms)}")
            print(f"latency          {fp.latency_ms:.2f} ms at {t.clock_hz / 1e6:g} MHz (band {fp.latency_low_ms:.2f}.."
                  f"{fp.latency_high_ms:.2f} ms){budget}")
            print(f"                 {fp.latency_basis}")
            if fp.energy_uj is not None:
                budget = "" if fp.energy_budget_uj is None else (
                    f"; budget {fp.energy_budget_uj:g} uJ: " + (f"{fp.energy_headroom_uj:,.1f} uJ to spare"
                                                                if fp.energy_headroom_uj >= 0 else
                                                                f"over by {-fp.energy_headroom_uj:,.1f} uJ"))
                print(f"energy           {fp.energy_uj:,.1f} uJ per inference (band {fp.energy_low_uj:,.1f}.."
                      f"{fp.energy_high_uj:,.1f} uJ){budget}")
                print(f"                 {fp.energy_basis}")
            verdict = "DEPLOYABLE" if fp.deployable else "NOT deployable: " + "; ".join(fp.violations)
            print(f"verdict          {verdict} (memsim's {fp.runtime} prediction, headroom after the safety margin)")
        for note in fp.notes:
            print(f"note             {note}")
    if args.check and fp.deployable is False:
        return 1
    return 0


def cmd_export(args) -> int:
    from memsim.frontends.keras import load_keras_model
    from validation import NotDeployableError
    from memsim.metrics import normalise_compression
    from validation.export import check_options, check_writable, export, replaced_note

    dtype = args.dtype or "float32"
    compression = normalise_compression(args.compression or "none")
    check_options(args.runtime, dtype, compression)  # before the model is loaded
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


def _pct(value: float) -> str:
    return f"{value:+.1f}%" if abs(value) < 1e6 else "inf"


def cmd_validate(args) -> int:
    import memsim
    from memsim.metrics import normalise_compression
    from validation import compare

    def progress(text: str) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)

    rows, skipped = [], []
    if args.reports:
        pairs, skipped = compare.report_pairs(args.reports)
        if not pairs and not skipped:
            raise AutoTinyMLError(f"No reports found in {args.reports!r} (looked for *report.txt, *_c_info.json and "
                                  "network_report.json).")
        if not pairs:
            raise AutoTinyMLError(f"No report in {args.reports!r} has its model beside it; put the model next to "
                                  f"its report with the same stem (e.g. network.h5 beside network_analyze_report.txt).")
        for report, model in pairs:
            progress(f"{report.name}")
            try:
                rows.append(compare.compare_report(report, model))
            except AutoTinyMLError as exc:
                skipped.append(f"{report.name}: {exc}")
    elif args.stedgeai:
        from validation.stedgeai import run_stedgeai

        if not args.models:
            raise AutoTinyMLError("--stedgeai needs model files to analyze, e.g. autotinyml validate model.h5 --stedgeai.")
        for path in args.models:
            progress(f"{path}: stedgeai analyze")
            run = run_stedgeai(path, "analyze", args.target, normalise_compression(args.compression))
            row = compare.compare_report(run.report, path)
            row.name, row.source, row.toolchain_s = Path(path).stem, path, run.seconds
            rows.append(row)
    elif args.zoo:
        rows = compare.compare_zoo(progress=progress)
    elif args.models:
        from memsim.frontends.keras import load_keras_model

        for path in args.models:
            progress(path)
            if path.lower().endswith(".tflite"):
                rows.append(compare.compare_tflite(path))
                continue
            model = load_keras_model(path, "autotinyml validate", ", or a .tflite")
            for dtype in args.dtype or list(memsim.DTYPES):
                rows.append(compare.compare_keras(model, dtype, source=path, isolated=True))
    else:
        rows = compare.compare_corpus(tuple(args.dtype or memsim.DTYPES), progress)
    if not args.json and sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr)
    if not rows:
        for s in skipped:
            print(f"skipped: {s}", file=sys.stderr)
        raise AutoTinyMLError("No model could be compared; the reasons are listed above.")
    summary = compare.summarise(rows)
    dtypes = sorted({r.dtype for r in rows})
    by_dtype = {d: compare.summarise([r for r in rows if r.dtype == d]) for d in dtypes} if len(dtypes) > 1 else {}
    if args.json:
        print(json.dumps({"rows": [r.to_dict() for r in rows], "summary": summary, "summary_by_dtype": by_dtype,
                          "skipped": [str(s) for s in skipped]}, indent=2))
        return 0
    figures = list(dict.fromkeys(f for r in rows for f in r.figures))
    table = []
    for r in rows:
        cells = [r.name[:32], r.dtype]
        for f in figures:
            cells.append(f"{r.figures[f][0]:,}/{r.figures[f][1]:,} {_pct(r.error_pct(f))}" if f in r.figures else "-")
        table.append(cells)
    print(f"memsim vs {'the reports' if args.reports else 'TFLite Micro, measured live'} "
          f"(each cell: memsim/reference, error; negative = memsim under-predicts)\n")
    print(_table(["network", "dtype", *(f if f == "macc" else f"{f} (B)" for f in figures)], table))
    notes = [f"  {r.name} {r.dtype}: {r.note}" for r in rows if r.note]
    if notes:
        print("\nnotes:\n" + "\n".join(notes))
    for s in skipped:
        print(f"skipped: {s}")
    for label, part in [(f"{len(rows)} rows", summary)] + [(d, by_dtype[d]) for d in by_dtype]:
        print(f"\nsummary, {label}:")
        if not any(f in part for f in figures):
            print("  nothing to compare: the toolchain refused every model (see the notes above)")
        for f in figures:
            if f not in part:
                continue
            s = part[f]
            print(f"  {f:14s} median |error| {s['median_abs_error_pct']:5.2f} %, worst {s['worst_error_pct']:+6.2f} %, "
                  f"worst under-prediction {s['worst_under_prediction_pct']:.2f} % (n={s['n']})")
    if "observed_margin_pct" in summary:
        m = summary["observed_margin_pct"]
        print("  margins that cover every row: " + ", ".join(f"{k} {v:.2f} %" for k, v in m.items())
              + " (of memsim's figure; the profiles' defaults: memsim/profiles/)")
    if "speed" in summary:
        sp = summary["speed"]
        print(f"  speed        toolchain {sp['median_toolchain_s']:.2f} s per model vs memsim "
              f"{1e6 * sp['median_memsim_s']:.0f} us: memsim {sp['median_ratio']:,.0f}x faster (medians)")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose refusals under --json also print the JSON error object every refusal prints."""

    json_requested = False

    def error(self, message: str):
        if _Parser.json_requested:
            print(json.dumps({"error": message, "exit_code": 2}))
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="autotinyml", description="Find networks that deploy on microcontrollers.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("targets", help="list the MCU boards and budgets")
    p.add_argument("--target-file", help="also list boards from this TOML file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_targets)

    p = sub.add_parser("footprint", help="RAM, Flash, MACC and deployability of one network")
    p.add_argument("model", help=".tflite, .keras, .h5, .onnx, or a .json/.toml layer description")
    p.add_argument("--target", help="board name or alias (see 'autotinyml targets')")
    p.add_argument("--target-file", help="TOML file with extra boards")
    p.add_argument("--flash", help="custom target Flash, e.g. 64KiB")
    p.add_argument("--ram", help="custom target RAM, e.g. 16KiB")
    p.add_argument("--overhead", help="runtime overhead set for a custom target (cortex-m4, none, ...)")
    add_runtime(p, default=None)
    add_dtype(p, "type of the deployed model (default float32; a .tflite file's own type; int8 for an ONNX QDQ file)")
    add_compression(p, "none")
    p.add_argument("--cycles-per-macc", type=float, default=None,
                   help="your own cycles per MACC (a measurement of yours), in place of memsim's time model")
    add_budget(p, "latency")
    add_budget(p, "energy")
    p.add_argument("--margin", type=float, default=None, metavar="PCT",
                   help="safety margin in %% on the network's RAM and Flash (default: the profile's calibrated one)")
    p.add_argument("--check", action="store_true", help="exit with status 1 when the network does not deploy")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_footprint)

    from autotinyml_cli import experiment, report, search, shrink

    search.add_parser(sub)
    shrink.add_parser(sub)
    report.add_parser(sub)
    experiment.add_parser(sub)

    p = sub.add_parser("export", help="confirm a trained model for one runtime and write its files + report.json")
    p.add_argument("model", help=".keras or .h5 file")
    p.add_argument("--target", required=True, help="board name or alias")
    p.add_argument("--target-file", help="TOML file with extra boards (the catalogue's layout)")
    add_runtime(p, "; tflm writes .tflite + C array, measured by tflite-micro; the X-CUBE-AI ones write .keras + "
                   ".h5 for ST's tool, judged by stedgeai where installed, else by memsim")
    add_dtype(p)
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
    return parser


def _refuse(args, message: str, code: int) -> int:
    """One sentence on stderr; under --json also a JSON object on stdout, so a reading tool has something to parse."""
    print(f"autotinyml: error: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"error": message, "exit_code": code}))
    return code


def main(argv: list[str] | None = None) -> int:
    _Parser.json_requested = "--json" in (sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    _signals.reset()
    previous = _signals.install()
    try:
        code = args.func(args)
    except AutoTinyMLError as exc:
        return _refuse(args, str(exc), 2)
    except KeyboardInterrupt:  # commands that hold finished work (search) say where it is themselves
        print("\nautotinyml: interrupted.", file=sys.stderr)
        code = _signals.EXIT_INTERRUPTED
    except BrokenPipeError:  # `autotinyml footprint x | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        _signals.restore(previous)
    return _signals.exit_code() if code == _signals.EXIT_INTERRUPTED and _signals.received() else code


if __name__ == "__main__":
    sys.exit(main())
