"""How memsim's numba kernels are compiled and where their machine code is cached.

numba's default cache sits next to the source file, i.e. inside the installed package: a search would then write
into site-packages, files no installer knows about, which outlive an uninstall and turn the leftover folder into an
empty namespace package that shadows the next install. memsim's kernels are cached in the user's cache folder
instead (``AUTOTINYML_CACHE_DIR`` moves it; ``NUMBA_CACHE_DIR``, when the user set it, wins, as numba documents).
Where no cache folder is writable, kernels are compiled in every process and nothing is written anywhere.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numba

CACHE_ENV = "AUTOTINYML_CACHE_DIR"


def user_cache_dir() -> Path:
    """AutoTinyML's cache folder: ``$AUTOTINYML_CACHE_DIR``, else the platform's per-user cache folder."""
    given = os.environ.get(CACHE_ENV)
    if given:
        return Path(given).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "autotinyml"


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
        return True
    except OSError:
        return False


def _kernel_cache_dir() -> str | None:
    """The folder numba caches memsim's kernels in, or None to compile without caching."""
    if numba.config.CACHE_DIR:  # the user's own NUMBA_CACHE_DIR
        return numba.config.CACHE_DIR
    folder = user_cache_dir() / "numba"
    return str(folder) if _writable(folder) else None


KERNEL_CACHE_DIR = _kernel_cache_dir()


def kernel(function):
    """``numba.njit(nogil=True)``, its machine code cached in ``KERNEL_CACHE_DIR`` (never in the package).

    numba fixes a cached function's folder when it is decorated, from ``numba.config.CACHE_DIR``; setting that
    for the decoration alone leaves every other numba user in the process as it was.
    """
    if KERNEL_CACHE_DIR is None:
        return numba.njit(nogil=True)(function)
    before = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = KERNEL_CACHE_DIR
    try:
        return numba.njit(cache=True, nogil=True)(function)
    finally:
        numba.config.CACHE_DIR = before
