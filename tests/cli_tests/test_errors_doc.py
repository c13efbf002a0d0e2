"""docs/errors.md is this table, run: every bad input gets one sentence and a documented exit code, before any work.

Regenerate the document after changing a message:
    AUTOTINYML_WRITE_ERRORS_DOC=1 python -m pytest tests/cli_tests/test_errors_doc.py
"""

import os
import shutil
from pathlib import Path

import numpy as np

from autotinyml_cli.main import main
from cbo.tinyml import TEMPLATES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "errors.md"


def _space_toml(change: dict) -> str:
    """A complete paper-har space file with some parameters replaced (or added)."""
    params = {**TEMPLATES["paper-har"].space.to_dict()["params"], **change}
    lines = ['template = "paper-har"']
    for name, p in params.items():
        lines.append(f"[params.{name}]")
        for k, v in p.items():
            if k == "condition" and v is None:
                continue
            lines.append(f"{k} = {_toml(v)}")
    return "\n".join(lines) + "\n"


def _toml(v) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return repr(v)


def _setup(folder: Path) -> None:
    shutil.copy(ROOT / "examples" / "har_small_int8.tflite", folder / "net_int8.tflite")
    shutil.copy(ROOT / "examples" / "har_baseline.json", folder / "net.json")
    (folder / "broken.keras").write_text("not a zip archive")
    (folder / "empty").mkdir()
    (folder / "a_file").write_text("")
    (folder / "unknown_param.toml").write_text(_space_toml({"width": {"type": "ordinal", "choices": [1, 2]}}))
    (folder / "bad_activation.toml").write_text(
        _space_toml({"conv_activation": {"type": "categorical", "choices": ["relu", "swishy"]}}))
    (folder / "empty_range.toml").write_text(_space_toml({"filters": {"type": "ordinal", "choices": []}}))
    (folder / "bad_dropout.toml").write_text(_space_toml({"dropout": {"type": "ordinal", "choices": [1.5, 2.0]}}))
    (folder / "string_choices.toml").write_text(_space_toml({"filters": {"type": "ordinal", "choices": "many"}}))
    (folder / "empty.npz").write_bytes(b"")
    (folder / "text.npz").write_text("X,y\n1,2\n")
    (folder / "empty.csv").write_text("")
    rng = np.random.default_rng(0)
    np.savez(folder / "strings.npz", X=np.array([["a", "b"]] * 30), y=np.arange(30) % 2)
    np.savez(folder / "no_y.npz", X=rng.normal(size=(30, 4)))
    np.savez(folder / "five.npz", X=rng.normal(size=(5, 4)), y=np.array([0, 1, 0, 1, 0]))
    np.savez(folder / "images.npz", X=rng.normal(size=(30, 8, 8, 1)), y=np.arange(30) % 2)
    (folder / "boards.toml").write_text('[[board]]\nname = "zero"\nflash_bytes = "64KiB"\nram_regions = 0\n')
    (folder / "nano.toml").write_text('[[board]]\nname = "nano"\nflash_bytes = "8KiB"\nram_regions = "1KiB"\n')
    (folder / "junk.onnx").write_bytes(b"\x00not a protobuf at all" * 3)
    (folder / "no_build.py").write_text("def make(hp):\n    return None\n")
    (folder / "broken.py").write_text("def build(hp):\n    return {}[hp.Choice('units', [8, 16])]\n")
    (folder / "three_out.py").write_text(
        "import keras\n\n\ndef build(hp, input_shape, n_classes):\n    x = keras.Input(input_shape)\n"
        "    y = keras.layers.Dense(hp.Choice('units', [8, 16]))(keras.layers.Flatten()(x))\n"
        "    return keras.Model(x, keras.layers.Dense(3, activation='softmax')(y))\n")
    (folder / "dense.py").write_text((folder / "three_out.py").read_text().replace("Dense(3,", "Dense(n_classes,"))
    from memsim.frontends.keras import keras_from_spec

    keras_from_spec({"name": "mlp", "layers": [{"type": "Input", "shape": [12]}, {"type": "Dense", "units": 2}]}
                    ).save(folder / "mlp.keras")
    # the P0 issue's probe: inputs that were silently ignored, crashed, or answered in someone else's words
    (folder / "exits.py").write_text("import sys\n\n\ndef build(hp):\n    hp.Choice('units', [8, 16])\n"
                                     "    sys.exit(0)\n")
    (folder / "endless.py").write_text("def build(hp):\n    hp.Choice('units', [8, 16])\n    while True:\n"
                                       "        pass\n")
    (folder / "folder.py").mkdir()
    (folder / "folder.toml").mkdir()
    (folder / "range_without_type.toml").write_text('template = "paper-har"\n[params.dropout]\nlow = 0.9\nhigh = 0.1\n')
    (folder / "extra_key.toml").write_text('template = "paper-har"\nepochs = 5\n[params.units]\nchoices = [8, 16]\n')
    (folder / "real_units.toml").write_text('template = "paper-har"\n[params.units]\ntype = "real"\nlow = 8\n'
                                            'high = 64\n')
    (folder / "narrow.toml").write_text('template = "paper-har"\n[params.units]\nchoices = [8, 16]\n')
    (folder / "clock0.toml").write_text('[[board]]\nname = "stopped"\nflash_bytes = "64KiB"\n'
                                        'ram_regions = "16KiB"\nclock_hz = 0\n')
    (folder / "notes.txt").write_text("not a study\n")
    (folder / "empty.onnx").write_bytes(b"")
    import onnx
    from onnx import TensorProto, helper

    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in ("x", "y")]
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", io[:1], io[1:])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 99)]), folder / "opset99.onnx")
    from memsim.frontends.keras import quiet_keras

    keras = quiet_keras()
    keras.Sequential([keras.Input((20, 3)), keras.layers.LSTM(8), keras.layers.Dense(2, activation="softmax")]
                     ).save(folder / "lstm.keras")
    keras.Sequential([keras.Input((20, 3)), keras.layers.Lambda(lambda x: 2 * x), keras.layers.Flatten(),
                      keras.layers.Dense(2, activation="softmax")]).save(folder / "lambda.keras")


