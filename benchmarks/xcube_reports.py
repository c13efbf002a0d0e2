"""memsim (xcubeai profile) vs the 13 real X-CUBE-AI >= 7.2 float32 reports, through `autotinyml validate --reports`.

Each report is copied into a temporary folder with the network rebuilt from it
(tests/memsim_tests/test_xcube_reports.py) beside it as a layer description
with the same stem; then the command users run compares them.

Run: python benchmarks/xcube_reports.py [--json]
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "memsim_tests"))

from autotinyml_cli.main import main as cli  # noqa: E402
from test_xcube_reports import REPORTS  # noqa: E402

ASSETS = ROOT / "tests" / "validation_tests" / "assets" / "xcube-reports"


def report_folder(into: Path) -> Path:
    """Copy each rebuilt report next to its network (same stem) into ``into``."""
    files = sorted(ASSETS.glob("*_report.txt"))
    for key, (layers, *_rest) in REPORTS.items():
        owner = key.split("_")[0]
        report = next(f for f in files if f.name.lower().replace("-", "").startswith(owner))
        shutil.copy(report, into / report.name)
        (into / f"{report.stem}.json").write_text(json.dumps({"name": key, "layers": layers}))
    return into


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(cli(["validate", "--reports", str(report_folder(Path(tmp))), *sys.argv[1:]]))
