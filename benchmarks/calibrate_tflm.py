"""Compare memsim's TFLM profile with the real converter + tflite-micro on the corpus.

The tail and flatbuffer constants in memsim/profiles/tflm.py were fitted by
non-negative least squares on these conversions; this script shows how they
do (in-sample: bench_memsim.py has the out-of-sample check).

Run: python benchmarks/calibrate_tflm.py [--fit]

``--fit`` refits TAIL_OP_BYTES, TAIL_OP_BYTES_BY_DTYPE and TAIL_FIXED by
non-negative least squares on every conversion, after subtracting the
documented parts of the tail, and prints the constants to paste back.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from validation.corpus import CORPUS  # noqa: E402
from toolchain import convert, measure, randomise_weights  # noqa: E402

from memsim.frontends.keras import keras_from_spec  # noqa: E402
from memsim.frontends.spec import graph_from_spec  # noqa: E402
from memsim.frontends.tflite import read_tflite  # noqa: E402
from memsim.profiles.tflm import TFLMProfile, lower  # noqa: E402


def fit_tail(samples) -> None:
    """NNLS of the undocumented op data per kernel type on the measured tails."""
    import numpy as np
    from scipy.optimize import nnls

    from memsim.profiles import tflm

    split = {"DEPTHWISE_CONV_2D", "CONV_2D", "FULLY_CONNECTED", "SOFTMAX"}  # kernels whose int8 op data differs

    def column(kind, dtype):
        return f"{kind}:{dtype}" if kind in split else kind

    kinds = sorted({column(k, d) for g, d, _ in samples for k in g.op_types} | {"FIXED:float32", "FIXED:int8"})
    A, b = [], []
    for g, dtype, real_tail in samples:
        known = tflm.documented_tail(g, dtype)
        row = [0.0] * len(kinds)
        row[kinds.index(f"FIXED:{dtype}")] = 1
        for k in g.op_types:
            row[kinds.index(column(k, dtype))] += 1
        A.append(row)
        b.append(real_tail - known)
    x, _ = nnls(np.array(A), np.array(b, float))
    residual = np.array(A) @ x - np.array(b)
    print("fitted op data (B):", {k: int(round(v)) for k, v in zip(kinds, x)})
    print(f"fit residual: median |{np.median(np.abs(residual)):.0f}| B, worst {np.abs(residual).max():.0f} B")


def main() -> None:
    import statistics

    prof = TFLMProfile()
    samples = []
    rows = []
    errors = {"head": [], "total": [], "flash": []}
    for spec in CORPUS:
        graph = graph_from_spec(spec)
        model = keras_from_spec(spec)
        randomise_weights(model)
        for dtype in ("float32", "int8"):
            fb = convert(model, dtype)
            try:
                real = measure(fb)
            except RuntimeError:
                print(f"{spec['name']:18s} {dtype:7s} TFLM refuses it; memsim: {prof.check(graph, dtype)}")
                continue
            info = read_tflite(fb)
            g = lower(graph, dtype)
            plan = prof.activation_plan(graph, dtype)
            tail = prof.arena_tail(graph, dtype)
            flash = prof.model_bytes(graph, dtype, 0)
            same_ops = info.op_types == g.op_types
            samples.append((g, dtype, real["tail"]))
            rows.append((spec["name"], dtype, real, plan.pool_bytes, tail, flash, g, info))
            print(f"{spec['name']:18s} {dtype:7s} ops={'ok' if same_ops else 'DIFF'} "
                  f"head {plan.pool_bytes:7d}/{real['head']:7d} tail {tail:5d}/{real['tail']:5d} "
                  f"flash {flash:7d}/{real['flatbuffer']:7d} ({100 * (flash - real['flatbuffer']) / real['flatbuffer']:+.1f}%) "
                  f"total {100 * (plan.pool_bytes + tail - real['total']) / real['total']:+.1f}%")
            errors["head"].append(abs(plan.pool_bytes - real["head"]) / real["head"] * 100)
            errors["total"].append(abs(plan.pool_bytes + tail - real["total"]) / real["total"] * 100)
            errors["flash"].append(abs(flash - real["flatbuffer"]) / real["flatbuffer"] * 100)
            if not same_ops:
                print("   real:", info.op_types)
                print("   pred:", g.op_types)
    for key, values in errors.items():
        print(f"|error| {key:5s}: median {statistics.median(values):.2f} %, worst {max(values):.2f} % "
              f"over {len(values)} conversions")
    if "--fit" in sys.argv:
        fit_tail(samples)


if __name__ == "__main__":
    main()
