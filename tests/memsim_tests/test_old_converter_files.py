"""memsim reading .tflite files as older converters wrote them, measured by the real tflite-micro.

TF 2.3-2.8 converters quantised dense layers per tensor (one scale per weight matrix). TFLM keeps per-channel
multipliers only for per-channel weights, so reading every int8 FULLY_CONNECTED as per-channel over-predicted
such files' arena up to 3.1x (the P0 issue's FC autoencoder: 23,040 B predicted, 7,392 B allocates). Today's
converter writes the same layout when per-channel dense quantisation is switched off.
"""

import numpy as np
import pytest
from toolchain import measure

import memsim
from memsim.frontends.keras import quiet_keras

pytestmark = pytest.mark.toolchain


def _per_tensor_int8(model, samples) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[None]] for x in samples)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True  # the old layout
    return converter.convert()


@pytest.mark.parametrize("widths", [(128, 128, 8, 128, 128), (64, 16, 64), (32,)], ids=["ae", "small-ae", "mlp"])
def test_per_tensor_dense_files_are_read_within_five_percent_of_the_arena(tmp_path, widths):
    keras = quiet_keras()
    keras.utils.set_random_seed(0)
    n_in = 160
    layers = [keras.Input((n_in,))] + [keras.layers.Dense(w, activation="relu") for w in widths] \
        + [keras.layers.Dense(n_in)]
    model = keras.Sequential(layers)
    X = np.random.default_rng(0).normal(size=(200, n_in)).astype("float32")
    model.compile("adam", "mse")
    model.fit(X, X, epochs=2, verbose=0)
    path = tmp_path / "old.tflite"
    path.write_bytes(_per_tensor_int8(model, X[:50]))
    real = measure(path.read_bytes())
    fp = memsim.footprint(str(path), runtime="tflm")
    arena = fp.region_bytes
    assert abs(arena - real["smallest"]) <= 0.05 * real["smallest"], (arena, real["smallest"])
