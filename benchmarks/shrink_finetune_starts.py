"""Fine-tuning shrink's network from its carried weights vs from a fresh start, at 10/20/40 epochs, on one split.

Run:  python benchmarks/shrink_finetune_starts.py digits - 0
      python benchmarks/shrink_finetune_starts.py har-watch subject 0

Arguments: dataset, label ("-" for none), seed (picks the 75/25 split and the initialisation). ``shrink`` runs 10
search epochs on the paper-har template's largest configuration for the STM32F303K8 (TFLM int8) without
fine-tuning; the projected network is then trained from both starts and scored on the held-out quarter.
"""
import json
import sys

import numpy as np
from sklearn.model_selection import train_test_split
from cbo.tinyml import get_template, load_dataset
from cbo.dnas import NetworkCosts, largest_config, shrink
from memsim.frontends.keras import keras_from_spec, quiet_keras
from targets import get_target
keras = quiet_keras()
name, label, seed = sys.argv[1], (sys.argv[2] if sys.argv[2] != "-" else None), int(sys.argv[3])
ds = load_dataset(name, label=label)
t = get_template("paper-har")
shape = t.input_shape(ds.sample_shape)
X = ds.X.reshape((len(ds.X),) + shape).astype("float32")
X_tr, X_val, y_tr, y_val = train_test_split(X, ds.y, test_size=0.25, stratify=ds.y, random_state=seed)
spec = t.spec(largest_config(t), shape, ds.n_classes)
costs = NetworkCosts(spec, get_target("stm32f303k8"), "tflm", "int8")
res = shrink(costs, X_tr, y_tr, X_val, y_val, epochs=10, finetune_epochs=0, seed=seed, log=lambda l: None)
acc = lambda m: float(np.mean(np.argmax(m.predict(X_val, verbose=0), -1) == y_val))
carried = res.model.get_weights()
print(json.dumps({"dataset": ds.name, "seed": seed, "channels": res.counts, "projected": round(res.accuracy_after_projection, 4)}), flush=True)
for start in ("carried", "scratch"):
    keras.utils.set_random_seed(seed)
    m = keras_from_spec(res.spec)
    if start == "carried":
        m.set_weights(carried)
    m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    done, row = 0, {"start": start}
    for upto in (10, 20, 40):
        m.fit(X_tr, y_tr, epochs=upto - done, batch_size=32, verbose=0); done = upto
        row[upto] = round(acc(m), 4)
    print(json.dumps(row), flush=True)
