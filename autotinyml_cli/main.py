"""``autotinyml`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys

from autotinyml_cli._format import describe_headroom, describe_ms
from autotinyml_cli._options import add_budget, add_compression, add_dtype, add_runtime, check_budget
from cbo import stop_signals
from targets import AutoTinyMLError, custom_target, format_size, get_target, list_targets, load_target_file
from validation.comparison import text_table as _table


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


def _resolve_target(args):
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
    add_dtype(p, "type of the deployed model (default the runtime's: int8 for tflm, float32 for X-CUBE-AI; a .tflite "
                 "or .onnx file's own type)")
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

    from autotinyml_cli import experiment, report, search, shrink, toolchain

    search.add_parser(sub)
    shrink.add_parser(sub)
    report.add_parser(sub)
    experiment.add_parser(sub)
    toolchain.add_parsers(sub)

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
    stop_signals.reset()
    previous = stop_signals.install()
    try:
        code = args.func(args)
    except AutoTinyMLError as exc:
        return _refuse(args, str(exc), 2)
    except KeyboardInterrupt:  # commands that hold finished work (search) say where it is themselves
        print("\nautotinyml: interrupted.", file=sys.stderr)
        code = stop_signals.EXIT_INTERRUPTED
    except BrokenPipeError:  # `autotinyml footprint x | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        stop_signals.restore(previous)
    return stop_signals.exit_code() if code == stop_signals.EXIT_INTERRUPTED and stop_signals.received() else code


if __name__ == "__main__":
    sys.exit(main())
