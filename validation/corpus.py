"""The built-in validation corpus: varied networks as layer descriptions.

The first 15 networks calibrated memsim's TFLM constants (memsim/profiles/tflm.py);
the rest were added afterwards and are out of sample. ``autotinyml validate``
builds each with Keras, gives it trained-looking weights and measures it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CORPUS", "CALIBRATION_NAMES", "TRAINED_CORPUS", "build_model", "build_trained_model", "randomise_weights"]


def _seq(name, shape, *layers):
    return {"name": name, "layers": [{"type": "Input", "name": "x", "shape": list(shape)}, *layers]}


def C(t, **kw):  # noqa: N802  (reads like a layer constructor)
    return {"type": t, **kw}


CORPUS = [
    _seq("har_conv1d", (128, 3), C("Conv1D", filters=16, kernel_size=3, activation="relu"), C("MaxPooling1D", pool_size=2),
         C("Flatten"), C("Dense", units=32, activation="relu"), C("Dense", units=6, activation="softmax")),
    _seq("har_paper_small", (90, 3, 1), C("Conv2D", filters=16, kernel_size=2, activation="relu"), C("MaxPooling2D", pool_size=2),
         C("Dropout", rate=0.2), C("Flatten"), C("Dense", units=32, activation="tanh"), C("Dense", units=6, activation="softmax")),
    _seq("har_paper_sigmoid", (90, 3, 1), C("Conv2D", filters=32, kernel_size=1, activation="sigmoid"),
         C("MaxPooling2D", pool_size=1), C("Dropout", rate=0.1), C("Flatten"), C("Dense", units=16, activation="relu"),
         C("Dense", units=6, activation="softmax")),
    _seq("mlp", (64,), C("Dense", units=128, activation="relu"), C("Dense", units=64, activation="relu"),
         C("Dense", units=10, activation="softmax")),
    _seq("cnn2d", (28, 28, 1), C("Conv2D", filters=8, kernel_size=3, activation="relu"), C("MaxPooling2D", pool_size=2),
         C("Conv2D", filters=16, kernel_size=3, activation="relu"), C("MaxPooling2D", pool_size=2), C("Flatten"),
         C("Dense", units=10, activation="softmax")),
    _seq("cnn2d_bn", (32, 32, 3), C("Conv2D", filters=16, kernel_size=3, padding="same"), C("BatchNormalization"),
         C("Activation", activation="relu"), C("Conv2D", filters=16, kernel_size=3, strides=2, activation="relu"),
         C("GlobalAveragePooling2D"), C("Dense", units=4, activation="softmax")),
    _seq("dscnn2d", (49, 10, 1), C("Conv2D", filters=32, kernel_size=(5, 3), strides=2, padding="same", activation="relu"),
         C("DepthwiseConv2D", kernel_size=3, padding="same", activation="relu"), C("Conv2D", filters=32, kernel_size=1, activation="relu"),
         C("SeparableConv2D", filters=32, kernel_size=3, padding="same", activation="relu"),
         C("AveragePooling2D", pool_size=2), C("Flatten"), C("Dense", units=12, activation="softmax")),
    _seq("conv1d_gap", (128, 6), C("Conv1D", filters=24, kernel_size=5, activation="relu"), C("Conv1D", filters=24, kernel_size=3, strides=2, activation="relu"),
         C("AveragePooling1D", pool_size=2), C("GlobalAveragePooling1D"), C("Dense", units=5, activation="softmax")),
    _seq("conv_pad_gmp", (24, 24, 2), C("ZeroPadding2D", padding=1), C("Conv2D", filters=12, kernel_size=3, activation="relu6"),
         C("MaxPooling2D", pool_size=3, strides=2, padding="same"), C("GlobalMaxPooling2D"), C("Dense", units=3)),
    _seq("wide_dense", (300,), C("Dense", units=256, activation="relu"), C("Dropout", rate=0.3), C("Dense", units=8, activation="softmax")),
    _seq("leaky_elu", (50, 4), C("Conv1D", filters=8, kernel_size=4, activation="elu"), C("Flatten"),
         C("Dense", units=20), C("LeakyReLU", negative_slope=0.1), C("Dense", units=3, activation="softmax")),
    {"name": "residual", "layers": [
        {"type": "Input", "name": "x", "shape": [16, 16, 8]},
        C("Conv2D", name="c1", filters=8, kernel_size=3, padding="same", activation="relu"),
        C("Conv2D", name="c2", filters=8, kernel_size=3, padding="same"),
        C("Add", name="add", inputs=["c2", "x"]),
        C("Activation", name="act", activation="relu"),
        C("Concatenate", name="cat", inputs=["act", "c1"]),
        C("GlobalAveragePooling2D", name="gap"),
        C("Dense", name="out", units=4, activation="softmax"),
    ]},
    _seq("bn_after_act", (40, 3), C("Conv1D", filters=12, kernel_size=3, activation="relu"), C("BatchNormalization"),
         C("MaxPooling1D", pool_size=2), C("Flatten"), C("Dense", units=4, activation="softmax")),
    _seq("har_selu", (90, 3, 1), C("Conv2D", filters=8, kernel_size=2, activation="selu"), C("MaxPooling2D", pool_size=2),
         C("Flatten"), C("Dense", units=32, activation="selu"), C("Dense", units=6, activation="softmax")),
    _seq("reshape_net", (96,), C("Reshape", target_shape=(32, 3)), C("Conv1D", filters=8, kernel_size=3, activation="relu"),
         C("Flatten"), C("Dense", units=4, activation="softmax")),
    # --- added after the calibration: out of sample ---
    _seq("dense_stack", (32,), C("Dense", units=64, activation="relu"), C("Dense", units=64, activation="relu"),
         C("Dense", units=32, activation="relu"), C("Dense", units=16, activation="relu"),
         C("Dense", units=4, activation="softmax")),
    _seq("conv1d_stack", (64, 9), C("Conv1D", filters=16, kernel_size=5, activation="relu"), C("MaxPooling1D", pool_size=2),
         C("Conv1D", filters=32, kernel_size=3, activation="relu"), C("MaxPooling1D", pool_size=2), C("Flatten"),
         C("Dense", units=6, activation="softmax")),
    _seq("cnn2d_strided", (32, 32, 1), C("Conv2D", filters=8, kernel_size=3, strides=2, padding="same", activation="relu"),
         C("Conv2D", filters=16, kernel_size=3, strides=2, padding="same", activation="relu"),
         C("AveragePooling2D", pool_size=2), C("Flatten"), C("Dense", units=10, activation="softmax")),
    _seq("depthwise_bn", (24, 24, 4), C("DepthwiseConv2D", kernel_size=3, padding="same"), C("BatchNormalization"),
         C("Activation", activation="relu"), C("Conv2D", filters=16, kernel_size=1, activation="relu"),
         C("GlobalMaxPooling2D"), C("Dense", units=5, activation="softmax")),
    _seq("kws_dscnn_bn", (49, 10, 1), C("Conv2D", filters=24, kernel_size=(10, 4), strides=2, padding="same"),
         C("BatchNormalization"), C("Activation", activation="relu"),
         C("DepthwiseConv2D", kernel_size=3, padding="same"), C("BatchNormalization"), C("Activation", activation="relu"),
         C("Conv2D", filters=24, kernel_size=1), C("BatchNormalization"), C("Activation", activation="relu"),
         C("GlobalAveragePooling2D"), C("Dense", units=12, activation="softmax")),
    _seq("mnist_tiny", (28, 28, 1), C("Conv2D", filters=4, kernel_size=5, strides=2, activation="relu"), C("Flatten"),
         C("Dense", units=10, activation="softmax")),
    _seq("sigmoid_mlp", (20,), C("Dense", units=16, activation="sigmoid"), C("Dense", units=8, activation="tanh"),
         C("Dense", units=2, activation="softmax")),
    {"name": "residual_1d", "layers": [
        {"type": "Input", "name": "x", "shape": [100, 6]},
        C("Conv1D", name="c1", filters=6, kernel_size=5, padding="same", activation="relu"),
        C("Conv1D", name="c2", filters=6, kernel_size=3, padding="same"),
        C("Add", name="add", inputs=["c2", "x"]),
        C("Activation", name="act", activation="relu"),
        C("MaxPooling1D", name="pool", pool_size=4),
        C("Flatten", name="flat"),
        C("Dense", name="out", units=3, activation="softmax"),
    ]},
]

CALIBRATION_NAMES = tuple(spec["name"] for spec in CORPUS[:15])

# Networks measured with *trained* weights (a few epochs, see build_trained_model): the classes the P0 issue's
# holdouts found under-predicted (BatchNorm after a Conv1D, deep Conv1D stacks, selu/sigmoid heads). Training
# gives BatchNorm statistics and biases the converter folds differently from freshly initialised ones. The
# flatbuffer rule they exposed (a bias-free Conv1D's folded BatchNorm) was measured on bn_conv1d_nobias, so that
# row is in-sample for it; the others are out of sample.
TRAINED_CORPUS = [
    _seq("bn_conv1d_nobias", (64, 6), C("Conv1D", filters=16, kernel_size=3, use_bias=False), C("BatchNormalization"),
         C("Activation", activation="relu"), C("MaxPooling1D", pool_size=2), C("Flatten"),
         C("Dense", units=4, activation="softmax")),
    _seq("bn_conv1d_stack", (64, 6), *[x for _ in range(4) for x in (
         C("Conv1D", filters=16, kernel_size=3, padding="same", use_bias=False), C("BatchNormalization"),
         C("Activation", activation="relu"))], C("GlobalAveragePooling1D"), C("Dense", units=4, activation="softmax")),
    _seq("bn_conv1d_bias", (64, 6), C("Conv1D", filters=16, kernel_size=3), C("BatchNormalization"),
         C("Activation", activation="relu"), C("Conv1D", filters=16, kernel_size=3), C("BatchNormalization"),
         C("GlobalAveragePooling1D"), C("Dense", units=4, activation="softmax")),
    _seq("deep_conv1d", (64, 6), *[C("Conv1D", filters=12, kernel_size=3, padding="same", activation="relu")
                                   for _ in range(8)], C("Flatten"), C("Dense", units=4, activation="softmax")),
    _seq("conv1d_selu_head", (64, 6), C("Conv1D", filters=8, kernel_size=5, activation="relu"),
         C("MaxPooling1D", pool_size=2), C("Flatten"), C("Dense", units=32, activation="selu"),
         C("Dense", units=4, activation="softmax")),
    _seq("conv1d_sigmoid_head", (64, 6), C("Conv1D", filters=8, kernel_size=5, activation="relu"),
         C("BatchNormalization"), C("Conv1D", filters=8, kernel_size=3, activation="sigmoid"), C("Flatten"),
         C("Dense", units=16, activation="sigmoid"), C("Dense", units=4, activation="sigmoid")),
    _seq("conv2d_bn_nobias", (32, 32, 3), C("Conv2D", filters=8, kernel_size=3, use_bias=False),
         C("BatchNormalization"), C("Activation", activation="relu"), C("MaxPooling2D", pool_size=2),
         C("Conv2D", filters=16, kernel_size=3, use_bias=False), C("BatchNormalization"),
         C("Activation", activation="relu"), C("GlobalAveragePooling2D"), C("Dense", units=4, activation="softmax")),
    _seq("dense_bn_sigmoid", (40,), C("Dense", units=32, use_bias=False), C("BatchNormalization"),
         C("Activation", activation="relu"), C("Dense", units=16, activation="tanh"),
         C("Dense", units=1, activation="sigmoid")),
]
"""Networks the TFLM profile's constants were fitted on (in-sample)."""


