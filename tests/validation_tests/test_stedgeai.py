"""The stedgeai runner against a stand-in executable that writes a real X-CUBE-AI report.

The stand-in is the only fake allowed: ST's tool is proprietary. It records
its arguments and copies a real 8.1 report (the IGN HAR model) into the
output folder it is given, as the real tool does.
"""

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from validation import ToolchainError
from validation.stedgeai import StEdgeAINotFoundError, find_stedgeai, run_stedgeai, series_of, stedgeai_command

ASSETS = Path(__file__).parent / "assets" / "xcube-reports"
IGN_REPORT = ASSETS / "Rich143_Human_Activity_Recognition__network_generate_report.txt"
# the IGN network of that report (tests/memsim_tests/test_xcube_reports.py)
IGN = {"name": "ign", "layers": [
    {"type": "Input", "shape": [24, 3, 1]},
    {"type": "Conv2D", "filters": 24, "kernel_size": [16, 1], "activation": None},
    {"type": "Activation", "activation": "relu"},
    {"type": "MaxPooling2D", "pool_size": [3, 1]},
    {"type": "Flatten"}, {"type": "Dense", "units": 12}, {"type": "Dense", "units": 4, "activation": "softmax"}]}

STAND_IN = """#!{python}
import json, shutil, sys
from pathlib import Path
args = sys.argv[1:]
Path({log!r}).write_text(json.dumps(args))
mode = {mode!r}
if mode == "fail":
    print("E103(CliArgumentError): unrecognized arguments: --bogus", file=sys.stderr)
    sys.exit(1)
out = Path(args[args.index("--output") + 1])
out.mkdir(parents=True, exist_ok=True)
if mode == "ok":
    shutil.copy({report!r}, out / ("network_" + args[0] + "_report.txt"))
"""


def _stand_in(folder: Path, name="stedgeai", mode="ok") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / name
    exe.write_text(STAND_IN.format(python=sys.executable, log=str(folder / "argv.json"), mode=mode,
                                   report=str(IGN_REPORT)))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "ign.json"
    path.write_text(json.dumps(IGN))
    return path


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "STEDGEAI_PATH"}
    env["PATH"] = "/usr/bin:/bin"
    env.update(extra)
    return env


def test_found_on_path_runs_analyze_and_parses_the_report(tmp_path, model):
    tool = tmp_path / "bin"
    _stand_in(tool)
    run = run_stedgeai(model, "analyze", "stm32f303k8", "x8", environ=_env(PATH=f"{tool}:/usr/bin:/bin"))
    assert run.report.macc == 14_404 and run.report.weights_bytes == 12_256 and run.report.activations_bytes == 2_880
    argv = json.loads((tool / "argv.json").read_text())
    assert argv[:3] == ["analyze", "--model", str(model.resolve())]
    assert argv[argv.index("--target") + 1] == "stm32f3"
    assert argv[argv.index("--compression") + 1] == "high"
    assert not Path(argv[argv.index("--output") + 1]).exists()  # the temporary folder is gone


def test_stedgeai_path_may_name_the_install_folder(tmp_path, model):
    install = tmp_path / "STEdgeAI" / "2.2"
    _stand_in(install / "Utilities" / "linux")
    env = _env(STEDGEAI_PATH=str(install))
    assert find_stedgeai(env) == install / "Utilities" / "linux" / "stedgeai"
    assert run_stedgeai(model, environ=env).report.macc == 14_404


def test_absent_tool_says_how_to_install_and_what_would_have_run(model):
    with pytest.raises(StEdgeAINotFoundError) as err:
        run_stedgeai(model, "validate", "stm32l476rg", "x4", environ=_env())
    message = str(err.value)
    assert "STEDGEAI_PATH" in message and "st.com" in message
    assert f"stedgeai validate --model {model}" in message and "--target stm32l4 --compression low" in message
    assert "\n" not in message


def test_a_failing_tool_reports_its_error_line(tmp_path, model):
    tool = tmp_path / "bin"
    _stand_in(tool, mode="fail")
    with pytest.raises(ToolchainError, match=r"exit 1\): E103\(CliArgumentError\)"):
        run_stedgeai(model, environ=_env(PATH=f"{tool}:/usr/bin:/bin"))


