"""A search space written in Python (``build(hp)``): declared by a recording hp, labelled by memsim through Keras."""

import inspect
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

import cbo
from autotinyml_cli.main import main
from cbo.tinyml import MemsimConstraint, get_template
from cbo.tinyml.python_space import HyperParameters, load_python_space

pytestmark = pytest.mark.toolchain  # every space here builds Keras models

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _space_file(tmp_path, body: str) -> Path:
    path = tmp_path / "space.py"
    path.write_text("import keras\n\n\n" + body)
    return path


def test_the_python_paper_har_is_the_builtin_template_network_for_network():
    """The example re-writes paper-har through build(hp): same parameters, same baseline, and memsim gives every
    configuration the same figures under both runtimes (the front-ends agree on the user's Keras model)."""
    py = load_python_space(EXAMPLES / "paper_har.py", ((100, 6), 4))
    builtin = get_template("paper-har")
    assert py.space.to_dict()["params"] == builtin.space.to_dict()["params"]
    assert py.baseline == builtin.baseline
    assert py.input_shape((100, 6)) == builtin.input_shape((100, 6)) == (100, 6, 1)
    configs = builtin.space.sample(np.random.default_rng(1), 12) + [builtin.baseline]
    for runtime, dtype in (("tflm", "int8"), ("xcubeai", "float32")):
        ours = MemsimConstraint(py, (100, 6, 1), 4, "stm32l476rg", runtime, dtype).many(configs)
        theirs = MemsimConstraint(builtin, (100, 6, 1), 4, "stm32l476rg", runtime, dtype).many(configs)
        assert ours == theirs


def test_branch_only_and_per_layer_parameters_are_found_with_their_conditions(tmp_path):
    path = _space_file(tmp_path, '''
def build(hp, input_shape, n_classes):
    x = inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(x)
    for i in range(hp.Int("layers", 1, 3)):
        x = keras.layers.Dense(hp.Int(f"units_{i}", 8, 64, step=8), activation="relu")(x)
    if hp.Boolean("dropout"):
        with hp.conditional_scope("dropout", [True]):
            x = keras.layers.Dropout(hp.Float("rate", 0.1, 0.5, step=0.2))(x)
    hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    hp.Fixed("epochs_hint", 3)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))
''')
    space = load_python_space(path, ((20, 3), 5)).space
    params = space.to_dict()["params"]
    assert list(params) == ["layers", "units_0", "dropout", "learning_rate", "units_1", "units_2", "rate"]
    assert params["units_0"] == {"type": "ordinal", "choices": list(range(8, 65, 8))}
    assert params["rate"] == {"type": "ordinal", "condition": {"param": "dropout", "in": [True]},
                              "choices": [0.1, 0.3, 0.5]}
    assert params["learning_rate"] == {"type": "real", "low": 1e-4, "high": 1e-2, "log": True}
    assert params["layers"] == {"type": "integer", "low": 1, "high": 3, "log": False}
    assert "epochs_hint" not in params  # a Fixed value is not searched


def test_a_branch_behind_a_choice_other_than_the_default_is_found(tmp_path):
    """The default need not be the first choice: every other value is built, the first one included."""
    path = _space_file(tmp_path, '''
def build(hp, input_shape, n_classes):
    x = inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(x)
    if hp.Choice("head", ["wide", "narrow"], default="narrow") == "wide":
        x = keras.layers.Dense(hp.Choice("wide_units", [64, 128]), activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))
''')
    template = load_python_space(path, ((20, 3), 5))
    assert list(template.space.names) == ["head", "wide_units"] and template.baseline == {"head": "narrow",
                                                                                          "wide_units": 64}


def test_each_configuration_is_built_as_given_and_labelled_once(tmp_path):
    path = _space_file(tmp_path, '''
BUILT = []


def build(hp, input_shape, n_classes):
    BUILT.append(dict(hp.values))
    x = inputs = keras.Input(input_shape)
    x = keras.layers.Conv1D(hp.Choice("filters", [4, 8, 16]), hp.Choice("kernel", [3, 50]))(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))
''')
    template = load_python_space(path, ((32, 3), 2))
    constraint = MemsimConstraint(template, template.input_shape((32, 3)), 2, "stm32f303k8", "tflm", "int8")
    configs = [{"filters": f, "kernel": k} for f in (4, 8, 16) for k in (3, 50)]
    answers = constraint.many(configs)
    built = __import__("sys").modules[template.build.__module__].BUILT
    before = len(built)
    assert constraint.many(configs) == answers and len(built) == before  # kept per configuration
    for config, (ok, figures) in zip(configs, answers):
        if config["kernel"] == 50:  # a window longer than the 32-step input: Keras refuses it, so it cannot deploy
            assert not ok and "failed for configuration" in figures["error"]
            continue
        assert ok
        model = template.keras_model(config, (32, 3), 2)
        assert model.layers[1].filters == config["filters"] and model.layers[1].kernel_size == (3,)
        import memsim
        assert figures["ram_bytes"] == memsim.footprint(model, "stm32f303k8", "tflm", "int8").ram_bytes


