"""Bad input gets one clear sentence, never a deep traceback."""

import json

import pytest

import memsim
from autotinyml_cli.main import main
from memsim.frontends.tflite import read_tflite
from targets import AutoTinyMLError


def test_unsupported_layer_names_layer_type_and_supported_list():
    with pytest.raises(memsim.UnsupportedLayerError) as info:
        memsim.graph_from_spec([{"type": "Input", "shape": [10, 3]}, {"type": "LSTM", "name": "rnn", "units": 4}])
    msg = str(info.value)
    assert "'rnn'" in msg and "LSTM" in msg and "Conv2D" in msg


def test_unsupported_option_is_named():
    with pytest.raises(memsim.UnsupportedLayerError, match="dilation_rate"):
        memsim.graph_from_spec([{"type": "Input", "shape": [10, 10, 3]},
                                {"type": "Conv2D", "filters": 4, "kernel_size": 3, "dilation_rate": 2}])
    with pytest.raises(memsim.UnsupportedLayerError, match="activation 'gelu'"):
        memsim.graph_from_spec([{"type": "Input", "shape": [4]}, {"type": "Dense", "units": 2, "activation": "gelu"}])


def test_wrong_shapes_are_explained():
    with pytest.raises(memsim.ShapeError, match="rank 3"):
        memsim.graph_from_spec([{"type": "Input", "shape": [10]}, {"type": "Conv2D", "filters": 4, "kernel_size": 3}])
    with pytest.raises(memsim.ShapeError, match="does not fit"):
        memsim.graph_from_spec([{"type": "Input", "shape": [2, 2, 1]}, {"type": "Conv2D", "filters": 4, "kernel_size": 3}])
    with pytest.raises(memsim.ShapeError, match="input shape"):
        memsim.graph_from_spec([{"type": "Input", "shape": [-3, 2]}])


@pytest.mark.parametrize("content", [b"", b"garbage that is not a flatbuffer", b"\x18\x00\x00\x00TFL3" + b"\xff" * 40])
def test_corrupt_tflite_files(tmp_path, content):
    path = tmp_path / "bad.tflite"
    path.write_bytes(content)
    with pytest.raises(memsim.ModelFileError) as info:
        read_tflite(path)
    assert "bad.tflite" in str(info.value)


def test_truncated_real_model_is_reported(tmp_path):
    from pathlib import Path

    model = Path(__file__).resolve().parents[2] / "examples" / "har_small_int8.tflite"
    data = model.read_bytes()
    for cut in (12, len(data) // 3, len(data) // 2):
        path = tmp_path / "cut.tflite"
        path.write_bytes(data[:cut])
        with pytest.raises(AutoTinyMLError, match="cut.tflite' is a truncated or corrupt TFLite file"):
            memsim.footprint(path, runtime="tflm")


def test_cli_errors_are_one_line(tmp_path, capsys):
    spec = tmp_path / "net.json"
    spec.write_text(json.dumps([{"type": "Input", "shape": [4]}, {"type": "Dense", "units": 2}]))
    assert main(["footprint", str(spec), "--target", "stm32f30"]) == 2
    err = capsys.readouterr().err
    assert "Unknown target 'stm32f30'" in err and err.count("\n") == 1
    assert main(["footprint", str(spec), "--flash=-64KiB", "--ram=16KiB"]) == 2
    assert "negative" in capsys.readouterr().err
    assert main(["footprint", str(tmp_path / "missing.tflite")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_json_has_the_documented_keys(tmp_path, capsys):
    spec = tmp_path / "net.json"
    spec.write_text(json.dumps([{"type": "Input", "shape": [4]}, {"type": "Dense", "units": 2}]))
    assert main(["footprint", str(spec), "--target", "nucleo-f303k8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("macc", "params", "weights_bytes", "model_bytes", "activations_bytes", "runtime_ram_bytes",
                "io_bytes", "ram_bytes", "flash_bytes", "layers", "deployable", "ram_headroom_bytes",
                "flash_headroom_bytes", "latency_ms"):
        assert key in out
    # the default runtime (tflm) deploys int8: 8 int8 weights and 2 int32 biases
    assert out["macc"] == 10 and out["dtype"] == "int8" and out["weights_bytes"] == 16 and out["deployable"] is True
