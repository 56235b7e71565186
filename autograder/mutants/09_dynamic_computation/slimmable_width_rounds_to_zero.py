"""SlimmableLinear and SlimmableMLP.macs keep int(width_mult * n) units, which is zero for a small width.

Caught by: slimmable_tiny_width_and_validation
"""

# ruff: noqa: F821


import torch
from torch import nn


class SlimmableLinear(nn.Linear):
    """nn.Linear whose forward uses the first input columns and output rows set by the input and width_mult."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, slim_in: bool = True,
                 slim_out: bool = True):
        super().__init__(in_features, out_features, bias=bias)
        self.slim_in, self.slim_out = slim_in, slim_out
        self.width_mult = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not 0 < self.width_mult <= 1:
            raise ValueError(f"width_mult must be in (0, 1], got {self.width_mult}")
        n_in = x.shape[-1] if self.slim_in else self.in_features
        if n_in > self.in_features or (not self.slim_in and x.shape[-1] != self.in_features):
            raise ValueError(f"x has {x.shape[-1]} features; this layer takes at most {self.in_features}")
        n_out = int(self.width_mult * self.out_features) if self.slim_out else self.out_features
        bias = self.bias[:n_out] if self.bias is not None else None
        return nn.functional.linear(x, self.weight[:n_out, :n_in], bias)


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
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x

    def macs(self, width_mult: float) -> int:
        """Weight MACs per sample at this width multiplier."""
        total, n_in = 0, self.layers[0].in_features
        for layer in self.layers:
            n_out = int(width_mult * layer.out_features) if layer.slim_out else layer.out_features
            total += n_in * n_out
            n_in = n_out
        return total
