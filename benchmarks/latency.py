"""memsim's time model against published on-board latency: fit on MLPerf Tiny v0.5-v1.1, test on the rest.

    python benchmarks/latency.py          # every row: board, runtime and version, task, measured, predicted,
                                          # error; calibration, held-out (v1.2) and later rounds (v1.3) apart
    python benchmarks/latency.py --fit    # fit again and write memsim/data/time_model.json

Data: ``benchmarks/data/mlperf_tiny.csv`` (``mlperf_tiny_collect.py`` reads it out of the result repositories),
the reference networks in ``benchmarks/data/mlperf_tiny_models/`` (their layers through ``memsim.footprint``), and
``benchmarks/data/float_vs_int8.csv`` (the same network float32 and int8 under one runtime, from ST's model zoo).
Only rounds v0.5-v1.1 are fitted on; v1.2 is the held-out set and v1.3 is kept for acceptance.

The model (``memsim._latency``): per runtime, version and core class, cycles per MACC for each kernel kind
(window convolution, 1x1 convolution, depthwise, dense). With four networks a system, kinds are told apart only
with a prior: each (runtime, core)'s kinds are shrunk towards one shared cycles-per-MACC, and each version's
towards its (runtime, core) - ridge regression on relative error, its two strengths chosen by leaving one network
out (the 90th percentile of the error on the network left out). A core a runtime was never measured on takes the cycle ratio of the two cores over every engine that ran on
both in the same round.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
MODEL_FILE = HERE.parent / "memsim" / "data" / "time_model.json"
CALIBRATION_ROUNDS = ("0.5", "0.7", "1.0", "1.1")
HELD_OUT_ROUNDS = ("1.2",)
LATER_ROUNDS = ("1.3",)
TASK_MODELS = {"kws": "kws_ref_model.tflite", "vww": "vww_96_int8.tflite", "ic": "pretrainedResnet_quant.tflite",
               "ad": "ad01_int8.tflite"}
KINDS = ("conv", "pointwise", "depthwise", "dense")
# Cycles the fit cannot tell apart from the MACC terms on four networks (each is under 2 % of any of them), set
# from what the kernels do: an element-wise int8 op loads, rescales with a 32-bit multiply and a shift, clamps and
# stores (about 8 cycles an element on a Cortex-M4); a kernel call sets up its loops and quantisation parameters.
ASSUMED = {"other_work": 8.0, "kernel_calls": 1500.0}
# Arm's figure for the Helium cores against the earlier Cortex-M ("up to 15x ML performance", Cortex-M55 launch,
# arm.com, 2020) bounds how much faster an unmeasured core may be; the slowest core class measured bounds the rest.
HELIUM_SPEEDUP = 15.0
LAMBDAS = (0.01, 0.1, 1.0, 10.0, 100.0)


# -- the rows -------------------------------------------------------------------------------------------------

def classify(row: dict) -> "tuple[str, str, str] | None":
    """(engine, version, core class) of a result row; engine is "xcubeai" or "tflm" for the runtimes memsim
    models, another name for engines used only for core ratios, None for accelerators and non-CPU systems."""
    from targets import core_class

    if row["accelerator"].strip():
        return None
    fw = row["framework"].lower()
    core = core_class(row["processor"])
    if core == "unknown" or not row["clock_mhz"]:
        return None
    if "x-cube-ai" in fw:
        return "xcubeai", re.search(r"v(\d+\.\d+)", fw).group(1), core
    if "stedge-ai" in fw:
        return "xcubeai", "internal", core
    if "tflite" in fw or "tensorflow lite" in fw:
        if "andes" in fw or core == "riscv" or "modified" in fw:  # vendor kernels, not CMSIS-NN
            return None
        return "tflm", "2.3.1" if "v2.3.1" in fw else "cmsis-nn", core
    for name in ("plumerai", "bosch", "onnc", "microtvm"):
        if name in fw:
            detail = "cmsis-nn" if "cmsis_nn" in fw else ("native" if "microtvm" in fw else "")
            return f"{name}-{detail}".rstrip("-"), row["round"], core
    return None


@lru_cache(maxsize=1)
def features() -> dict:
    """Time features of the reference networks, read by memsim as any user's file is."""
    import memsim

    return {task: np.array(memsim.footprint(DATA / "mlperf_tiny_models" / name, runtime="tflm").time_features,
                           float) for task, name in TASK_MODELS.items()}


