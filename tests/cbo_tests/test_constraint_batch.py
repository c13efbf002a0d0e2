"""The search's constraint answers whole candidate sets through memsim's batch path, with footprint's verdicts."""

import numpy as np
import pytest

from cbo.tinyml import MemsimConstraint, get_template

SETTINGS = [("tflm", "int8", "none"), ("tflm", "float32", "none"), ("xcubeai", "float32", "x8"),
            ("xcubeai", "float32", "x4"), ("xcubeai", "int8", "none"), ("xcubeai-5", "float32", "none")]


@pytest.mark.parametrize("runtime, dtype, compression", SETTINGS)
@pytest.mark.parametrize("template, shape, n_classes, target", [
    ("paper-har", (100, 6, 1), 4, "stm32f303k8"), ("paper-har", (8, 8, 1), 10, "stm32l476rg"),
    ("paper-har", (90, 3, 1), 6, "paper-tiny")])
def test_many_equals_one_at_a_time(template, shape, n_classes, target, runtime, dtype, compression, monkeypatch):
    t = get_template(template)
    c = MemsimConstraint(t, shape, n_classes, target, runtime, dtype, compression)
    configs = t.space.sample(np.random.default_rng(len(shape) + n_classes), 150)
    batch = c.many(configs)
    # one at a time through the graph IR and the profiles, not footprint's fast path (the batch kernel itself)
    monkeypatch.setattr("memsim._entry._as_chain", lambda model: None)
    single = [c(cfg) for cfg in configs]
    assert [b[0] for b in batch] == [s[0] for s in single]
    if (template, target, runtime) == ("paper-har", "paper-tiny", "tflm"):
        assert any(s[0] for s in single) and not all(s[0] for s in single)  # both verdicts exercised
    for (_, fb), (_, fs) in zip(batch, single):
        assert fb == fs
