"""A runtime family defined in this file alone - its memory rules borrowed from TFLM, its time data its own - runs
footprint, a two-training search and an export: adding a runtime needs no edit anywhere else
(docs/architecture.md, "How to add a runtime")."""

import copy
import json

import numpy as np
import pytest

import memsim

pytestmark = pytest.mark.toolchain  # the export converts and measures with tflite-micro


@pytest.fixture(scope="module")
def made_up():
    tflm_times = copy.deepcopy(memsim.time_model().data["runtimes"]["tflm"])
    # a runtime twice as slow as TFLM's published figures, on every core
    for version in tflm_times["versions"].values():
        for core in version["cores"].values():
            core["cycles_per_macc"] = [2 * c for c in core["cycles_per_macc"]]
    tflm_times["name"] = "Made-up NPU runtime"
    runtime = memsim.register_runtime(memsim.Runtime(
        "madeup-npu", "a made-up runtime for the test", family="tflm",
        memory_rules=memsim.get_profile("tflm").__class__, aliases=("MadeUp",), default_dtype="int8",
        toolchain="tflm", time_data=tflm_times))
    yield runtime
    memsim.unregister_runtime(runtime.name)


def _net():
    return {"name": "tiny", "layers": [
        {"type": "Input", "name": "in", "shape": [32, 1, 3]},
        {"type": "Conv2D", "name": "c", "filters": 4, "kernel_size": [3, 1], "activation": "relu"},
        {"type": "Flatten", "name": "f"}, {"type": "Dense", "name": "out", "units": 3, "activation": "softmax"}]}


def test_footprint_judges_under_the_made_up_runtime_by_name_alias_and_object(made_up):
    fp = memsim.footprint(_net(), "stm32f303k8", "madeup")
    tflm = memsim.footprint(_net(), "stm32f303k8", "tflm")
    assert (fp.runtime, fp.dtype, fp.compression) == ("madeup-npu", "int8", "none")
    assert fp.ram_bytes == tflm.ram_bytes and fp.flash_bytes == tflm.flash_bytes  # the rules it borrowed
    assert fp.latency_ms == pytest.approx(2 * tflm.latency_ms, rel=0.35)  # its own (slower) time data
    assert "Made-up NPU runtime" in fp.latency_basis
    assert memsim.footprint(_net(), "stm32f303k8", made_up).to_dict() == fp.to_dict()
    with pytest.raises(memsim.SpecError, match="not offered by madeup-npu"):
        memsim.footprint(_net(), "stm32f303k8", "madeup-npu", "float32", "x8")


def test_a_two_training_search_and_an_export_run_under_it(made_up, tmp_path):
    import cbo
    from cbo.tinyml import KFoldObjective, MemsimConstraint, get_template, load_dataset
    from validation.export import export

    dataset, template = load_dataset("har-basicmotions"), get_template("ds-cnn-1d")
    shape = template.input_shape(dataset.sample_shape)
    constraint = MemsimConstraint(template, shape, dataset.n_classes, "stm32f303k8", "madeup-npu")
    assert constraint.runtime is made_up and constraint.dtype == "int8"
    objective = KFoldObjective(template, dataset, k=2, epochs=1, batch_size=32)
    study = cbo.Study(template.space, cbo.SAMPLERS["exact-ei"](seed=0), constraint=constraint, seed=0, budget=2)
    study.optimize(objective, 2)
    assert study.n_trained == 2 and study.best_trial is not None

    from memsim.frontends.keras import keras_from_spec

    model = keras_from_spec(template.spec(study.best_trial.config, shape, dataset.n_classes))
    X = dataset.X.reshape((len(dataset.X),) + shape)
    report = export(model, "stm32f303k8", tmp_path / "out", X_val=X, y_val=dataset.y, representative=X,
                    runtime="madeup-npu", min_cross_acc=0.5)
    stored = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["deployable"] and stored["runtime"] == "madeup-npu" and stored["dtype"] == "int8"
    assert stored["verdict_source"]["tool"] == "tflite-micro" and "--runtime madeup-npu" in stored["recheck"]
    again = memsim.footprint(str(tmp_path / "out" / "model.tflite"), "stm32f303k8", "madeup-npu")
    assert again.flash_bytes == stored["predicted"]["flash_bytes"] and np.isfinite(again.latency_ms)
