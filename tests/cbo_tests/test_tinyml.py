"""Templates, datasets and the search command, with real Keras training kept tiny."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cbo
import memsim
from autotinyml_cli.main import main
from cbo.tinyml import MemsimConstraint, get_template, load_dataset


@pytest.mark.toolchain
@pytest.mark.parametrize("name", ["paper-har", "paper-bottle", "ds-cnn", "ds-cnn-1d", "mobilenet-v1",
                                  "mobilenet-v1-1d", "resnet-8", "resnet-8-1d"])
def test_memsim_of_spec_equals_memsim_of_built_keras_model(name):
    from memsim.frontends.keras import graph_from_keras, keras_from_spec

    template = get_template(name)
    shape = template.input_shape((32, 10) if name in ("ds-cnn", "mobilenet-v1", "resnet-8") else (24, 6))

    @settings(max_examples=6, deadline=None, derandomize=True)
    @given(st.integers(0, 2**31 - 1))
    def check(seed):
        (config,) = template.space.sample(np.random.default_rng(seed), 1)
        spec = template.spec(config, shape, 5)
        try:
            from_spec = memsim.footprint(spec, "stm32l476rg")
        except memsim.ShapeError:
            return  # a configuration whose windows do not fit: the constraint labels it undeployable
        from_keras = memsim.footprint(graph_from_keras(keras_from_spec(spec)), "stm32l476rg")
        assert from_spec.to_dict() == from_keras.to_dict()

    check()


@pytest.mark.toolchain
def test_the_1d_ds_cnn_convolves_along_time_with_the_sensors_as_channels():
    from memsim.frontends.keras import keras_from_spec

    template = get_template("ds-cnn-1d")
    shape = template.input_shape((100, 6))
    assert shape == (100, 1, 6)
    model = keras_from_spec(template.spec(template.baseline, shape, 4))
    first = model.get_layer("conv2d")
    assert tuple(first.kernel.shape) == (template.baseline["kernel"], 1, 6, template.baseline["filters"])
    assert tuple(first.output.shape[1:3]) == (50, 1)  # stride 2 along time only
    assert all(tuple(layer.kernel_size) == (3, 1) for layer in model.layers if "dw_" in layer.name
               and hasattr(layer, "kernel_size"))
    assert get_template("ds-cnn").input_shape((100, 6)) == (100, 6, 1)  # images keep their layout


@pytest.mark.toolchain
@pytest.mark.parametrize("name", ["resnet-8", "resnet-8-1d"])
def test_resnet8_trains_with_no_strided_1x1_convolution(name):
    # TensorFlow 2.21's oneDNN kernels abort in a strided 1x1 convolution's filter gradient (batch 15 on 16x16
    # inputs did): the template's shortcuts subsample first, so the network trains where that would crash
    template = get_template(name)
    shape = template.input_shape((16, 16, 3) if name == "resnet-8" else (40, 6))
    model = template.keras_model(template.baseline, shape, 4, seed=0)
    strided_1x1 = [layer.name for layer in model.layers if layer.__class__.__name__ == "Conv2D"
                   and max(layer.kernel_size) == 1 and max(layer.strides) > 1]
    assert strided_1x1 == []
    assert sum(layer.__class__.__name__ == "Add" for layer in model.layers) == 3
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    history = model.fit(rng.normal(size=(30, *shape)).astype("float32"), rng.integers(0, 4, 30), batch_size=15,
                        epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_constraint_labels_shape_errors_as_undeployable():
    template = get_template("paper-bottle")
    c = MemsimConstraint(template, template.input_shape((8, 8, 1)), 10, "paper-big", "xcubeai", "float32")
    ok, fp = c(dict(template.baseline, skipped_layers=1, pool=3))
    # four 'same' conv blocks with pool 3 shrink 8x8 to 1x1 and still build: a small, deployable network
    # (X-CUBE-AI float32: 4,480 B of buffers + the first conv's 36 B im2col scratch)
    assert ok is True and fp["activations_bytes"] == 4_516 and fp["violations"] == []
    bad_ok, bad_fp = MemsimConstraint(get_template("paper-har"), (1, 1, 1), 3, "paper-big")(
        dict(get_template("paper-har").baseline, kernel=2))
    assert bad_ok is False and "does not fit" in bad_fp["error"]


@pytest.mark.parametrize("name,shape,classes", [("har-basicmotions", (100, 6), 4), ("digits", (8, 8, 1), 10)])
def test_builtin_datasets_load_offline(name, shape, classes):
    ds = load_dataset(name)
    assert ds.sample_shape == shape and ds.n_classes == classes and len(ds.X) == len(ds.y)


def test_watch_windows_and_subject_labels():
    ds = load_dataset("har-watch", "subject")
    assert ds.sample_shape == (100, 6) and ds.n_classes == 10 and len(ds.X) > 1000
    with pytest.raises(cbo.DatasetError, match="exercise"):
        load_dataset("har-watch", "colour")


def test_user_files_and_their_errors(tmp_path):
    rng = np.random.default_rng(0)
    npz = tmp_path / "d.npz"
    np.savez(npz, X=rng.normal(size=(30, 20, 3)), y=np.repeat(["a", "b", "c"], 10))
    ds = load_dataset(str(npz))
    assert ds.sample_shape == (20, 3) and ds.classes == ("a", "b", "c")
    csv = tmp_path / "d.csv"
    csv.write_text("f1,f2,label\n" + "\n".join(f"{i},{i * 2},{'x' if i % 2 else 'y'}" for i in range(10)))
    assert load_dataset(str(csv)).sample_shape == (2,)
    np.savez(tmp_path / "bad.npz", X=rng.normal(size=(10, 3)), y=np.zeros(7))
    with pytest.raises(cbo.DatasetError, match="X has 10 samples but y has shape"):
        load_dataset(str(tmp_path / "bad.npz"))
    np.savez(tmp_path / "noy.npz", data=np.zeros(3))
    with pytest.raises(cbo.DatasetError, match="has no array 'X' or 'y'"):
        load_dataset(str(tmp_path / "noy.npz"))
    np.savez(tmp_path / "one.npz", X=rng.normal(size=(10, 3)), y=np.zeros(10))
    with pytest.raises(cbo.DatasetError, match="single class"):
        load_dataset(str(tmp_path / "one.npz"))
    with pytest.raises(cbo.DatasetError, match="does not exist"):
        load_dataset(str(tmp_path / "missing.npz"))


def test_search_rejects_bad_inputs_in_one_line(tmp_path, capsys):
    assert main(["search", "--space", "nope"]) == 2
    assert "Unknown search space 'nope'" in capsys.readouterr().err
    toml = tmp_path / "s.toml"
    toml.write_text('template = "paper-har"\n[params.filters]\ntype = "ordinal"\nchoices = []\n')
    assert main(["search", "--space", str(toml)]) == 2
    assert "no choices" in capsys.readouterr().err
    assert main(["search", "--dataset", str(tmp_path / "none.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["search", "--target", "stm32f3"]) == 2
    assert "did you mean" in capsys.readouterr().err


@pytest.mark.toolchain
def test_search_end_to_end_and_resume(tmp_path, capsys):
    study = tmp_path / "s.sqlite"
    args = ["search", "--trainings", "2", "--epochs", "1", "--study", str(study), "--json",
            "--out", str(tmp_path / "export"), "--confirm", "1"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_trained"] == 2 and out["wasted_trainings"] == 0
    # the defaults: TFLM int8, confirmed by the real interpreter
    assert (out["settings"]["runtime"], out["settings"]["dtype"], out["settings"]["compression"]) == \
        ("tflm", "int8", "none")
    # the finalist was confirmed by the real TFLM interpreter and exported
    (report,) = out["confirmed"].values()
    assert report["cross_accuracy"]["acc"] >= 0.95 and report["deployable"]
    assert (tmp_path / "export" / "model_data.c").exists()
    assert out["best"]["footprint"]["ram_bytes"] <= 16_384 and out["best"]["footprint"]["flash_bytes"] <= 65_536
    stored = cbo.SQLiteStorage(study, exclusive=False).trials()
    # continuing with a larger budget keeps the finished trials and trains only the difference (no confirmation
    # this time: after one epoch a finalist may rightly fail X-CROSS, which is not what this part checks)
    assert main(args[:2] + ["3"] + args[3:-1] + ["0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_trained"] == 3 and cbo.SQLiteStorage(study, exclusive=False).trials()[: len(stored)] == stored
    # the same study file with different options is refused
    assert main(["search", "--trainings", "3", "--study", str(study), "--target", "paper-big"]) == 2
    err = capsys.readouterr().err
    assert "was made with other settings: " in err and "target (stored 'STM32F303K8', now 'paper-big')" in err
    assert "to start anew, pass a new --study path" in err


@pytest.mark.toolchain
def test_a_latency_budget_is_a_constraint_from_the_search_to_the_exported_report(tmp_path, capsys):
    """`search --latency-ms 20 --target stm32l4r5zi`: only networks whose latency band tops out under 20 ms are
    trained (about half of paper-har's space is slower there), and report.json and a re-read of the exported file
    judge latency the same way."""
    study, out_dir = tmp_path / "s.sqlite", tmp_path / "export"
    assert main(["search", "--target", "stm32l4r5zi", "--latency-ms", "20", "--trainings", "3", "--epochs", "2",
                 "--study", str(study), "--json", "--out", str(out_dir), "--confirm", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    trained = [t for t in cbo.SQLiteStorage(study, exclusive=False).trials() if t.state == cbo.TrialState.COMPLETE]
    assert len(trained) == 3 and out["settings"]["latency_ms"] == 20
    for t in trained:
        assert t.footprint["latency_low_ms"] < t.footprint["latency_ms"] <= t.footprint["latency_high_ms"] <= 20
    report = json.loads((out_dir / "report.json").read_text())
    lat = report["latency"]
    assert lat["budget_ms"] == 20 and lat["low_ms"] < lat["ms"] <= lat["high_ms"] <= 20 and report["deployable"]
    assert "calibrated on" in lat["source"] and "--latency-ms 20" in report["recheck"]
    assert main(["footprint", str(out_dir / "model.tflite"), "--target", "stm32l4r5zi", "--latency-ms", "20",
                 "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["latency_ms"], again["latency_high_ms"], again["deployable"]) == (lat["ms"], lat["high_ms"], True)


def test_only_a_network_that_does_not_fit_is_labelled_undeployable():
    import memsim

    template = get_template("paper-har")
    c = MemsimConstraint(template, (90, 3, 1), 6, "paper-big")
    with pytest.raises(memsim.UnsupportedLayerError, match="activation 'swishy' is not supported"):
        c(dict(template.baseline, conv_activation="swishy"))  # a mistake to fix, not a deployability label


def test_a_space_file_names_only_what_it_narrows(tmp_path):
    from cbo.tinyml.search import load_space

    f = tmp_path / "narrow.toml"
    f.write_text('template = "paper-har"\n[params.filters]\nchoices = [8, 16]\n[params.units]\ntype = "integer"\n'
                 'low = 8\nhigh = 24\n')
    t = load_space(str(f))
    base = cbo.tinyml.TEMPLATES["paper-har"].space
    assert t.space.names == base.names and t.name == "paper-har:narrow"
    params = {p.name: p for p in t.space.params}
    assert list(params["filters"].choices) == [8, 16] and type(params["filters"]) is cbo.Ordinal  # type inherited
    assert type(params["units"]) is cbo.Integer and (params["units"].low, params["units"].high) == (8, 24)
    assert {n: p.to_dict() for n, p in params.items() if n not in ("filters", "units")} == {
        p.name: p.to_dict() for p in base.params if p.name not in ("filters", "units")}
    f.write_text('template = "paper-har"\n[params.width]\nchoices = [8]\n')
    with pytest.raises(cbo.SpaceError, match="has parameter\\(s\\) \\['width'\\] that template 'paper-har' does not use"):
        load_space(str(f))


@pytest.mark.toolchain
def test_a_search_runs_on_a_file_that_narrows_only_filters(tmp_path, capsys):
    f = Path(__file__).resolve().parents[2] / "examples" / "filters.toml"  # docs/your-own-model.md's example
    assert main(["search", "--space", str(f), "--trainings", "2", "--epochs", "1", "--confirm", "0", "--json",
                 "--study", str(tmp_path / "s.sqlite")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_trained"] == 2 and out["best"]["config"]["filters"] in (8, 16)
    assert out["settings"]["space"]["params"]["filters"]["choices"] == [8, 16]
