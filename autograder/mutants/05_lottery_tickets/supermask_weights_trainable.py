"""SupermaskLinear leaves the weight trainable, so the optimizer changes the "frozen" random weights too.

Caught by: supermask_weights_frozen
"""

import math

import torch
from torch import nn


class SupermaskLinear(nn.Module):
    def __init__(self, in_features, out_features, keep=0.5, generator=None):
        super().__init__()
        if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0 < keep <= 1:
            raise ValueError(f"keep must be a float in (0, 1], got {keep!r}")
        self.keep = float(keep)
        bound = 1 / math.sqrt(in_features)
        weight = torch.rand(out_features, in_features, generator=generator) * 2 * bound - bound
        scores = torch.rand(out_features, in_features, generator=generator) * 2 * bound - bound
        self.weight = nn.Parameter(weight)
        self.scores = nn.Parameter(scores)

    def mask(self):
        k = max(1, int(round(self.keep * self.scores.numel())))
        flat = torch.zeros(self.scores.numel(), dtype=torch.bool)
        flat[torch.topk(self.scores.detach().flatten(), k).indices] = True
        return flat.view(self.scores.shape)

    def forward(self, x):
        hard = self.mask().to(self.scores.dtype)
        return nn.functional.linear(x, self.weight * (hard + self.scores - self.scores.detach()))
