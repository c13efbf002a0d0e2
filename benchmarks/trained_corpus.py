"""memsim vs tflite-micro on networks users actually bring: trained weights, and .tflite files in an older layout.

1. ``validation.corpus.TRAINED_CORPUS`` trained a few epochs (biases and BatchNorm statistics as training leaves
   them), each as float32 and int8, predicted from its Keras model as the search predicts it.
2. Dense networks converted with per-tensor int8 dense weights, the layout TF 2.3-2.8 converters wrote, read
   back from the .tflite file as `autotinyml footprint` reads a user's file.

Each set goes through the comparison `autotinyml validate` runs (validation.comparison), so the table is what
users would see.

Run: python benchmarks/trained_corpus.py [--out DIR]   (about a minute; the files stay in DIR)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from validation import comparison  # noqa: E402

PER_TENSOR_WIDTHS = {"ae_per_tensor": (128, 128, 8, 128, 128), "small_ae_per_tensor": (64, 16, 64),
                     "mlp_per_tensor": (32,)}


def trained_files(folder: Path) -> list[str]:
    from validation.corpus import TRAINED_CORPUS, build_trained_model

    paths = []
    for spec in TRAINED_CORPUS:
        path = folder / f"{spec['name']}.keras"
        if not path.exists():
            build_trained_model(spec).save(path)
        paths.append(str(path))
    return paths


def per_tensor_files(folder: Path) -> list[str]:
    import numpy as np
    import tensorflow as tf

    from memsim.frontends.keras import quiet_keras

    keras = quiet_keras()
    paths = []
    for name, widths in PER_TENSOR_WIDTHS.items():
        path = folder / f"{name}.tflite"
        if not path.exists():
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((160,)), *(keras.layers.Dense(w, activation="relu") for w in widths),
                                      keras.layers.Dense(160)])
            X = np.random.default_rng(0).normal(size=(200, 160)).astype("float32")
            model.compile("adam", "mse")
            model.fit(X, X, epochs=2, verbose=0)
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([x[None]] for x in X[:50])
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = converter.inference_output_type = tf.int8
            converter._experimental_disable_per_channel_quantization_for_dense_layers = True
            with contextlib.redirect_stdout(io.StringIO()):  # the converter prints its SavedModel's signature
                path.write_bytes(converter.convert())
        paths.append(str(path))
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for the model files (default: a temporary one)")
    args = parser.parse_args()
    folder = Path(args.out or tempfile.mkdtemp(prefix="autotinyml-trained-"))
    folder.mkdir(parents=True, exist_ok=True)
    print("## Trained networks, predicted from their Keras models\n", flush=True)
    print(comparison.text(*comparison.collect(models=trained_files(folder)), "TFLite Micro, measured live"))
    print("\n## Per-tensor int8 dense files (the TF 2.3-2.8 layout), read from the .tflite\n", flush=True)
    print(comparison.text(*comparison.collect(models=per_tensor_files(folder)), "TFLite Micro, measured live"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
