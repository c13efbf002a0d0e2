"""What every benchmark script shares: what it ran on (the CPU model and the library versions, printed in headers
and kept with stored runs) and how a figure over seeds is written (``mean_std``). The scripts import it as a
sibling (Python puts a script's own folder first on its path) and the installed packages as they are.

The same code and libraries on another CPU can give other floating-point results (other SIMD kernels in BLAS,
Eigen and oneDNN): the committed runs of 2026-11-23 (Intel Xeon) and their re-runs on 2026-12-01 (AMD EPYC)
differ in some seeds' paths (RESULTS.md, "Re-running on another machine"). Two VMs both named "AMD EPYC", one with
AVX2 and one with AVX-512, also train to different accuracies, so the SIMD level is part of the CPU's name here.
"""

from __future__ import annotations

import platform
import statistics

# What a run's proposals (GP fits, Optuna's samplers) and trainings depend on besides the code.
# (TensorFlow is installed as tensorflow or tensorflow-cpu.)
LIBRARIES = ("numpy", "scipy", "scikit-learn", "optuna", "torch", "tensorflow", "keras", "tflite-micro")
_DISTRIBUTIONS = {"tensorflow": ("tensorflow", "tensorflow-cpu")}


# The widest vector instructions first; TensorFlow turns oneDNN on by default where VNNI, BF16 or AMX exist.
_SIMD_LEVELS = (("amx_tile", "AMX"), ("avx512_bf16", "AVX-512 BF16"), ("avx512_vnni", "AVX-512 VNNI"),
                ("avx512f", "AVX-512"), ("avx2", "AVX2"))


def simd_level(flags: "set[str]") -> str:
    """The widest of _SIMD_LEVELS among a CPU's ``/proc/cpuinfo`` flags ("" where none is)."""
    return next((name for flag, name in _SIMD_LEVELS if flag in flags), "")


def cpu_model() -> str:
    """The CPU's model name and SIMD level from ``/proc/cpuinfo`` ("AMD EPYC, AVX-512 BF16"), or what the
    platform module knows elsewhere."""
    model, flags = "", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and not model:
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    model = model or platform.processor() or platform.machine()
    level = simd_level(flags)
    return f"{model}, {level}" if level else model


def library_versions() -> dict:
    """The installed version of each of LIBRARIES (None where it is not installed)."""
    from importlib import metadata

    versions = dict.fromkeys(LIBRARIES)
    for name in LIBRARIES:
        for dist in _DISTRIBUTIONS.get(name, (name,)):
            try:
                versions[name] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                pass
    return versions


def mean_std(values, scale: float = 1.0) -> str:
    """``mean ± std`` of the values times ``scale`` (100 for fractions shown as %), two decimals: the sample
    standard deviation (n - 1, as over seeds drawn from many), 0 for one value."""
    values = list(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{scale * statistics.mean(values):.2f} ± {scale * std:.2f}"
