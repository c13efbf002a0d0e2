"""The compiled TFLM lowering against the Python one it replaced, network by network.

Run:  python benchmarks/lowering_vs_commit.py [--against 6e32cbd] [--chains 400]

Loads ``memsim/profiles/tflm.py`` as it was at ``--against`` (the last commit with the hand-written Python
``lower``) beside today's memsim, and compares what both predict - every tensor (size, constant, name length,
channels, rank), every op (type, inputs, outputs, layer, channels) and the arena head, tail, prepare bytes,
flatbuffer size and unsupported ops - on the built-in corpus (both dtypes) and on random chains.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

import memsim  # noqa: E402
from memsim.profiles import tflm  # noqa: E402
from validation.corpus import CORPUS, TRAINED_CORPUS  # noqa: E402

FIELDS = ("tensor_sizes", "tensor_const", "tensor_names", "tensor_channels", "tensor_ranks", "op_types", "op_inputs",
          "op_outputs", "op_layer", "op_channels", "inputs", "outputs")
ACTS = ("linear", "relu", "relu6", "tanh", "sigmoid", "elu", "selu", "leaky_relu", "softmax")


def old_profile(rev: str):
    source = subprocess.check_output(["git", "show", f"{rev}:memsim/profiles/tflm.py"], cwd=ROOT, text=True)
    path = Path(tempfile.mkdtemp()) / "old_tflm.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_tflm", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_tflm"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def figures(module, graph, dtype):
    p = module.TFLMProfile()
    return (p.activation_plan(graph, dtype).pool_bytes, p.arena_tail(graph, dtype), p.prepare_bytes(graph, dtype),
            p.model_bytes(graph, dtype, 0), p.check(graph, dtype))


def same(old, spec, dtype) -> "str | None":
    graph = memsim.load_graph(spec)
    a, b = old.lower(graph, dtype), tflm.lower(graph, dtype)
    bad = [f for f in FIELDS if list(getattr(a, f)) != list(getattr(b, f))]
    if bad:
        return f"{spec['name']} {dtype}: {', '.join(bad)} differ"
    if figures(old, graph, dtype) != figures(tflm, graph, dtype):
        return f"{spec['name']} {dtype}: figures differ"
    return None


def random_chain(rng) -> dict:
    two_d = rng.random() < 0.5
    shape = [int(rng.integers(6, 40)), int(rng.integers(1, 8)), int(rng.integers(1, 4))] if two_d \
        else [int(rng.integers(6, 60)), int(rng.integers(1, 6))]
    layers = [{"type": "Input", "name": "inp", "shape": shape}]
    for _ in range(int(rng.integers(1, 4))):
        kind = ("Conv2D", "DepthwiseConv2D")[int(rng.integers(2))] if two_d else "Conv1D"
        k = int(rng.integers(1, 4))
        conv = {"type": kind, "kernel_size": [k, int(rng.integers(1, 3))] if two_d else k,
                "strides": int(rng.integers(1, 3)), "padding": ("valid", "same")[int(rng.integers(2))],
                "use_bias": bool(rng.integers(2)), "activation": ACTS[int(rng.integers(len(ACTS)))]}
        conv["depth_multiplier" if kind == "DepthwiseConv2D" else "filters"] = int(rng.integers(1, 24))
        layers.append(conv)
        extra = int(rng.integers(4))
        if extra == 1:
            layers.append({"type": "BatchNormalization"})
        elif extra == 2:
            layers.append({"type": "Activation", "activation": ACTS[int(rng.integers(len(ACTS)))]})
        elif extra == 3:
            layers.append({"type": "Dropout", "rate": 0.1})
        if rng.random() < 0.5:
            p = int(rng.integers(1, 4))
            pools = ("MaxPooling2D", "AveragePooling2D") if two_d else ("MaxPooling1D", "AveragePooling1D")
            layers.append({"type": pools[int(rng.integers(2))], "pool_size": [p, 1] if two_d else p})
    layers.append({"type": ("Flatten", "GlobalAveragePooling2D" if two_d else "GlobalAveragePooling1D",
                            "GlobalMaxPooling2D" if two_d else "GlobalMaxPooling1D")[int(rng.integers(3))]})
    layers.append({"type": "Dense", "units": int(rng.integers(1, 300)), "activation": ACTS[int(rng.integers(9))]})
    if rng.random() < 0.5:
        layers.append({"type": "BatchNormalization"})
    layers.append({"type": "Dense", "units": int(rng.integers(1, 10)), "activation": ACTS[int(rng.integers(9))]})
    for i, layer in enumerate(layers[1:]):
        layer["name"] = f"l{i}"
    return {"name": "fam", "layers": layers}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--against", default="6e32cbd", help="a commit with the Python lowering (default 6e32cbd)")
    ap.add_argument("--chains", type=int, default=400)
    args = ap.parse_args()
    old = old_profile(args.against)
    corpus = [same(old, spec, dtype) for spec in CORPUS + TRAINED_CORPUS for dtype in ("float32", "int8")]
    print(f"corpus: {corpus.count(None)}/{len(corpus)} conversions identical")
    rng = np.random.default_rng(0)
    chains = []
    for _ in range(args.chains):
        spec, dtype = random_chain(rng), ("float32", "int8")[int(rng.integers(2))]
        try:
            memsim.load_graph(spec)
        except memsim.ShapeError:  # a window larger than its input: not a network
            continue
        chains.append(same(old, spec, dtype))
    print(f"random chains: {chains.count(None)}/{len(chains)} identical")
    problems = [p for p in corpus + chains if p]
    for p in problems:
        print("  ", p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
