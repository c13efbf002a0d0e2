"""Latency of one inference: memsim's time model, calibrated on published on-board measurements.

cycles = sum over kinds of (cycles per MACC of the kind) x (MACC of that kind) + assumed cycles per element of the
other layers and per kernel call, for the runtime, its version and the core class; then x the core's ratio when the
runtime was never measured on that core, x the float32 factor for a float network. The features come from
``memsim._kernels.timing`` (both paths); the constants from ``memsim/data/time_model.json``, which
``python benchmarks/latency.py --fit`` writes from ``benchmarks/data/mlperf_tiny.csv`` and names the data of each.

Every estimate carries its band: the range the measured latency fell in, relative to this model's prediction, over
the published networks the constants were not fitted on (leave one network out), widened by each transfer the
estimate makes (another core, float32, a runtime version newer than the data).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

import numpy as np

from memsim._kernels.timing import N_TIME_FEATURES, TF_CALLS, TF_CONV, TF_DENSE, TF_DEPTHWISE, TF_OTHER, TF_POINTWISE

__all__ = ["CYCLES_PER_MACC", "LatencyEstimate", "TimeModel", "Timing", "latency_ms", "time_model"]

# The model's features that carry a fitted cycles-per-MACC, in the order the fitted vectors list them.
FITTED = (TF_CONV, TF_POINTWISE, TF_DEPTHWISE, TF_DENSE)
ASSUMED = (TF_OTHER, TF_CALLS)

# MACC x a constant: what ``--cycles-per-macc`` overrides the model with, and the shape of shrink's differentiable
# proxy. Kept for users with their own measurement; the model itself does not use it.
CYCLES_PER_MACC = {"float32": 6.0, "int8": 3.0}


class Timing(NamedTuple):
    """What a footprint's latency and its verdict on time take from the caller: a cycles-per-MACC of the user's
    own (replaces the model), and latency (ms) and energy (uJ) budgets, each held against the top of its band.
    (A tuple: one is made per footprint.)"""

    cycles_per_macc: "float | None" = None
    budget_ms: "float | None" = None
    energy_budget_uj: "float | None" = None


@dataclass(frozen=True)
class LatencyEstimate:
    """One inference's latency with the range the published measurements put around it.

    ``ms`` is the model's estimate; the measured latency of the networks the model was tested on fell in
    [``low_ms``, ``high_ms``] around such an estimate. ``basis`` says in one sentence what it rests on.
    """

    ms: float
    low_ms: float
    high_ms: float
    basis: str
    calibrated: bool  # the runtime, version and core had measurements of their own

    def to_dict(self) -> dict:
        return {"ms": self.ms, "low_ms": self.low_ms, "high_ms": self.high_ms, "basis": self.basis,
                "calibrated": self.calibrated}


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else -1 for p in version.replace("-", ".").split("."))


class TimeModel:
    """The fitted constants and the rules that combine them (one instance per model file)."""

    def __init__(self, data: dict):
        self.data = data
        self.assumed = np.array([data["assumed"]["cycles"][k] for k in ("other_work", "kernel_calls")], float)
        self._plans: dict = {}
        self._figures: dict = {}  # (features, clock, core, runtime, dtype, version) -> figures: a search asks again

    # -- what applies to one runtime, version and core
    def _plan(self, runtime: str, core: str, dtype: str, version: "str | None"):
        """(fitted cycles per MACC, scale, band multipliers (low, high) on the measured/estimate ratio, basis
        sentence, calibrated), worked out once per combination (every footprint asks)."""
        key = (runtime, core, dtype, version)
        plan = self._plans.get(key)
        if plan is None:
            coef, scale, band, basis, calibrated = self._work_out(runtime, core, dtype, version)
            per_feature = [0.0] * N_TIME_FEATURES  # cycles per unit of each feature, scale included
            for i, c in zip(FITTED, coef):
                per_feature[i] = float(c) * scale
            for i, c in zip(ASSUMED, self.assumed):
                per_feature[i] = float(c) * scale
            plan = self._plans[key] = (coef, scale, band, basis, calibrated, per_feature)
        return plan

    def runtime_entry(self, key: str) -> dict:
        """The time data of a runtime (``Runtime.time_key``): the published data's, or a registered runtime's own."""
        entry = self.data["runtimes"].get(key)
        if entry is None:
            from memsim.profiles import RUNTIMES

            entry = getattr(RUNTIMES.get(key), "time_data", None)
        if entry is None:
            from memsim._errors import SpecError

            raise SpecError(f"The time model has no data for runtime {key!r}; register it with time_data, or with "
                            f"the family whose published times it shares ({', '.join(self.data['runtimes'])}).")
        return entry

    def _work_out(self, runtime: str, core: str, dtype: str, version: "str | None"):
        rt = self.runtime_entry(runtime)
        versions = rt["versions"]
        asked = version or rt["default_version"]
        if asked in versions:
            used = asked
        else:
            older = [v for v in versions if _version_key(v) <= _version_key(asked)]
            used = max(older or versions, key=_version_key)
        lo_err, hi_err = rt["network_error"]  # estimate/measured - 1 over held-out networks
        low, high = 1.0 / (1.0 + hi_err), 1.0 / (1.0 + lo_err)  # measured / estimate
        notes = []
        cores = versions[used]["cores"]
        ratios = self.data["core_ratios"]
        calibrated = core in cores
        if calibrated:
            entry, scale = cores[core], 1.0
            rows = entry["rows"]
        else:
            ref = next((c for c in ("cortex-m4", "cortex-m33", "cortex-m7") if c in cores and c in ratios), None)
            if ref is None:
                ref = sorted(cores)[0]
            entry = cores[ref]
            rows = entry["rows"]
            if core in ratios and ref in ratios:
                target_r, ref_r = ratios[core], ratios[ref]
                scale = target_r["ratio"] / ref_r["ratio"]
                low *= (target_r["low"] / target_r["ratio"]) / (ref_r["high"] / ref_r["ratio"])
                high *= (target_r["high"] / target_r["ratio"]) / (ref_r["low"] / ref_r["ratio"])
                notes.append(f"no {rt['name']} measurement on a {core}: the {ref} figures x {scale:.2f}, the "
                             f"cycle ratio of the two cores in published pairs ({target_r['pairs'] + ref_r['pairs']} "
                             f"against the Cortex-M4)")
            else:
                unc = self.data["uncalibrated_core"]
                scale = 1.0
                low *= unc["low"]
                high *= unc["high"]
                notes.append(f"no published measurement on a {core} at all: the {ref} figures, band "
                             f"x{unc['low']:g}..x{unc['high']:g}")
        if dtype == "float32":
            fl = self.data["float32"]
            scale *= fl["factor"]
            low *= fl["low"] / fl["factor"]
            high *= fl["high"] / fl["factor"]
            notes.append(f"float32 = int8 x {fl['factor']:.2f} ({fl['data_short']})")
        if used != asked and _version_key(asked) > _version_key(used):
            low *= 1.0 - rt["newer_version_speedup"]
            notes.append(f"{rt['name']} {asked} is newer than the data; versions sped up to "
                         f"{rt['newer_version_speedup']:.0%} from one to the next")
        held = rt.get("held_out")
        basis = (f"{rt['name']} {used} on {core if calibrated else 'another core'}: calibrated on "
                 f"{rt['calibration_rows']} published measurements (MLPerf Tiny v0.5-v1.1), "
                 f"{rows} of them this runtime version and core; "
                 + (f"held-out error {held['median_error_pct']:+.0f} % median over {held['rows']} rows "
                    f"({held['what']})" if held else "no held-out measurement yet"))
        if notes:
            basis += "; " + "; ".join(notes)
        return np.array(entry["cycles_per_macc"], float), scale, (low, high), basis, calibrated

    def check_energy_budget(self, board, budget_uj: "float | None") -> None:
        """Refuse an energy budget on a board whose power no published measurement gives."""
        if budget_uj is not None and board is not None and board.name not in self.data["board_power"]:
            from memsim._errors import SpecError

            known = ", ".join(sorted(self.data["board_power"]))
            raise SpecError(f"No published energy measurement gives {board.name}'s power, so an energy budget cannot "
                            f"be judged on it; energy is estimated on {known}.")

    def energy(self, board: str, latency: "LatencyEstimate | tuple") -> "tuple | None":
        """(uJ, low uJ, high uJ, basis) of one inference on ``board`` (a catalogue name) for a latency estimate, or
        None where no published energy measurement gives the board's power."""
        power = self.data["board_power"].get(board)
        if power is None:
            return None
        ms, low_ms, high_ms = (latency.ms, latency.low_ms, latency.high_ms) if isinstance(
            latency, LatencyEstimate) else latency[:3]
        basis = (f"latency x {power['mw']:g} mW, {board}'s median power over {power['rows']} published energy "
                 f"measurements ({power['low']:g}..{power['high']:g} mW)")
        return (round(ms * power["mw"], 1), round(low_ms * power["low"], 1), round(high_ms * power["high"], 1),
                basis)

    def cycles(self, features: np.ndarray, runtime: str, core: str, dtype: str, version: "str | None" = None):
        """Estimated cycles for an (N, features) or (features,) array."""
        per_feature = self._plan(runtime, core, dtype, version)[-1]
        return np.asarray(features, float) @ np.array(per_feature)

    def estimate(self, features, clock_hz: float, core: str, runtime: str, dtype: str,
                 version: "str | None" = None) -> LatencyEstimate:
        return LatencyEstimate(*self.figures(features, clock_hz, core, runtime, dtype, version))

    def figures(self, features, clock_hz: float, core: str, runtime: str, dtype: str,
                version: "str | None" = None) -> tuple:
        """``estimate``'s fields as a tuple (ms, low_ms, high_ms, basis, calibrated): what every footprint asks, in
        plain Python on six numbers (numpy's per-call cost would be most of it), remembered per network and board
        (a search labels the same configurations again)."""
        key = (features, clock_hz, core, runtime, dtype, version)
        try:
            hit = self._figures.get(key)
        except TypeError:  # features as a list or an array: not remembered
            key, hit = None, None
        if hit is not None:
            return hit
        _, _, (low, high), basis, calibrated, c = self._plan(runtime, core, dtype, version)
        f = features
        ms = 1000.0 * (f[0] * c[0] + f[1] * c[1] + f[2] * c[2] + f[3] * c[3] + f[4] * c[4] + f[5] * c[5]) / clock_hz
        out = round(ms, 3), round(ms * low, 3), round(ms * high, 3), basis, calibrated
        if key is not None:
            if len(self._figures) >= 8192:
                self._figures.clear()
            self._figures[key] = out
        return out

    def ms_many(self, features: np.ndarray, clock_hz: float, core: str, runtime: str, dtype: str,
                version: "str | None" = None) -> tuple[np.ndarray, np.ndarray]:
        """(estimate, top of the band) in ms for an (N, features) array: the batch path's figures."""
        _, _, (_, high), _, _, _ = self._plan(runtime, core, dtype, version)
        ms = 1000.0 * self.cycles(features, runtime, core, dtype, version) / clock_hz
        return ms, ms * high


@lru_cache(maxsize=1)
def time_model() -> TimeModel:
    """The model memsim ships (``memsim/data/time_model.json``)."""
    text = resources.files("memsim").joinpath("data/time_model.json").read_text()
    return TimeModel(json.loads(text))


def latency_ms(macc: int, clock_hz: float, dtype: str, cycles_per_macc: "float | None" = None,
               digits: "int | None" = 3) -> float:
    """Milliseconds for ``macc`` multiply-accumulates at ``clock_hz`` and a fixed cycles-per-MACC: the
    ``--cycles-per-macc`` override (None: the CYCLES_PER_MACC assumption), to ``digits`` decimals (None: unrounded,
    for optimisers that differentiate it)."""
    cpm = cycles_per_macc if cycles_per_macc is not None else CYCLES_PER_MACC[dtype]
    ms = 1000.0 * macc * cpm / clock_hz
    return ms if digits is None else round(ms, digits)


assert N_TIME_FEATURES == len(FITTED) + len(ASSUMED) == 6  # figures() writes out the six products
