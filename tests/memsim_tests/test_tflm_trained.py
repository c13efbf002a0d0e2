"""memsim on networks with *trained* weights, measured by the real converter and tflite-micro.

Trained biases and BatchNorm statistics are folded by the converter in ways freshly initialised weights hide
(validation.corpus.TRAINED_CORPUS says which rule each network exposed). The promise tested: the activation pool
is exact, the flatbuffer is never under-predicted beyond the TFLM Flash margin, and the arena that allocates fits
inside memsim's figure plus its RAM margin.
"""

import pytest
from toolchain import convert, measure

from memsim.frontends.spec import graph_from_spec
from memsim.frontends.tflite import read_tflite
from memsim.profiles.tflm import TFLMProfile, lower
from validation.corpus import TRAINED_CORPUS, build_trained_model

pytestmark = pytest.mark.toolchain
MARGIN = TFLMProfile.SAFETY_MARGIN_PCT


@pytest.fixture(scope="module")
def trained():
    models = {}

    def get(name):
        if name not in models:
            models[name] = build_trained_model(next(s for s in TRAINED_CORPUS if s["name"] == name))
        return models[name]

    return get


@pytest.mark.parametrize("dtype", ["float32", "int8"])
@pytest.mark.parametrize("name", [s["name"] for s in TRAINED_CORPUS])
def test_trained_networks_are_never_under_predicted_beyond_the_margin(trained, name, dtype):
    spec = next(s for s in TRAINED_CORPUS if s["name"] == name)
    fb = convert(trained(name), dtype)
    graph = graph_from_spec(spec)
    prof = TFLMProfile()
    assert lower(graph, dtype).op_types == read_tflite(fb).op_types
    if prof.check(graph, dtype):  # memsim says TFLM refuses it (int8 SELU): so must the interpreter
        with pytest.raises(RuntimeError):
            measure(fb)
        return
    real = measure(fb)
    assert prof.activation_plan(graph, dtype).pool_bytes == real["head"]
    predicted_flash = prof.model_bytes(graph, dtype, 0)
    assert predicted_flash * (1 + MARGIN["flash"] / 100) >= real["flatbuffer"], (predicted_flash, real["flatbuffer"])
    required = prof.activation_plan(graph, dtype).pool_bytes + prof.arena_tail(graph, dtype) \
        + prof.prepare_bytes(graph, dtype)
    assert required * (1 + MARGIN["ram"] / 100) >= real["smallest"], (required, real["smallest"])
