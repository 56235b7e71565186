"""The tiny models every module reuses: an MLP builder (LeNet-300-100 among its shapes) and small CNNs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def mlp(sizes: Sequence[int], dropout: float = 0.0, seed: int | None = 0) -> nn.Sequential:
    """Linear layers of the given widths with ReLU between them, e.g. ``mlp([64, 300, 100, 10])``.

    Input (N, sizes[0]) -> logits (N, sizes[-1]). ``seed`` fixes the initial weights (None leaves the global
    generator in charge).
    """
    sizes = list(sizes)
    if len(sizes) < 2 or any(not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"sizes must be at least two positive ints, got {sizes}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if seed is not None:
        torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def lenet_300_100(in_features: int = 64, num_classes: int = 10, seed: int | None = 0) -> nn.Sequential:
    """LeNet-300-100 (LeCun et al. 1998; Han et al. 2015): two hidden layers of 300 and 100 ReLU units."""
    return mlp([in_features, 300, 100, num_classes], seed=seed)


def digits_cnn(channels: tuple[int, int] = (8, 16), num_classes: int = 10, seed: int | None = 0) -> nn.Sequential:
    """A two-block CNN for 8x8 digits: input (N, 1, 8, 8) -> logits (N, num_classes).

    conv3x3 -> ReLU -> maxpool2 (8x8 -> 4x4), conv3x3 -> ReLU -> maxpool2 (4x4 -> 2x2), then a Linear layer.
    """
    c1, c2 = channels
    if c1 < 1 or c2 < 1:
        raise ValueError(f"channels must be positive, got {channels}")
    if seed is not None:
        torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, c1, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(c2 * 2 * 2, num_classes),
    )


def mnist1d_cnn(channels: int = 25, num_classes: int = 10, seed: int | None = 0) -> nn.Sequential:
    """The small 1-D CNN of the MNIST-1D paper (three conv layers, stride 2): input (N, 40) -> logits (N, 10)."""
    if channels < 1:
        raise ValueError(f"channels must be positive, got {channels}")
    if seed is not None:
        torch.manual_seed(seed)
    return nn.Sequential(
        nn.Unflatten(1, (1, 40)),
        nn.Conv1d(1, channels, 5, stride=2, padding=1), nn.ReLU(),   # (N, C, 19)
        nn.Conv1d(channels, channels, 3, stride=2, padding=1), nn.ReLU(),  # (N, C, 10)
        nn.Conv1d(channels, channels, 3, stride=2, padding=1), nn.ReLU(),  # (N, C, 5)
        nn.Flatten(), nn.Linear(channels * 5, num_classes),
    )
