"""Real-world networks, as users bring them: Keras implementations of the MLPerf Tiny reference models and two
common keyword-spotting / time-series shapes, built with the ordinary Keras API (not from memsim's layer lists).

Each is converted four ways, as published models are: float32, int8 with float32 input/output (the TFLite
converter's default for int8: QUANTIZE first, DEQUANTIZE last), full int8, and 16x8 (int16 activations, int8
weights); ``autotinyml validate --zoo``
measures every file with tflite-micro and compares memsim's reading of it.

Architectures follow the MLPerf Tiny v1.0 reference models (github.com/mlcommons/tiny, benchmark/training):
DS-CNN (KWS, 49x10 MFCC, 64 filters, 4 depthwise-separable blocks), MobileNetV1 alpha 0.25 (VWW, 96x96x3),
ResNet-8 (CIFAR-10, 16/32/64 filters) and the FC autoencoder (AD, 640 -> 128x4 -> 8 -> 128x4 -> 640).
"""

from __future__ import annotations

__all__ = ["ZOO", "VARIANTS", "build_zoo_model"]

VARIANTS = ("float32", "int8_float_io", "int8", "int16x8")


def _keras():
    from memsim.frontends.keras import quiet_keras

    return quiet_keras()


def _bn_relu(x, L, relu6: bool = False):  # noqa: N803 (keras.layers)
    x = L.BatchNormalization()(x)
    return L.ReLU(max_value=6.0)(x) if relu6 else L.Activation("relu")(x)


def _separable_block(x, L, filters: int, stride: int = 1):  # noqa: N803
    """Depthwise 3x3 -> BN -> ReLU -> pointwise 1x1 -> BN -> ReLU (DS-CNN and MobileNetV1)."""
    x = _bn_relu(L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x), L)
    return _bn_relu(L.Conv2D(filters, 1, use_bias=False)(x), L)


def ds_cnn_kws():
    k = _keras()
    L = k.layers  # noqa: N806
    x_in = k.Input((49, 10, 1))
    x = L.Conv2D(64, (10, 4), strides=(2, 2), padding="same", use_bias=False)(x_in)
    x = _bn_relu(x, L)
    for _ in range(4):
        x = _separable_block(x, L, 64)
    x = L.Dropout(0.4)(x)
    x = L.AveragePooling2D(pool_size=(25, 5))(x)
    x = L.Flatten()(x)
    return k.Model(x_in, L.Dense(12, activation="softmax")(x), name="ds_cnn_kws")


def mobilenet_v1_vww():
    k = _keras()
    L = k.layers  # noqa: N806
    x_in = k.Input((96, 96, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(x_in)
    x = _bn_relu(x, L)
    for filters, stride in ((16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 1), (128, 1),
                            (128, 1), (128, 1), (256, 2), (256, 1)):
        x = _separable_block(x, L, filters, stride)
    x = L.GlobalAveragePooling2D()(x)
    return k.Model(x_in, L.Dense(2, activation="softmax")(x), name="mobilenet_v1_vww")


def resnet8_cifar():
    k = _keras()
    L = k.layers  # noqa: N806
    x_in = k.Input((32, 32, 3))
    x = _bn_relu(L.Conv2D(16, 3, padding="same")(x_in), L)
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        y = _bn_relu(L.Conv2D(filters, 3, strides=stride, padding="same")(x), L)
        y = L.BatchNormalization()(L.Conv2D(filters, 3, padding="same")(y))
        if stride != 1:
            x = L.Conv2D(filters, 1, strides=stride)(x)
        x = L.Activation("relu")(L.Add()([x, y]))
    x = L.AveragePooling2D(pool_size=8)(x)
    x = L.Flatten()(x)
    return k.Model(x_in, L.Dense(10, activation="softmax")(x), name="resnet8_cifar")


def fc_autoencoder():
    k = _keras()
    L = k.layers  # noqa: N806
    x_in = k.Input((640,))
    x = x_in
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = _bn_relu(L.Dense(units)(x), L)
    return k.Model(x_in, L.Dense(640)(x), name="fc_autoencoder")


def mobilenet_v2_kws():
    """Inverted residual blocks (1x1 expand, depthwise, 1x1 project, residual add) on 49x10 MFCC."""
    k = _keras()
    L = k.layers  # noqa: N806
    x_in = k.Input((49, 10, 1))
    x = _bn_relu(L.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(x_in), L, relu6=True)
    for expand, filters, stride in ((4, 16, 1), (4, 24, 2), (4, 24, 1), (4, 32, 1)):
        y = _bn_relu(L.Conv2D(x.shape[-1] * expand, 1, use_bias=False)(x), L, relu6=True)
        y = _bn_relu(L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(y), L, relu6=True)
        y = L.BatchNormalization()(L.Conv2D(filters, 1, use_bias=False)(y))
        x = L.Add()([x, y]) if stride == 1 and x.shape[-1] == filters else y
    x = L.GlobalAveragePooling2D()(x)
    return k.Model(x_in, L.Dense(12, activation="softmax")(x), name="mobilenet_v2_kws")


def multibranch_tcn():
    """Parallel temporal-conv branches (kernels 3, 5, 9) over IMU windows, concatenated, twice."""
    k = _keras()
    L = k.layers  # noqa: N806
    x_in = k.Input((128, 6))
    x = x_in
    for _ in range(2):
        branches = [_bn_relu(L.Conv1D(16, ks, padding="same")(x), L) for ks in (3, 5, 9)]
        branches.append(L.Conv1D(16, 1, padding="same")(L.MaxPooling1D(3, strides=1, padding="same")(x)))
        x = L.Concatenate()(branches)
        x = L.MaxPooling1D(2)(x)
    x = L.GlobalAveragePooling1D()(x)
    return k.Model(x_in, L.Dense(6, activation="softmax")(x), name="multibranch_tcn")


ZOO = {f.__name__: f for f in (ds_cnn_kws, mobilenet_v1_vww, resnet8_cifar, fc_autoencoder, mobilenet_v2_kws,
                                multibranch_tcn)}


def build_zoo_model(name: str, seed: int = 0):
    """The named network with trained-looking weights (see validation.corpus.randomise_weights)."""
    from validation.corpus import randomise_weights

    _keras().utils.set_random_seed(seed)
    model = ZOO[name]()
    randomise_weights(model, seed)
    return model
