"""memsim speed, and memsim vs the real toolchain, measured side by side in one run.

Run:  python benchmarks/bench_memsim.py [--configs 1000000] [--toolchain-nets 10] [--unas DIR]

``--unas DIR``: a checkout of https://github.com/eliberis/uNAS (only its numpy-only ``resource_models`` package is
imported) to time μNAS's resource model on the same network in the same run.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import subprocess
import sys
import time
from timeit import repeat as repeat_timer
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

import memsim  # noqa: E402
from _harness import cpu_model  # noqa: E402
from memsim.batch import ACTIVATIONS, ChainFamily  # noqa: E402

TEN_LAYERS = {"name": "net10", "layers": [
    {"type": "Input", "name": "x", "shape": [32, 32, 3]},
    {"type": "Conv2D", "name": "c1", "filters": 16, "kernel_size": 3},
    {"type": "BatchNormalization", "name": "bn"},
    {"type": "Activation", "name": "a1", "activation": "relu"},
    {"type": "MaxPooling2D", "name": "p1", "pool_size": 2},
    {"type": "Conv2D", "name": "c2", "filters": 32, "kernel_size": 3, "activation": "relu"},
    {"type": "MaxPooling2D", "name": "p2", "pool_size": 2},
    {"type": "Flatten", "name": "f"},
    {"type": "Dense", "name": "d1", "units": 64, "activation": "relu"},
    {"type": "Dropout", "name": "dr", "rate": 0.2},
    {"type": "Dense", "name": "d2", "units": 10, "activation": "softmax"},
]}
FILTERS = [8, 16, 32, 64, 128, 256]
HAR_ACTS = ["relu", "sigmoid", "selu", "tanh"]


def har_spec(f, k, p, u, ca, da, name="har"):
    return {"name": name, "layers": [
        {"type": "Input", "name": "x", "shape": [90, 3, 1]},
        {"type": "Conv2D", "name": "conv", "filters": f, "kernel_size": k, "activation": ca},
        {"type": "MaxPooling2D", "name": "pool", "pool_size": p},
        {"type": "Dropout", "name": "drop", "rate": 0.2},
        {"type": "Flatten", "name": "flat"},
        {"type": "Dense", "name": "hidden", "units": u, "activation": da},
        {"type": "Dense", "name": "out", "units": 6, "activation": "softmax"}]}


def timeit(fn, repeat=2000, warm=200):
    for _ in range(warm):
        fn()
    samples = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(repeat):
            fn()
        samples.append((time.perf_counter() - t) / repeat)
    return statistics.median(samples)


def best_time(fn, number=2000, repeat=7) -> float:
    """Seconds per call, best of ``repeat`` rounds (the least disturbed by other work on a shared machine)."""
    fn()
    return min(repeat_timer(fn, number=number, repeat=repeat)) / number


def unas_har(unas_dir):
    """μNAS's own resource model (peak memory, model size, MACs) of the papers' HAR CNN, or None without a checkout."""
    if not unas_dir:
        return None
    sys.path.insert(0, str(unas_dir))
    from resource_models.graph import Graph
    from resource_models.models import macs, model_size, peak_memory_usage
    from resource_models.ops import Conv2D, Dense, Input, Pool

    def figures():
        g = Graph(np.float32)
        with g.as_current():
            x = Input((1, 90, 3, 1))
            x = Conv2D(32, 2, activation="relu")(x)
            x = Pool(2, "max")(x)
            x = Dense(64, preflatten_input=True, activation="relu")(x)
            g.add_output(Dense(6)(x))
        return peak_memory_usage(g), model_size(g), macs(g)

    return figures


def har_timings(unas_dir) -> None:
    """The papers' HAR CNN (conv 32x2x2, pool 2, dense 64, dense 6) through memsim.footprint and μNAS's model."""
    from memsim._footprint import _full_footprint

    spec = har_spec(32, 2, 2, 64, "relu", "relu")
    distinct = [har_spec(f, k, p, u, ca, da) for f in FILTERS for k in (1, 2) for p in (1, 2) for u in FILTERS
                for ca in HAR_ACTS for da in HAR_ACTS]
    print("\nthe papers' HAR CNN from a layer description (best of 7 rounds, us per call):")
    unas = unas_har(unas_dir)
    t_unas = best_time(unas) if unas else None
    for runtime in ("xcubeai", "tflm"):
        one = best_time(lambda: memsim.footprint(spec, "stm32f303k8", runtime))
        cycle = itertools.cycle(distinct)
        many = best_time(lambda: memsim.footprint(next(cycle), "stm32f303k8", runtime), number=len(distinct))
        full = best_time(lambda: _full_footprint(spec, "stm32f303k8", runtime, None, "none", None, None), number=300)
        line = (f"  memsim.footprint {runtime:7s}: {one * 1e6:6.1f} (the same description), {many * 1e6:6.1f} "
                f"({len(distinct):,} distinct configurations in turn); full path {full * 1e6:6.1f}")
        if t_unas:
            line += f"; uNAS {t_unas * 1e6:6.1f} ({t_unas / one:.1f}x memsim's time)"
        print(line)
    if not unas:
        print("  (uNAS not timed: pass --unas DIR, a checkout of https://github.com/eliberis/uNAS)")


def import_time() -> float:
    code = "import time; t=time.perf_counter(); import memsim; print(time.perf_counter()-t)"
    runs = [float(subprocess.check_output([sys.executable, "-c", code], cwd=ROOT)) for _ in range(5)]
    return statistics.median(runs)


def har_arrays(n, rng):
    family = ChainFamily((90, 3, 1), ("conv", "pool", "drop", "flat", "hidden", "out"), name="har", input_name="x")
    ops, prm = family.encode([har_spec(8, 1, 1, 8, "relu", "relu")["layers"][1:]])
    ops, prm = np.repeat(ops, n, 0), np.repeat(prm, n, 0)
    k = rng.choice([1, 2], n)
    p = rng.choice([1, 2], n)
    prm[:, 0, 0] = rng.choice(FILTERS, n)
    prm[:, 0, 1] = prm[:, 0, 2] = k
    prm[:, 0, 7] = rng.choice([ACTIVATIONS.index(a) for a in HAR_ACTS], n)
    prm[:, 1, 0] = prm[:, 1, 1] = prm[:, 1, 2] = prm[:, 1, 3] = p
    prm[:, 4, 0] = rng.choice(FILTERS, n)
    prm[:, 4, 2] = rng.choice([ACTIVATIONS.index(a) for a in HAR_ACTS], n)
    return family, ops, prm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", type=int, default=1_000_000)
    ap.add_argument("--toolchain-nets", type=int, default=10)
    ap.add_argument("--unas", metavar="DIR", help="a checkout of eliberis/uNAS, to time its resource model alongside")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    cpu = cpu_model()
    print(f"# {time.strftime('%Y-%m-%d')}  {platform.python_implementation()} {platform.python_version()}  "
          f"{cpu}  {os.cpu_count()} cores  numba single thread")

    print(f"\nimport memsim: {import_time() * 1e3:.0f} ms (TensorFlow imported: "
          f"{'tensorflow' in sys.modules})")

    print("\none 10-layer network from a layer description (warm, median):")
    from memsim._footprint import _full_footprint

    for runtime in ("xcubeai", "tflm"):
        fast = timeit(lambda: memsim.footprint(TEN_LAYERS, "stm32f303k8", runtime))
        full = timeit(lambda: _full_footprint(TEN_LAYERS, "stm32f303k8", runtime, None, "none", None, None).layers)
        print(f"  memsim.footprint (chain fast path, table built lazily), {runtime:7s}: {fast * 1e6:7.1f} us; "
              f"full path with per-layer table {full * 1e6:7.1f} us ({full / fast:.1f}x)")
    har_timings(args.unas)
    layers = TEN_LAYERS["layers"][1:]
    family = ChainFamily((32, 32, 3), tuple(l["name"] for l in layers), name="net10", input_name="x")
    for runtime in ("xcubeai", "tflm"):
        def fast():
            ops, prm = family.encode([layers])
            return family.evaluate(ops, prm, runtime, target="stm32f303k8")
        print(f"  ChainFamily encode + evaluate (N=1), {runtime:7s}: {timeit(fast) * 1e6:7.1f} us")

    fam, ops, prm = har_arrays(args.configs, rng)
    distinct = len(np.unique(np.concatenate([ops, prm.reshape(len(ops), -1)], 1), axis=0))
    unique_prm = prm.copy()
    unique_prm[:, 4, 0] = 8 + np.arange(args.configs)  # every hidden width different: no configuration repeats
    for label, p in ((f"random configurations of the template ({distinct:,} distinct architectures among them; "
                      "memsim evaluates each once)", prm), ("all distinct (hidden width 8, 9, 10, ...)", unique_prm)):
        print(f"\nbatch: the papers' HAR template, {args.configs:,} {label}, in one call:")
        for runtime in ("xcubeai", "tflm"):
            fam.evaluate(ops[:10], p[:10], runtime)
            rates = []
            for _ in range(3):  # the first call also pays page faults on fresh arrays
                t = time.perf_counter()
                fam.evaluate(ops, p, runtime, target="stm32f303k8")
                rates.append(args.configs / (time.perf_counter() - t))
            print(f"  {runtime:7s}: {statistics.median(rates):12,.0f} configurations/s median of 3 calls "
                  f"(best {max(rates):,.0f}, first {rates[0]:,.0f})")

    if args.toolchain_nets:
        toolchain_comparison(args.toolchain_nets, rng)


def toolchain_comparison(n, rng):
    t0 = time.perf_counter()
    from toolchain import convert, measure, randomise_weights  # noqa: PLC0415
    from memsim.frontends.keras import keras_from_spec  # noqa: PLC0415
    import tensorflow  # noqa: F401, PLC0415
    t_import = time.perf_counter() - t0
    print(f"\nmemsim vs TensorFlow {tensorflow.__version__} converter + tflite-micro allocation, "
          f"{n} random HAR-template networks x float32/int8 (importing TensorFlow: {t_import:.1f} s, not counted):")
    print(f"  {'net':30s} {'dtype':7s} {'flash pred/real':>19s} {'err':>6s} {'arena pred/real':>17s} {'err':>6s} "
          f"{'toolchain s':>11s} {'memsim us':>9s} {'ratio':>9s}")
    errs = {"flash": [], "arena": []}
    ratios = []
    for i in range(n):
        cfg = (int(rng.choice(FILTERS[:4])), int(rng.choice([1, 2])), int(rng.choice([1, 2])),
               int(rng.choice(FILTERS)), str(rng.choice(HAR_ACTS)), str(rng.choice(HAR_ACTS)))
        spec = har_spec(*cfg, name=f"har{i}")
        for dtype in ("float32", "int8"):
            t = time.perf_counter()
            model = keras_from_spec(spec)
            randomise_weights(model, seed=i)
            fb = convert(model, dtype, seed=i)
            label = "f{}k{}p{}u{}{}/{}".format(*cfg)
            fp = memsim.footprint(spec, runtime="tflm", dtype=dtype)
            try:
                real = measure(fb)
            except RuntimeError:
                verdict = "memsim agrees" if fp.unsupported else "memsim MISSED it"
                print(f"  {label:30s} {dtype:7s} TFLM cannot allocate it ({verdict}: {'; '.join(fp.unsupported)})")
                continue
            t_tool = time.perf_counter() - t
            t_mem = timeit(lambda: memsim.footprint(spec, runtime="tflm", dtype=dtype), repeat=50, warm=5)
            arena = fp.activations_bytes + fp.runtime_ram_bytes
            ef = 100 * (fp.model_bytes - real["flatbuffer"]) / real["flatbuffer"]
            ea = 100 * (arena - real["total"]) / real["total"]
            errs["flash"].append(abs(ef))
            errs["arena"].append(abs(ea))
            ratios.append(t_tool / t_mem)
            print(f"  {label:30s} {dtype:7s} {fp.model_bytes:9,}/{real['flatbuffer']:9,} {ef:+5.1f}% "
                  f"{arena:8,}/{real['total']:8,} {ea:+5.1f}% {t_tool:11.2f} {t_mem * 1e6:9.0f} {t_tool / t_mem:9,.0f}x")
    print(f"  |error| flatbuffer: median {statistics.median(errs['flash']):.2f} %, worst {max(errs['flash']):.2f} %; "
          f"arena total: median {statistics.median(errs['arena']):.2f} %, worst {max(errs['arena']):.2f} %")
    print(f"  speed: memsim.footprint is {statistics.median(ratios):,.0f}x faster than convert + allocate (median)")


if __name__ == "__main__":
    main()
