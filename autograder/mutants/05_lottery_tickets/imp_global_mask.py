"""imp_round uses one global magnitude ranking over all layers instead of pruning each layer separately.

Caught by: imp_round_per_layer_survivors
           imp_round_output_rate
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
    ws = [torch.as_tensor(np.asarray(w) if not isinstance(w, torch.Tensor) else w.detach()) for w in weights]
    ms = [torch.as_tensor(np.asarray(m) if not isinstance(m, torch.Tensor) else m).bool() for m in masks]
    if any(w.shape != m.shape for w, m in zip(ws, ms)):
        raise ValueError("masks: shape")
    flat_w = torch.cat([w.flatten() for w in ws])
    flat_m = torch.cat([m.flatten() for m in ms])
    alive = torch.nonzero(flat_m).flatten()
    order = torch.argsort(flat_w[alive].abs(), stable=True)
    new = flat_m.clone()
    new[alive[order[:int(round(rate * len(alive)))]]] = False
    out, start = [], 0
    for m in ms:
        out.append(new[start:start + m.numel()].view(m.shape))
        start += m.numel()
    return out
