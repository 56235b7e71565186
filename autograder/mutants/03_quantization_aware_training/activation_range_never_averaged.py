"""The activation range is set by the first training batch and never updated by the moving average.

Caught by: quant_linear_activation_range
"""

# ruff: noqa: F821

import torch
from torch import nn

from compresslab.quantization_basics import affine_qparams


class QuantLinear(nn.Linear):
    """nn.Linear on a fake-quantized input and weight; buffers act_min, act_max, initialized."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, bits_w: int = 8, bits_a: int = 8):
        super().__init__(in_features, out_features, bias)
        self._init_quant(bits_w, bits_a)

    def _init_quant(self, bits_w: int, bits_a: int) -> None:
        self.bits_w, self.bits_a = check_bits("bits_w", bits_w), check_bits("bits_a", bits_a)
        self.register_buffer("act_min", torch.zeros(()))
        self.register_buffer("act_max", torch.zeros(()))
        self.register_buffer("initialized", torch.tensor(False))

    def quantized_weight(self) -> torch.Tensor:
        """The weight fake-quantized on its symmetric per-tensor grid (gradient: the clipped STE)."""
        qmax = 2 ** (self.bits_w - 1) - 1
        amax = self.weight.detach().abs().max().item()
        scale = amax / qmax if amax > 0 else 1.0
        return FakeQuantSTE.apply(self.weight, scale, 0, -qmax, qmax)

    def quantized_input(self, x: torch.Tensor) -> torch.Tensor:
        """x fake-quantized on the unsigned grid of the layer's input range (updated in training mode)."""
        lo, hi = x.detach().min(), x.detach().max()
        if self.training:
            if not bool(self.initialized):
                self.act_min.copy_(lo)
                self.act_max.copy_(hi)
                self.initialized.fill_(True)
        if bool(self.initialized):
            lo, hi = self.act_min, self.act_max
        scale, zero_point = affine_qparams(lo.item(), hi.item(), self.bits_a, signed=False)
        return FakeQuantSTE.apply(x, scale, zero_point, 0, 2**self.bits_a - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(self.quantized_input(x), self.quantized_weight(), self.bias)
