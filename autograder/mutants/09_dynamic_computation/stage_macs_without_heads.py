"""MultiExitMLP.macs_per_exit counts the blocks' MACs but forgets the exit heads.

Caught by: multi_exit_mlp_macs
"""

# ruff: noqa: F821


import torch
from torch import nn


class MultiExitMLP(nn.Module):
    """Blocks Linear+ReLU with a Linear exit head after each; forward returns a list of (N, num_classes) logits."""

    def __init__(self, in_features: int = 64, hidden: tuple = (128, 128, 128), num_classes: int = 10):
        super().__init__()
        if len(hidden) == 0:
            raise ValueError("hidden must hold at least one width")
        widths = [in_features, *hidden]
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(a, b), nn.ReLU()) for a, b in zip(widths, widths[1:])])
        self.exits = nn.ModuleList([nn.Linear(h, num_classes) for h in hidden])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for block, head in zip(self.blocks, self.exits):
            x = block(x)
            out.append(head(x))
        return out

    def macs_per_exit(self) -> list[int]:
        """MACs per sample of each stage: block i's Linear plus exit head i."""
        return [b[0].in_features * b[0].out_features
                for b, e in zip(self.blocks, self.exits)]
