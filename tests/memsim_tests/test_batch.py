"""The numba batch evaluator must agree with the single-network path, figure for figure."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memsim
from memsim._footprint import _full_footprint
from memsim.batch import ACTIVATIONS, ChainFamily

FIELDS = ("macc", "params", "weights_bytes", "model_bytes", "activations_bytes", "runtime_ram_bytes",
          "io_bytes", "ram_bytes", "flash_bytes")
acts = st.sampled_from(ACTIVATIONS)


@st.composite
def chain(draw):
    """A random chain: a conv stage (1D or 2D), optional BN/activation/pooling, then a dense head."""
    two_d = draw(st.booleans())
    shape = [draw(st.integers(6, 40)), draw(st.integers(1, 8)), draw(st.integers(1, 4))] if two_d \
        else [draw(st.integers(6, 60)), draw(st.integers(1, 6))]
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["Conv2D", "DepthwiseConv2D"] if two_d else ["Conv1D"]))
        k = draw(st.integers(1, 3))
        layer = {"type": kind, "kernel_size": [k, draw(st.integers(1, 2))] if two_d else k,
                 "strides": draw(st.integers(1, 2)), "padding": draw(st.sampled_from(["valid", "same"])),
                 "use_bias": draw(st.booleans()), "activation": draw(acts)}
        if kind == "DepthwiseConv2D":
            layer["depth_multiplier"] = draw(st.integers(1, 2))
        else:
            layer["filters"] = draw(st.integers(1, 24))
        layers.append(layer)
        extra = draw(st.sampled_from(["none", "bn", "act", "keras_act", "dropout", "skip"]))
        keras_act = draw(st.sampled_from([{"type": "ReLU"}, {"type": "ReLU", "max_value": 6}, {"type": "LeakyReLU"},
                                          {"type": "Softmax"}, {"type": "ELU"}]))
        layers.append({"none": {"type": "Skip"}, "bn": {"type": "BatchNormalization"},
                       "act": {"type": "Activation", "activation": draw(acts)}, "keras_act": dict(keras_act),
                       "dropout": {"type": "Dropout", "rate": 0.1}, "skip": {"type": "Skip"}}[extra])
        if draw(st.booleans()):
            p = draw(st.integers(1, 3))
            layers.append({"type": draw(st.sampled_from(["MaxPooling2D", "AveragePooling2D"] if two_d
                                                        else ["MaxPooling1D", "AveragePooling1D"])),
                           "pool_size": [p, 1] if two_d else p, "padding": draw(st.sampled_from(["valid", "same"]))})
        else:
            layers.append({"type": "Skip"})
    layers.append(draw(st.sampled_from([{"type": "Flatten"},
                                        {"type": "GlobalAveragePooling2D" if two_d else "GlobalAveragePooling1D"},
                                        {"type": "GlobalMaxPooling2D" if two_d else "GlobalMaxPooling1D"}])))
    layers.append({"type": "Dense", "units": draw(st.integers(1, 300)), "activation": draw(acts)})
    layers.append(draw(st.sampled_from([{"type": "Skip"}, {"type": "BatchNormalization"}, {"type": "Dropout", "rate": 0.2}])))
    layers.append({"type": "Dense", "units": draw(st.integers(1, 10)), "activation": draw(acts)})
    for i, layer in enumerate(layers):
        layer["name"] = f"l{i}"
    return shape, layers


@settings(max_examples=150, deadline=None)
@given(chain(), st.sampled_from([("xcubeai", "float32", "none"), ("xcubeai", "float32", "x4"),
                                 ("xcubeai", "float32", "x8"), ("xcubeai", "int8", "none"),
                                 ("xcubeai-5", "float32", "none"), ("xcubeai-time", "float32", "none"),
                                 ("tflm", "float32", "none"),
                                 ("tflm", "int8", "none")]),
       st.sampled_from([None, "stm32f303k8", "paper-big"]))
def test_batch_equals_single_evaluator(net, mode, target):
    shape, layers = net
    runtime, dtype, compression = mode
    family = ChainFamily(tuple(shape), tuple(l["name"] for l in layers), name="fam", input_name="inp")
    ops, prm = family.encode([layers])
    result = family.evaluate(ops, prm, runtime, dtype, compression, target)
    spec = {"name": "fam", "layers": [{"type": "Input", "name": "inp", "shape": shape}]
            + [l for l in layers if l["type"] != "Skip"]}
    try:  # the graph IR and the profiles' Python side, not footprint's fast path (which is this kernel)
        fp = _full_footprint(spec, target, runtime, dtype, compression, None, None)
    except memsim.ShapeError:
        assert result["valid"][0] == 0
        return
    assert result["valid"][0] == 1
    for field in FIELDS:
        assert result[field][0] == getattr(fp, field), field
    assert result["supported"][0] == (not fp.unsupported)


def test_many_configurations_in_one_call_match_row_by_row():
    from _networks import har_template

    cfgs = [dict(filters=f, kernel=k, pool=p, units=u) for f in (8, 256) for k in (1, 2) for p in (1, 2) for u in (8, 256)]
    specs = [har_template(**c) for c in cfgs]
    family = ChainFamily((90, 3, 1), tuple(l["name"] for l in specs[0][1:]), name="model", input_name="x")
    ops, prm = family.encode([s[1:] for s in specs])
    res = family.evaluate(ops, prm, "xcubeai", "float32", "x8", "paper-tiny")
    for i, s in enumerate(specs):
        fp = _full_footprint({"name": "model", "layers": s}, "paper-tiny", "xcubeai", None, "x8", None, None)
        assert (res["ram_bytes"][i], res["flash_bytes"][i], res["macc"][i]) == (fp.ram_bytes, fp.flash_bytes, fp.macc)


def test_bad_batch_input_is_explained():
    family = ChainFamily((10, 3), ("a", "b"))
    with pytest.raises(memsim.SpecError, match="slots"):
        family.evaluate(np.zeros((4, 3), np.int64), np.zeros((4, 3, 8), np.int64))
    with pytest.raises(memsim.UnsupportedLayerError, match="LSTM"):
        family.encode([[{"type": "LSTM"}, {"type": "Dense", "units": 2}]])


def test_runtime_names_resolve_like_footprint_and_unknown_ones_are_refused():
    import pytest as _pytest

    from memsim import SpecError

    layers = [{"type": "Dense", "name": "d", "units": 4}]
    family = ChainFamily((8,), ("d",))
    ops, prm = family.encode([layers])
    lower = family.evaluate(ops, prm, "tflm")
    upper = family.evaluate(ops, prm, "TFLM")  # the same profile, not X-CUBE-AI's figures
    assert int(upper["ram_bytes"][0]) == int(lower["ram_bytes"][0]) != int(family.evaluate(ops, prm, "xcubeai", "float32")["ram_bytes"][0])
    for bad in ("bogus", "tflite"):
        with _pytest.raises(SpecError, match="Unknown runtime profile"):
            family.evaluate(ops, prm, bad)
    with _pytest.raises(SpecError, match="Unknown dtype"):
        family.evaluate(ops, prm, "tflm", "int4")


@settings(max_examples=150, deadline=None)
@given(chain(), st.sampled_from([("xcubeai", "float32", "none"), ("xcubeai", "float32", "x8"),
                                 ("xcubeai-time", "float32", "none"), ("xcubeai-5", "float32", "none"),
                                 ("xcubeai", "int8", "none"), ("tflm", "float32", "none"), ("tflm", "int8", "none")]),
       st.sampled_from([None, "stm32f303k8", "paper-big"]), st.sampled_from([None, 0.0, 5.0]))
def test_footprint_fast_path_equals_the_full_path(net, mode, target, margin):
    """footprint() answers plain named chains through the batch kernel; every field must be the full path's."""
    from memsim._footprint import _full_footprint

    shape, layers = net
    runtime, dtype, compression = mode
    spec = {"name": "fam", "layers": [{"type": "Input", "name": "inp", "shape": shape}]
            + [l for l in layers if l["type"] != "Skip"]}
    try:
        full = _full_footprint(spec, target, runtime, dtype, compression, None, margin)
    except memsim.ShapeError as exc:
        with pytest.raises(memsim.ShapeError, match=str(exc)[:30].replace("(", r"\(").replace(")", r"\)")):
            memsim.footprint(spec, target, runtime, dtype, compression, margin=margin)
        return
    fast = memsim.footprint(spec, target, runtime, dtype, compression, margin=margin)
    assert fast.to_dict() == full.to_dict()


