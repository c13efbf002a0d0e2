"""Compare memsim's TFLM lowering with the real converter; fit tail/flatbuffer constants.

Run: python benchmarks/calibrate_tflm.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import CORPUS  # noqa: E402
from toolchain import convert, measure, randomise_weights  # noqa: E402

from memsim.frontends.keras import keras_from_spec  # noqa: E402
from memsim.frontends.spec import graph_from_spec  # noqa: E402
from memsim.frontends.tflite import read_tflite  # noqa: E402
from memsim.profiles.tflm import TFLMProfile, lower  # noqa: E402


def main() -> None:
    prof = TFLMProfile()
    rows = []
    for spec in CORPUS:
        graph = graph_from_spec(spec)
        model = keras_from_spec(spec)
        randomise_weights(model)
        for dtype in ("float32", "int8"):
            fb = convert(model, dtype)
            real = measure(fb)
            info = read_tflite(fb)
            g = lower(graph, dtype)
            plan = prof.activation_plan(graph, dtype)
            tail = prof.arena_tail(graph, dtype)
            flash = prof.model_bytes(graph, dtype, 0)
            same_ops = info.op_types == g.op_types
            rows.append((spec["name"], dtype, real, plan.pool_bytes, tail, flash, g, info))
            print(f"{spec['name']:18s} {dtype:7s} ops={'ok' if same_ops else 'DIFF'} "
                  f"head {plan.pool_bytes:7d}/{real['head']:7d} tail {tail:5d}/{real['tail']:5d} "
                  f"flash {flash:7d}/{real['flatbuffer']:7d} ({100 * (flash - real['flatbuffer']) / real['flatbuffer']:+.1f}%) "
                  f"total {100 * (plan.pool_bytes + tail - real['total']) / real['total']:+.1f}%")
            if not same_ops:
                print("   real:", info.op_types)
                print("   pred:", g.op_types)
    np.save("/tmp/calib_rows.npy", np.array([0]))


if __name__ == "__main__":
    main()
