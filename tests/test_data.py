import gzip
import random

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from compresslab import data


def test_digits_splits_cover_the_data_set_once_and_are_stratified():
    ds = data.load_digits_dataset(val_fraction=0.15, test_fraction=0.2, seed=0)
    full = load_digits()
    assert len(ds.train) + len(ds.val) + len(ds.test) == len(full.target)
    overall = np.bincount(full.target) / len(full.target)
    for split in (ds.train, ds.val, ds.test):
        share = np.bincount(split.y, minlength=10) / len(split)
        assert np.abs(share - overall).max() < 0.02
    all_rows = np.concatenate([ds.train.x, ds.val.x, ds.test.x]) * 16
    assert sorted(map(bytes, all_rows.astype(np.uint8))) == sorted(map(bytes, full.data.astype(np.uint8)))


def test_digits_are_read_as_scikit_learn_reads_them():
    pixels, labels = data._digits_arrays()
    full = load_digits()
    np.testing.assert_array_equal(pixels, full.data)
    np.testing.assert_array_equal(labels, full.target)


LABELS = {
    "digits": load_digits().target,
    "three classes with ties": np.repeat([0, 1, 2], [7, 7, 7]),
    "uneven": np.random.default_rng(0).choice(5, size=301, p=[0.4, 0.3, 0.15, 0.1, 0.05]),
    "strings": np.array(list("abcab" * 9)),
}


@pytest.mark.parametrize("name", LABELS)
@pytest.mark.parametrize("fraction,seed", [(0.2, 0), (0.15, 0), (0.15, 1), (0.5, 7), (0.33, 123), (0.9, 2)])
def test_stratified_split_equals_scikit_learn(name, fraction, seed):
    y = LABELS[name]
    index = np.arange(len(y))
    try:
        expected = train_test_split(index, test_size=fraction, stratify=y, random_state=seed)
    except ValueError:
        with pytest.raises(ValueError, match="test_fraction"):
            data.stratified_split(y, fraction, seed)
        return
    keep, test = data.stratified_split(y, fraction, seed)
    np.testing.assert_array_equal(keep, expected[0])
    np.testing.assert_array_equal(test, expected[1])


def test_stratified_split_rejects_a_class_of_one_and_bad_fractions():
    with pytest.raises(ValueError, match="at least 2 examples per class"):
        data.stratified_split(np.array([0, 0, 1, 1, 2]), 0.4, 0)
    for fraction in (0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match="test_fraction"):
            data.stratified_split(np.array([0, 0, 1, 1]), fraction, 0)


def test_loading_the_digits_does_not_import_scikit_learn():
    import subprocess
    import sys

    code = "import sys; from compresslab.data import load_digits_dataset; load_digits_dataset(); " \
           "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_digits_are_float32_in_unit_range_with_int64_labels():
    ds = data.load_digits_dataset()
    assert ds.train.x.dtype == np.float32 and ds.train.y.dtype == np.int64
    assert ds.train.x.min() >= 0.0 and ds.train.x.max() <= 1.0
    assert ds.input_shape == (64,) and ds.num_classes == 10
    images = data.load_digits_dataset(as_images=True)
    assert images.input_shape == (1, 8, 8)
    np.testing.assert_array_equal(images.test.x.reshape(len(images.test), -1), ds.test.x)


def test_digits_split_depends_on_seed_only():
    a, b, c = (data.load_digits_dataset(seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.train.x, b.train.x)
    assert not np.array_equal(a.train.x, c.train.x)


@pytest.mark.parametrize("kwargs", [{"val_fraction": 0.0}, {"test_fraction": 1.0}, {"val_fraction": -0.1}])
def test_bad_fractions_are_rejected_by_name(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        data.load_digits_dataset(**kwargs)


def test_loaders_shuffle_train_reproducibly_and_keep_eval_order():
    ds = data.load_digits_dataset()
    first = [next(iter(data.make_loaders(ds, batch_size=32, seed=3)["train"]))[1] for _ in range(2)]
    other = next(iter(data.make_loaders(ds, batch_size=32, seed=4)["train"]))[1]
    assert torch.equal(first[0], first[1]) and not torch.equal(first[0], other)
    test_x = torch.cat([x for x, _ in data.make_loaders(ds, batch_size=50)["test"]])
    assert torch.equal(test_x, torch.from_numpy(ds.test.x))
    with pytest.raises(ValueError, match="batch_size"):
        data.make_loaders(ds, batch_size=0)


def test_mnist1d_is_generated_locally_cached_and_leaves_global_rng_alone(tmp_path, monkeypatch):
    import requests

    def no_network(*args, **kwargs):
        raise AssertionError("MNIST-1D must be generated locally, not downloaded")

    monkeypatch.setattr(requests, "get", no_network)
    monkeypatch.setenv("COMPRESSLAB_CACHE", str(tmp_path))
    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.random(), random.random()
    np.random.seed(123)
    random.seed(123)
    ds = data.load_mnist1d_dataset()
    assert (np.random.random(), random.random()) == (expected_np, expected_py)
    assert ds.input_shape == (40,) and ds.num_classes == 10
    assert len(ds.train) + len(ds.val) == 4000 and len(ds.test) == 1000
    assert (tmp_path / "mnist1d_seed42.npz").exists()
    again = data.load_mnist1d_dataset()
    np.testing.assert_array_equal(ds.test.x, again.test.x)


def _write_idx(path, array: np.ndarray, type_code: int) -> None:
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = array.astype(data.IDX_DTYPES[type_code]).tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + payload)


@pytest.mark.parametrize("type_code", sorted(data.IDX_DTYPES))
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_round_trips_every_type(tmp_path, type_code, suffix):
    rng = np.random.default_rng(type_code)
    array = rng.integers(-100, 100, size=(3, 4, 5)).astype(data.IDX_DTYPES[type_code].newbyteorder("="))
    if type_code == 0x08:
        array = np.abs(array)
    path = tmp_path / f"x.idx{suffix}"
    _write_idx(path, array, type_code)
    np.testing.assert_array_equal(data.read_idx(path), array)


def test_read_idx_rejects_bad_magic_type_and_size(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(bytes([1, 0, 8, 1]) + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(ValueError, match="magic"):
        data.read_idx(path)
    path.write_bytes(bytes([0, 0, 0x42, 1]) + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(ValueError, match="type code"):
        data.read_idx(path)
    path.write_bytes(bytes([0, 0, 8, 2]) + (3).to_bytes(4, "big") + (2).to_bytes(4, "big") + b"abc")
    with pytest.raises(ValueError, match="needs 6 bytes"):
        data.read_idx(path)


def test_load_idx_dataset_reads_mnist_style_files(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 40), ("t10k", 10)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 6, 6)), 0x08)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 2, 0x08)
    ds = data.load_idx_dataset(tmp_path, val_fraction=0.25)
    assert ds.input_shape == (1, 6, 6) and len(ds.train) == 30 and len(ds.val) == 10 and len(ds.test) == 10
    assert 0.0 <= ds.train.x.min() and ds.train.x.max() <= 1.0
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(9) % 2, 0x08)
    with pytest.raises(ValueError, match="do not pair up"):
        data.load_idx_dataset(tmp_path)
