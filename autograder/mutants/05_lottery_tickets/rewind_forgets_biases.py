"""rewind resets only the prunable weights and leaves the biases at their trained values.

Caught by: rewind_resets_all_parameters
"""

# ruff: noqa: F821

import torch


def rewind(model, init_state, masks):
    weights = prunable(model)
    if len(masks) != len(weights) or any(tuple(m.shape) != tuple(p.shape) for (_, p), m in zip(weights, masks)):
        raise ValueError("masks: need one mask per prunable weight")
    with torch.no_grad():
        for (name, p), m in zip(weights, masks):
            p.copy_(init_state[name] * torch.as_tensor(m, dtype=p.dtype))
    return model
