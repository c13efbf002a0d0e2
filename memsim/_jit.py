"""How memsim's numba kernels are compiled and where their machine code is cached.

numba's default cache sits next to the source file, i.e. inside the installed package: a search would then write
into site-packages, files no installer knows about, which outlive an uninstall and turn the leftover folder into an
empty namespace package that shadows the next install. memsim's kernels are cached in the user's cache folder
instead (``AUTOTINYML_CACHE_DIR`` moves it; ``NUMBA_CACHE_DIR``, when the user set it, wins, as numba documents).
Where no cache folder is writable, kernels are compiled in every process and nothing is written anywhere.

numba checks a cached kernel against its own source file only, yet a kernel's machine code holds the kernels it
calls from other files and the tables it reads from them: after a change to one of those, the cache would hand
out stale code (wrong figures, or memory corruption when an array layout changed). The cache folder is therefore
named after a digest of every source the kernels compile from, so any change starts a fresh one.
"""

from __future__ import annotations

import hashlib
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


_MEMSIM = Path(__file__).resolve().parent


def kernel_sources_digest() -> str:
    """A digest of every file the compiled kernels are built from (their code, rules, codes and tables)."""
    digest = hashlib.sha256(numba.__version__.encode())
    for path in sorted([*(_MEMSIM / "_kernels").glob("*.py"), _MEMSIM / "_rules.py", _MEMSIM / "ops.py",
                        Path(__file__).resolve()]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _kernel_cache_dir() -> str | None:
    """The folder numba caches memsim's kernels in, or None to compile without caching."""
    if numba.config.CACHE_DIR:  # the user's own NUMBA_CACHE_DIR
        return str(Path(numba.config.CACHE_DIR) / f"memsim-{kernel_sources_digest()}")
    folder = user_cache_dir() / "numba" / kernel_sources_digest()
    return str(folder) if _writable(folder) else None


KERNEL_CACHE_DIR = _kernel_cache_dir()


def kernel(function=None, *, inline: bool = False):
    """``numba.njit(nogil=True)``, its machine code cached in ``KERNEL_CACHE_DIR`` (never in the package).

    ``inline=True`` (``@kernel(inline=True)``) inlines a small helper into its callers at numba's IR level, which
    LLVM does not always do across the kernel modules (measured: the X-CUBE-AI plan's helpers cost a third of
    the batch evaluator's time as calls).

    numba fixes a cached function's folder when it is decorated, from ``numba.config.CACHE_DIR``; setting that
    for the decoration alone leaves every other numba user in the process as it was.
    """
    if function is None:
        return lambda f: kernel(f, inline=inline)
    options = {"nogil": True, "inline": "always" if inline else "never"}
    if KERNEL_CACHE_DIR is None:
        return numba.njit(**options)(function)
    before = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = KERNEL_CACHE_DIR
    try:
        return numba.njit(cache=True, **options)(function)
    finally:
        numba.config.CACHE_DIR = before
