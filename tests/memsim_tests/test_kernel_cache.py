"""memsim never writes into its own package folder: numba's compiled kernels go to the user's cache folder.

Each case runs in a fresh interpreter, because the cache folder is fixed when memsim's kernels are decorated.
"""

import os
import stat
import subprocess
import sys
from pathlib import Path

import memsim
from memsim._jit import kernel_sources_digest

PACKAGE_DIR = Path(memsim.__file__).parent

# Compiles (or loads) one kernel and runs it: the greedy planner on three buffers.
_RUN_A_KERNEL = """
import numpy as np
from memsim._jit import KERNEL_CACHE_DIR
from memsim._kernels.planner import greedy_plan_kernel
sizes = np.array([64, 32, 64], np.int64)
peak = greedy_plan_kernel(sizes, np.array([0, 1, 2], np.int64), np.array([1, 2, 3], np.int64), 16,
                          np.zeros(3, np.int64), False)
print(peak, KERNEL_CACHE_DIR)
"""


def _numba_files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc")}


def _run(env_changes: dict) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "NUMBA_DISABLE_JIT")}
    env.update(env_changes)
    proc = subprocess.run([sys.executable, "-c", _RUN_A_KERNEL], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    peak, cache_dir = proc.stdout.split()
    return int(peak), cache_dir


def test_kernels_are_cached_in_the_user_cache_folder_not_in_the_package(tmp_path):
    before = _numba_files(PACKAGE_DIR)
    peak, cache_dir = _run({"AUTOTINYML_CACHE_DIR": str(tmp_path)})
    assert peak == 96  # buffers 0 and 2 (64 B, lifetimes apart) share one slot; buffer 1 (32 B) lives beside both
    assert Path(cache_dir) == tmp_path / "numba" / kernel_sources_digest()
    assert _numba_files(tmp_path), "nothing was cached in AUTOTINYML_CACHE_DIR"
    assert _numba_files(PACKAGE_DIR) == before, "numba wrote into memsim's package folder"
    # a second process loads what the first compiled and gives the same answer
    assert _run({"AUTOTINYML_CACHE_DIR": str(tmp_path)})[0] == peak


def test_an_unwritable_cache_folder_compiles_without_writing_anywhere(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(locked, os.W_OK):  # root ignores permission bits: a file where the folder should be instead
            locked.chmod(stat.S_IRWXU)
            locked.rmdir()
            locked.write_text("not a folder")
        before = _numba_files(PACKAGE_DIR)
        peak, cache_dir = _run({"AUTOTINYML_CACHE_DIR": str(locked)})
        assert peak == 96 and cache_dir == "None"
        assert _numba_files(PACKAGE_DIR) == before
    finally:
        if locked.is_dir():
            locked.chmod(stat.S_IRWXU)


def test_numba_cache_dir_set_by_the_user_wins(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    _, cache_dir = _run({"AUTOTINYML_CACHE_DIR": str(ours), "NUMBA_CACHE_DIR": str(theirs)})
    assert Path(cache_dir) == theirs / f"memsim-{kernel_sources_digest()}"
    assert _numba_files(theirs) and not ours.exists()


def test_a_change_to_any_kernel_source_starts_a_fresh_cache(tmp_path, monkeypatch):
    # numba checks a cached kernel against its own file only; a kernel in driver.py holds code compiled from
    # chain_ir.py and tables from codes.py, so the folder must change with every one of them
    import shutil

    import memsim._jit as jit

    copy = tmp_path / "memsim"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(jit, "_MEMSIM", copy)
    digests = {jit.kernel_sources_digest()}
    for name in ("_kernels/codes.py", "_kernels/chain_ir.py", "_rules.py", "ops.py"):
        (copy / name).write_text((copy / name).read_text() + "\n# changed\n")
        digests.add(jit.kernel_sources_digest())
    assert len(digests) == 5
    (copy / "_footprint.py").write_text("# not a kernel source\n")
    assert jit.kernel_sources_digest() in digests
