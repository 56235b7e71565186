"""multi_exit_loss sums the exits' cross-entropies without their weights.

Caught by: multi_exit_loss_values
           multi_exit_loss_gradient
"""

# ruff: noqa: F821


import torch
from torch import nn


def multi_exit_loss(logits_list, y: torch.Tensor, weights) -> torch.Tensor:
    """Scalar sum_i weights[i] * cross_entropy(logits_list[i], y). ValueError naming weights if lengths differ."""
    if len(weights) != len(logits_list):
        raise ValueError(f"weights must have one entry per exit ({len(logits_list)}), got {len(weights)}")
    return sum(nn.functional.cross_entropy(logits, y) for w, logits in zip(weights, logits_list))
