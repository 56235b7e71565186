"""fake_quantize_weights_ replaces each weight by a new nn.Parameter instead of copying in place.

Caught by: fake_quantize_weights_in_place_same_objects
"""

import numpy as np
import torch
from torch import nn

# The lab's other functions (qrange, symmetric_scale, per_channel_qparams, fake_quantize) come from
# the namespace this file is executed in.
# ruff: noqa: F821


def fake_quantize_weights_(model: nn.Module, bits: int, per_channel: bool) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(per_channel, (bool, np.bool_)):
        raise ValueError(f"per_channel must be True or False, got {per_channel!r}")
    qmin, qmax = qrange(bits, signed=True, narrow=True)
    for module in model.modules():
        if not isinstance(module, (nn.Linear, nn.Conv2d)):
            continue
        w = module.weight.detach().cpu().numpy()
        if per_channel:
            scales, zero_points = per_channel_qparams(w, axis=0, bits=bits, symmetric=True)
            shape = (-1,) + (1,) * (w.ndim - 1)
            scale, zero_point = scales.reshape(shape), zero_points.reshape(shape)
        else:
            scale, zero_point = symmetric_scale(float(np.abs(w).max()), bits), 0
        module.weight = nn.Parameter(torch.from_numpy(fake_quantize(w, scale, zero_point, qmin, qmax)))  # the mistake
    return model
