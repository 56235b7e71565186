"""apoz averages only over the batch, so a conv layer gets a (C, H, W) map instead of (C,).

Caught by: apoz_conv_feature_maps
"""

# ruff: noqa: F821

import numpy as np
import torch


def apoz(activations):
    a = activations.detach().cpu().numpy() if isinstance(activations, torch.Tensor) else np.asarray(activations)
    if a.ndim < 2 or a.size == 0:
        raise ValueError(f"activations must be (N, C, ...) with entries, got shape {a.shape}")
    return (a <= 0).mean(axis=0).astype(np.float64)
