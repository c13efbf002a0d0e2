"""Keras Tuner, deployability-aware: a random search that never trains a model too large for the board.

Run it with:  python examples/keras_tuner_search.py   (needs: pip install "autotinyml[search,tuner]")
"""

import tempfile

import keras
import keras_tuner

from cbo.tinyml import DeployableTuner, load_dataset


def build(hp):
    model = keras.Sequential([
        keras.Input((100, 6)),  # BasicMotions: 100 steps of 6 sensor channels
        keras.layers.Conv1D(hp.Choice("filters", [8, 16, 64, 256]), hp.Choice("kernel", [3, 5]), activation="relu"),
        keras.layers.MaxPooling1D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(hp.Choice("units", [16, 64, 512]), activation="relu"),
        keras.layers.Dense(4, activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(hp.Float("learning_rate", 1e-3, 1e-2, sampling="log")),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(max_trials: int = 5, epochs: int = 10):
    data = load_dataset("har-basicmotions")
    tuner = DeployableTuner(
        keras_tuner.RandomSearch(build, objective="val_accuracy", max_trials=max_trials, seed=0,
                                 directory=tempfile.mkdtemp(), project_name="basicmotions"),
        target="stm32f303k8", runtime="tflm")  # as `autotinyml search --target stm32f303k8`: TFLM, int8
    tuner.search(data.X, data.y, epochs=epochs, validation_split=0.25, verbose=0)
    print(f"{len(tuner.rejected)} proposals set aside without training, e.g.:")
    for values, violations in tuner.rejected[:3]:
        print(f"  {values}: {violations[0]}")
    best = tuner.get_best_hyperparameters(1)[0].values
    print(f"best: {best}, {tuner.footprint(best).ram_bytes:,} B RAM under TFLM int8")
    return tuner


if __name__ == "__main__":
    main()
