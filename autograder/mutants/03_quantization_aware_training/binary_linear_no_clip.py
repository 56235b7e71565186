"""BinaryLinear.clip_weights_ does nothing: the latent weights are never clipped to [-1, 1].

Caught by: binary_linear_clips_latent_weights
"""

# ruff: noqa: F821

import torch
from torch import nn


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return b

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        return grad_output, None


def binarize(w: torch.Tensor, stochastic: bool = False, generator=None) -> torch.Tensor:
    """+1/-1 of w's shape and dtype (+1 at 0; stochastic: +1 with probability clip((w+1)/2, 0, 1)); identity grad."""
    wd = w.detach()
    if stochastic:
        p = torch.clamp((wd + 1) / 2, 0, 1)
        u = torch.rand(w.shape, generator=generator, dtype=w.dtype, device=w.device)
        b = torch.where(u < p, 1.0, -1.0).to(w.dtype)
    else:
        b = torch.where(wd >= 0, 1.0, -1.0).to(w.dtype)
    return _SignSTE.apply(w, b)


class BinaryLinear(nn.Linear):
    """nn.Linear whose forward pass uses binarized (optionally scaled) weights; latent weights in [-1, 1]."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, stochastic: bool = False,
                 scaled: bool = False):
        super().__init__(in_features, out_features, bias)
        self.stochastic, self.scaled, self.generator = stochastic, scaled, None

    def binary_weight(self) -> torch.Tensor:
        wb = binarize(self.weight, self.stochastic and self.training, self.generator)
        if self.scaled:
            wb = wb * self.weight.detach().abs().mean()
        return wb

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.binary_weight(), self.bias)

    @torch.no_grad()
    def clip_weights_(self) -> None:
        pass