@pytest.mark.parametrize("key, value", [("filters", True), ("filters", 32.5), ("filters", "32"), ("kernel_size", 2.0),
                                        ("activation", "swishy")])
def test_the_fast_path_refuses_what_the_full_path_refuses(key, value):
    # footprint() remembers how it read each layer; a value equal to an accepted one (True == 1, 2.0 == 2) must not
    # borrow the accepted one's reading, and a refused value is refused with the full path's sentence
    from memsim._footprint import _full_footprint

    def spec(v):
        conv = {"type": "Conv2D", "name": "c", "filters": 1, "kernel_size": 2, "activation": "relu", key: v}
        return {"name": "m", "layers": [{"type": "Input", "name": "x", "shape": [20, 3, 1]}, conv,
                                        {"type": "Flatten", "name": "f"}, {"type": "Dense", "name": "d", "units": 2}]}

    accepted = {"filters": 1, "kernel_size": 2, "activation": "relu"}[key]
    memsim.footprint(spec(accepted), "stm32f303k8")  # remembered first
    with pytest.raises(memsim.MemsimError) as full:
        _full_footprint(spec(value), "stm32f303k8", "xcubeai", None, "none", None, None)
    with pytest.raises(memsim.MemsimError) as fast:
        memsim.footprint(spec(value), "stm32f303k8")
    assert type(fast.value) is type(full.value) and str(fast.value) == str(full.value)


