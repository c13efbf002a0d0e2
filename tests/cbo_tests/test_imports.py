"""``import memsim`` and ``import cbo`` (shrink included) never pull in TensorFlow: they load in milliseconds."""

import subprocess
import sys
from pathlib import Path


def test_memsim_cbo_and_shrink_import_without_tensorflow():
    code = ("import sys, memsim, cbo, cbo.tinyml, cbo.dnas, memsim.batch; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"
