"""The Keras side of ``shrink``: a gate per output channel of every searched layer (binarised in the forward pass,
straight-through gradient, as in PIT), and the sub-network that keeps the chosen channels with the trained
weights carried over. TensorFlow is imported when these functions run, never at ``import cbo``."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from cbo.dnas._costs import _kind, searchable_layers

__all__ = ["GATE_INIT", "build_supernet", "carry_weights", "gate_class"]

GATE_INIT = 3.0  # every channel starts on with probability sigmoid(3) = 0.95
_CHANNEL_WISE = {"batchnormalization", "activation", "relu", "leakyrelu", "elu", "softmax", "dropout",
                 "maxpooling1d", "maxpooling2d", "averagepooling1d", "averagepooling2d", "maxpool1d", "maxpool2d",
                 "avgpool1d", "avgpool2d", "depthwiseconv2d"}


@lru_cache(maxsize=1)
def gate_class():
    """``ChannelGate``: multiplies its input by a 0/1 mask per channel (theta > 0, and at least the strongest
    channel); the gradient reaches theta through sigmoid(theta) (straight-through estimator)."""
    from memsim.frontends.keras import quiet_keras

    keras = quiet_keras()
    ops = keras.ops

    class ChannelGate(keras.layers.Layer):
        def __init__(self, channels: int, init: float = GATE_INIT, **kwargs):
            super().__init__(**kwargs)
            self.channels, self.init = int(channels), float(init)

        def build(self, input_shape):
            self.theta = self.add_weight(name="theta", shape=(self.channels,),
                                         initializer=keras.initializers.Constant(self.init), trainable=True)

        def mask(self):
            p = ops.sigmoid(self.theta)
            hard = ops.maximum(ops.cast(self.theta > 0, p.dtype), ops.one_hot(ops.argmax(self.theta), self.channels))
            return hard + p - ops.stop_gradient(p)

        def call(self, x):
            return x * self.mask()

        def get_config(self):
            return {**super().get_config(), "channels": self.channels, "init": self.init}

    return ChannelGate


def _gate_positions(layers: list) -> dict[int, int]:
    """{layer index after which a gate sits: searched layer index}: after the last channel-wise layer that follows
    each searched layer, so a closed channel is zero for every later layer (after BN and activation too)."""
    positions = {}
    for s in searchable_layers(layers):
        j = s
        while j + 1 < len(layers) and _kind(layers[j + 1]) in _CHANNEL_WISE:
            j += 1
        positions[j] = s
    return positions


def build_supernet(spec: dict):
    """(gated model, gates in searched-layer order, plain model sharing its weights) for a chain description."""
    from memsim.frontends.keras import keras_from_spec, quiet_keras

    keras = quiet_keras()
    plain = keras_from_spec(spec)
    layers = spec["layers"][1:]
    positions = _gate_positions(layers)
    Gate = gate_class()
    inputs = keras.Input(shape=tuple(spec["layers"][0]["shape"]), name=str(spec["layers"][0]["name"]))
    x, gates = inputs, {}
    for i, item in enumerate(layers):
        x = plain.get_layer(str(item["name"]))(x)
        if i in positions:
            s = positions[i]
            gates[s] = Gate(int(x.shape[-1]), name=f"gate_{item['name']}")
            x = gates[s](x)
    model = keras.Model(inputs, x, name=f"{spec['name']}_gated")
    return model, [gates[s] for s in sorted(gates)], plain


def carry_weights(spec: dict, plain, masks: list, sub) -> None:
    """Copy ``plain``'s weights into ``sub`` (built from the description with the kept channels), slicing every
    layer to the channels that survive: a searched layer's outputs, the channel-wise layers after it, and the
    inputs of the next layer (through Flatten's layout when there is one)."""
    layers = spec["layers"][1:]
    searched = {s: np.flatnonzero(m) for s, m in zip(searchable_layers(layers), masks)}
    cur = None  # kept indices along the current channel axis; None = all
    for i, item in enumerate(layers):
        kind, name = _kind(item), str(item["name"])
        src, dst = plain.get_layer(name), sub.get_layer(name)
        weights = src.get_weights()
        if kind in ("conv1d", "conv2d", "dense"):
            kernel = weights[0] if cur is None else np.take(weights[0], cur, axis=-2)
            keep = searched.get(i)
            if keep is not None:
                kernel = kernel[..., keep]
            new = [kernel] + ([w if keep is None else w[keep] for w in weights[1:]])
            dst.set_weights(new)
            cur = keep
        elif kind == "depthwiseconv2d":
            dst.set_weights([weights[0] if cur is None else weights[0][:, :, cur, :]]
                            + [w if cur is None else w[cur] for w in weights[1:]])
        elif kind == "batchnormalization":
            dst.set_weights([w if cur is None else w[cur] for w in weights])
        elif kind == "flatten":
            if cur is not None:
                shape = tuple(int(d) for d in src.input.shape[1:])
                channels, spatial = shape[-1], int(np.prod(shape[:-1]))
                cur = (np.arange(spatial)[:, None] * channels + cur[None, :]).ravel()
        elif weights:
            dst.set_weights(weights)
