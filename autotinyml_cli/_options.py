"""The options several commands share, with their choices and defaults taken from the library's own lists."""

from __future__ import annotations

import argparse

from cbo.tinyml.search import CommandOptions, check_budget  # the library's (one source), re-exported for commands
from memsim import COMPRESSION_CHOICES, DEFAULT_RUNTIME, DTYPES, RUNTIMES

__all__ = ["CommandOptions", "add_budget", "add_compression", "add_dtype", "add_runtime", "check_budget"]


def add_runtime(parser: argparse.ArgumentParser, extra: str = "", default: "str | None" = DEFAULT_RUNTIME) -> None:
    """--runtime: every runtime memsim knows, the same default for every command (``default=None`` lets a command
    tell whether it was given; it then uses DEFAULT_RUNTIME itself)."""
    listed = "; ".join(f"{name}: {rt.description}" for name, rt in RUNTIMES.items())  # registered ones too
    parser.add_argument("--runtime", default=default, choices=RUNTIMES,
                        help=f"runtime profile (default {DEFAULT_RUNTIME}) - {listed}{extra}")


def add_dtype(parser: argparse.ArgumentParser, help_text: str = "type of the deployed model (default float32)",
              **kwargs) -> None:
    parser.add_argument("--dtype", default=None, choices=DTYPES, help=help_text, **kwargs)


def add_compression(parser: argparse.ArgumentParser, default: "str | None" = None, extra: str = "") -> None:
    parser.add_argument("--compression", default=default, choices=COMPRESSION_CHOICES,
                        help="X-CUBE-AI weight sharing for float32 models: none, x4 (low) or x8 (medium, high)"
                             f"{extra}")


# The budgets on time and energy: (flag, metavar, unit in words, help); the library checks them (check_budget)
_BUDGETS = {
    "latency": ("--latency-ms", "MS", "milliseconds",
                "latency budget in ms: a network deploys only if the top of memsim's latency band (the time model, "
                "calibrated on published on-board measurements) meets it"),
    "energy": ("--energy-uj", "UJ", "microjoules",
               "energy budget per inference in uJ, held against the top of memsim's energy band (latency x the "
               "board's published power; boards with MLPerf Tiny energy data only)"),
}


def add_budget(parser: argparse.ArgumentParser, which: str) -> None:
    """--latency-ms or --energy-uj."""
    flag, metavar, _, help_text = _BUDGETS[which]
    parser.add_argument(flag, type=float, default=None, metavar=metavar, help=help_text)
