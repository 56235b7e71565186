"""FakeQuantSTE rounds with floor(x / scale + 0.5), half up, instead of half to even as PyTorch does.

Caught by: fake_quant_ste_forward
"""

# ruff: noqa: F821

import torch


class FakeQuantSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax):
        code = torch.floor(x / scale + 0.5) + zero_point
        ctx.save_for_backward((code >= qmin) & (code <= qmax))
        return (torch.clamp(code, qmin, qmax) - zero_point) * float(scale)

    @staticmethod
    def backward(ctx, grad_output):
        (mask,) = ctx.saved_tensors
        return grad_output * mask, None, None, None, None
