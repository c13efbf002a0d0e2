"""Networks several tests build: the papers' HAR baseline CNN and its template, as layer descriptions."""

HAR_BASELINE = [
    {"type": "Input", "name": "input_0", "shape": [90, 3, 1]},
    {"type": "Conv2D", "name": "conv2d_1", "filters": 128, "kernel_size": 2, "activation": "relu"},
    {"type": "MaxPooling2D", "name": "max_pooling2d_1", "pool_size": 2},
    {"type": "Dropout", "name": "dropout_1", "rate": 0.2},
    {"type": "Flatten", "name": "flatten_1"},
    {"type": "Dense", "name": "dense_1", "units": 128, "activation": "relu"},
    {"type": "Dense", "name": "dense_2", "units": 128, "activation": "relu"},
    {"type": "Dense", "name": "dense_3", "units": 6, "activation": "softmax"},
]


def har_template(filters=128, kernel=2, pool=2, dropout=0.2, units=128, conv_act="relu", dense_act="relu", classes=6,
                 input_shape=(90, 3, 1)):
    """The papers' HAR template (Conv2D -> MaxPool -> Dropout -> Flatten -> Dense -> Dense out)."""
    return [
        {"type": "Input", "name": "x", "shape": list(input_shape)},
        {"type": "Conv2D", "name": "conv", "filters": filters, "kernel_size": kernel, "activation": conv_act},
        {"type": "MaxPooling2D", "name": "pool", "pool_size": pool},
        {"type": "Dropout", "name": "drop", "rate": dropout},
        {"type": "Flatten", "name": "flat"},
        {"type": "Dense", "name": "hidden", "units": units, "activation": dense_act},
        {"type": "Dense", "name": "out", "units": classes, "activation": "softmax"},
    ]
