"""The settings that make trainings faster change nothing else: TensorFlow's pooling (BFC) CPU allocator, and
Keras's input pipeline without tf.data autotuning (cbo.tinyml.training)."""

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cbo.tinyml.training import without_input_autotune

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


# TensorFlow picks its CPU allocator once, when it starts: each case runs in a fresh process. On CPUs with
# AVX512_VNNI, BF16 or AMX TensorFlow turns oneDNN on by default, and oneDNN's own allocator pools whatever
# TF_CPU_ALLOCATOR_USE_BFC says: the setting under test is TensorFlow's own allocator, so oneDNN is off here.
def _train(allocator_setting: "str | None") -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
    env["TF_ENABLE_ONEDNN_OPTS"] = "0"
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


def _tiny_training(X, y, inside_block: bool) -> list:
    from memsim.frontends.keras import quiet_keras

    keras = quiet_keras()
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    context = without_input_autotune() if inside_block else contextlib.nullcontext()
    with context:
        model.fit(X, y, epochs=3, batch_size=16, verbose=0)  # 100 samples: a partial last batch too
    weights = [w.copy() for w in model.get_weights()]
    keras.backend.clear_session()
    return weights


def test_without_input_autotune_keeps_every_weight_of_a_training():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(100, 8)).astype(np.float32), rng.integers(0, 3, 100)
    plain, faster = _tiny_training(X, y, False), _tiny_training(X, y, True)
    assert all(np.array_equal(a, b) for a, b in zip(plain, faster))


def test_without_input_autotune_switches_autotuning_off_for_its_block_only():
    # pins the installed Keras: if its array adapter moves, this fails instead of trainings silently slowing down
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    X, y = np.zeros((10, 2), np.float32), np.zeros(10)
    with without_input_autotune():
        with without_input_autotune():  # nested blocks: one wrapper
            inside = ArrayDataAdapter(X, y, batch_size=4, shuffle=True).get_tf_dataset().options()
    outside = ArrayDataAdapter(X, y, batch_size=4, shuffle=True).get_tf_dataset().options()
    assert inside.autotune.enabled is False
    assert outside.autotune.enabled is not False
