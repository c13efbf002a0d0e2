"""X-CUBE-AI's weight sharing, applied to a Keras model so its effect on accuracy can be measured.

X-CUBE-AI compresses a dense layer by k-means on its weights: x4 keeps a 256-entry float dictionary (8-bit
indices), x8 a 16-entry one (4-bit indices); biases stay float (``../shared/reference/xcubeai.md``). Which
layers it compresses is memsim's rule (``memsim.metrics.compressed_layers``), so the layers whose Flash memsim
counts as compressed are exactly the ones changed here. The X-CROSS of a compressed model is then Keras against
the real tflite-micro interpreter running the weight-shared network: what ST's validate compares, with ST's C
kernels replaced by TFLM's (an emulation, named as such in reports).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CENTROIDS", "share_weights", "shared_layer_names"]

CENTROIDS = {"x4": 256, "x8": 16}


def shared_layer_names(model, compression: str) -> list[str]:
    """Names of the Keras layers X-CUBE-AI would compress at this factor (memsim's rule)."""
    from memsim.frontends.keras import graph_from_keras
    from memsim.metrics import compressed_layers, normalise_compression

    compression = normalise_compression(compression)
    graph = graph_from_keras(model)
    return [graph.layers[i].name for i in sorted(compressed_layers(graph, compression))]


def _kmeans_1d(values: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Each value replaced by its cluster's centre (scikit-learn k-means, quantile start: deterministic)."""
    from sklearn.cluster import KMeans

    flat = values.reshape(-1, 1).astype(np.float64)
    k = min(k, len(np.unique(flat)))
    start = np.quantile(flat, (np.arange(k) + 0.5) / k).reshape(-1, 1)
    km = KMeans(n_clusters=k, init=start, n_init=1, max_iter=50, random_state=seed).fit(flat)
    return km.cluster_centers_[km.labels_].reshape(values.shape).astype(values.dtype)


def share_weights(model, compression: str, seed: int = 0):
    """A copy of ``model`` whose compressible dense kernels are replaced by their k-means dictionary values.

    Returns (model copy, names of the layers changed). ``compression`` "none" returns the model unchanged.
    """
    from memsim.metrics import normalise_compression
    from validation.tflm import load_keras

    compression = normalise_compression(compression)
    names = shared_layer_names(model, compression) if compression != "none" else []
    if not names:
        return model, []
    keras = load_keras()
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for name in names:
        layer = copy.get_layer(name)
        kernel, *rest = layer.get_weights()
        layer.set_weights([_kmeans_1d(kernel, CENTROIDS[compression], seed), *rest])
    return copy, names
