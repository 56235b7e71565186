"""LsqQuantizer uses the narrow signed range [-(2^(b-1)-1), 2^(b-1)-1] instead of LSQ's [-2^(b-1), 2^(b-1)-1].

Caught by: lsq_forward
           lsq_input_gradient
"""

# ruff: noqa: F821

import math

import torch
from torch import nn


class LsqQuantizer(nn.Module):
    """Learned step size quantization (Esser et al. 2020) with PyTorch's gradient and LSQ's gradient scale."""

    def __init__(self, bits: int, signed: bool = True):
        super().__init__()
        bits = check_bits("bits", bits)
        self.bits, self.signed = bits, bool(signed)
        self.qmin, self.qmax = (-(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        self.step = nn.Parameter(torch.ones(1))
        self.register_buffer("initialized", torch.tensor(False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not bool(self.initialized):
            with torch.no_grad():
                self.step.fill_(max(2 * x.abs().mean().item() / math.sqrt(self.qmax), 1e-8))
                self.initialized.fill_(True)
        g = 1.0 / math.sqrt(x.numel() * self.qmax)
        s = self.step * g + (self.step - self.step * g).detach()  # value s, gradient scaled by g
        r = x / s
        code = torch.round(r.detach())
        inside = (code >= self.qmin) & (code <= self.qmax)
        r_ste = r + (code - r).detach()  # forward round(x/s), backward through x/s
        q = torch.where(inside, r_ste, torch.clamp(code, self.qmin, self.qmax))
        return q * s
