"""Trainings use TensorFlow's pooling (BFC) CPU allocator, which changes their speed and nothing else.

Each case runs in a fresh process: TensorFlow picks its CPU allocator once, when it starts.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.toolchain

_TRAIN = """
import json, sys
import tensorflow as tf
from cbo.tinyml.datasets import Dataset, load_dataset
from cbo.tinyml.objective import KFoldObjective
from cbo.tinyml.templates import get_template
from memsim.frontends.keras import quiet_keras

quiet_keras()
full = load_dataset("digits")
ds = Dataset(full.name, full.X[:240], full.y[:240], full.classes)
config = {"filters": 16, "conv_activation": "relu", "kernel": 2, "pool": 2, "dropout": 0.1, "units": 32,
          "dense_activation": "tanh", "optimizer": "adam"}
result = KFoldObjective(get_template("paper-har"), ds, k=2, epochs=2)(config)
try:
    tf.config.experimental.get_memory_info("CPU:0")  # only a pooling allocator keeps these statistics
    pooled = True
except ValueError:
    pooled = False
print(json.dumps({"fold_scores": result["fold_scores"], "pooled": pooled}))
"""


def _train(allocator_setting: "str | None") -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
    if allocator_setting is not None:
        env["TF_CPU_ALLOCATOR_USE_BFC"] = allocator_setting
    out = subprocess.run([sys.executable, "-c", _TRAIN], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_trainings_pool_memory_and_get_the_same_accuracies_as_without():
    default, user_off = _train(None), _train("false")
    assert default["pooled"] and not user_off["pooled"]  # on by default; a user's own setting wins
    assert default["fold_scores"] == user_off["fold_scores"]
