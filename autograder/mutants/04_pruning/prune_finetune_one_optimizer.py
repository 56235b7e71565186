"""prune_finetune keeps one Adam across pruning steps; its momentum regrows newly pruned weights.

Caught by: prune_finetune_sparsity_and_weights
"""

# ruff: noqa: F821

import torch
from torch import nn


def prune_finetune(model, schedule, train_loader, lr=1e-3, seed=0):
    schedule = [check_fraction("schedule", s) for s in schedule]
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    masks = {}
    for epoch, s in enumerate(schedule):
        masks = {name: torch.from_numpy(magnitude_mask(m.weight.detach().cpu().numpy(), s))
                 for name, m in weight_layers(model)}
        apply_masks_(model, masks)
        torch.manual_seed(seed + epoch)
        model.train()
        for x, y in train_loader:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
    model.eval()
    return masks
