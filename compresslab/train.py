"""Seeded training and evaluation loops: CPU by default, CUDA when it is present."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader

from compresslab.utils import progress, seed_everything


def default_device() -> torch.device:
    """CUDA when a GPU is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class History:
    """Per-epoch mean training loss and validation accuracy (a fraction in [0, 1]; empty without val data)."""

    train_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)


def fit(model: nn.Module, train_loader: DataLoader, epochs: int = 10, lr: float = 1e-2, weight_decay: float = 0.0,
        val_loader: DataLoader | None = None, loss_fn: nn.Module | None = None, seed: int = 0,
        device: torch.device | str | None = None, desc: str = "train") -> History:
    """Train ``model`` in place with Adam and cross-entropy; seeds every random choice with ``seed``."""
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    seed_everything(seed)
    if isinstance(train_loader.generator, torch.Generator):
        train_loader.generator.manual_seed(seed)  # the same batch order on every call
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = History()
    for _ in progress(range(epochs), desc=desc):
        model.train()
        total, count = 0.0, 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
            count += len(y)
        history.train_loss.append(total / count)
        if val_loader is not None:
            history.val_accuracy.append(evaluate(model, val_loader, device)["accuracy"])
    return history


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device | str | None = None) -> dict[str, float]:
    """Mean cross-entropy ``loss`` and ``accuracy`` (fraction correct) of ``model`` over ``loader``."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(dim=1) == y).sum().item()
        count += len(y)
    model.train(was_training)
    if count == 0:
        raise ValueError("loader is empty: nothing to evaluate")
    return {"loss": loss_sum / count, "accuracy": correct / count}


def accuracy(model: nn.Module, loader: DataLoader) -> float:
    """Fraction of examples in ``loader`` that ``model`` classifies correctly."""
    return evaluate(model, loader)["accuracy"]
