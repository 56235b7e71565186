"""apply_masks_ zeroes the pruned weights once but does not mask their gradients, so they regrow.

Caught by: apply_masks_survive_optimizer_steps
           prune_finetune_sparsity_and_weights
"""

# ruff: noqa: F821

import numpy as np
import torch


def apply_masks_(model, masks):
    modules = dict(model.named_modules())
    for name, mask in masks.items():
        if name not in modules:
            raise ValueError(f"masks names {name!r}, which is not a module with a weight")
        mask = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask)
        with torch.no_grad():
            modules[name].weight.mul_(mask.to(modules[name].weight.dtype))
    return model
