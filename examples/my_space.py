"""A 1-D convolutional network for sensor series: one or two conv blocks, an optional dense layer.

Search it with:  autotinyml search --space examples/my_space.py --dataset har-basicmotions
"""

import keras


def build(hp, input_shape, n_classes):
    """1-D CNN: Conv1D blocks -> global average pooling -> [Dense] -> Dense out."""
    x = inputs = keras.Input(shape=input_shape)
    filters = hp.Choice("filters", [8, 16, 32])
    for block in range(hp.Int("blocks", 1, 2)):
        x = keras.layers.Conv1D(filters * (block + 1), hp.Choice("kernel", [3, 5, 7]), padding="same",
                                activation=hp.Choice("activation", ["relu", "tanh"]))(x)
        x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    if hp.Boolean("dense"):
        with hp.conditional_scope("dense", [True]):
            x = keras.layers.Dense(hp.Choice("units", [16, 32, 64]), activation="relu")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(x)
    hp.Float("learning_rate", 1e-3, 1e-2, sampling="log")
    return keras.Model(inputs, outputs)
