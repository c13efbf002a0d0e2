"""Run ST's own tool (``stedgeai``, or the older ``stm32ai``) where a user has it, and parse its report.

The tool is proprietary and cannot be installed by pip; it is looked up in
``STEDGEAI_PATH`` (the executable, or a folder holding it) and then on PATH.
Each run works in a fresh temporary folder, so nothing is left behind.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from memsim.metrics import normalise_compression
from validation._errors import ToolchainError
from validation.xcube_reports import XCubeReport, parse_report

__all__ = ["StEdgeAINotFoundError", "StEdgeAIRun", "find_stedgeai", "stedgeai_command", "run_stedgeai",
           "series_of", "INSTALL_HINT"]

EXECUTABLES = ("stedgeai", "stm32ai")
INSTALL_HINT = ("install ST Edge AI Core (free, https://www.st.com/en/development-tools/stedgeai-core.html) and "
                "put 'stedgeai' on PATH or set STEDGEAI_PATH to it")
# stedgeai names compression levels; stm32ai (X-CUBE-AI <= 7) took the factor
_LEVELS = {"none": "none", "x4": "low", "x8": "high"}
_FACTORS = {"none": "1", "x4": "4", "x8": "8"}


class StEdgeAINotFoundError(ToolchainError):
    """Neither stedgeai nor stm32ai is installed where we look."""


@dataclass(frozen=True)
class StEdgeAIRun:
    """One run of the tool: the command, its parsed report, and its console output."""

    command: tuple[str, ...]
    report: XCubeReport
    stdout: str
    seconds: float


def find_stedgeai(environ: "dict | None" = None) -> Path | None:
    """The tool's executable: STEDGEAI_PATH first (a file or a folder), then PATH; None if absent."""
    env = os.environ if environ is None else environ
    given = env.get("STEDGEAI_PATH")
    if given:
        path = Path(given).expanduser()
        if path.is_file():
            return path
        for name in EXECUTABLES:
            for candidate in (path / name, path / "Utilities" / "linux" / name):
                if candidate.is_file():
                    return candidate
    for name in EXECUTABLES:
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return Path(found)
    return None


def series_of(target_name: str) -> str:
    """The STM32 series ('stm32f3') of a board name; Cortex-M4 boards outside STM32 map to stm32f4."""
    name = target_name.lower()
    if name.startswith("stm32") and len(name) >= 7:
        return name[:7]
    return "stm32f4"


def stedgeai_command(executable: "str | Path", model: "str | Path", command: str = "analyze",
                     series: str = "stm32f4", compression: str = "none", output: "str | Path" = "st_ai_output",
                     workspace: "str | Path" = "st_ai_ws", optimization: str = "balanced") -> list[str]:
    """The command line for one analyze/validate run (stedgeai syntax, or stm32ai's for the older tool).
    ``optimization`` "time" adds ``-O time`` (memsim's ``xcubeai-time`` profile), else ST's default."""
    if command not in ("analyze", "validate"):
        raise ToolchainError(f"Unknown stedgeai command {command!r}; use analyze or validate.")
    level = normalise_compression(compression)
    exe = str(executable)
    if Path(exe).name.startswith("stm32ai"):
        return [exe, command, "--model", str(model), "--compression", _FACTORS[level], "--series", series,
                "--output", str(output), "--workspace", str(workspace), "--name", "network"]
    return [exe, command, "--model", str(model), "--target", series, "--compression", _LEVELS[level],
            "--output", str(output), "--workspace", str(workspace), "--name", "network"] \
        + (["-O", "time"] if optimization == "time" else [])


def _report_in(folder: Path, command: str) -> Path | None:
    for name in (f"network_{command}_report.txt", "network_report.txt", "network_c_info.json"):
        if (folder / name).is_file():
            return folder / name
    found = sorted(folder.rglob(f"*_{command}_report.txt")) or sorted(folder.rglob("*_c_info.json"))
    return found[0] if found else None


def run_stedgeai(model: "str | Path", command: str = "analyze", target: str = "stm32f4",
                 compression: str = "none", timeout: float = 600.0, environ: "dict | None" = None,
                 optimization: str = "balanced") -> StEdgeAIRun:
    """Run ``stedgeai analyze|validate`` on a model file and parse the report it writes.

    Raises StEdgeAINotFoundError (saying how to install it and which command
    would have run) when the tool is absent, and ToolchainError when it fails.
    """
    model = Path(model)
    if not model.is_file():
        raise ToolchainError(f"Model file {str(model)!r} does not exist.")
    series = series_of(target)
    exe = find_stedgeai(environ)
    if exe is None:
        would = shlex.join(stedgeai_command("stedgeai", model, command, series, compression,
                                            optimization=optimization))
        raise StEdgeAINotFoundError(f"stedgeai was not found on PATH or through STEDGEAI_PATH; {INSTALL_HINT}. "
                                    f"The command would have been: {would}")
    with tempfile.TemporaryDirectory(prefix="autotinyml-stedgeai-") as tmp:
        out, ws = Path(tmp) / "output", Path(tmp) / "workspace"
        argv = stedgeai_command(exe, model.resolve(), command, series, compression, out, ws, optimization)
        start = time.perf_counter()
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=tmp,
                                  env=dict(os.environ if environ is None else environ))
        except subprocess.TimeoutExpired:
            raise ToolchainError(f"{exe.name} {command} did not finish within {timeout:g} s: {shlex.join(argv)}") from None
        except OSError as exc:
            raise ToolchainError(f"Cannot run {str(exe)!r}: {exc.strerror}; check that it is executable.") from None
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            lines = [l for l in (done.stderr + done.stdout).splitlines() if l.strip()]
            reason = next((l for l in reversed(lines) if "error" in l.lower()), lines[-1] if lines else "no output")
            raise ToolchainError(f"{exe.name} {command} failed (exit {done.returncode}): {reason.strip()}")
        report = _report_in(out, command)
        if report is None:
            raise ToolchainError(f"{exe.name} {command} exited normally but wrote no report in its output folder; "
                                 f"run it by hand to see why: {shlex.join(argv)}")
        parsed = parse_report(report)
    return StEdgeAIRun(tuple(argv), parsed, done.stdout, seconds)
