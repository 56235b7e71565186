"""factorize_mlp replaces only the model's direct children, missing nested Linear layers.

Caught by: factorize_mlp_ranks_and_copy
"""

import copy

import numpy as np
from torch import nn


def factorize_mlp(model, energy):
    model = copy.deepcopy(model)

    def replace(module):
        for name, child in module.named_children():
            if isinstance(child, nn.Linear):
                S = np.linalg.svd(child.weight.detach().cpu().double().numpy(), compute_uv=False)
                r = rank_for_energy(S, energy)  # noqa: F821 (defined by the lab)
                m, n = child.out_features, child.in_features
                if r * (m + n) < m * n:
                    setattr(module, name, LowRankLinear.from_linear(child, r))  # noqa: F821 (defined by the lab)
            # the mistake: no recursion into containers

    replace(model)
    return model