# (what is wrong, command line); the message and exit code are what the command prints now.
CASES = [
    ("int8 with X-CUBE-AI weight sharing", "search --runtime xcubeai --dtype int8 --compression x8"),
    ("weight sharing under TFLM", "search --runtime tflm --compression x8"),
    ("no epochs", "search --epochs 0"),
    ("no trainings", "search --trainings 0"),
    ("one fold", "search --k 1"),
    ("more folds than the smallest class has samples", "search --k 50"),
    ("unknown search-space parameter", "search --space unknown_param.toml"),
    ("activation the template cannot build", "search --space bad_activation.toml"),
    ("empty range in a space file", "search --space empty_range.toml"),
    ("unknown built-in space", "search --space nope"),
    ("misspelt target", "search --target stm32f3"),
    ("export folder that cannot be written", "search --out a_file/export"),
    ("missing dataset file", "search --dataset missing.npz"),
    ("margin out of range", "search --margin 150"),
    ("a trial timeout without a cluster", "search --trial-timeout 600"),
    ("a local cluster and a scheduler at once", "search --workers 2 --scheduler tcp://127.0.0.1:8786"),
    ("Phase-1 labels for a method without Phase 1", "search --method exact-ei --labels 32"),
    ("non-positive cycles per MACC", "footprint net.json --cycles-per-macc 0"),
    ("a negative latency budget", "footprint net.json --target stm32f303k8 --latency-ms -5"),
    ("a latency budget no network of the space meets", "search --target stm32l4r5zi --latency-ms 0.001"),
    ("an energy budget on a board with no published energy", "footprint net.json --target stm32f303k8 --energy-uj 50"),
    ("custom target with no Flash", "footprint net.json --flash 0 --ram 16KiB"),
    ("custom target with only RAM", "footprint net.json --ram 16KiB"),
    ("float32 asked of an int8 .tflite", "footprint net_int8.tflite --runtime tflm --dtype float32"),
    ("compression under TFLM", "footprint net.json --runtime tflm --compression x8"),
    (".keras file that is not a zip archive", "footprint broken.keras"),
    ("model file that does not exist", "footprint missing.tflite"),
    ("unknown model file type", "footprint net_int8.pb"),
    ("reports folder with no reports", "validate --reports empty"),
    ("reports folder that does not exist", "validate --reports missing"),
    ("an experiment with no seeds", "experiment paper-har --seeds 0"),
    ("the papers' experiment with another method and Phase-1 labels", "experiment paper-har --method exact-ucb --labels 32"),
    ("study file that does not exist", "report missing.sqlite"),
    ("a file that is not a study", "report a_file"),
    ("region plot with one parameter", "report missing.sqlite --region filters"),
    ("not deployable, with --check", "footprint net.json --target stm32f303k8 --check"),
    ("shrink with two seed networks", "shrink net.keras --space paper-har"),
    ("shrink with a latency budget of zero", "shrink --space paper-har --latency-ms 0"),
    ("shrink with an unreadable RAM budget", "shrink --space paper-har --ram lots"),
    ("shrink under TFLM with weight sharing", "shrink --space paper-har --compression x8"),
    ("shrink to a RAM budget no network of the shape meets", "shrink --space paper-har --dataset digits --ram 2KiB"),
    ("shrink to a RAM budget of zero", "shrink --space paper-har --ram 0"),
    ("an empty .npz file", "search --dataset empty.npz"),
    ("a text file named .npz", "search --dataset text.npz"),
    (".npz whose X holds strings", "search --dataset strings.npz"),
    (".npz without y", "search --dataset no_y.npz"),
    ("an empty CSV file", "search --dataset empty.csv"),
    ("a folder given as the dataset", "search --dataset empty"),
    ("too few samples to judge the deployed network", "search --dataset five.npz"),
    ("a seed numpy and Keras cannot take", "search --seed 4294967296"),
    ("a negative seed", "search --seed -1"),
    ("epochs no training finishes", "search --epochs 99999999999999999999"),
    ("a scheduler address without a port", "search --scheduler garbage"),
    ("a scheduler port that refuses", "search --scheduler tcp://127.0.0.1:1"),
    ("dropout outside [0, 1) in a space file", "search --space bad_dropout.toml"),
    ("choices given as a string in a space file", "search --space string_choices.toml"),
    ("SVM-CBO with no Phase-1 labels", "search --method svmcbo --labels 0"),
    ("a board file with 0 B of RAM", "search --target-file boards.toml --target zero"),
    ("a board on which no network of the space fits", "search --target-file nano.toml --target nano"),
    ("a Python space file without build(hp)", "search --space no_build.py"),
    ("a Python space whose build(hp) raises", "search --space broken.py"),
    ("a Python space whose model has more or fewer outputs than the data has classes", "search --space three_out.py"),
    ("a Python space on a board where none of its networks fits",
     "search --space dense.py --target-file nano.toml --target nano"),
    ("a RAM size beyond a 32-bit address space", "footprint net.json --ram 100000000000000000000000000000 --flash 1MiB"),
    ("a model file that is a folder", "footprint empty"),
    ("an .onnx file that is not ONNX", "footprint junk.onnx"),
    ("report into a file", "report missing.sqlite --out a_file"),
    ("report on a folder", "report empty"),
    ("export with data of another sample shape", "export mlp.keras --target stm32f303k8 --out exp --dataset images.npz"),
    ("shrink a model with data of another sample shape", "shrink mlp.keras --dataset images.npz"),
    ("a Python space whose build(hp) calls sys.exit(0)", "search --space exits.py"),
    ("a Python space whose build(hp) never returns (AUTOTINYML_BUILD_LIMIT_S=3 here; default 120)",
     "search --space endless.py"),
    ("a Python space file that is a folder", "search --space folder.py"),
    ("a TOML space file that is a folder", "search --space folder.toml"),
    ("a range given to a choice parameter without its type", "search --space range_without_type.toml"),
    ("a key a space file does not use", "search --space extra_key.toml"),
    ("a whole-number parameter given a real range", "search --space real_units.toml"),
    ("a board file with clock_hz = 0", "footprint net.json --target-file clock0.toml --target stopped --latency-ms 5"),
    ("a latency budget beyond any inference", "footprint net.json --target stm32f303k8 --latency-ms 1e300"),
    ("an energy budget beyond any inference", "footprint net.json --target stm32l4r5zi --energy-uj 1e300"),
    ("a study path that is a folder", "search --study empty"),
    ("a study file that is not a database", "search --study notes.txt"),
    ("shrink given a space file", "shrink --space narrow.toml"),
    ("shrink with a RAM budget beyond the board's", "shrink --space paper-har --ram 1MiB"),
    ("shrink given a .tflite", "shrink net_int8.tflite"),
    ("shrink seeded with an LSTM", "shrink lstm.keras"),
    ("shrink seeded with a Lambda layer", "shrink lambda.keras"),
    ("export given a .tflite", "export net_int8.tflite --target stm32f303k8 --out exp"),
    ("export given an .onnx", "export junk.onnx --target stm32f303k8 --out exp"),
    ("validate given an .onnx", "validate junk.onnx"),
    ("an empty .onnx file", "footprint empty.onnx"),
    ("an ONNX file of an opset newer than any known", "footprint opset99.onnx"),
]


