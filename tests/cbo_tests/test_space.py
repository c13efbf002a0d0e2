import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cbo


@st.composite
def spaces(draw):
    params = []
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["categorical", "ordinal", "integer", "real"]))
        name = f"p{i}"
        cond = None
        if params and draw(st.booleans()) and isinstance(params[0], (cbo.Categorical, cbo.Ordinal)):
            cond = (params[0].name, (params[0].choices[0],))
        if kind in ("categorical", "ordinal"):
            n = draw(st.integers(1, 6))
            choices = tuple(draw(st.lists(st.integers(-50, 50), min_size=n, max_size=n, unique=True)))
            cls = cbo.Categorical if kind == "categorical" else cbo.Ordinal
            params.append(cls(name, choices=choices, condition=cond))
        elif kind == "integer":
            low = draw(st.integers(1, 20))
            params.append(cbo.Integer(name, low=low, high=low + draw(st.integers(0, 30)), log=draw(st.booleans()),
                                      condition=cond))
        else:
            low = draw(st.floats(0.001, 10))
            params.append(cbo.Real(name, low=low, high=low + draw(st.floats(0, 100)), log=draw(st.booleans()),
                                   condition=cond))
    return cbo.Space(params)


@settings(max_examples=200, deadline=None)
@given(spaces(), st.integers(0, 2**32 - 1))
def test_encode_decode_round_trip(space, seed):
    rng = np.random.default_rng(seed)
    for config in space.sample(rng, 5) + space.lhs(rng, 3):
        x = space.encode(config)
        assert x.shape == (space.dims,) and np.all((x >= -1e-12) & (x <= 1 + 1e-12))
        back = space.decode(x)
        assert set(back) == set(config)
        for k, v in config.items():
            if isinstance(space[k], cbo.Real):
                assert math.isclose(back[k], v, rel_tol=1e-9, abs_tol=1e-9)
            else:
                assert back[k] == v
        assert space.validate_config(back) == back


@settings(max_examples=100, deadline=None)
@given(spaces(), st.lists(st.floats(0, 1), min_size=40, max_size=40))
def test_any_cube_point_decodes_to_a_valid_configuration(space, u):
    x = np.array((u * (space.dims // 40 + 1))[: space.dims])
    config = space.decode(x)
    assert space.validate_config(config) == config


def test_toml_space_and_conditions(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('name = "mine"\n[params.layers]\ntype = "ordinal"\nchoices = [1, 2]\n'
                    '[params.units2]\ntype = "ordinal"\nchoices = [8, 16]\ncondition = { param = "layers", in = [2] }\n'
                    '[params.lr]\ntype = "real"\nlow = 1e-4\nhigh = 1e-1\nlog = true\n'
                    '[params.opt]\ntype = "categorical"\nchoices = ["adam", "sgd"]\n')
    space = cbo.Space.from_toml(path)
    assert space.name == "mine" and space.dims == 1 + 1 + 1 + 2
    assert "units2" not in space.decode(space.encode({"layers": 1, "lr": 0.01, "opt": "sgd"}))
    assert space.decode(space.encode({"layers": 2, "units2": 16, "lr": 0.01, "opt": "sgd"}))["units2"] == 16
    assert cbo.Space.from_dict(space.to_dict()).to_dict() == space.to_dict()


@pytest.mark.parametrize("params,match", [
    ({"a": {"type": "ordinal", "choices": []}}, "no choices"),
    ({"a": {"type": "integer", "low": 5, "high": 1}}, "low 5 > high 1"),
    ({"a": {"type": "banana", "choices": [1]}}, "unknown type 'banana'"),
    ({"a": {"type": "ordinal", "choices": [1], "condition": {"param": "zz", "in": [1]}}}, "unknown parameter 'zz'"),
    ({"a": {"type": "ordinal", "choices": [1], "condition": {"param": "b", "in": [1]}},
      "b": {"type": "ordinal", "choices": [1], "condition": {"param": "a", "in": [1]}}}, "cycle"),
    ({"a": {"type": "real", "low": 0, "high": 1, "log": True}}, "log-scaled"),
    ({"a": {"type": "ordinal", "choices": [1, 1]}}, "twice"),
    ({}, "at least one parameter"),
])
def test_bad_spaces_get_one_clear_sentence(params, match):
    with pytest.raises(cbo.SpaceError, match=match) as info:
        cbo.Space.from_dict({"params": params})
    assert "\n" not in str(info.value)


def test_grid_respects_its_size():
    space = cbo.Space([cbo.Ordinal("a", choices=(1, 2, 3, 4)), cbo.Categorical("b", choices=("x", "y")),
                       cbo.Real("c", low=0, high=1)])
    for n in (1, 5, 10, 32):
        grid = space.grid(n)
        assert 1 <= len(grid) <= n
        assert len({space.key(c) for c in grid}) == len(grid)
