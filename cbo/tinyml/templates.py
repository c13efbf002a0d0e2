"""Templates: one definition gives both the memsim layer description and the Keras model.

A template maps a configuration to a layer description (memsim reads it in
microseconds; ``memsim.frontends.keras.keras_from_spec`` builds the same
network in Keras), so the network that is scored and the one that is trained
cannot disagree. Training hyperparameters (the optimiser) stay in the config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial  # not a lambda: a template is pickled into the training child
from typing import Callable

from cbo._errors import SpaceError
from cbo._space import Categorical, Ordinal, Space

__all__ = ["Template", "TEMPLATES", "OPTIMIZERS", "check_space", "get_template", "space_for_data"]

ACTS = ("relu", "sigmoid", "selu", "tanh")
# Keras optimiser names a configuration may use (keras.optimizers.get accepts these).
OPTIMIZERS = ("adadelta", "adafactor", "adagrad", "adam", "adamax", "adamw", "ftrl", "lion", "nadam", "rmsprop", "sgd")


@dataclass(frozen=True)
class Template:
    """A named search space plus the function that turns a configuration into layers."""

    name: str
    space: Space
    layers: Callable[[dict, int], list]   # (config, n_classes) -> layer descriptions after the Input
    baseline: dict
    description: str = ""
    input_rank: int = 3                    # the Input the template expects: (H, W, C)
    # (T, C) sensor windows become (T, 1, C): convolutions along time, the sensor axes as channels (a 1-D network
    # written in 2-D layers, as the converters and TFLM run Conv1D); otherwise (T, C) becomes (T, C, 1), an image
    sensors_as_channels: bool = False

    def input_shape(self, data_shape: tuple) -> tuple:
        """The template's input shape for one sample of the data ((T, C) becomes (T, C, 1), or (T, 1, C) for a
        template whose sensors are channels)."""
        shape = tuple(int(d) for d in data_shape)
        if self.sensors_as_channels and len(shape) == 2:
            return (shape[0], 1, shape[1])
        while len(shape) < self.input_rank:
            shape = shape + (1,)
        return shape

    # memsim's labels: how many configurations the search's pre-check may spend proving that something fits
    # (a built-in template's configuration costs microseconds; one a Keras build() makes, milliseconds)
    precheck_points = 20_000
    labels_per_proposal = 1024  # candidates a sampler that checks before training may label for one proposal

    def spec(self, config: dict, input_shape: tuple, n_classes: int) -> dict:
        """The layer description memsim scores."""
        # Keras names allow letters, digits and _ only ("paper-har:myspace" is refused)
        return {"name": re.sub(r"[^A-Za-z0-9_]", "_", self.name),
                "layers": [{"type": "Input", "name": "input", "shape": list(input_shape)},
                           *self.layers(config, n_classes)]}

    def keras_model(self, config: dict, input_shape: tuple, n_classes: int, seed: "int | None" = None):
        """The (uncompiled) Keras model that trains: the same network as ``spec``; weights drawn from ``seed``."""
        from memsim.frontends.keras import keras_from_spec, quiet_keras

        keras = quiet_keras()
        if seed is not None:
            keras.utils.set_random_seed(seed)
        return keras_from_spec(self.spec(config, input_shape, n_classes))


def _har_layers(c: dict, n_classes: int) -> list:
    return [
        {"type": "Conv2D", "name": "conv2d", "filters": c["filters"], "kernel_size": c["kernel"],
         "activation": c["conv_activation"]},
        {"type": "MaxPooling2D", "name": "max_pooling2d", "pool_size": c["pool"]},
        {"type": "Dropout", "name": "dropout", "rate": c["dropout"]},
        {"type": "Flatten", "name": "flatten"},
        {"type": "Dense", "name": "dense", "units": c["units"], "activation": c["dense_activation"]},
        {"type": "Dense", "name": "output", "units": n_classes, "activation": "softmax"},
    ]


def _bottle_layers(c: dict, n_classes: int) -> list:
    # Our reading of the slides' "skipped layers": a stack of five conv blocks of which 1-4 are skipped.
    layers = []
    for b in range(5 - c["skipped_layers"]):
        layers += [
            {"type": "Conv2D", "name": f"conv2d_{b}", "filters": c["filters"], "kernel_size": c["kernel"],
             "padding": "same", "activation": c["conv_activation"]},
            {"type": "MaxPooling2D", "name": f"max_pooling2d_{b}", "pool_size": c["pool"], "padding": "same"},
        ]
    return layers + [
        {"type": "Dropout", "name": "dropout", "rate": c["dropout"]},
        {"type": "Flatten", "name": "flatten"},
        {"type": "Dense", "name": "dense", "units": c["units"], "activation": c["dense_activation"]},
        {"type": "Dense", "name": "output", "units": n_classes, "activation": "softmax"},
    ]


# BatchNorm after every convolution, as MLPerf Tiny's DS-CNN and MobileNet (the converters fold it into the
# convolution). Its moving statistics follow at momentum 0.9, not Keras' 0.99: a few hundred steps of 0.99 leave the
# moving variance near its start (1.0) where the batches' is ~0.01, and inference then scales every layer down
# (digits: 100 % in training mode, 10 % in inference after 6 epochs)
def _bn(name: str, **extra) -> dict:
    return {"type": "BatchNormalization", "name": name, "momentum": 0.9, **extra}


def _bn_relu(name: str) -> list:
    return [_bn(f"{name}_bn"), {"type": "ReLU", "name": f"{name}_relu"}]


def _window(size: int, along_time: bool):
    """A kernel or stride: square, or along T only for (T, 1, C) sensor windows."""
    return [size, 1] if along_time else size


def _conv(name: str, width: int, kernel: int, stride: int, along_time: bool, **extra) -> dict:
    return {"type": "Conv2D", "name": name, "filters": width, "kernel_size": _window(kernel, along_time),
            "strides": _window(stride, along_time), "padding": "same", **extra}


def _stem(c: dict, stride: int, along_time: bool) -> list:
    return [_conv("conv2d", c["filters"], c["kernel"], stride, along_time), *_bn_relu("conv2d")]


def _separable_block(b: int, stride: int, width: int, along_time: bool) -> list:
    return [{"type": "DepthwiseConv2D", "name": f"dw_{b}", "kernel_size": _window(3, along_time),
             "strides": _window(stride, along_time), "padding": "same"}, *_bn_relu(f"dw_{b}"),
            {"type": "Conv2D", "name": f"pw_{b}", "filters": width, "kernel_size": 1}, *_bn_relu(f"pw_{b}")]


def _pooled_head(c: dict, n_classes: int) -> list:
    return [{"type": "GlobalAveragePooling2D", "name": "gap"},
            {"type": "Dropout", "name": "dropout", "rate": c["dropout"]},
            {"type": "Dense", "name": "output", "units": n_classes, "activation": "softmax"}]


def _dscnn_layers(c: dict, n_classes: int, along_time: bool = False) -> list:
    # MLPerf Tiny's DS-CNN: a strided convolution, then shape-keeping depthwise-separable blocks
    layers = _stem(c, c["stride"], along_time)
    for b in range(c["blocks"]):
        layers += _separable_block(b, 1, c["filters"], along_time)
    return layers + _pooled_head(c, n_classes)


def _mobilenet_layers(c: dict, n_classes: int, along_time: bool = False) -> list:
    # MobileNetV1 (Howard et al. 2017; MLPerf Tiny's visual-wake-words reference at width 0.25), scaled down: every
    # second block strides 2 and doubles the width (the others keep the shape: blocks shrink may skip)
    layers, width = _stem(c, 2, along_time), c["filters"]
    for b in range(c["blocks"]):
        stride = 2 if b % 2 else 1
        width *= stride
        layers += _separable_block(b, stride, width, along_time)
    return layers + _pooled_head(c, n_classes)


def _resnet_layers(c: dict, n_classes: int, along_time: bool = False) -> list:
    # MLPerf Tiny's image-classification reference, ResNet-8: a stem, then three stacks of two 3x3 convolutions with
    # a residual Add, the second and third striding 2 with twice the width and a 1x1 convolution on the shortcut.
    # That shortcut subsamples first (a 1x1 max-pool of stride 2) and then convolves at stride 1: the same
    # arithmetic, but TensorFlow 2.21's oneDNN kernels corrupt memory in the filter gradient of a strided 1x1
    # convolution (RESULTS.md log, "shrink: other allocations of the same budget", found on the way). The classifier
    # reads the global average.
    width = c["filters"]
    layers = _stem(c, 1, along_time)
    into = "conv2d_relu"
    for s in range(3):
        stride = 1 if s == 0 else 2
        width *= stride
        layers += [_conv(f"s{s}_a", width, c["kernel"], stride, along_time), *_bn_relu(f"s{s}_a"),
                   _conv(f"s{s}_b", width, c["kernel"], 1, along_time)]
        bn = _bn(f"s{s}_b_bn", inputs=f"s{s}_b")
        shortcut = into
        if stride == 1:
            layers.append(bn)
        else:  # in the order Keras runs them (the pooling before the BatchNorm): the two plan memory alike
            layers += [{"type": "MaxPooling2D", "name": f"s{s}_sub", "pool_size": _window(1, along_time),
                        "strides": _window(2, along_time), "inputs": into}, bn,
                       _conv(f"s{s}_short", width, 1, 1, along_time, inputs=f"s{s}_sub")]
            shortcut = f"s{s}_short"
        layers += [{"type": "Add", "name": f"s{s}_add", "inputs": [f"s{s}_b_bn", shortcut]},
                   {"type": "ReLU", "name": f"s{s}_relu"}]
        into = f"s{s}_relu"
    return layers + _pooled_head(c, n_classes)


_RESNET_SPACE = [Ordinal("filters", choices=(8, 16, 24, 32)), Ordinal("kernel", choices=(3, 5)),
                 Ordinal("dropout", choices=(0.0, 0.1, 0.2)), Categorical("optimizer", choices=("adam", "rmsprop"))]
_RESNET_BASELINE = {"filters": 16, "kernel": 3, "dropout": 0.0, "optimizer": "adam"}
_MOBILENET_SPACE = [Ordinal("filters", choices=(8, 16, 24, 32)), Ordinal("kernel", choices=(3, 5)),
                    Ordinal("blocks", choices=(2, 3, 4, 5, 6)), Ordinal("dropout", choices=(0.0, 0.1, 0.2)),
                    Categorical("optimizer", choices=("adam", "rmsprop"))]
_MOBILENET_BASELINE = {"filters": 16, "kernel": 3, "blocks": 4, "dropout": 0.1, "optimizer": "adam"}
_TINY = (8, 16, 32, 64, 128, 256)
TEMPLATES = {
    "paper-har": Template(
        "paper-har",
        Space([Ordinal("filters", choices=_TINY), Categorical("conv_activation", choices=ACTS),
               Ordinal("kernel", choices=(1, 2)), Ordinal("pool", choices=(1, 2)),
               Ordinal("dropout", choices=(0.1, 0.2, 0.3)), Ordinal("units", choices=_TINY),
               Categorical("dense_activation", choices=ACTS),
               Categorical("optimizer", choices=("adam", "sgd", "rmsprop", "adadelta", "adamax"))],
              name="paper-har"),
        _har_layers,
        baseline={"filters": 128, "conv_activation": "relu", "kernel": 2, "pool": 2, "dropout": 0.2, "units": 128,
                  "dense_activation": "relu", "optimizer": "adam"},
        description="Conv2D -> MaxPool -> Dropout -> Flatten -> Dense -> Dense out (slides, experiment 1; tiny-board values)",
    ),
    "paper-bottle": Template(
        "paper-bottle",
        Space([Ordinal("filters", choices=(6, 8, 10, 12, 16, 32, 64)), Categorical("conv_activation", choices=ACTS),
               Ordinal("kernel", choices=(1, 2, 3)), Ordinal("pool", choices=(1, 2, 3)),
               Ordinal("dropout", choices=(0.1, 0.2, 0.3, 0.4)),
               Ordinal("units", choices=(6, 8, 10, 12, 16, 32, 64, 128, 256, 512)),
               Categorical("dense_activation", choices=ACTS),
               Categorical("optimizer", choices=("adam", "sgd", "rmsprop", "adagrad", "adadelta")),
               Ordinal("skipped_layers", choices=(1, 2, 3, 4))], name="paper-bottle"),
        _bottle_layers,
        baseline={"filters": 32, "conv_activation": "relu", "kernel": 3, "pool": 2, "dropout": 0.2, "units": 128,
                  "dense_activation": "relu", "optimizer": "adam", "skipped_layers": 1},
        description="Conv blocks (5 minus skipped) -> Dropout -> Flatten -> Dense -> Dense out (slides, experiment 2)",
    ),
    "ds-cnn": Template(
        "ds-cnn",
        Space([Ordinal("filters", choices=(8, 16, 24, 32, 48, 64)), Ordinal("kernel", choices=(3, 5)),
               Ordinal("stride", choices=(1, 2)), Ordinal("blocks", choices=(1, 2, 3, 4)),
               Ordinal("dropout", choices=(0.0, 0.1, 0.2)),
               Categorical("optimizer", choices=("adam", "rmsprop"))], name="ds-cnn"),
        _dscnn_layers,
        baseline={"filters": 32, "kernel": 3, "stride": 2, "blocks": 3, "dropout": 0.1, "optimizer": "adam"},
        description="Conv2D -> N x (DepthwiseConv2D -> 1x1 Conv2D), BatchNorm + ReLU after each -> "
                    "GlobalAveragePooling -> Dense out",
    ),
    # DS-CNN in 1-D for sensor windows: the same blocks convolving along time with the sensors as channels. On
    # 100 x 6 windows (3-fold, fold seed 0) 64 filters x 4 blocks train to 93.3 % on har-watch's users where the
    # paper-har search's best is 69 %, and 32 x 3 to 100 % on BasicMotions (its best: 97.1 %).
    "ds-cnn-1d": Template(
        "ds-cnn-1d",
        Space([Ordinal("filters", choices=(8, 16, 24, 32, 48, 64)), Ordinal("kernel", choices=(3, 5, 7, 9)),
               Ordinal("stride", choices=(1, 2)), Ordinal("blocks", choices=(1, 2, 3, 4)),
               Ordinal("dropout", choices=(0.0, 0.1, 0.2)),
               Categorical("optimizer", choices=("adam", "rmsprop"))], name="ds-cnn-1d"),
        partial(_dscnn_layers, along_time=True),
        baseline={"filters": 32, "kernel": 5, "stride": 2, "blocks": 3, "dropout": 0.1, "optimizer": "adam"},
        description="DS-CNN along time for (T, C) sensor windows: Conv (k x 1) -> N x (Depthwise (3 x 1) -> 1x1 "
                    "Conv), BatchNorm + ReLU after each -> GlobalAveragePooling -> Dense out",
        sensors_as_channels=True,
    ),
    "mobilenet-v1": Template(
        "mobilenet-v1", Space(list(_MOBILENET_SPACE), name="mobilenet-v1"), _mobilenet_layers,
        baseline=dict(_MOBILENET_BASELINE),
        description="MobileNetV1-style: strided Conv2D -> N x (DepthwiseConv2D -> 1x1 Conv2D), every second block "
                    "strided with twice the width, BatchNorm + ReLU after each -> GlobalAveragePooling -> Dense out",
    ),
    "mobilenet-v1-1d": Template(
        "mobilenet-v1-1d", Space(list(_MOBILENET_SPACE), name="mobilenet-v1-1d"),
        partial(_mobilenet_layers, along_time=True),
        baseline=dict(_MOBILENET_BASELINE),
        description="MobileNetV1-style along time for (T, C) sensor windows (k x 1 kernels, sensors as channels)",
        sensors_as_channels=True,
    ),
    "resnet-8": Template(
        "resnet-8", Space(list(_RESNET_SPACE), name="resnet-8"), _resnet_layers, baseline=dict(_RESNET_BASELINE),
        description="ResNet-8 (MLPerf Tiny's image reference): stem -> 3 residual stacks of two convolutions, the "
                    "last two strided with twice the width -> GlobalAveragePooling -> Dense out",
    ),
    "resnet-8-1d": Template(
        "resnet-8-1d", Space(list(_RESNET_SPACE), name="resnet-8-1d"),
        partial(_resnet_layers, along_time=True), baseline=dict(_RESNET_BASELINE),
        description="ResNet-8 along time for (T, C) sensor windows (k x 1 kernels, sensors as channels)",
        sensors_as_channels=True,
    ),
}


def check_space(template: Template, space: Space, source: str) -> None:
    """Refuse, in one sentence, a space the template cannot build: unknown parameters or values it cannot use."""
    from memsim import graph_from_spec
    from memsim import ShapeError, SpecError, UnsupportedLayerError

    unknown = sorted(set(space.names) - set(template.space.names))
    if unknown:
        raise SpaceError(f"Search space file {source!r} has parameter(s) {unknown} that template {template.name!r} "
                         f"does not use; its parameters are {list(template.space.names)}.")
    for p in space.params:
        own = template.space[p.name]
        whole = all(isinstance(v, int) and not isinstance(v, bool) for v in getattr(own, "choices", ())) or \
            own.kind == "integer"
        if whole and p.kind == "real":
            raise SpaceError(f"Search space file {source!r}: {p.name} takes whole numbers in template "
                             f"{template.name!r}; give it type = \"integer\" (or ordinal choices), not real.")
        values = list(p.choices) if hasattr(p, "choices") else p.levels(5)
        if p.name == "optimizer":
            bad = [v for v in values if str(v).lower() not in OPTIMIZERS]
            if bad:
                raise SpaceError(f"Search space file {source!r}: optimizer {bad[0]!r} is not a Keras optimiser; "
                                 f"use one of {', '.join(OPTIMIZERS)}.")
            continue
        for v in values:
            config = {**template.baseline, p.name: v}
            try:  # a generous stand-in input: only whether the layers can be built is checked here
                graph_from_spec(template.spec(config, template.input_shape((128, 16)), 4))
            except ShapeError:
                pass
            except (SpecError, UnsupportedLayerError, TypeError, ValueError) as exc:
                raise SpaceError(f"Search space file {source!r}: {p.name} = {v!r} cannot be built by template "
                                 f"{template.name!r} ({str(exc).rstrip('.')}).") from None


def space_for_data(sample_shape: tuple) -> "tuple[str, str]":
    """(template, why): the space ``search`` and ``shrink`` use when the user names none, from the data's shape.

    MLPerf Tiny's keyword-spotting reference, DS-CNN (depthwise-separable blocks), in 2-D for images and along time
    for sensor windows; the papers' HAR CNN for images too small for DS-CNN's strided blocks and for feature vectors.
    On sensor windows the papers' space finds networks 4-45 points worse than DS-CNN along time at the same budget
    (benchmarks/RESULTS.md, "The data's space")."""
    dims = [int(d) for d in sample_shape]
    images = len(dims) == 3 and min(dims[:2]) >= 16
    windows = len(dims) == 2 and dims[0] >= 16
    what = "images" if len(dims) == 3 else "sensor windows" if len(dims) == 2 else "feature vectors"
    return ("ds-cnn" if images else "ds-cnn-1d" if windows else "paper-har"), \
        f"chosen for {'x'.join(map(str, dims))} {what}"


def shape_hint(sample_shape: tuple) -> "str | None":
    """A sentence for data whose shape hides what it is: long 1-D samples are more likely one sensor's time series
    than features, and a (T, 1) window would be searched along time."""
    dims = [int(d) for d in sample_shape]
    if len(dims) == 1 and dims[0] >= 64:
        return (f"samples of {dims[0]} values are searched as feature vectors; if they are one sensor's time "
                f"series, save X with shape (N, {dims[0]}, 1) to search DS-CNN along time.")
    return None


def get_template(name: str) -> Template:
    if name not in TEMPLATES:
        raise SpaceError(f"Unknown search space {name!r}; built-in: {', '.join(TEMPLATES)} (or a TOML file).")
    return TEMPLATES[name]
