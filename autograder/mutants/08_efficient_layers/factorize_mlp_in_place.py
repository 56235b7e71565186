"""factorize_mlp replaces the layers of the model it was given instead of a copy.

Caught by: factorize_mlp_ranks_and_copy
"""


import numpy as np
from torch import nn


def factorize_mlp(model, energy):
    pass  # the mistake: no copy.deepcopy(model)

    def replace(module):
        for name, child in module.named_children():
            if isinstance(child, nn.Linear):
                S = np.linalg.svd(child.weight.detach().cpu().double().numpy(), compute_uv=False)
                r = rank_for_energy(S, energy)  # noqa: F821 (defined by the lab)
                m, n = child.out_features, child.in_features
                if r * (m + n) < m * n:
                    setattr(module, name, LowRankLinear.from_linear(child, r))  # noqa: F821 (defined by the lab)
            else:
                replace(child)

    replace(model)
    return model
