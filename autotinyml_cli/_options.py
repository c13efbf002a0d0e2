"""The options several commands share, with their choices and defaults taken from the library's own lists."""

from __future__ import annotations

import argparse

from memsim import COMPRESSION_CHOICES, DEFAULT_RUNTIME, DTYPES, RUNTIMES
from memsim.profiles import RUNTIME_HELP

__all__ = ["add_compression", "add_dtype", "add_energy_budget", "add_latency_budget", "add_runtime",
           "check_energy_budget", "check_latency_budget"]


def add_runtime(parser: argparse.ArgumentParser, extra: str = "", default: "str | None" = DEFAULT_RUNTIME) -> None:
    """--runtime: every runtime memsim knows, the same default for every command (``default=None`` lets a command
    tell whether it was given; it then uses DEFAULT_RUNTIME itself)."""
    listed = "; ".join(f"{name}: {what}" for name, what in RUNTIME_HELP.items())
    parser.add_argument("--runtime", default=default, choices=RUNTIMES,
                        help=f"runtime profile (default {DEFAULT_RUNTIME}) - {listed}{extra}")


def add_dtype(parser: argparse.ArgumentParser, help_text: str = "type of the deployed model (default float32)",
              **kwargs) -> None:
    parser.add_argument("--dtype", default=None, choices=DTYPES, help=help_text, **kwargs)


def add_compression(parser: argparse.ArgumentParser, default: "str | None" = None, extra: str = "") -> None:
    parser.add_argument("--compression", default=default, choices=COMPRESSION_CHOICES,
                        help="X-CUBE-AI weight sharing for float32 models: none, x4 (low) or x8 (medium, high)"
                             f"{extra}")


def add_latency_budget(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--latency-ms", type=float, default=None, metavar="MS",
                        help="latency budget in ms: a network deploys only if the top of memsim's latency band "
                             "(the time model, calibrated on published on-board measurements) meets it")


def check_latency_budget(value: "float | None") -> None:
    from targets import AutoTinyMLError

    if value is not None and not value > 0:
        raise AutoTinyMLError(f"--latency-ms must be a positive number of milliseconds, got {value:g}.")


def add_energy_budget(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--energy-uj", type=float, default=None, metavar="UJ",
                        help="energy budget per inference in uJ, held against the top of memsim's energy band "
                             "(latency x the board's published power; boards with MLPerf Tiny energy data only)")


def check_energy_budget(value: "float | None") -> None:
    from targets import AutoTinyMLError

    if value is not None and not value > 0:
        raise AutoTinyMLError(f"--energy-uj must be a positive number of microjoules, got {value:g}.")
