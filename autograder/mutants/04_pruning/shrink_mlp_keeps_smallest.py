"""shrink_mlp keeps the units of SMALLEST L1 norm (an ascending sort taken from the front).

Caught by: shrink_mlp_structure_and_outputs
"""

# ruff: noqa: F821

import copy

import numpy as np
import torch
from torch import nn


def shrink_mlp(model, keep_ratio):
    keep_ratio = check_fraction("keep_ratio", keep_ratio)
    if keep_ratio == 0.0:
        raise ValueError("keep_ratio must be in (0, 1], got 0")
    new = copy.deepcopy(model)
    positions = [i for i, m in enumerate(new) if isinstance(m, nn.Linear)]
    for i, j in zip(positions[:-1], positions[1:]):
        a, b = new[i], new[j]
        w1 = a.weight.detach().numpy()
        n_keep = max(1, round(keep_ratio * w1.shape[0]))
        order = np.argsort(neuron_l1_importance(w1, 0), kind="stable")[:n_keep]
        w1k, b1k, w2k = remove_neurons(w1, a.bias.detach().numpy(), b.weight.detach().numpy(), np.sort(order))
        new_a, new_b = nn.Linear(a.in_features, n_keep), nn.Linear(n_keep, b.out_features)
        with torch.no_grad():
            new_a.weight.copy_(torch.from_numpy(w1k))
            new_a.bias.copy_(torch.from_numpy(b1k))
            new_b.weight.copy_(torch.from_numpy(w2k))
            new_b.bias.copy_(b.bias)
        new[i], new[j] = new_a, new_b
    return new
