"""rewind keeps the trained values and only zeroes the pruned weights: fine-tuning, not a lottery ticket.

Caught by: rewind_resets_all_parameters
           find_ticket_records
"""

# ruff: noqa: F821

import torch


def rewind(model, init_state, masks):
    weights = prunable(model)
    if len(masks) != len(weights) or any(tuple(m.shape) != tuple(p.shape) for (_, p), m in zip(weights, masks)):
        raise ValueError("masks: need one mask per prunable weight")
    with torch.no_grad():
        for (_, p), m in zip(weights, masks):
            p.mul_(torch.as_tensor(m, dtype=p.dtype))
    return model
