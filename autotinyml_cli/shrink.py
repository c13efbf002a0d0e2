"""``autotinyml shrink``: one training to a network that fits (differentiable NAS under memsim's constraints)."""

from __future__ import annotations

import json
import sys

from autotinyml_cli._format import report_figures, verdict_source_text
from autotinyml_cli._options import add_budget, add_compression, add_dtype, add_runtime
from cbo import stop_signals
from cbo.dnas.run import ShrinkOptions, run_shrink
from cbo.tinyml import TEMPLATES
from validation import Finalists


def cmd_shrink(args) -> int:
    """``autotinyml shrink``: run it, then print what was exported (or ``--json``) and return the exit code."""
    try:
        outcome = run_shrink(ShrinkOptions.from_args(args), confirm=Finalists())
    except KeyboardInterrupt:
        return stop_signals.exit_code()
    report, result = outcome.report, outcome.result
    if args.json:
        print(json.dumps(report, indent=2))
    if outcome.problem:
        print(f"autotinyml: {outcome.problem}", file=sys.stderr)
    elif not args.json:
        chosen = "".join(f", {name} {act}" for name, act in result.activations.items())
        print(f"Shrunk {outcome.source} to {result.described}{chosen}; validation accuracy "
              f"{100 * result.accuracy:.2f} % ({outcome.held_out} held-out samples); {outcome.wall_s:.0f} s in all.")
        print(f"  verdict from {verdict_source_text(report['verdict_source'])}:")
        print(report_figures(report))
        print(f"Exported to {outcome.exported!r}: {', '.join(report['files'])}.")
        print(f"  re-check: cd {outcome.exported} && {report['recheck']}")
    return outcome.exit_code


def add_parser(sub) -> None:
    d = ShrinkOptions()  # the defaults, in one place
    p = sub.add_parser("shrink", help="one training to a network that fits: differentiable channel search "
                                      "under memsim's RAM, Flash and latency constraints")
    p.add_argument("model", nargs="?", help="seed network: a Keras .keras/.h5 file (a chain of layers)")
    p.add_argument("--space", default=None,
                   help=f"or a template whose largest configuration seeds the search ({', '.join(TEMPLATES)}; "
                        "default: the space search picks for the data's shape - ds-cnn for images of 16x16 or more, "
                        "ds-cnn-1d for sensor windows, paper-har otherwise)")
    p.add_argument("--dataset", default=d.dataset,
                   help="har-basicmotions (default), har-watch, digits, or an .npz/.csv file")
    p.add_argument("--label", default=None, help="har-watch labels: exercise (default) or subject")
    p.add_argument("--target", default=d.target, help="board name or alias (default: the papers' tiny board)")
    p.add_argument("--target-file", help="TOML file with extra boards")
    add_runtime(p, "; the network is judged and exported for it")
    add_dtype(p, "deployed type (default int8 for tflm, float32 for xcubeai)")
    add_compression(p)
    p.add_argument("--margin", type=float, default=None, metavar="PCT",
                   help="safety margin in %% (default: the runtime profile's calibrated one)")
    p.add_argument("--ram", default=None, metavar="SIZE", help="RAM budget tighter than the board, e.g. 8KiB")
    p.add_argument("--flash", default=None, metavar="SIZE", help="Flash budget tighter than the board, e.g. 32KiB")
    add_budget(p, "latency")
    p.add_argument("--epochs", type=int, default=d.epochs, help="search epochs (default 20)")
    p.add_argument("--finetune-epochs", type=int, default=d.finetune_epochs, help="fine-tuning epochs after projection (default 10)")
    p.add_argument("--batch-size", type=int, default=d.batch_size,
                   help="batch size (default 32, or as small as 8 where an epoch would have fewer than 8 steps)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the split and the training (default 0)")
    p.add_argument("--out", default=d.out, help="where the confirmed network is exported "
                                                              "(default ./autotinyml-shrink)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_shrink)
