"""FakeQuantSTE's backward returns grad_output unchanged: values outside [qmin, qmax] keep their gradient.

Caught by: fake_quant_ste_backward
           fake_quant_ste_in_a_graph
"""

# ruff: noqa: F821

import torch


class FakeQuantSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax):
        inv = torch.tensor(1.0, dtype=torch.float32) / torch.tensor(float(scale), dtype=torch.float32)
        code = torch.round(x * inv.to(x.dtype)) + zero_point
        return (torch.clamp(code, qmin, qmax) - zero_point) * float(scale)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None, None, None, None
