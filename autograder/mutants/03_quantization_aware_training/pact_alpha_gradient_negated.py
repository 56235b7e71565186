"""PACT's alpha gradient has the wrong sign: alpha gets -sum(upstream) over x >= alpha.

Caught by: pact_alpha_gradient
"""

# ruff: noqa: F821

import math

import torch
from torch import nn


class PACT(nn.Module):
    """Parameterized clipping activation with a learnable alpha, quantized to `bits` bits."""

    def __init__(self, bits: int, alpha: float = 10.0):
        super().__init__()
        bits = check_bits("bits", bits)
        if isinstance(alpha, bool) or not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be positive and finite, got {alpha!r}")
        self.bits = bits
        self.alpha = nn.Parameter(torch.tensor(float(alpha)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = 2**self.bits - 1
        a = self.alpha
        y = torch.minimum(torch.clamp(x.detach(), min=0.0), a.detach())
        yq = torch.round(y * (n / a.detach())) * (a.detach() / n)
        above = (x.detach() >= a.detach()).to(x.dtype)
        inside = ((x.detach() >= 0) & (x.detach() < a.detach())).to(x.dtype)
        # value yq; gradient x * inside + alpha * above
        surrogate = x * inside - a * above
        return yq + (surrogate - surrogate.detach())
