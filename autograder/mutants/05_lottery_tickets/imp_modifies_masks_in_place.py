"""imp_round writes the new masks into the masks it was given (and works on NumPy inputs in place too).

Caught by: imp_round_leaves_arguments
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
        m = torch.as_tensor(m).bool()  # shares memory with a bool array or tensor
        if w.shape != m.shape:
            raise ValueError("masks: shape")
        r = output_rate if i == len(weights) - 1 else rate
        flat = m.view(-1)
        alive = torch.nonzero(flat).flatten()
        order = torch.argsort(w.flatten()[alive].abs(), stable=True)
        flat[alive[order[:int(round(r * len(alive)))]]] = False
        new_masks.append(m)
    return new_masks
