"""shrink_mlp replaces the layers of the model it was given instead of a copy.

Caught by: shrink_mlp_leaves_input_and_validates
"""

# ruff: noqa: F821

import numpy as np
import torch
from torch import nn


def shrink_mlp(model, keep_ratio):
    keep_ratio = check_fraction("keep_ratio", keep_ratio)
    if keep_ratio == 0.0:
        raise ValueError("keep_ratio must be in (0, 1], got 0")
    new = model
    positions = [i for i, m in enumerate(new) if isinstance(m, nn.Linear)]
    for i, j in zip(positions[:-1], positions[1:]):
        a, b = new[i], new[j]
        w1 = a.weight.detach().numpy()
        n_keep = max(1, round(keep_ratio * w1.shape[0]))
        order = np.argsort(-neuron_l1_importance(w1, 0), kind="stable")[:n_keep]
        w1k, b1k, w2k = remove_neurons(w1, a.bias.detach().numpy(), b.weight.detach().numpy(), np.sort(order))
        with torch.no_grad():
            a.weight = nn.Parameter(torch.from_numpy(w1k).clone())
            a.bias = nn.Parameter(torch.from_numpy(b1k).clone())
            b.weight = nn.Parameter(torch.from_numpy(w2k).clone())
        a.out_features, b.in_features = n_keep, n_keep
    return new
