"""The Keras side of ``shrink``: a gate per output channel of every searched group (binarised in the forward pass,
straight-through gradient, as in PIT), and the sub-network that keeps the chosen channels with the trained
weights carried over. TensorFlow is imported when these functions run, never at ``import cbo``."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from cbo.dnas._costs import PASS_THROUGH, _inputs, _kind, kernel_at

__all__ = ["GATE_INIT", "block_gate_class", "build_supernet", "carry_weights", "gate_class", "kernel_gate_class",
           "mixed_activation_class"]

GATE_INIT = 3.0  # every channel starts on (probability sigmoid(3) = 0.95) until the warm-up ranks them


def _straight_through(ops, theta, hard=None):
    """The gates' 0/1 values (``hard``, by default theta > 0) in the forward pass, with the gradient of
    sigmoid(theta) in the backward pass."""
    p = ops.sigmoid(theta)
    return (ops.cast(theta > 0, p.dtype) if hard is None else hard) + p - ops.stop_gradient(p)


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

        def mask(self):  # at least the strongest channel stays
            hard = ops.maximum(ops.cast(self.theta > 0, self.theta.dtype),
                               ops.one_hot(ops.argmax(self.theta), self.channels))
            return _straight_through(ops, self.theta, hard)

        def call(self, x):
            return x * self.mask()

        def get_config(self):
            return {**super().get_config(), "channels": self.channels, "init": self.init}

    return ChannelGate


@lru_cache(maxsize=1)
def block_gate_class():
    """``BlockGate``: ``[x_in, x_out] -> m * x_out + (1 - m) * x_in`` with m = 1 (theta > 0) or 0, the gradient
    through sigmoid(theta) as the channel gates': a block the identity can replace (layer skipping, as in PIT)."""
    from memsim.frontends.keras import quiet_keras

    keras = quiet_keras()
    ops = keras.ops

    class BlockGate(keras.layers.Layer):
        channels = 1  # one gate value, as a one-channel group's

        def __init__(self, init: float = GATE_INIT, **kwargs):
            super().__init__(**kwargs)
            self.init = float(init)

        def build(self, input_shape):
            self.theta = self.add_weight(name="theta", shape=(1,), trainable=True,
                                         initializer=keras.initializers.Constant(self.init))

        def mask(self):
            return _straight_through(ops, self.theta)

        def call(self, inputs):
            x_in, x_out = inputs
            m = self.mask()[0]
            return m * x_out + (1.0 - m) * x_in

        def get_config(self):
            return {**super().get_config(), "init": self.init}

    return BlockGate


@lru_cache(maxsize=1)
def kernel_gate_class():
    """``KernelGate``: runs a convolution of the plain network with its kernel's taps masked ring by ring around
    the centre (ring r kept with every ring inside it; 0/1 forward, gradient through sigmoid(theta) as the channel
    gates'): a kernel that narrows from the outside in, as PIT searches receptive fields."""
    from memsim.frontends.keras import quiet_keras

    keras = quiet_keras()
    ops = keras.ops

    class KernelGate(keras.layers.Layer):
        def __init__(self, conv, rings: int, init: float = GATE_INIT, **kwargs):
            super().__init__(**kwargs)
            self.conv, self.rings, self.init = conv, int(rings), float(init)
            self.channels = self.rings  # one gate value per ring
            spatial = tuple(int(k) for k in conv.kernel.shape[:-2])
            distance = [np.abs(np.arange(k) - (k - 1) / 2).astype(int) for k in spatial]
            ring_of_tap = distance[0] if len(distance) == 1 else np.maximum.outer(distance[0], distance[1])
            self.ring_of_tap = ring_of_tap  # 0: the centre, always kept

        def build(self, input_shape):
            self.theta = self.add_weight(name="theta", shape=(self.rings,), trainable=True,
                                         initializer=keras.initializers.Constant(self.init))

        def mask(self):
            return _straight_through(ops, self.theta)

        def call(self, x):
            kept = ops.concatenate([ops.ones((1,)), ops.cumprod(self.mask())])  # nested rings
            shape = self.ring_of_tap.shape
            taps = ops.reshape(ops.take(kept, self.ring_of_tap.reshape(-1)), shape + (1, 1))
            conv = self.conv
            kernel = conv.kernel * taps
            if isinstance(conv, keras.layers.DepthwiseConv2D):
                y = ops.depthwise_conv(x, kernel, strides=conv.strides, padding="same",
                                       dilation_rate=conv.dilation_rate)
            else:
                y = ops.conv(x, kernel, strides=conv.strides, padding="same", dilation_rate=conv.dilation_rate)
            if conv.use_bias:
                y = y + conv.bias
            return conv.activation(y)

    return KernelGate


