import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from compresslab import data, models, train, utils


@pytest.fixture(scope="module")
def loaders():
    return data.make_loaders(data.load_digits_dataset(), batch_size=64)


def test_fit_is_reproducible_and_learns(loaders):
    runs = []
    for _ in range(2):
        net = models.mlp([64, 32, 10], seed=0)
        history = train.fit(net, loaders["train"], epochs=4, lr=1e-2, val_loader=loaders["val"], seed=5)
        runs.append((net, history))
    (a, ha), (b, hb) = runs
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert ha.train_loss == hb.train_loss
    assert ha.train_loss[-1] < ha.train_loss[0]
    assert len(ha.val_accuracy) == 4
    assert train.accuracy(a, loaders["test"]) > 0.5  # chance is 0.1


def test_evaluate_restores_mode_and_rejects_empty_loader(loaders):
    net = models.mlp([64, 10])
    net.train()
    result = train.evaluate(net, loaders["val"])
    assert net.training and 0.0 <= result["accuracy"] <= 1.0 and result["loss"] > 0
    empty = DataLoader(TensorDataset(torch.zeros(0, 64), torch.zeros(0, dtype=torch.long)))
    with pytest.raises(ValueError, match="empty"):
        train.evaluate(net, empty)


def test_fit_rejects_bad_arguments(loaders):
    net = models.mlp([64, 10])
    with pytest.raises(ValueError, match="epochs"):
        train.fit(net, loaders["train"], epochs=0)
    with pytest.raises(ValueError, match="lr"):
        train.fit(net, loaders["train"], lr=0)


def test_default_device_follows_cuda_availability():
    assert train.default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_progress_bar_is_off_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert not utils.progress_enabled()
    assert utils.progress(range(3)).disable
    monkeypatch.delenv("CI")
    assert utils.progress_enabled()
