"""The options several commands share, with their choices and defaults taken from the library's own lists."""

from __future__ import annotations

import argparse

from memsim import COMPRESSION_CHOICES, DEFAULT_RUNTIME, DTYPES, RUNTIMES
from memsim.profiles import RUNTIME_HELP

__all__ = ["add_compression", "add_dtype", "add_runtime"]


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
