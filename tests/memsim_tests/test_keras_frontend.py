"""Keras files and objects in, with the real Keras."""

import json

import pytest
from _networks import HAR_BASELINE

import memsim
from autotinyml_cli.main import main

pytestmark = pytest.mark.toolchain


@pytest.fixture(scope="module")
def har_model():
    from memsim.frontends.keras import keras_from_spec

    return keras_from_spec({"name": "har", "layers": HAR_BASELINE})


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_footprint_of_saved_keras_files(har_model, tmp_path, suffix, capsys):
    path = tmp_path / f"har{suffix}"
    har_model.save(path)
    fp = memsim.footprint(path, runtime="xcubeai", compression="x8")
    assert (fp.macc, fp.weights_bytes) == (875_232, 375_448)
    assert main(["footprint", str(path), "--target", "paper-big", "--runtime", "xcubeai", "--compression", "x8",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["deployable"] is True


def test_keras_model_object_and_count_params(har_model):
    graph = memsim.load_graph(har_model)
    assert graph.keras_params == har_model.count_params() == 738_950


def test_unsupported_keras_layer_is_named(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((20, 3)), keras.layers.LSTM(8, name="my_lstm"), keras.layers.Dense(2)])
    with pytest.raises(memsim.UnsupportedLayerError) as info:
        memsim.load_graph(model)
    assert "'my_lstm'" in str(info.value) and "LSTM" in str(info.value)


def test_corrupt_keras_file(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"PK\x03\x04 this is not a real archive")
    with pytest.raises(memsim.ModelFileError, match="broken.keras"):
        memsim.load_graph(path)
    assert main(["footprint", str(path)]) == 2