@lru_cache(maxsize=1)
def mixed_activation_class():
    """``MixedActivation``: the softmax(alpha)-weighted sum of ACTIVATION_CHOICES applied to its input (a choice
    among alternative layers, as in DARTS and PLiNIO's supernets); alpha trains with the weights, and the choice
    is its largest entry."""
    from cbo.dnas._costs import ACTIVATION_CHOICES
    from memsim.frontends.keras import quiet_keras

    keras = quiet_keras()
    ops = keras.ops
    functions = {"relu": ops.relu, "tanh": ops.tanh, "sigmoid": ops.sigmoid}

    class MixedActivation(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.choices = ACTIVATION_CHOICES

        def build(self, input_shape):
            self.alpha = self.add_weight(name="alpha", shape=(len(self.choices),), initializer="zeros",
                                         trainable=True)

        def call(self, x):
            w = ops.softmax(self.alpha)
            return sum(w[i] * functions[name](x) for i, name in enumerate(self.choices))

        def chosen(self) -> str:
            return self.choices[int(np.argmax(self.alpha.numpy()))]

    return MixedActivation


def build_supernet(costs, activation_slots=()):
    """(gated model, gates in ``costs.searchable`` order then one per ``costs.blocks`` and one per
    ``costs.kernels``, plain model sharing its weights, mixed activations by layer name).

    Every layer whose output belongs to a searched group is followed by that group's gate (one layer, shared):
    a closed channel is zero wherever it flows — after BatchNorm, activations and residual Adds too (a 0/1 mask
    applied twice is the same mask). A layer named in ``activation_slots`` runs linear in ``plain`` and is
    followed by a MixedActivation (before its gate, so a closed channel stays zero whatever the choice)."""
    from memsim.frontends.keras import keras_from_spec, quiet_keras

    keras = quiet_keras()
    spec = costs.spec
    slots = set(activation_slots)
    plain = keras_from_spec(costs.with_activations({name: "linear" for name in slots}).spec if slots else spec)
    Mixed = mixed_activation_class()
    mixed = {}
    layers = spec["layers"]
    Gate = gate_class()
    gates = {}
    BlockGate = block_gate_class()
    block_gates = {}
    ends = {b[-1]: b for b in costs.blocks}
    KernelGate = kernel_gate_class()
    kernel_gates = {name: KernelGate(plain.get_layer(name), rings, name=f"kernel_{name}")
                    for name, rings in costs.kernels}
    first = layers[0]
    inputs = keras.Input(shape=tuple(first["shape"]), name=str(first["name"]))
    tensors = {str(first["name"]): inputs}
    for i in range(1, len(layers)):
        name = str(layers[i]["name"])
        ins = [tensors[n] for n in _inputs(layers, i)]
        x = (kernel_gates.get(name) or plain.get_layer(name))(ins if len(ins) > 1 else ins[0])
        if name in slots:
            mixed[name] = Mixed(name=f"choice_{name}")
            x = mixed[name](x)
        g = costs.groups[name]
        if g in costs.searchable and _kind(layers[i]) not in PASS_THROUGH:  # those reshape; their reader is gated
            if g not in gates:
                gates[g] = Gate(int(x.shape[-1]), name=f"gate_{g}")
            x = gates[g](x)
        if name in ends:  # the block's output, or its input where the block is skipped
            block = ends[name]
            block_gates[block] = BlockGate(name=f"skip_{block[0]}")
            x = block_gates[block]([tensors[costs.block_input(block)], x])
        tensors[name] = x
    outputs = [tensors[str(item["name"])] for item in layers if item.get("output")] or [tensors[str(layers[-1]["name"])]]
    model = keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0], name=f"{spec['name']}_gated")
    return (model, [gates[g] for g in costs.searchable] + [block_gates[b] for b in costs.blocks]
            + [kernel_gates[name] for name, _ in costs.kernels], plain, mixed)


def carry_weights(costs, plain, masks: list, sub) -> None:
    """Copy ``plain``'s weights into ``sub`` (built from ``costs.spec_at`` of the kept counts), slicing every layer
    to the channels that survive: a searched group's outputs wherever they flow, and the inputs of the layers that
    read them (through Flatten's layout when there is one)."""
    layers = costs.spec["layers"]
    keep_of_group = {g: np.flatnonzero(m) for g, m in zip(costs.searchable, masks)}
    setting = [int(m.sum()) for m in masks]
    skipped = set(costs.skipped(setting))
    narrowed = costs.kernel_rings(setting)
    kept = {str(layers[0]["name"]): None}  # per tensor: kept indices along its last axis; None = all
    for i in range(1, len(layers)):
        item = layers[i]
        kind, name = _kind(item), str(item["name"])
        cur = kept[_inputs(layers, i)[0]]
        if name in skipped:  # the identity: its input's channels flow on
            kept[name] = cur
            continue
        own = keep_of_group.get(costs.groups[name])
        src, dst = plain.get_layer(name), sub.get_layer(name)
        weights = src.get_weights()
        if name in narrowed:  # the kept taps: the centre of the kernel
            size = kernel_at(item, narrowed[name])
            weights[0] = weights[0][tuple(slice((k - s) // 2, (k - s) // 2 + s)
                                          for k, s in zip(weights[0].shape, size))]
        if kind in ("conv1d", "conv2d", "dense"):
            kernel = weights[0] if cur is None else np.take(weights[0], cur, axis=-2)
            kernel = kernel if own is None else kernel[..., own]
            dst.set_weights([kernel] + [w if own is None else w[own] for w in weights[1:]])
        elif kind == "separableconv2d":  # depthwise kernel (kh, kw, C, 1), pointwise (1, 1, C, F), bias (F,)
            dw = weights[0] if cur is None else weights[0][:, :, cur, :]
            pw = weights[1] if cur is None else weights[1][:, :, cur, :]
            pw = pw if own is None else pw[..., own]
            dst.set_weights([dw, pw] + [w if own is None else w[own] for w in weights[2:]])
        elif kind == "depthwiseconv2d":
            dst.set_weights([weights[0] if cur is None else weights[0][:, :, cur, :]]
                            + [w if cur is None else w[cur] for w in weights[1:]])
        elif kind == "batchnormalization":
            dst.set_weights([w if cur is None else w[cur] for w in weights])
        elif kind == "flatten" and cur is not None:
            shape = tuple(int(d) for d in src.input.shape[1:])
            channels, spatial = shape[-1], int(np.prod(shape[:-1]))
            own = (np.arange(spatial)[:, None] * channels + cur[None, :]).ravel()
        elif weights:
            dst.set_weights(weights)
        if kind in ("flatten",):
            kept[name] = own if cur is not None else None
        elif kind in ("conv1d", "conv2d", "dense", "separableconv2d"):
            kept[name] = own
        else:
            kept[name] = cur
