"""Keras Tuner with DeployableTuner: no undeployable model is ever trained (real keras-tuner, real Keras)."""

import numpy as np
import pytest

import memsim
from cbo import CBOError
from cbo.tinyml import DeployableTuner

keras_tuner = pytest.importorskip("keras_tuner", reason="keras-tuner is in the [test] extra")
pytestmark = pytest.mark.toolchain


def build(hp):
    import keras

    model = keras.Sequential([
        keras.Input((40, 3)),
        keras.layers.Conv1D(hp.Choice("filters", [4, 8, 256]), hp.Choice("kernel", [3, 5]), activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(hp.Choice("units", [8, 16, 512]), activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _recording(kind):
    class Recording(kind):
        """The tuner as users have it, noting what it actually trains."""

        trained: list = []

        def run_trial(self, trial, *args, **kwargs):
            self.trained.append(dict(trial.hyperparameters.values))
            return super().run_trial(trial, *args, **kwargs)

    return Recording


@pytest.mark.parametrize("kind, options", [("RandomSearch", {}), ("BayesianOptimization", {"num_initial_points": 2})])
def test_the_tuner_trains_only_models_that_deploy(tmp_path, kind, options):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(48, 40, 3)).astype("float32"), rng.integers(0, 3, 48)
    tuner = DeployableTuner(
        _recording(getattr(keras_tuner, kind))(build, objective="val_accuracy", max_trials=6, seed=3,
                                              directory=str(tmp_path), project_name=kind, **options),
        target="stm32f303k8", runtime="tflm")
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    trained = tuner.tuner.trained
    assert len(trained) == 6 and tuner.rejected  # the space is mostly too large for 16 KiB: proposals were refused
    for values in trained:  # each trained model fits, by the command line's own rule (tflm, int8, its margin)
        fp = memsim.footprint(tuner.tuner.hypermodel.build(_hp(tuner, values)), "stm32f303k8", "tflm", "int8")
        assert fp.deployable, (values, fp.violations)
    for values, violations in tuner.rejected:
        assert values not in trained and violations
    assert tuner.get_best_models(1)[0].count_params() > 0  # the rest is the wrapped tuner's


def _hp(tuner, values):
    hp = tuner.oracle.get_space()
    hp.values = dict(values)
    return hp


def test_a_space_where_nothing_deploys_trains_nothing(tmp_path):
    def huge(hp):
        import keras

        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(hp.Choice("units", [4096, 8192])),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        return model

    x, y = np.zeros((8, 64), "float32"), np.arange(8) % 2
    tuner = DeployableTuner(keras_tuner.RandomSearch(huge, objective="val_loss", max_trials=2,
                                                     directory=str(tmp_path), project_name="all"),
                            target="stm32f303k8")
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)  # ends when the space is exhausted
    assert sorted(v["units"] for v, _ in tuner.rejected) == [4096, 8192]
    assert not any(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    # a cap on refusals in a row ends the search with a sentence saying what to change
    tuner = DeployableTuner(keras_tuner.RandomSearch(huge, objective="val_loss", max_trials=2,
                                                     directory=str(tmp_path), project_name="cap"),
                            target="stm32f303k8", max_rejections=1)
    with pytest.raises(CBOError, match="1 proposal in a row do not deploy on STM32F303K8 under tflm"):
        tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)


def test_x_cube_ai_on_a_board_it_does_not_run_on_is_refused_before_any_search(tmp_path):
    with pytest.raises(memsim.SpecError, match="STMicroelectronics microcontrollers only"):
        DeployableTuner(keras_tuner.RandomSearch(build, objective="val_loss", max_trials=1,
                                                 directory=str(tmp_path)), target="nrf52840", runtime="xcubeai")


def test_the_documented_example_runs(capsys):
    """docs/your-own-model.md's Keras Tuner example, at two trials of one epoch."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "keras_tuner_search.py"
    spec = importlib.util.spec_from_file_location("keras_tuner_search", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    tuner = example.main(max_trials=2, epochs=1)
    best = tuner.get_best_hyperparameters(1)[0].values
    assert tuner.footprint(best).deployable and "best: {" in capsys.readouterr().out
