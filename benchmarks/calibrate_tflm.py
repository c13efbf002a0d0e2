"""Calibrate memsim's TFLM tail on a named split and report errors on held-out networks.

Calibration split: the 15 corpus networks of ``validation.corpus.CALIBRATION_NAMES`` x float32/int8.
Held out: the other corpus networks, and the real-world zoo (``validation.zoo``: MLPerf-Tiny-style networks,
each float32, int8 with float I/O and full int8). The fit never sees a held-out network.

Every conversion is measured live by tflite-micro and cached (``--cache``, default
~/.cache/autotinyml/calibration), so a cut-off run continues where it stopped.

Run:  python benchmarks/calibrate_tflm.py            # errors of the current constants, both splits
      python benchmarks/calibrate_tflm.py --fit      # also refit the tail's per-op data on the calibration split
      python benchmarks/calibrate_tflm.py --fit-flatbuffer   # refit the flatbuffer's FLATBUFFER_* costs likewise

memsim reads the converted .tflite (exact ops and tensors), so the tail and the required arena are tested apart
from the lowering; tests/memsim_tests/test_tflm_real.py checks the lowering.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
from pathlib import Path


from memsim.frontends.tflite import graph_from_tflite, model_dtype, read_tflite  # noqa: E402
from memsim.profiles import tflm  # noqa: E402


def conversions(cache: Path):
    """(split, name, variant, flatbuffer, measured dict or None), converting and measuring what is not cached."""
    import numpy as np

    from validation.corpus import CALIBRATION_NAMES, CORPUS, build_model
    from validation.tflm import ToolchainError, convert, measure
    from validation.zoo import VARIANTS, ZOO, build_zoo_model

    cache.mkdir(parents=True, exist_ok=True)
    jobs = [("calibration" if s["name"] in CALIBRATION_NAMES else "held-out", s["name"], v, "corpus")
            for s in CORPUS for v in ("float32", "int8")]
    jobs += [("held-out (zoo)", name, v, "zoo") for name in ZOO for v in VARIANTS]
    for split, name, variant, source in jobs:
        key = hashlib.sha1(f"{source}:{name}:{variant}".encode()).hexdigest()[:12]
        fb_path, m_path = cache / f"{name}-{variant}-{key}.tflite", cache / f"{name}-{variant}-{key}.json"
        if not m_path.exists():
            print(f"converting and measuring {name} {variant} ...", file=sys.stderr, flush=True)
            if source == "corpus":
                model = build_model(next(s for s in CORPUS if s["name"] == name))
                fb = convert(model, variant)
            else:
                model = build_zoo_model(name)
                shape = tuple(model.inputs[0].shape[1:])
                rep = np.random.default_rng(0).uniform(-1, 1, (32,) + shape).astype(np.float32)
                fb = convert(model, "float32" if variant == "float32" else "int8", rep,
                             float_io=variant == "int8_float_io", int16_activations=variant == "int16x8")
            try:
                a = measure(fb)
                measured = {"head": a.head, "tail": a.tail, "total": a.total, "smallest": a.smallest}
            except ToolchainError:
                measured = None
            fb_path.write_bytes(fb)
            m_path.write_text(json.dumps(measured))
        yield split, name, variant, fb_path.read_bytes(), json.loads(m_path.read_text())


def predicted(fb: bytes):
    """(structure, dtype, head, tail, required arena) as memsim reads the file."""
    model = read_tflite(fb)
    dtype = model_dtype(model)
    graph = graph_from_tflite(model)
    prof = tflm.TFLMProfile()
    head = prof.activation_plan(graph, dtype).pool_bytes
    tail = prof.arena_tail(graph, dtype)
    return tflm.tflite_structure(graph, dtype), dtype, head, tail, head + tail + prof.prepare_bytes(graph, dtype)


def fit_tail(samples) -> None:
    """NNLS of the undocumented op data per kernel type on the measured tails of the calibration split (one
    table for both dtypes: fitted apart, float32 and int8 gave the same values)."""
    import numpy as np
    from scipy.optimize import nnls

    kinds = sorted({k for g, _, _ in samples for k in g.op_types} | {"FIXED"})
    A, b = [], []
    for g, dtype, real_tail in samples:
        row = [0.0] * len(kinds)
        row[kinds.index("FIXED")] = 1
        for k in g.op_types:
            row[kinds.index(k)] += 1
        A.append(row)
        b.append(real_tail - tflm.documented_tail(g, dtype))
    x, _ = nnls(np.array(A), np.array(b, float))
    residual = np.array(A) @ x - np.array(b)
    print("fitted op data (B):", {k: int(round(v)) for k, v in zip(kinds, x)})
    print(f"fit residual: median |{np.median(np.abs(residual)):.0f}| B, worst {np.abs(residual).max():.0f} B "
          f"over {len(samples)} calibration conversions")


FLATBUFFER_TERMS = ("FIXED", "PER_TENSOR", "PER_NAME_CHAR", "PER_DIM", "PER_QUANT_TENSOR", "PER_QUANT_CHANNEL",
                    "PER_OP", "PER_OP_CODE", "PER_OP_IO")


def flatbuffer_terms(g, dtype: str) -> list[float]:
    """The counts tflm.flatbuffer_bytes multiplies by its FLATBUFFER_* costs, in FLATBUFFER_TERMS order."""
    quantised = [c for c in g.tensor_channels if c > 0] if dtype == "int8" else []
    return [1, len(g.tensor_sizes), sum(g.tensor_names), sum(g.tensor_ranks), len(quantised), sum(quantised),
            len(g.op_types), len(set(g.op_types)), sum(len(i) + len(o) for i, o in zip(g.op_inputs, g.op_outputs))]


def fit_flatbuffer(samples) -> None:
    """Least squares of the FLATBUFFER_* costs on the calibration files (their exact structure, read back)."""
    import numpy as np

    A = np.array([flatbuffer_terms(g, dtype) for g, dtype, _ in samples], float)
    b = np.array([size - sum(tflm.align_up(s, 16) + 16 for s, c in zip(g.tensor_sizes, g.tensor_const) if c)
                  for g, dtype, size in samples], float)
    x, *_ = np.linalg.lstsq(A, b, rcond=None)
    print("fitted flatbuffer costs:", {f"FLATBUFFER_{k}": round(float(v), 3) for k, v in zip(FLATBUFFER_TERMS, x)})
    residual = A @ x - b
    print(f"fit residual: median |{np.median(np.abs(residual)):.0f}| B, worst {np.abs(residual).max():.0f} B "
          f"over {len(samples)} calibration files")


def flatbuffer_errors(cache: Path) -> None:
    """Flatbuffer size predicted from each network's description or Keras model (memsim's lowering) vs the
    converter's file."""
    from memsim.frontends.spec import graph_from_spec
    from validation.corpus import CALIBRATION_NAMES, CORPUS

    worst = {}
    print(f"\n{'split':15s} {'network':20s} {'variant':8s} {'flatbuffer memsim/real':>24s}")
    for split, name, variant, fb, _ in conversions(cache):
        if split == "held-out (zoo)":
            if variant not in ("float32", "int8"):
                continue  # memsim predicts float32 and full int8 from a Keras model
            from memsim.frontends.keras import graph_from_keras
            from validation.zoo import build_zoo_model

            graph = graph_from_keras(build_zoo_model(name))  # names: see RESULTS.md on auto-generated ones
        else:
            graph = graph_from_spec(next(s for s in CORPUS if s["name"] == name))
            split = "calibration" if name in CALIBRATION_NAMES else "held-out"
        pred = tflm.flatbuffer_bytes(tflm.lower(graph, variant), variant)
        err = _pct(pred, len(fb))
        print(f"{split:15s} {name:20s} {variant:8s} {pred:9d}/{len(fb):9d} {err:+6.2f}%")
        if len(fb) >= 4096:
            worst[split] = max(worst.get(split, 0.0), abs(err))
    print("worst |error| on files >= 4 KB: " + ", ".join(f"{k} {v:.2f} %" for k, v in worst.items()))


