"""Offline data sets: scikit-learn's 8x8 digits, MNIST-1D generated locally, and MNIST-format IDX files.

Nothing here downloads. Every split is stratified and seeded, so a rerun sees the same examples.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` (N, ...) float32 and integer labels ``y`` (N,) int64 of one split."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The split as (float32 inputs, int64 labels) tensors."""
        return torch.from_numpy(self.x), torch.from_numpy(self.y)


@dataclass(frozen=True)
class Dataset:
    """A data set cut into train, validation and test splits."""

    name: str
    train: Split
    val: Split
    test: Split
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example, without the batch dimension."""
        return tuple(self.train.x.shape[1:])


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Examples to draw per class: floor of the proportional share, the rest to the largest remainders (ties at
    random), as scikit-learn's ``utils.extmath._approximate_mode``."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    remainder = continuous - floored
    for value in np.sort(np.unique(remainder))[::-1]:
        if need_to_add <= 0:
            break
        (inds,) = np.where(remainder == value)
        add_now = min(len(inds), need_to_add)
        floored[rng.choice(inds, size=add_now, replace=False)] += 1
        need_to_add -= add_now
    return floored.astype(int)


def stratified_split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept indices, test indices) of labels ``y`` (N,): each class split in proportion, seeded.

    The same indices as ``sklearn.model_selection.train_test_split(..., test_size=test_fraction, stratify=y,
    random_state=seed)`` (its StratifiedShuffleSplit, step for step), without importing scikit-learn, which takes most
    of a second: every notebook and every grading loads the digits.
    """
    _check_fraction("test_fraction", test_fraction)
    y = np.asarray(y)
    n_test = math.ceil(test_fraction * len(y))
    n_train = len(y) - n_test
    classes, y_indices, class_counts = np.unique(y, return_inverse=True, return_counts=True)
    if class_counts.min() < 2 or min(n_train, n_test) < len(classes):
        raise ValueError(f"y must have at least 2 examples per class and test_fraction must leave at least one "
                         f"example per class on each side, got class counts {class_counts.tolist()} and "
                         f"test_fraction={test_fraction}")
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    rng = np.random.RandomState(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train, test = [], []
    for i in range(len(classes)):
        members = class_indices[i].take(rng.permutation(class_counts[i]), mode="clip")
        train.extend(members[: n_i[i]])
        test.extend(members[n_i[i]: n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def _split(name: str, x: np.ndarray, y: np.ndarray, x_test: np.ndarray | None, y_test: np.ndarray | None,
           val_fraction: float, test_fraction: float, seed: int) -> Dataset:
    """Stratified train/val/test split; a given test set is kept and only the validation set is carved out."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    if x_test is None:
        _check_fraction("test_fraction", test_fraction)
        keep, test = stratified_split(y, test_fraction, seed)
        x, x_test, y, y_test = x[keep], x[test], y[keep], y[test]
    _check_fraction("val_fraction", val_fraction)
    train, val = stratified_split(y, val_fraction, seed)
    x_train, x_val, y_train, y_val = x[train], x[val], y[train], y[val]
    return Dataset(
        name=name,
        train=Split(np.ascontiguousarray(x_train), y_train),
        val=Split(np.ascontiguousarray(x_val), y_val),
        test=Split(np.ascontiguousarray(x_test, dtype=np.float32), np.asarray(y_test, dtype=np.int64)),
        num_classes=int(max(y.max(), np.max(y_test)) + 1),
    )


def load_digits_dataset(val_fraction: float = 0.15, test_fraction: float = 0.2, seed: int = 0,
                        as_images: bool = False) -> Dataset:
    """scikit-learn's 1,797 handwritten 8x8 digits, pixels scaled to [0, 1].

    x is (N, 64), or (N, 1, 8, 8) when ``as_images``; 10 classes.
    """
    data, target = _digits_arrays()
    x = data.astype(np.float32) / 16.0
    if as_images:
        x = x.reshape(-1, 1, 8, 8)
    return _split("digits", x, target, None, None, val_fraction, test_fraction, seed)


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Pixels (1797, 64) in 0..16 and labels (1797,) of the digits, read from the file scikit-learn ships and its
    ``load_digits`` reads, without importing scikit-learn (which takes most of a second); its loader otherwise."""
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is not None and path.is_file():
        data = np.loadtxt(path, delimiter=",")
        return data[:, :-1], data[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data, bunch.target


def cache_dir() -> Path:
    """Folder for generated data: ``$COMPRESSLAB_CACHE`` or ``~/.cache/compresslab``."""
    return Path(os.environ.get("COMPRESSLAB_CACHE", Path.home() / ".cache" / "compresslab"))


def _generate_mnist1d(seed: int) -> dict[str, np.ndarray]:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = seed
    # make_dataset reseeds the global generators; put them back so the caller's random stream is untouched.
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return {"x": data["x"], "y": data["y"], "x_test": data["x_test"], "y_test": data["y_test"]}


def load_mnist1d_dataset(val_fraction: float = 0.1, seed: int = 0, data_seed: int = 42,
                         cache: Path | None = None) -> Dataset:
    """MNIST-1D (Greydanus 2020) generated locally by ``mnist1d``: x is (N, 40), 4,000 train+val and 1,000 test.

    The first call generates the data (a few seconds) and caches it as an .npz file; ``data_seed`` 42 is the
    package's default and gives the published data set.
    """
    folder = cache_dir() if cache is None else Path(cache)
    path = folder / f"mnist1d_seed{data_seed}.npz"
    if path.exists():
        with np.load(path) as stored:
            arrays = {key: stored[key] for key in ("x", "y", "x_test", "y_test")}
    else:
        arrays = _generate_mnist1d(data_seed)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, path)  # atomic, so parallel test workers never read half a file
    return _split("mnist1d", arrays["x"], arrays["y"], arrays["x_test"], arrays["y_test"], val_fraction, 0.0, seed)


IDX_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an MNIST-format IDX file (optionally .gz) into an array of the shape its header declares.

    Raises ValueError when the magic number, the type code or the payload size is wrong.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (the magic number must start with two zero bytes)")
    type_code, ndim = raw[2], raw[3]
    if type_code not in IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{type_code:02x}; allowed: "
                         + ", ".join(f"0x{c:02x}" for c in IDX_DTYPES))
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: header declares {ndim} dimensions but the file is too short for them")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_DTYPES[type_code]
    payload = raw[4 + 4 * ndim:]
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(payload) != expected:
        raise ValueError(f"{path}: header shape {shape} needs {expected} bytes of data, found {len(payload)}")
    return np.frombuffer(payload, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: Path, stem: str) -> Path:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{folder}: no {stem} or {stem}.gz")


def load_idx_dataset(folder: str | Path, val_fraction: float = 0.1, seed: int = 0,
                     prefixes: tuple[str, str] = ("train", "t10k")) -> Dataset:
    """MNIST-style files already on disk (``train-images-idx3-ubyte[.gz]`` and friends), pixels scaled to [0, 1]."""
    folder = Path(folder)
    parts = {}
    for split, prefix in zip(("train", "test"), prefixes):
        images = read_idx(_find(folder, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(_find(folder, f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{folder}: {split} images {images.shape} and labels {labels.shape} do not pair up")
        parts[split] = (images.astype(np.float32)[:, None] / 255.0, labels.astype(np.int64))
    (x, y), (x_test, y_test) = parts["train"], parts["test"]
    return _split(folder.name, x, y, x_test, y_test, val_fraction, 0.0, seed)


def make_loaders(dataset: Dataset, batch_size: int = 64, seed: int = 0) -> dict[str, DataLoader]:
    """DataLoaders for each split; only ``train`` is shuffled, by a generator seeded with ``seed``."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    loaders = {}
    for name in ("train", "val", "test"):
        split: Split = getattr(dataset, name)
        shuffle = name == "train"
        generator = torch.Generator().manual_seed(seed) if shuffle else None
        loaders[name] = DataLoader(TensorDataset(*split.tensors()), batch_size=batch_size, shuffle=shuffle,
                                   generator=generator)
    return loaders