def _run_cases(tmp_path, monkeypatch, capsys) -> list[tuple[str, str, str, int]]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTOTINYML_BUILD_LIMIT_S", "3")  # the endless build's case, in seconds
    _setup(tmp_path)
    rows = []
    for what, line in CASES:
        code = main(line.split())
        captured = capsys.readouterr()
        err = captured.err.strip()
        message = err.splitlines()[-1] if err else ""
        assert "Traceback" not in captured.err and "Traceback" not in captured.out, (line, captured.err)
        if code == 1:  # a verdict, not an error: the last line of the report says why
            message = next(l.strip() for l in captured.out.splitlines() if l.startswith("verdict"))
        else:
            assert code == 2 and message.startswith("autotinyml: error: "), (line, code, err)
            assert len(err.splitlines()) == 1, (line, err)  # one sentence, nothing else
        rows.append((what, f"autotinyml {line}", _version_free(message), code))
    # refused searches did no work: no study file, no export
    assert not (tmp_path / "autotinyml-studies").exists() and not (tmp_path / "autotinyml-export").exists()
    assert not (tmp_path / "autotinyml-shrink").exists()
    return rows


def _version_free(message: str) -> str:
    """The installed onnx package's version and newest opset, as placeholders: the table holds across releases."""
    import onnx

    return message.replace(f"onnx {onnx.__version__}", "onnx <version>").replace(
        f"up to {onnx.defs.onnx_opset_version()} ", "up to <newest> ").replace(
        f"opset {onnx.defs.onnx_opset_version()} or lower", "opset <newest> or lower")


