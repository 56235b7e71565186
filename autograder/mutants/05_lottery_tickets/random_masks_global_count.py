"""random_masks_like keeps the same TOTAL number of weights, placed at random over all layers, not per layer.

Caught by: random_masks_like_keeps_counts
           random_masks_like_draws
"""

import torch


def random_masks_like(masks, generator):
    masks = [torch.as_tensor(m).bool() for m in masks]
    total = sum(m.numel() for m in masks)
    perm = torch.randperm(total, generator=generator)
    flat = torch.zeros(total, dtype=torch.bool)
    flat[perm[:sum(int(m.sum()) for m in masks)]] = True
    out, start = [], 0
    for m in masks:
        out.append(flat[start:start + m.numel()].view(m.shape))
        start += m.numel()
    return out
