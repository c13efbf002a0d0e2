"""MCU boards and budgets that deployability is judged against.

>>> from targets import get_target
>>> get_target("nucleo-f303k8").flash_bytes
65536
"""

from targets._catalogue import (
    DTYPES,
    RUNTIME_FAMILIES,
    MemoryRegion,
    RuntimeOverhead,
    Target,
    custom_target,
    get_target,
    list_targets,
    load_target_file,
)
from targets._cores import CORE_CLASSES, core_class
from targets._errors import AutoTinyMLError, InvalidSizeError, TargetFileError, UnknownTargetError, warn
from targets._sizes import format_size, parse_size

__all__ = [
    "CORE_CLASSES", "core_class",
    "AutoTinyMLError", "InvalidSizeError", "TargetFileError", "UnknownTargetError", "warn",
    "DTYPES", "RUNTIME_FAMILIES", "MemoryRegion", "RuntimeOverhead", "Target",
    "custom_target", "get_target", "list_targets", "load_target_file",
    "format_size", "parse_size",
]
