"""memsim (xcubeai profile) vs the real X-CUBE-AI / ST Edge AI reports, as `autotinyml validate --reports` compares them:
the 13 float32 >= 7.2 reports, then the 3 int8 ones (ST Edge AI Core 1.0 / 2.2), each set with its own summary and
the safety margins that would cover it (the profile's per-dtype defaults come from these).

Each report is copied into a temporary folder with the network rebuilt from it
(tests/memsim_tests/test_xcube_reports.py) beside it as a layer description
with the same stem; then the comparison users run (validation.comparison) compares them.

Run: python benchmarks/xcube_reports.py [--json]
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

from validation import comparison
from validation.xcube_networks import INT8_REPORTS, REPORTS, SOLOMIA_INT8

ROOT = Path(__file__).resolve().parent.parent

ASSETS = ROOT / "tests" / "validation_tests" / "assets" / "xcube-reports"


FLOAT_SET = {key: layers for key, (layers, *_rest) in REPORTS.items()}
INT8_SET = {**{key: layers for key, (layers, *_rest) in INT8_REPORTS.items()}, "solomia200_har_int8_e2_2": SOLOMIA_INT8}


def report_folder(into: Path, networks: dict) -> Path:
    """Copy each report next to its rebuilt network (same stem) into ``into``."""
    files = sorted(ASSETS.glob("*_report.txt"))
    into.mkdir(parents=True, exist_ok=True)
    for key, layers in networks.items():
        owner = key.split("_")[0]
        report = next(f for f in files if f.name.lower().replace("-", "").startswith(owner))
        shutil.copy(report, into / report.name)
        (into / f"{report.stem}.json").write_text(json.dumps({"name": key, "layers": layers}))
    return into


if __name__ == "__main__":
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        for label, networks in (("float32", FLOAT_SET), ("int8", INT8_SET)):
            print(f"\n## {label}: {len(networks)} reports\n", flush=True)
            rows, skipped = comparison.collect(reports=str(report_folder(Path(tmp) / label, networks)))
            print(comparison.dumps(rows, skipped) if "--json" in sys.argv[1:] else
                  comparison.text(rows, skipped, "the reports"))
            status |= not rows
    sys.exit(status)
