"""random_reinit draws new values for every weight and never re-applies the masks, so the control changes the mask too.

Caught by: random_reinit_same_masks_new_values
           random_reinit_draws_from_generator
"""

import math

import torch
from torch import nn


def random_reinit(model, masks, generator):
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                bound = 1 / math.sqrt(module.weight[0].numel())
                for p in (module.weight, module.bias):
                    if p is not None:
                        p.copy_(torch.rand(p.shape, generator=generator) * 2 * bound - bound)
    return model