def test_a_chain_with_a_name_used_twice_is_refused_like_any_description():
    layers = [{"type": "Input", "name": "x", "shape": [20, 3]}, {"type": "Conv1D", "name": "c", "filters": 4,
                                                                  "kernel_size": 3},
              {"type": "Flatten", "name": "c"}, {"type": "Dense", "name": "d", "units": 2}]
    with pytest.raises(memsim.SpecError, match="used twice"):
        memsim.footprint({"name": "m", "layers": layers}, "stm32f303k8")


def test_a_fast_path_footprint_pickles_with_its_table():
    import pickle

    spec = {"name": "net", "layers": [{"type": "Input", "name": "x", "shape": [20, 3]},
                                      {"type": "Conv1D", "name": "c", "filters": 4, "kernel_size": 3},
                                      {"type": "Flatten", "name": "f"}, {"type": "Dense", "name": "d", "units": 2}]}
    fp = memsim.footprint(spec, "stm32f303k8", "tflm", "int8")
    back = pickle.loads(pickle.dumps(fp))
    assert back.to_dict() == fp.to_dict() and [r["name"] for r in back.layers] == ["x", "c", "f", "d"]


@pytest.mark.parametrize("runtime", ["xcubeai", "tflm"])
def test_repeated_configurations_get_the_figures_of_their_own_evaluation(runtime):
    # memsim evaluates each distinct row once (hash table that grows past 4,096 distinct rows): repeats in any order
    # must get exactly what evaluating them alone gives
    family = ChainFamily((40, 3), ("c", "p", "f", "d"), name="m")
    base = [{"type": "Conv1D", "filters": 4, "kernel_size": 3, "activation": "relu"},
            {"type": "MaxPooling1D", "pool_size": 2}, {"type": "Flatten"}, {"type": "Dense", "units": 5}]
    ops, prm = family.encode([base])
    n_distinct = 5000
    ops, prm = np.repeat(ops, n_distinct, 0), np.repeat(prm, n_distinct, 0)
    prm[:, 3, 0] = 1 + np.arange(n_distinct)  # dense widths 1..5000: all distinct
    order = np.random.default_rng(0).integers(0, n_distinct, 3 * n_distinct)  # with repeats, shuffled
    together = family.evaluate(ops[order], prm[order], runtime, "int8", target="stm32l476rg")
    for k in (0, 1, 2, 777, 3 * n_distinct - 1):
        alone = family.evaluate(ops[order[k]:order[k] + 1], prm[order[k]:order[k] + 1], runtime, "int8",
                                target="stm32l476rg")
        assert {f: int(v[k]) for f, v in together.items()} == {f: int(v[0]) for f, v in alone.items()}
    first = {}
    for k, row in enumerate(order):
        first.setdefault(row, k)
    for k in range(0, 3 * n_distinct, 97):  # every repeat equals the first occurrence of its row
        assert all(v[k] == v[first[order[k]]] for v in together.values())


def test_the_kernel_compiles_the_ops_arithmetic_from_the_one_rules_module():
    # one source for shape, params, MACC, buffer and weight bytes: every rule the Python side calls is the function
    # the kernels compiled, and no kernel module compiles a rule of its own
    import inspect

    from memsim import _kernels, _rules
    from memsim._kernels import rules as compiled

    assert all(getattr(getattr(compiled, name), "py_func", getattr(compiled, name)) is getattr(_rules, name)
               for name in _rules.__all__)  # (without JIT, numba hands the function back as it is)
    for path in (Path(_kernels.__file__).parent).glob("*.py"):
        if path.name != "rules.py":
            assert "kernel(_rules." not in path.read_text(), path.name
    assert inspect.getsource(_rules).count("def ") == len(_rules.__all__)


def test_profile_options_reach_the_kernel():
    # XCubeAIProfile(fuse_conv_pool=False) once changed only the Python path; every option must reach the kernel
    from memsim.profiles import XCubeAIProfile

    layers = [{"type": "Conv2D", "name": "c", "filters": 16, "kernel_size": 3, "activation": "relu"},
              {"type": "MaxPooling2D", "name": "p", "pool_size": 2}, {"type": "Flatten", "name": "f"},
              {"type": "Dense", "name": "d", "units": 4}]
    spec = {"name": "m", "layers": [{"type": "Input", "name": "x", "shape": [24, 24, 3]}, *layers]}
    family = ChainFamily((24, 24, 3), ("c", "p", "f", "d"), name="m", input_name="x")
    ops, prm = family.encode([layers])
    pools = set()
    for options in ({}, {"fuse_conv_pool": False}, {"conv_overlap": False}, {"im2col": False},
                    {"io_in_pool": False}):
        profile = XCubeAIProfile(**options)
        batch = family.evaluate(ops, prm, profile)
        full = _full_footprint(spec, None, profile, None, "none", None, None)
        assert {f: int(batch[f][0]) for f in FIELDS} == {f: getattr(full, f) for f in FIELDS}, options
        pools.add(full.activations_bytes)
    assert len(pools) == 5  # each option changes the plan of this network
