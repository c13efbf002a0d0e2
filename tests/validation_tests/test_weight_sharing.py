"""X-CUBE-AI weight sharing applied to Keras models: exactly the layers memsim counts as compressed."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from memsim.frontends.keras import keras_from_spec  # noqa: E402
from validation.weight_sharing import share_weights  # noqa: E402

SPEC = {"name": "net", "layers": [
    {"type": "Input", "shape": [16, 4, 1]},
    {"type": "Conv2D", "name": "conv", "filters": 8, "kernel_size": 2, "activation": "relu"},
    {"type": "Flatten", "name": "flat"},
    {"type": "Dense", "name": "hidden", "units": 64, "activation": "relu"},   # 15*3*8*64 = 23,040 weights
    {"type": "Dense", "name": "small", "units": 8, "activation": "relu"},     # 512 weights: x8 only
    {"type": "Dense", "name": "out", "units": 3, "activation": "softmax"},    # output dense: never compressed
]}


@pytest.mark.parametrize("compression, centroids, changed", [
    ("x8", 16, {"hidden", "small"}), ("x4", 256, {"hidden"}), ("none", None, set())])
def test_shared_layers_hold_at_most_the_dictionary_size_and_nothing_else_changes(compression, centroids, changed):
    model = keras_from_spec(SPEC)
    shared, names = share_weights(model, compression)
    assert set(names) == changed
    for layer in model.layers:
        before = layer.get_weights()
        after = shared.get_layer(layer.name).get_weights()
        if not before:
            continue
        if layer.name in changed:
            assert len(np.unique(after[0])) <= centroids < len(np.unique(before[0]))
            np.testing.assert_array_equal(after[1], before[1])           # biases stay float
            assert np.abs(after[0] - before[0]).max() < np.abs(before[0]).max()  # values move to nearby centres
        else:
            for a, b in zip(after, before):
                np.testing.assert_array_equal(a, b)
