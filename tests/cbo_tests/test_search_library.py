"""The search is a library call: a script runs it, with the toolchain's confirmation, and no command-line module."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
from cbo.tinyml import SearchOptions, run_search
from validation import Finalists

options = SearchOptions(trainings=2, epochs=1, k=2, batch_size=32, confirm=1, study=sys.argv[1], out=sys.argv[2])
summary = run_search(options, confirm=Finalists())
print(json.dumps({"cli": [m for m in sys.modules if m.startswith("autotinyml_cli")], "summary": summary.to_dict(),
                  "exit": summary.exit_code}))
"""


def test_a_script_searches_confirms_and_exports_without_the_command_line(tmp_path):
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "s.sqlite"), str(tmp_path / "out")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["cli"] == [] and got["exit"] == 0
    summary = got["summary"]
    assert summary["n_trained"] == 2 and summary["settings"]["template"] == "ds-cnn-1d"  # the data's space
    assert summary["exported"] == str(tmp_path / "out") and (tmp_path / "out" / "report.json").exists()
    assert "AutoTinyML search: ds-cnn-1d (chosen for 100x6 sensor windows" in run.stderr


def test_the_command_line_only_parses_calls_and_prints():
    # each command-line module stays small: the work is in the library (cbo, validation), which the benchmarks
    # call as users' scripts do, never through the command line
    long = {p.name: n for p in (ROOT / "autotinyml_cli").glob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 300}
    assert not long, long
    through_cli = [p.name for p in (ROOT / "benchmarks").glob("*.py") if "autotinyml_cli" in p.read_text("utf-8")]
    assert not through_cli, through_cli