def test_the_space_travels_to_a_worker_as_its_file():
    template = load_python_space(EXAMPLES / "my_space.py", ((100, 6), 4))
    again = pickle.loads(pickle.dumps(template))
    assert again.space.to_dict() == template.space.to_dict() and again.baseline == template.baseline
    assert again.spec(template.baseline, (100, 6), 4) == template.spec(template.baseline, (100, 6), 4)


def test_mistakes_in_a_space_file_are_one_sentence_naming_the_file(tmp_path):
    cases = {
        "def make(hp):\n    return None\n": "defines no build(hp) function",
        "def build(hp, shape):\n    return None\n": "build takes 2 arguments; write build(hp) or",
        "def build(hp):\n    hp.Choice('a', [1, 2])\n    return None\n": "returned NoneType for its default values",
        "def build(hp):\n    hp.Int('a', 1, 4)\n    hp.Int('a', 1, 8)\n": "'a' is declared twice with different",
        "def build(hp):\n    return 1 / hp.Int('a', 0, 3)\n": "build(hp) failed for its default values: ZeroDivisionError",
        "import nonexistent_module\n": "cannot be run: ModuleNotFoundError",
        "def build(hp):\n    hp.Int('a', 1.5, 3)\n": "min_value and max_value must be ints",
        ("def build(hp, input_shape, n_classes):\n    x = keras.Input(input_shape)\n"
         "    y = keras.layers.Flatten()(x)\n    return keras.Model(x, keras.layers.Dense(7)(y))\n"):
            "has 7 outputs, but the data has 3 classes",
    }
    for body, expected in cases.items():
        path = _space_file(tmp_path, body)
        with pytest.raises(cbo.SpaceError) as info:
            load_python_space(path, ((10, 2), 3))
        message = str(info.value)
        assert expected in message and str(path.name) in message and "\n" not in message, (body, message)


def test_the_hp_answers_with_the_configuration_else_its_defaults():
    hp = HyperParameters({"units": 32})
    assert hp.Int("units", 8, 64, step=8) == 32
    assert hp.Choice("act", ["relu", "tanh"]) == "relu" and hp.Boolean("bn") is False
    assert hp.Float("lr", 1e-3, 1e-1, log=True, default=0.01) == 0.01 and hp.get("lr") == 0.01 and hp["units"] == 32


def test_search_space_in_python_runs_end_to_end(tmp_path, capsys, monkeypatch):
    """The issue's acceptance at small scale: search, confirmation by tflite-micro, export, report — on a space that
    is not a built-in template; and the same file on a board where nothing fits is refused before any training."""
    monkeypatch.chdir(tmp_path)
    args = ["search", "--space", str(EXAMPLES / "my_space.py"), "--trainings", "2", "--epochs", "2", "--k", "2",
            "--confirm", "1", "--json"]
    code = main(args)
    out = json.loads(capsys.readouterr().out)
    assert out["n_trained"] == 2 and out["wasted_trainings"] == 0
    assert out["settings"]["template"] == "py:my_space" and "units" in out["settings"]["space"]["params"]
    if code == 0:  # two epochs may leave a finalist that X-CROSS rightly rejects; then nothing is exported
        (report,) = out["confirmed"].values()
        assert report["deployable"] and (tmp_path / "autotinyml-export" / "model.tflite").exists()
        exported = json.loads((tmp_path / "autotinyml-export" / "report.json").read_text())
        assert exported["config"] == out["best"]["config"]
    else:
        assert code == 1
    assert list((tmp_path / "autotinyml-studies").glob("*-report/index.html"))  # the report read the file again
    (tmp_path / "nano.toml").write_text('[[board]]\nname = "nano"\nflash_bytes = "8KiB"\nram_regions = "1KiB"\n')
    assert main(args[:5] + ["--target-file", "nano.toml", "--target", "nano", "--study", "nano.sqlite"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("autotinyml: error: No network of py:my_space fits nano") and len(err.splitlines()) == 1
    assert not (tmp_path / "nano.sqlite").exists()


@pytest.mark.parametrize("method", sorted(cbo.SAMPLERS))
def test_every_method_searches_a_python_space(method):
    """Each sampler proposes from the declared space and, where it checks first, only networks memsim finds
    deployable (labels from Keras builds); the objective here is a stand-in, so no training runs."""
    template = load_python_space(EXAMPLES / "my_space.py", ((100, 6), 4))
    constraint = MemsimConstraint(template, template.input_shape((100, 6)), 4, "stm32f303k8", "tflm", "int8")
    options = {"n_phase1": 4} if method == "svmcbo" else {}
    if "n_candidates" in inspect.signature(cbo.SAMPLERS[method]).parameters:
        options["n_candidates"] = 32  # each label is a Keras build
    study = cbo.Study(template.space, cbo.SAMPLERS[method](seed=0, **options), constraint=constraint, seed=0)
    study.optimize(lambda config: float(config["filters"] + config["blocks"]) / 100, 4)
    trained = [t for t in study.trials if t.value is not None]
    assert len(trained) == 4 and len({template.space.key(t.config) for t in trained}) == 4
    for t in trained:
        template.space.validate_config(t.config)
    if study.sampler.prechecks:
        assert all(constraint(t.config)[0] for t in trained)
