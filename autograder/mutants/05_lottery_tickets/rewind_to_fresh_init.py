"""rewind draws a fresh random initialization (reset_parameters) instead of loading init_state.

Caught by: rewind_resets_all_parameters
           find_ticket_records
"""

# ruff: noqa: F821

import torch
from torch import nn


def rewind(model, init_state, masks):
    weights = prunable(model)
    if len(masks) != len(weights) or any(tuple(m.shape) != tuple(p.shape) for (_, p), m in zip(weights, masks)):
        raise ValueError("masks: need one mask per prunable weight")
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            module.reset_parameters()
    with torch.no_grad():
        for (_, p), m in zip(weights, masks):
            p.mul_(torch.as_tensor(m, dtype=p.dtype))
    return model
