"""memsim as the deployability oracle: a configuration's label costs well under a millisecond."""

from __future__ import annotations

from typing import Mapping

import memsim
from memsim import ShapeError
from targets import Target, get_target

from cbo.tinyml.templates import Template

__all__ = ["MemsimConstraint"]

_KEEP = ("macc", "params", "weights_bytes", "model_bytes", "activations_bytes", "runtime_ram_bytes", "ram_bytes",
         "flash_bytes", "region_bytes", "ram_margin_bytes", "region_margin_bytes", "flash_margin_bytes", "latency_ms")


class MemsimConstraint:
    """``config -> (deployable, footprint)`` for a template on a target.

    A configuration whose shapes do not fit (a window larger than its input)
    is labelled undeployable with the reason; any other error (an unknown
    activation, a malformed template) is raised: it is a mistake to fix, not
    a network that does not fit.
    """

    def __init__(self, template: Template, input_shape: tuple, n_classes: int, target: "str | Target",
                 runtime: str = "xcubeai", dtype: str = "float32", compression: str = "none",
                 margin: "float | None" = None):
        self.template = template
        self.input_shape = tuple(input_shape)
        self.n_classes = n_classes
        self.target = get_target(target)
        self.runtime = runtime
        self.dtype = dtype
        self.compression = compression
        self.margin = margin  # None: the runtime profile's calibrated safety margin
        self._reasons: dict = {}

    def footprint(self, config: Mapping) -> "memsim.Footprint":
        spec = self.template.spec(dict(config), self.input_shape, self.n_classes)
        return memsim.footprint(spec, self.target, self.runtime, self.dtype, self.compression, margin=self.margin)

    def many(self, configs: list) -> list[tuple[bool, dict]]:
        """``[self(c) for c in configs]``, through memsim's batch evaluator where the template's networks are
        chains it knows (one numba call per layer structure), else one footprint each. Same verdicts and
        figures either way (tests/cbo_tests/test_constraint_batch.py)."""
        from memsim._errors import SpecError, UnsupportedLayerError
        from memsim._footprint import CYCLES_PER_MACC
        from memsim.batch import _family, verdicts

        answers: list = [None] * len(configs)
        groups: dict = {}
        for i, config in enumerate(configs):
            spec = self.template.spec(dict(config), self.input_shape, self.n_classes)
            layers = spec["layers"][1:]
            groups.setdefault((spec["name"], spec["layers"][0].get("name", "input"),
                               tuple(layer.get("name", "") for layer in layers)), []).append((i, layers))
        for (name, input_name, slots), members in groups.items():
            family = _family(self.input_shape, slots, name, input_name)  # cached across calls
            try:
                ops, params = family.encode([layers for _, layers in members])
                res = family.evaluate(ops, params, self.runtime, self.dtype, self.compression, self.target)
            except (UnsupportedLayerError, SpecError):  # not a chain the batch path knows: one at a time
                for i, _ in members:
                    answers[i] = self(configs[i])
                continue
            reasons = [self._unsupported(layers) if not res["supported"][k] and res["valid"][k] else ()
                       for k, (_, layers) in enumerate(members)]
            ver = verdicts(res, self.target, self.runtime, self.dtype, self.margin, reasons)
            cpm = CYCLES_PER_MACC[self.dtype]
            for k, (i, _) in enumerate(members):
                if not res["valid"][k]:  # shapes that do not fit: the full path names the layer
                    answers[i] = self(configs[i])
                    continue
                figures = {f: int(res[f][k]) for f in _KEEP if f in res}
                figures.update({f: int(ver[f][k]) for f in ("region_bytes", "ram_margin_bytes",
                                                             "region_margin_bytes", "flash_margin_bytes")})
                figures["latency_ms"] = round(1000.0 * figures["macc"] * cpm / self.target.clock_hz, 3)
                figures["violations"] = list(ver["violations"][k])
                answers[i] = (bool(ver["deployable"][k]), figures)
        return answers

    def _unsupported(self, layers: list) -> tuple:
        """Why the runtime cannot run these layers (the profile's own check), asked once per kind of network."""
        key = tuple((str(layer["type"]), str(layer.get("activation"))) for layer in layers)
        if key not in self._reasons:
            from memsim import graph_from_spec
            from memsim.profiles import get_profile

            spec = [{"type": "Input", "name": "input", "shape": list(self.input_shape)}, *layers]
            self._reasons[key] = tuple(get_profile(self.runtime).check(graph_from_spec(spec), self.dtype))
        return self._reasons[key]

    def __call__(self, config: Mapping) -> tuple[bool, dict]:
        try:
            fp = self.footprint(config)
        except ShapeError as exc:
            return False, {"error": str(exc)}
        figures = {k: getattr(fp, k) for k in _KEEP}
        figures["violations"] = list(fp.violations)
        return bool(fp.deployable), figures
