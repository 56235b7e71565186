"""fake_quantize_weights_ does not check model and per_channel ('yes' is taken as True and changes the weights).

Caught by: fake_quantize_weights_validates_before_changing
"""

import numpy as np
import torch
from torch import nn

# The lab's other functions (qrange, symmetric_scale, per_channel_qparams, fake_quantize) come from
# the namespace this file is executed in.
# ruff: noqa: F821


def fake_quantize_weights_(model: nn.Module, bits: int, per_channel: bool) -> nn.Module:
    qmin, qmax = qrange(bits, signed=True, narrow=True)  # the mistake: model and per_channel are not checked
    with torch.no_grad():
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
            module.weight.copy_(torch.from_numpy(fake_quantize(w, scale, zero_point, qmin, qmax)))
    return model