def load_rows() -> list[dict]:
    rows = []
    with open(DATA / "mlperf_tiny.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            c = classify(r)
            if c is None or r["task"] not in TASK_MODELS:
                continue
            engine, version, core = c
            split = ("calibration" if r["round"] in CALIBRATION_ROUNDS else
                     "held-out" if r["round"] in HELD_OUT_ROUNDS else "later")
            rows.append({**r, "engine": engine, "version": version, "core": core, "split": split,
                         "clock_hz": float(r["clock_mhz"]) * 1e6, "ms": float(r["latency_ms"]),
                         "cycles": float(r["latency_ms"]) * 1e-3 * float(r["clock_mhz"]) * 1e6})
    return rows


def _label(r: dict) -> str:
    return f"v{r['round']} {r['submitter']} {r['system']}"


# -- the fit --------------------------------------------------------------------------------------------------

def _split(task: str) -> tuple[np.ndarray, np.ndarray]:
    f = features()[task]
    return f[:4], f[4:]


def _ridge(rows: list[dict], prior: np.ndarray, lam: float) -> np.ndarray:
    """Cycles per MACC per kind minimising relative squared error + lam * sum(((c - prior) / prior)^2)."""
    a = np.array([_split(r["task"])[0] for r in rows])
    y = np.array([r["cycles"] - _split(r["task"])[1] @ np.array(list(ASSUMED.values())) for r in rows])
    aw = np.vstack([a / y[:, None], np.sqrt(lam) * np.diag(1.0 / prior)])
    yw = np.concatenate([np.ones(len(y)), np.sqrt(lam) * np.ones(len(prior))])
    c, *_ = np.linalg.lstsq(aw, yw, rcond=None)
    return np.maximum(c, 0.05 * prior)  # a kind no network exercises stays near the prior, never free


def _one_rate(rows: list[dict]) -> float:
    """The one cycles-per-MACC that fits the rows best in relative terms (geometric mean)."""
    extra = np.array(list(ASSUMED.values()))
    return float(np.exp(np.mean([np.log((r["cycles"] - _split(r["task"])[1] @ extra) / _split(r["task"])[0].sum())
                                 for r in rows])))


def fit_coefficients(rows: list[dict], l1: float, l2: float) -> dict:
    """{engine: {version: {core: (cycles per MACC per kind, rows used)}}} for the two modelled runtimes."""
    by_core, by_version = defaultdict(list), defaultdict(list)
    for r in rows:
        if r["engine"] in ("xcubeai", "tflm"):
            by_core[(r["engine"], r["core"])].append(r)
            by_version[(r["engine"], r["version"], r["core"])].append(r)
    core_level = {k: _ridge(v, np.full(4, _one_rate(v)), l1) for k, v in by_core.items()}
    out: dict = defaultdict(lambda: defaultdict(dict))
    for (engine, version, core), v in by_version.items():
        out[engine][version][core] = (_ridge(v, core_level[(engine, core)], l2), v)
    return out


def core_ratios(rows: list[dict]) -> dict:
    """Cycles on a core class / cycles on a Cortex-M4, over every engine that ran the same network on both in the
    same round and version (calibration rounds only)."""
    groups = defaultdict(lambda: defaultdict(list))
    for r in rows:
        groups[(r["engine"], r["version"], r["round"], r["task"])][r["core"]].append(r)
    pairs = defaultdict(list)
    for key, cores in groups.items():
        if "cortex-m4" not in cores:
            continue
        for core, rs in cores.items():
            if core == "cortex-m4":
                continue
            for a in rs:
                for b in cores["cortex-m4"]:
                    pairs[core].append((a["cycles"] / b["cycles"], f"{key[0]} v{key[2]}"))
    out = {"cortex-m4": {"ratio": 1.0, "low": 1.0, "high": 1.0, "pairs": 0, "data": "the reference core"}}
    for core, ps in sorted(pairs.items()):
        values = [p for p, _ in ps]
        out[core] = {"ratio": float(np.exp(np.mean(np.log(values)))), "low": min(values), "high": max(values),
                     "pairs": len(values), "data": "MLPerf Tiny " + ", ".join(sorted({s for _, s in ps}))}
    return out


def float_factor() -> dict:
    with open(DATA / "float_vs_int8.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    ratios = [float(r["float32_ms"]) / float(r["int8_ms"]) for r in rows]
    return {"factor": float(np.exp(np.mean(np.log(ratios)))), "low": min(ratios), "high": max(ratios),
            "pairs": len(ratios), "data_short": f"{len(ratios)} networks, ST model zoo",
            "data": "; ".join(f"{r['network']} {r['runtime']} {r['version']} {r['board']} ({r['repository']} "
                              f"{r['commit'][:10]} {r['file']})" for r in rows)}


def newer_version_speedup(rows: list[dict]) -> dict:
    """The largest fall in measured latency from one calibrated version to the next, per runtime."""
    best = {}
    for engine in ("xcubeai", "tflm"):
        by = defaultdict(list)
        for r in rows:
            if r["engine"] == engine:
                by[(r["core"], r["task"], r["version"])].append(r["cycles"])
        falls = [0.0]
        versions = sorted({v for (_, _, v) in by if v[0].isdigit()}, key=lambda v: tuple(map(int, v.split("."))))
        for (core, task, v) in by:
            if v in versions and versions.index(v) + 1 < len(versions):
                nxt = (core, task, versions[versions.index(v) + 1])
                if nxt in by:
                    falls.append(1.0 - min(by[nxt]) / max(by[(core, task, v)]))
        best[engine] = max(falls)
    return best


def _target_of(row: dict):
    """The catalogue board a result row was measured on (by its board name or SoC), or None."""
    from targets import UnknownTargetError, get_target

    for name in (row["board"], row["soc"]):
        key = re.sub(r"[\s_]+", "-", name.strip().lower())
        try:
            return get_target(key)
        except UnknownTargetError:
            continue
    return None


def board_power(rows: list[dict]) -> dict:
    """Average power (mW = uJ per inference / ms per inference) of each catalogue board, over the calibration rows
    that measured energy: at the clock and supply the submitters ran it at, whatever network and engine ran."""
    by = defaultdict(list)
    for r in rows:
        if r["split"] == "calibration" and r["energy_uj"]:
            t = _target_of(r)
            if t is not None:
                by[t.name].append((float(r["energy_uj"]) / r["ms"], r))
    out = {}
    for name, vs in sorted(by.items()):
        mw = [v for v, _ in vs]
        out[name] = {"mw": round(float(np.median(mw)), 2), "low": round(min(mw), 2), "high": round(max(mw), 2),
                     "rows": len(mw), "data": "MLPerf Tiny " + "; ".join(sorted({_label(r) for _, r in vs}))}
    return out


def build_model(rows: list[dict], l1: float, l2: float, network_error=None) -> dict:
    cal = [r for r in rows if r["split"] == "calibration"]
    coef = fit_coefficients(cal, l1, l2)
    speedups = newer_version_speedup(cal)
    names = {"xcubeai": "X-CUBE-AI", "tflm": "TFLite Micro"}
    runtimes = {}
    for engine, versions in coef.items():
        numeric = [v for v in versions if v[0].isdigit() and "." in v]
        # TFLM with CMSIS-NN kernels where measured (what Arm boards run), else the newest numbered version
        default = "cmsis-nn" if "cmsis-nn" in versions else max(numeric, key=lambda v: tuple(map(int, v.split("."))))
        runtimes[engine] = {
            "name": names[engine], "default_version": default,
            "calibration_rows": sum(1 for r in cal if r["engine"] == engine),
            "network_error": list((network_error or {}).get(engine, (0.0, 0.0))),
            "newer_version_speedup": speedups[engine],
            "versions": {v: {"cores": {core: {
                "cycles_per_macc": [round(float(x), 4) for x in c], "rows": len(rs),
                "data": "MLPerf Tiny " + "; ".join(sorted({_label(r) for r in rs}))}
                for core, (c, rs) in sorted(cores.items())}} for v, cores in sorted(versions.items())},
        }
    ratios = core_ratios(cal)
    slowest = max(v["high"] for v in ratios.values())
    return {
        "about": "memsim's time model; written by `python benchmarks/latency.py --fit`, do not edit by hand.",
        "features": ["conv_macc", "pointwise_macc", "depthwise_macc", "dense_macc", "other_work", "kernel_calls"],
        "fitted_on": {"file": "benchmarks/data/mlperf_tiny.csv", "rounds": list(CALIBRATION_ROUNDS),
                      "rows": len(cal), "ridge_lambdas": {"kinds_to_one_rate": l1, "version_to_core": l2},
                      "networks": {t: f"benchmarks/data/mlperf_tiny_models/{n}" for t, n in TASK_MODELS.items()}},
        "assumed": {"cycles": ASSUMED, "why": "element-wise ops ~8 cycles an element (load, 32-bit rescale, clamp, "
                    "store), ~1500 cycles a kernel call; under 2 % of every calibration network, not separable"},
        "runtimes": runtimes,
        "core_ratios": ratios,
        "uncalibrated_core": {"low": round(1.0 / HELIUM_SPEEDUP, 4), "high": round(slowest, 3),
                              "why": f"faster by up to {HELIUM_SPEEDUP:g}x (Arm's Helium figure) or as slow as the "
                                     "slowest measured core class, relative to the Cortex-M4 figures"},
        "float32": float_factor(),
        "board_power": board_power(rows),
    }


def _model(data: dict):
    from memsim import TimeModel

    return TimeModel(data)


def predict(model, r: dict, version: "str | None" = None):
    return model.estimate(features()[r["task"]], r["clock_hz"], r["core"], r["engine"], "int8",
                          version or r["version"])


def leave_one_network_out(rows: list[dict], l1: float, l2: float) -> dict:
    """{engine: [estimate / measured - 1]} for every calibration row of a modelled runtime, each predicted by a
    model fitted without its network."""
    errors = defaultdict(list)
    for task in TASK_MODELS:
        train = [r for r in rows if r["task"] != task]
        model = _model(build_model(train, l1, l2))
        for r in rows:
            if r["task"] == task and r["split"] == "calibration" and r["engine"] in ("xcubeai", "tflm"):
                errors[r["engine"]].append(predict(model, r).ms / r["ms"] - 1.0)
    return errors


def fit(rows: list[dict]) -> dict:
    best = None
    for l1 in LAMBDAS:
        for l2 in LAMBDAS:
            errs = leave_one_network_out(rows, l1, l2)
            # the 90th percentile of |log(estimate / measured)|: a band must cover the bad cases, not the median
            score = float(np.percentile([abs(np.log1p(e)) for es in errs.values() for e in es], 90))
            if best is None or score < best[0]:
                best = (score, l1, l2, errs)
    _, l1, l2, errs = best
    # the band: on the optimistic side the worst case (a deadline the estimate promises must hold), on the
    # pessimistic side the 95th percentile (one network in 20 may run faster still)
    network_error = {k: (round(min(v), 4), round(float(np.percentile(v, 95)), 4)) for k, v in errs.items()}
    data = build_model(rows, l1, l2, network_error)
    model = _model(data)
    held = defaultdict(list)
    for r in rows:  # rows on a core the runtime was measured on; an unmeasured core's band says it all
        rt = data["runtimes"].get(r["engine"])
        if r["split"] == "held-out" and rt and any(r["core"] in v["cores"] for v in rt["versions"].values()):
            held[r["engine"]].append((predict(model, r).ms / r["ms"] - 1.0, r))
    summary = {k: {"rows": len(v), "median_error_pct": round(100 * statistics.median(e for e, _ in v), 1),
                   "median_abs_error_pct": round(100 * statistics.median(abs(e) for e, _ in v), 1),
                   "what": "MLPerf Tiny v1.2, " + ", ".join(sorted({f"{r['engine']} {r['version']} {r['core']}"
                                                                      for _, r in v}))}
               for k, v in held.items()}
    for engine, held_out in summary.items():
        data["runtimes"][engine]["held_out"] = held_out
    return data


# -- the report -----------------------------------------------------------------------------------------------

def report(rows: list[dict], data: dict) -> None:
    model = _model(data)
    modelled = [r for r in rows if r["engine"] in data["runtimes"]]
    print(f"{'split':<11} {'round':<5} {'board (submitter)':<44} {'runtime':<16} {'core':<13} {'task':<4} "
          f"{'measured':>9} {'predicted':>9} {'error':>7}  band")
    summary, before = defaultdict(list), defaultdict(list)
    for split in ("calibration", "held-out", "later"):
        for r in sorted((r for r in modelled if r["split"] == split),
                        key=lambda r: (r["engine"], r["core"], r["round"], r["system"], r["task"])):
            est = predict(model, r)
            err = est.ms / r["ms"] - 1.0
            covered = est.low_ms <= r["ms"] <= est.high_ms
            summary[(split, r["engine"], r["core"])].append((err, covered))
            before[(split, r["engine"], r["core"])].append(_macc_x3(r) / r["ms"] - 1.0)
            board = f"{r['board'] or r['system']} ({r['submitter']})"
            print(f"{split:<11} v{r['round']:<4} {board[:44]:<44} {r['engine'] + ' ' + r['version']:<16} "
                  f"{r['core']:<13} {r['task']:<4} {r['ms']:>7.2f}ms {est.ms:>7.2f}ms {err:>+7.1%}  "
                  f"{est.low_ms:.1f}-{est.high_ms:.1f}{'' if covered else ' OUTSIDE'}")
        print()
    print("summary: estimate / measured - 1 (negative: optimistic); 'before': MACC x 3 cycles (memsim until now)")
    print(f"{'split':<11} {'runtime':<8} {'core':<13} {'rows':>4} {'median |error|':>15} {'range':>18} "
          f"{'in band':>8} {'optimistic beyond band':>23} {'before: median |error|, range':>32}")
    for (split, engine, core), v in summary.items():
        errs, old = [e for e, _ in v], before[(split, engine, core)]
        print(f"{split:<11} {engine:<8} {core:<13} {len(v):>4} {statistics.median(abs(e) for e in errs):>14.1%} "
              f"{min(errs):>+8.1%} .. {max(errs):>+6.1%} {sum(c for _, c in v):>5}/{len(v):<3}"
              f"{sum(1 for e, c in v if not c and e < 0):>12}           "
              f"{statistics.median(abs(e) for e in old):>6.1%}, {min(old):+.0%} .. {max(old):+.0%}")
    for split in ("held-out", "later"):
        errs = [e for (s, _, _), v in summary.items() if s == split for e, _ in v]
        if errs:
            print(f"{split}: {len(errs)} rows, median |error| {statistics.median(abs(e) for e in errs):.1%}, "
                  f"{sum(abs(e) <= 0.25 for e in errs)}/{len(errs)} within 25 %")
    energy_report(modelled, model)


def energy_report(rows: list[dict], model) -> None:
    """Energy per inference: the time model's latency x the board's power, against the measured energy."""
    print("\nenergy per inference: estimate = latency estimate x the board's power (calibration rounds)")
    print(f"{'split':<11} {'round':<5} {'board (submitter)':<44} {'runtime':<16} {'task':<4} {'measured':>10} "
          f"{'predicted':>10} {'error':>7}  band")
    errors = defaultdict(list)
    for r in sorted((r for r in rows if r["energy_uj"]), key=lambda r: (r["split"] != "calibration",
                                                                      r["split"], r["system"], r["task"])):
        t = _target_of(r)
        est = predict(model, r)
        energy = model.energy(t.name if t else "", est) if t else None
        if energy is None:
            continue
        measured = float(r["energy_uj"])
        err = energy[0] / measured - 1.0
        covered = energy[1] <= measured <= energy[2]
        errors[r["split"]].append((err, covered))
        board = f"{r['board'] or r['system']} ({r['submitter']})"
        print(f"{r['split']:<11} v{r['round']:<4} {board[:44]:<44} {r['engine'] + ' ' + r['version']:<16} "
              f"{r['task']:<4} {measured:>8.0f}uJ {energy[0]:>8.0f}uJ {err:>+7.1%}  {energy[1]:.0f}-{energy[2]:.0f}"
              f"{'' if covered else ' OUTSIDE'}")
    for split, v in errors.items():
        errs = [e for e, _ in v]
        print(f"energy {split}: {len(v)} rows, median |error| {statistics.median(abs(e) for e in errs):.1%}, "
              f"range {min(errs):+.1%} .. {max(errs):+.1%}, {sum(c for _, c in v)}/{len(v)} in band, "
              f"{sum(1 for e, c in v if not c and e < 0)} optimistic beyond it")


def _macc_x3(r: dict) -> float:
    """What memsim said before the time model: MACC x 3 cycles (int8) / clock, in ms."""
    import memsim

    macc = memsim.footprint(DATA / "mlperf_tiny_models" / TASK_MODELS[r["task"]]).macc
    return 1000.0 * macc * memsim.CYCLES_PER_MACC["int8"] / r["clock_hz"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help=f"fit again and write {MODEL_FILE.name}")
    args = parser.parse_args(argv)
    rows = load_rows()
    if args.fit:
        data = fit(rows)
        MODEL_FILE.parent.mkdir(parents=True, exist_ok=True)
        MODEL_FILE.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {MODEL_FILE}: lambdas {data['fitted_on']['ridge_lambdas']}, "
              f"{data['fitted_on']['rows']} calibration rows")
    else:
        data = json.loads(MODEL_FILE.read_text())
    report(rows, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
