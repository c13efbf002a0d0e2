"""memsim as the deployability oracle: a configuration's label costs well under a millisecond."""

from __future__ import annotations

from collections.abc import Mapping

import memsim
from memsim import ShapeError
from targets import Target, get_target

from cbo.tinyml.templates import Template

__all__ = ["MemsimConstraint"]

_KEEP = ("macc", "params", "weights_bytes", "model_bytes", "activations_bytes", "runtime_ram_bytes", "ram_bytes",
         "flash_bytes", "region_bytes", "ram_headroom_bytes", "region_headroom_bytes", "flash_headroom_bytes", "latency_ms",
         "latency_low_ms", "latency_high_ms", "energy_uj", "energy_high_uj")


class MemsimConstraint:
    """``config -> (deployable, footprint)`` for a template on a target.

    A configuration whose shapes do not fit (a window larger than its input)
    is labelled undeployable with the reason; any other error (an unknown
    activation, a malformed template) is raised: it is a mistake to fix, not
    a network that does not fit.
    """

    def __init__(self, template: Template, input_shape: tuple, n_classes: int, target: "str | Target",
                 runtime=None, dtype: "str | None" = None, compression: "str | None" = None,
                 margin: "float | None" = None, latency_budget_ms: "float | None" = None,
                 energy_budget_uj: "float | None" = None):
        from memsim import resolve

        self.template = template
        self.input_shape = tuple(input_shape)
        self.n_classes = n_classes
        self.target = get_target(target)
        settings = resolve(runtime, dtype, compression, margin)  # resolved once (None: memsim's defaults)
        self.runtime = settings.runtime  # the memsim Runtime object
        self.dtype = settings.dtype
        self.compression = settings.compression
        self.margin = margin  # None: the runtime profile's calibrated safety margin
        self.latency_budget_ms = latency_budget_ms  # held against the top of memsim's latency band
        self.energy_budget_uj = energy_budget_uj    # and of its energy band

    def footprint(self, config: Mapping) -> "memsim.Footprint":
        spec = self.template.spec(dict(config), self.input_shape, self.n_classes)
        return memsim.footprint(spec, self.target, self.runtime, self.dtype, self.compression, margin=self.margin,
                                latency_budget_ms=self.latency_budget_ms, energy_budget_uj=self.energy_budget_uj)

    def many(self, configs: list) -> list[tuple[bool, dict]]:
        """``[self(c) for c in configs]`` through ``memsim.footprint_many`` (one kernel call per layer structure
        where the template's networks are chains it reads; the same verdicts and figures either way)."""
        specs = [self._spec(config) for config in configs]
        built = [s for s in specs if not isinstance(s, ShapeError)]
        answers = iter(memsim.footprint_many(built, self.target, self.runtime, self.dtype, self.compression,
                                             margin=self.margin, latency_budget_ms=self.latency_budget_ms,
                                             energy_budget_uj=self.energy_budget_uj))
        return [_answer(s if isinstance(s, ShapeError) else next(answers)) for s in specs]

    def _spec(self, config: Mapping) -> "dict | ShapeError":
        """The configuration's description, or why its network cannot be built for this input."""
        try:
            return self.template.spec(dict(config), self.input_shape, self.n_classes)
        except ShapeError as exc:
            return exc

    def __call__(self, config: Mapping) -> tuple[bool, dict]:
        try:
            fp = self.footprint(config)
        except ShapeError as exc:
            fp = exc
        return _answer(fp)


def _answer(fp: "memsim.Footprint | ShapeError") -> tuple[bool, dict]:
    """(deployable, figures) of one footprint; shapes that do not fit are undeployable, with the reason."""
    if isinstance(fp, ShapeError):
        return False, {"error": str(fp)}
    figures = {k: getattr(fp, k) for k in _KEEP}
    figures["violations"] = list(fp.violations)
    return bool(fp.deployable), figures
