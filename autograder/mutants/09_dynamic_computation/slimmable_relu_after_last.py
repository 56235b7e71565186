"""SlimmableMLP applies ReLU after the last layer too, clipping the negative logits.

Caught by: slimmable_mlp_matches_narrow
"""

# ruff: noqa: F821


import torch
from torch import nn


class SlimmableMLP(nn.Module):
    """SlimmableLinear layers of the given sizes with ReLU between; set_width(m) slims every hidden layer."""

    def __init__(self, sizes=(64, 128, 128, 10)):
        super().__init__()
        last = len(sizes) - 2
        self.layers = nn.ModuleList([SlimmableLinear(a, b, slim_in=i > 0, slim_out=i < last)
                                     for i, (a, b) in enumerate(zip(sizes, sizes[1:]))])

    def set_width(self, width_mult: float) -> None:
        if not 0 < width_mult <= 1:
            raise ValueError(f"width_mult must be in (0, 1], got {width_mult}")
        for layer in self.layers:
            layer.width_mult = width_mult

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x

    def macs(self, width_mult: float) -> int:
        """Weight MACs per sample at this width multiplier."""
        total, n_in = 0, self.layers[0].in_features
        for layer in self.layers:
            n_out = slim_units(layer.out_features, width_mult) if layer.slim_out else layer.out_features
            total += n_in * n_out
            n_in = n_out
        return total
