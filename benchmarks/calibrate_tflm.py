"""Compare memsim's TFLM profile with the real converter + tflite-micro on the corpus.

The tail and flatbuffer constants in memsim/profiles/tflm.py were fitted by
non-negative least squares on these conversions; this script shows how they
do (in-sample: bench_memsim.py has the out-of-sample check).

Run: python benchmarks/calibrate_tflm.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import CORPUS  # noqa: E402
from toolchain import convert, measure, randomise_weights  # noqa: E402

from memsim.frontends.keras import keras_from_spec  # noqa: E402
from memsim.frontends.spec import graph_from_spec  # noqa: E402
from memsim.frontends.tflite import read_tflite  # noqa: E402
from memsim.profiles.tflm import TFLMProfile, lower  # noqa: E402


def main() -> None:
    import statistics

    prof = TFLMProfile()
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


if __name__ == "__main__":
    main()
