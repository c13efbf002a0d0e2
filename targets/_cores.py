"""Processor cores as the time model tells them apart: one name per instruction set and pipeline class.

A board names its core as its datasheet does ("Cortex-M4F", "32-bit Arm Cortex-M33 (DSP + FPU)"); what decides
how many cycles a kernel takes is the class: whether the core has the DSP extension's SIMD multiply-accumulate
(M4, M7, M33), a dual-issue pipeline (M7), the Helium vector extension (M55, M85), or none of them (M0+).
"""

from __future__ import annotations

import re

__all__ = ["CORE_CLASSES", "core_class"]

# class -> what it is, for tables and errors
CORE_CLASSES = {
    "cortex-m0plus": "Arm Cortex-M0+ (Armv6-M: no DSP extension, single-cycle or 32-cycle multiplier)",
    "cortex-m4": "Arm Cortex-M4 (Armv7E-M with the DSP extension)",
    "cortex-m7": "Arm Cortex-M7 (Armv7E-M, dual-issue, caches and TCM)",
    "cortex-m33": "Arm Cortex-M33 (Armv8-M mainline with the DSP extension)",
    "cortex-m55": "Arm Cortex-M55 (Armv8.1-M with Helium)",
    "cortex-m85": "Arm Cortex-M85 (Armv8.1-M with Helium, dual-issue)",
    "xtensa-lx7": "Cadence Xtensa LX7 (ESP32-S3, with ESP-NN's SIMD kernels)",
    "riscv": "a RISC-V core",
}

_ARM = re.compile(r"cortex[\s\-®]*m\s*(0\+|0plus|4|7|33|55|85)", re.I)


def core_class(core: str) -> str:
    """The class of a core named as a datasheet or a board file names it, or ``"unknown"``."""
    m = _ARM.search(core.replace("™", ""))
    if m:
        return "cortex-m" + m.group(1).lower().replace("+", "plus")
    low = core.lower()
    if "xtensa" in low and "lx7" in low:
        return "xtensa-lx7"
    if "risc-v" in low or "riscv" in low or re.search(r"\brv(32|64)", low):
        return "riscv"
    return "unknown"
