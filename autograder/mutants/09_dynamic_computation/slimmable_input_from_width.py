"""SlimmableLinear slices its input columns by its own width multiplier, not by the input it was given.

Caught by: slimmable_linear_slices
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
        n_in = slim_units(self.in_features, self.width_mult) if self.slim_in else self.in_features
        if (not self.slim_in and x.shape[-1] != self.in_features):
            raise ValueError(f"x has {x.shape[-1]} features; this layer takes at most {self.in_features}")
        n_out = slim_units(self.out_features, self.width_mult) if self.slim_out else self.out_features
        bias = self.bias[:n_out] if self.bias is not None else None
        return nn.functional.linear(x, self.weight[:n_out, :n_in], bias)
