"""remove_neurons removes the rows of w1 and b1 but leaves w2's columns.

Caught by: remove_neurons_mask_and_indices
"""

# ruff: noqa: F821

import numpy as np


def remove_neurons(w1, b1, w2, keep):
    w1, w2 = np.asarray(w1), np.asarray(w2)
    if w1.ndim != 2 or w2.ndim != 2 or w2.shape[1] != w1.shape[0]:
        raise ValueError(f"w2 must be (out, {w1.shape[0]}) for w1 {w1.shape}, got {w2.shape}")
    idx = keep_indices(keep, w1.shape[0])
    return w1[idx], None if b1 is None else np.asarray(b1)[idx], w2
