"""``import memsim`` and ``import cbo`` (shrink and the Dask runner included) never pull in TensorFlow or Dask: they
load in milliseconds."""

import subprocess
import sys
from pathlib import Path


def test_memsim_cbo_and_shrink_import_without_tensorflow():
    code = ("import sys, memsim, cbo, cbo.tinyml, cbo.dnas, cbo._distributed, memsim.batch; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'torch', 'dask', 'distributed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


def test_the_training_child_module_is_not_imported_with_its_package():
    # the child runs `python -m cbo.tinyml.recycled`; imported with the package first, Python warned on every
    # search ("found in sys.modules ... prior to execution") and ran the module twice
    code = "import sys, cbo.tinyml, cbo.dnas, validation; print('cbo.tinyml.recycled' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"
    child = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "cbo.tinyml.recycled", "--help"],
                           capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    assert "RuntimeWarning" not in child.stderr, child.stderr[-500:]
