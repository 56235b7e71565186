"""magnitude_mask counts the pruned weights with int(sparsity * n), a floor, not round.

Caught by: magnitude_mask_count_rounds_half_to_even
"""

# ruff: noqa: F821

import numpy as np


def magnitude_mask(w, sparsity):
    sparsity = check_fraction("sparsity", sparsity)
    w = np.asarray(w)
    k = int(sparsity * w.size)
    mask = np.ones(w.shape, dtype=bool)
    order = np.argsort(np.abs(w).ravel(), kind="stable")
    mask.ravel()[order[:k]] = False
    return mask
