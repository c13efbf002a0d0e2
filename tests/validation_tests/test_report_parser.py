"""The report parser on the 23 real reports, on JSON schemas, and under mutation."""

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from validation.xcube_reports import ReportParseError, parse_report

ASSETS = Path(__file__).parent / "assets" / "xcube-reports"
INDEX = json.loads((ASSETS / "index.json").read_text())


@pytest.mark.parametrize("entry", INDEX, ids=[e["id"] for e in INDEX])
def test_real_reports_parse_to_their_figures(entry):
    rep = parse_report(ASSETS / entry["report_file"])
    want = entry["report"]
    assert (rep.macc, rep.weights_bytes, rep.activations_bytes) == (want["macc"], want["weights_bytes"],
                                                                      want["activations_bytes"])
    act, io_in, io_out = want["ram_total_split_act_in_out"]
    assert (rep.io_in_bytes, rep.io_out_bytes) == (io_in, io_out)
    assert rep.io_in_activations == (io_in == 0 and io_out == 0)
    assert [(l.name, l.macc, l.rom) for l in rep.layers] == [(l["name"], l["macc"], l["rom_bytes"])
                                                            for l in entry["per_layer"]]
    assert rep.tool in ("X-CUBE-AI", "ST Edge AI Core") and rep.version.split(".")[0].isdigit()
    compressed = [l.name for l in rep.layers if l.compressed]
    assert bool(compressed) == (entry["options"]["compression"] not in ("none", "lossless"))  # lossless: no sharing


def test_compression_options_and_compressed_layers():
    rep = parse_report(ASSETS / "getz1165_STM32_AI_HAR__network_generate_report.txt")
    assert rep.compression == "8" and [l.name for l in rep.layers if l.compressed] == ["dense_1", "dense_2"]
    rep = parse_report(ASSETS / "Floatkyun_MINIST_on_STM32_F4__network_generate_report.txt")
    assert rep.compression == "low" and rep.version == "8.1.0-19520"


def test_c_info_json_schema_2_and_legacy_json(tmp_path):
    c_info = {"schema_version": "2.0", "memory_footprint": {"activations": 2880, "weights": 12256, "io": [0, 0],
                                                            "kernel_flash": 14000, "kernel_ram": 2000, "series": "stm32l4"},
              "graphs": [{"nodes": [{"id": 0, "name": "conv", "macc": 10392}, {"id": 1, "name": "dense", "macc": 4012}]}],
              "environment": {"tools": [{"version": "10.0.0", "arguments": "analyze", "input_model": "m.h5"}]},
              "validation": {"val_metrics": [{"acc": 1.0, "rmse": 1e-7, "mae": 1e-8, "l2r": 2e-7, "desc": "x-cross"}]}}
    p = tmp_path / "network_c_info.json"
    p.write_text(json.dumps(c_info))
    rep = parse_report(p)
    assert (rep.format, rep.macc, rep.weights_bytes, rep.activations_bytes) == ("c_info_json", 14404, 12256, 2880)
    assert rep.io_in_activations and rep.validation[0]["acc"] == 1.0 and rep.version == "10.0.0"
    legacy = {"rom_size": 2828, "rom_n_macc": 42006, "ram_size": 2652, "ram_io_size": [3136, 40],
              "layers": [{"name": "conv2d_1", "type": "Conv2D", "extras": {"n_macc": 40000, "rom_size": 2000}}]}
    p = tmp_path / "network_report.json"
    p.write_text(json.dumps(legacy))
    rep = parse_report(p)
    assert (rep.format, rep.macc, rep.weights_bytes, rep.io_in_bytes, rep.io_out_bytes) == \
           ("legacy_json", 42006, 2828, 3136, 40)


def test_bad_files_name_file_and_line(tmp_path):
    p = tmp_path / "r.txt"
    p.write_text("hello\nworld\n")
    with pytest.raises(ReportParseError, match=r"r.txt:1: no X-CUBE-AI"):
        parse_report(p)
    text = (ASSETS / "Rich143_Human_Activity_Recognition__network_generate_report.txt").read_text()
    p.write_text(text[: text.index("macc ")])
    with pytest.raises(ReportParseError, match=r"r.txt:\d+: the summary has no 'macc' line"):
        parse_report(p)
    p.write_text('{"memory_footprint": {"weights": "x"}}')
    with pytest.raises(ReportParseError, match="r.txt:1"):
        parse_report(p)
    with pytest.raises(ReportParseError, match="cannot read"):
        parse_report(tmp_path / "missing.txt")


REPORT_TEXTS = [(ASSETS / e["report_file"]).read_text(errors="replace") for e in INDEX]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(REPORT_TEXTS), st.data())
def test_mutated_and_truncated_reports_never_crash(text, data):
    kind = data.draw(st.sampled_from(["truncate", "delete_lines", "replace", "insert"]))
    if kind == "truncate":
        text = text[: data.draw(st.integers(0, len(text)))]
    elif kind == "delete_lines":
        lines = text.splitlines()
        drop = set(data.draw(st.lists(st.integers(0, max(len(lines) - 1, 0)), max_size=20)))
        text = "\n".join(l for i, l in enumerate(lines) if i not in drop)
    elif kind == "replace":
        i = data.draw(st.integers(0, max(len(text) - 1, 0)))
        text = text[:i] + data.draw(st.text(max_size=30)) + text[i + data.draw(st.integers(0, 200)):]
    else:
        i = data.draw(st.integers(0, len(text)))
        text = text[:i] + data.draw(st.sampled_from(["macc : abc\n", "ram (total) : 5 B = x\n", "{", ": :\n", "\x00"]))
        text += text[i:]
    try:
        rep = parse_report("fuzz.txt", text)
    except ReportParseError as exc:
        assert str(exc).startswith("fuzz.txt:")
    else:
        # a parsed report, with integer figures (never None or text), whatever their values
        assert all(isinstance(v, int) for v in (rep.macc, rep.weights_bytes, rep.activations_bytes))


def test_a_report_says_whether_the_network_is_int8():
    # the input line of an int8 report reads "int8(1x11), ..., QLinear(...)": memsim must judge it as int8
    dtypes = {f.name.split("_")[0]: parse_report(f).dtype for f in ASSETS.glob("*_report.txt")}
    assert {k for k, d in dtypes.items() if d == "int8"} == {"Solomia200", "bulicp", "laithalarmouti"}
