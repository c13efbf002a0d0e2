"""The built-in paper-har template written as a Python search space (the same networks, the same names).

Search it with:  autotinyml search --space examples/paper_har.py
"""

import keras

TINY = [8, 16, 32, 64, 128, 256]
ACTIVATIONS = ["relu", "sigmoid", "selu", "tanh"]


def build(hp, input_shape, n_classes):
    """Conv2D -> MaxPool -> Dropout -> Flatten -> Dense -> Dense out (the papers' experiment 1)."""
    inputs = keras.Input(shape=(*input_shape, 1)[:3], name="input")  # (T, C) sensor windows as (T, C, 1)
    x = keras.layers.Conv2D(hp.Choice("filters", TINY, default=128), hp.Choice("kernel", [1, 2], default=2),
                            activation=hp.Choice("conv_activation", ACTIVATIONS), name="conv2d")(inputs)
    x = keras.layers.MaxPooling2D(hp.Choice("pool", [1, 2], default=2), name="max_pooling2d")(x)
    x = keras.layers.Dropout(hp.Choice("dropout", [0.1, 0.2, 0.3], default=0.2), name="dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(hp.Choice("units", TINY, default=128), activation=hp.Choice("dense_activation", ACTIVATIONS),
                           name="dense")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="output")(x)
    hp.Choice("optimizer", ["adam", "sgd", "rmsprop", "adadelta", "adamax"])
    return keras.Model(inputs, outputs, name="paper_har")
