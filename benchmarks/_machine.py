"""What a benchmark ran on: the CPU model and the library versions, printed in headers and kept with stored runs.

The same code and libraries on another CPU can give other floating-point results (other SIMD kernels in BLAS,
Eigen and oneDNN): the committed runs of 2026-11-23 (Intel Xeon) and their re-runs on 2026-12-01 (AMD EPYC)
differ in some seeds' paths (RESULTS.md, "Re-running on another machine").
"""

from __future__ import annotations

import platform

# What a run's proposals (GP fits, Optuna's samplers) and trainings depend on besides the code.
# (TensorFlow is installed as tensorflow or tensorflow-cpu.)
LIBRARIES = ("numpy", "scipy", "scikit-learn", "optuna", "torch", "tensorflow", "keras", "tflite-micro")
_DISTRIBUTIONS = {"tensorflow": ("tensorflow", "tensorflow-cpu")}


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what the platform module knows elsewhere."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
