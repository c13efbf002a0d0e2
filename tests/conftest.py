"""Test-session hooks: toolchain tests skip, saying why, where TensorFlow or tflite-micro is missing; the benchmark
scripts some tests check are importable as they import each other (their folder on the path)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))


def _has_toolchain() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("tensorflow", "tflite_micro"))


def pytest_collection_modifyitems(config, items):
    if _has_toolchain():
        return
    skip = pytest.mark.skip(reason="TensorFlow / tflite-micro not installed (pip install -e '.[test]')")
    for item in items:
        if "toolchain" in item.keywords:
            item.add_marker(skip)
