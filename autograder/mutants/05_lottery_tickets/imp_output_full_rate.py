"""imp_round prunes the output layer at the full rate, ignoring output_rate and its default of rate / 2.

Caught by: imp_round_output_rate
           imp_round_per_layer_survivors
"""

import numpy as np
import torch


def imp_round(weights, masks, rate, output_rate=None):
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise ValueError(f"rate must be a float in [0, 1), got {rate!r}")
    if output_rate is not None and not 0 <= output_rate < 1:
        raise ValueError(f"output_rate must be a float in [0, 1), got {output_rate!r}")
    if len(weights) != len(masks):
        raise ValueError("masks: wrong number")
    new_masks = []
    for w, m in zip(weights, masks):
        w = torch.as_tensor(np.asarray(w) if not isinstance(w, torch.Tensor) else w.detach())
        m = torch.as_tensor(np.asarray(m) if not isinstance(m, torch.Tensor) else m).bool()
        if w.shape != m.shape:
            raise ValueError("masks: shape")
        flat = m.flatten()
        alive = torch.nonzero(flat).flatten()
        order = torch.argsort(w.flatten()[alive].abs(), stable=True)
        new = flat.clone()
        new[alive[order[:int(round(rate * len(alive)))]]] = False
        new_masks.append(new.view(m.shape))
    return new_masks