def _pct(p: int, r: int) -> float:
    return 100.0 * (p - r) / r if r else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fit", action="store_true", help="refit the tail's per-op data on the calibration split")
    ap.add_argument("--fit-flatbuffer", action="store_true", help="refit the FLATBUFFER_* costs on the calibration split")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "autotinyml" / "calibration"),
                    help="where conversions and measurements are kept between runs")
    args = ap.parse_args()
    rows, samples, files = [], [], []
    for split, name, variant, fb, real in conversions(Path(args.cache)):
        if real is None:
            continue
        g, dtype, head, tail, required = predicted(fb)
        if split == "calibration":
            samples.append((g, dtype, real["tail"]))
            files.append((g, dtype, len(fb)))
        rows.append((split, name, variant, head, real["head"], tail, real["tail"], required, real["smallest"]))
    print(f"{'split':15s} {'network':20s} {'variant':14s} {'head':>16s} {'tail':>22s} {'required arena':>26s}")
    for split, name, variant, h, rh, t, rt, q, rq in rows:
        print(f"{split:15s} {name:20s} {variant:14s} {h:7d}/{rh:7d} {t:6d}/{rt:6d} {_pct(t, rt):+6.1f}% "
              f"{q:7d}/{rq:7d} {_pct(q, rq):+6.1f}%")
    for split in dict.fromkeys(r[0] for r in rows):
        part = [r for r in rows if r[0] == split]
        heads = sum(r[3] == r[4] for r in part)
        tails = [_pct(r[5], r[6]) for r in part]
        req = [_pct(r[7], r[8]) for r in part]
        print(f"\n{split}: {len(part)} conversions; head exact on {heads}/{len(part)}; tail median |{statistics.median(map(abs, tails)):.1f}| %, "
              f"worst {min(tails):+.1f} / {max(tails):+.1f} %; required arena median |{statistics.median(map(abs, req)):.2f}| %, "
              f"worst under-prediction {min(min(req), 0):.2f} %, worst over {max(req):+.2f} %")
    if args.fit:
        fit_tail(samples)
    if args.fit_flatbuffer:
        fit_flatbuffer(files)
    flatbuffer_errors(Path(args.cache))


if __name__ == "__main__":
    main()