def randomise_weights(model, seed: int = 0) -> None:
    """Give every weight a non-zero value, as after training.

    The converter folds away zero biases, which trained models never have, so
    freshly initialised weights would misstate the flatbuffer.
    """
    rng = np.random.default_rng(seed)
    for w in model.weights:
        low, high = (0.5, 1.5) if "variance" in w.path else (-0.5, 0.5)
        w.assign(rng.uniform(low, high, w.shape).astype("float32"))


def build_trained_model(spec: dict, seed: int = 0, samples: int = 300, epochs: int = 3):
    """The Keras model of a corpus entry trained for a few epochs on random data: biases and BatchNorm
    statistics as training leaves them (not uniform draws), which is what the converter folds in users' files."""
    from memsim.frontends.keras import keras_from_spec, quiet_keras

    keras = quiet_keras()
    keras.utils.set_random_seed(seed)
    model = keras_from_spec(spec)
    rng = np.random.default_rng(seed)
    shape = tuple(spec["layers"][0]["shape"])
    n_out = int(model.outputs[0].shape[-1])
    X = rng.normal(size=(samples, *shape)).astype("float32")
    y = rng.integers(0, max(n_out, 2), samples)
    loss = "binary_crossentropy" if n_out == 1 else "sparse_categorical_crossentropy"
    model.compile(optimizer="adam", loss=loss)
    model.fit(X, (y % 2).astype("float32") if n_out == 1 else y, epochs=epochs, batch_size=32, verbose=0)
    return model


def build_model(spec: dict, seed: int = 0):
    """The Keras model of a corpus entry with trained-looking weights."""
    from memsim.frontends.keras import keras_from_spec

    model = keras_from_spec(spec)
    randomise_weights(model, seed)
    return model