def render(rows) -> str:
    out = ["# Errors and exit codes", "",
           "Generated by `tests/cli_tests/test_errors_doc.py`, which runs every line below and fails when this file",
           "no longer matches what the commands print.", "",
           "## Exit codes", "",
           "| code | meaning |", "|---|---|",
           "| 0 | done (the search or shrink exported a confirmed network; the network deploys) |",
           "| 1 | nothing deployable: a search with no confirmed winner, a shrunk network the toolchain rejects, "
           "`footprint --check` on a network that does not fit, `export` of a model that does not fit (nothing is "
           "written) |",
           "| 2 | bad input: one sentence on stderr saying what is wrong and how to fix it; no work was done |",
           "| 130 | interrupted (Ctrl-C): every finished trial (shrink: every finished epoch) is kept; the same "
           "command continues |",
           "| 143 | terminated (SIGTERM, as kill, systemd, Docker and batch schedulers send): handled as Ctrl-C |", "",
           "With `--json`, a refusal (the option parser's too) also prints `{\"error\": \"...\", \"exit_code\": 2}` "
           "on stdout.", "",
           "Stored work answers only for the same work: a study whose data content, board figures, space file, "
           "runtime or other settings differ, and a shrink state of other data, seed weights, board, budgets, epochs "
           "or seed, are refused in one sentence naming what changed (exit 2), the stored file left byte-identical "
           "— see `tests/cli_tests/test_stale_work.py` and `tests/cbo_tests/test_shrink.py`.", "",
           "Faults tested elsewhere: Ctrl-C or SIGTERM during a search (exit 130 or 143, \"interrupted; N finished trials saved in ...; "
           "run the same command to continue\"), a second search on a study file in use (exit 2, naming the process "
           "that holds it), an export that fails while writing (the results table is printed, the study kept; "
           "exit 1), the same Ctrl-C with two Dask workers — see `tests/cli_tests/test_cli_faults.py`; on a Dask "
           "cluster, a worker killed mid-training (retried by Dask, then a failed trial), a training past "
           "--trial-timeout (a failed trial, its worker restarted): the search goes on and keeps every finished "
           "trial — see `tests/cbo_tests/test_distributed.py`; the TFLite converter crashing on a model given "
           "to `validate` or `export` (exit 2, \"The TFLite converter crashed (SIGSEGV) on this model, ...\"; it "
           "runs in a child process) — see `tests/validation_tests/test_tflm_validation.py`.", "",
           "## Bad inputs tried", "",
           "| input | command | message | exit |", "|---|---|---|---|"]
    for what, line, message, code in rows:
        cell = message.replace("|", "\\|")
        out.append(f"| {what} | `{line}` | {cell} | {code} |")
    return "\n".join(out) + "\n"


def test_errors_doc_matches_what_the_commands_print(tmp_path, monkeypatch, capsys):
    text = render(_run_cases(tmp_path, monkeypatch, capsys))
    if os.environ.get("AUTOTINYML_WRITE_ERRORS_DOC"):
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(text)
    assert DOC.exists(), "docs/errors.md is missing; regenerate it (see this module's docstring)"
    assert DOC.read_text() == text, "docs/errors.md is out of date; regenerate it (see this module's docstring)"
