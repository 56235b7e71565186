"""apoz counts only negative values, as if measured before the ReLU, and misses the ReLU's zeros.

Caught by: apoz_after_relu
           apoz_conv_feature_maps
"""

# ruff: noqa: F821

import numpy as np
import torch


def apoz(activations):
    a = activations.detach().cpu().numpy() if isinstance(activations, torch.Tensor) else np.asarray(activations)
    if a.ndim < 2 or a.size == 0:
        raise ValueError(f"activations must be (N, C, ...) with entries, got shape {a.shape}")
    return (a < 0).mean(axis=tuple(i for i in range(a.ndim) if i != 1)).astype(np.float64)
