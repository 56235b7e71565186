"""from_linear never copies the Linear's bias: second keeps its random initial bias.

Caught by: low_rank_linear_from_linear_output
           low_rank_linear_keeps_bias_and_dtype
"""


import torch
from torch import nn


class LowRankLinear(nn.Module):
    def __init__(self, in_features, out_features, rank, bias=True):
        super().__init__()
        self.first = nn.Linear(in_features, rank, bias=False)
        self.second = nn.Linear(rank, out_features, bias=bias)

    def forward(self, x):
        return self.second(self.first(x))

    @classmethod
    def from_linear(cls, linear, rank):
        weight = linear.weight.detach()
        A, B = low_rank_factors(weight.cpu().double().numpy(), rank)  # noqa: F821 (defined by the lab)
        layer = cls(linear.in_features, linear.out_features, rank, bias=linear.bias is not None)
        layer = layer.to(dtype=weight.dtype, device=weight.device)
        with torch.no_grad():
            layer.first.weight.copy_(torch.from_numpy(B))
            layer.second.weight.copy_(torch.from_numpy(A))
            pass  # the mistake: the bias is not copied
        return layer
