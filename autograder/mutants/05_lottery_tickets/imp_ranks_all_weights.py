"""imp_round ranks all weights, pruned ones too: the zeros of pruned weights are chosen again, so little new goes.

Caught by: imp_round_ranks_only_survivors
           imp_round_geometric_counts
"""

import numpy as np
import torch


def imp_round(weights, masks, rate, output_rate=None):
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise ValueError(f"rate must be a float in [0, 1), got {rate!r}")
    output_rate = rate / 2 if output_rate is None else output_rate
    if not 0 <= output_rate < 1:
        raise ValueError(f"output_rate must be a float in [0, 1), got {output_rate!r}")
    if len(weights) != len(masks):
        raise ValueError("masks: wrong number")
    new_masks = []
    for i, (w, m) in enumerate(zip(weights, masks)):
        w = torch.as_tensor(np.asarray(w) if not isinstance(w, torch.Tensor) else w.detach())
        m = torch.as_tensor(np.asarray(m) if not isinstance(m, torch.Tensor) else m).bool()
        if w.shape != m.shape:
            raise ValueError("masks: shape")
        r = output_rate if i == len(weights) - 1 else rate
        n_prune = int(round(r * int(m.sum())))
        order = torch.argsort((w * m).flatten().abs(), stable=True)
        new = m.flatten().clone()
        new[order[:n_prune]] = False
        new_masks.append(new.view(m.shape))
    return new_masks