def test_a_tool_that_writes_no_report_is_an_error(tmp_path, model):
    tool = tmp_path / "bin"
    _stand_in(tool, mode="silent")
    with pytest.raises(ToolchainError, match="wrote no report"):
        run_stedgeai(model, environ=_env(PATH=f"{tool}:/usr/bin:/bin"))


def test_the_older_stm32ai_takes_factors_and_series():
    argv = stedgeai_command("/opt/x-cube-ai/stm32ai", "m.h5", "analyze", "stm32h7", "x4", "o", "w")
    assert argv[argv.index("--compression") + 1] == "4" and argv[argv.index("--series") + 1] == "stm32h7"
    assert series_of("paper-tiny") == "stm32f4" and series_of("stm32h743zi") == "stm32h7"


def test_validate_stedgeai_compares_memsim_with_the_tools_report(tmp_path, model, capsys):
    from autotinyml_cli.main import main

    tool = tmp_path / "bin"
    _stand_in(tool)
    old = os.environ["PATH"]
    os.environ["PATH"] = f"{tool}:{old}"
    try:
        assert main(["validate", str(model), "--stedgeai", "--target", "stm32f401re", "--json"]) == 0
    finally:
        os.environ["PATH"] = old
    out = json.loads(capsys.readouterr().out)
    (row,) = out["rows"]
    assert row["reference"].startswith("report: X-CUBE-AI 8.1")
    assert row["figures"]["macc"] == {"predicted": 14_404, "reference": 14_404, "error_pct": 0.0}
    assert row["figures"]["weights"]["error_pct"] == 0.0
    # memsim reserves the conv's 64 B im2col scratch that ST Edge AI lists and this 8.1 report does not
    assert row["figures"]["activations"] == {"predicted": 2_944, "reference": 2_880, "error_pct": 2.222}
    assert out["summary"]["macc"]["worst_error_pct"] == 0.0


def test_validate_stedgeai_without_the_tool_is_one_sentence(model, capsys, monkeypatch):
    from autotinyml_cli.main import main

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("STEDGEAI_PATH", raising=False)
    assert main(["validate", str(model), "--stedgeai"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("autotinyml: error: stedgeai was not found") and err.count("\n") == 0


@pytest.mark.toolchain
def test_xcubeai_export_verdict_comes_from_stedgeai_when_installed_else_from_memsim(tmp_path, monkeypatch):
    from memsim.frontends.keras import keras_from_spec
    from validation.export import confirm

    net = keras_from_spec(IGN)
    monkeypatch.delenv("STEDGEAI_PATH", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    report, files = confirm(net, "stm32l476rg", runtime="xcubeai")
    assert sorted(files) == ["model.h5", "model.keras"]
    assert report["verdict_source"] == {"kind": "predicted", "tool": "memsim", "profile": "xcubeai",
                                        "margin_pct": {"ram": 0.75, "flash": 0.0},
                                        "note": "predicted; ST Edge AI not installed"}
    assert report["measured"] is None and report["predicted"]["flash_bytes"] > 0
    # TFLM figures never enter an X-CUBE-AI verdict; X-CROSS says what measured it
    assert "tflm" not in json.dumps(report["headroom"]) and "tflite-micro" in report["cross_accuracy"]["measured_by"]
    tool = tmp_path / "bin"
    _stand_in(tool)
    monkeypatch.setenv("PATH", f"{tool}:/usr/bin:/bin")
    report, _ = confirm(net, "stm32l476rg", runtime="xcubeai")
    assert report["verdict_source"]["kind"] == "toolchain" and report["verdict_source"]["version"].startswith("8.1")
    # the stand-in's real 8.1 report of this network: 12,256 B weights, 2,880 B activations
    assert report["measured"]["weights_bytes"] == 12_256 and report["measured"]["activations_bytes"] == 2_880
    assert report["headroom"]["region"]["bytes"] == 98_304 - 2_880
    args = json.loads((tool / "argv.json").read_text())
    assert args[0] == "analyze" and args[args.index("--model") + 1].endswith("model.h5")
