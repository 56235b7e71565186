"""magnitude_mask sorts -|w| and so prunes the largest weights instead of the smallest.

Caught by: magnitude_mask_matches_l1_unstructured
           magnitude_mask_dtype_and_existing_zeros
"""

# ruff: noqa: F821

import numpy as np


def magnitude_mask(w, sparsity):
    sparsity = check_fraction("sparsity", sparsity)
    w = np.asarray(w)
    k = round(sparsity * w.size)
    mask = np.ones(w.shape, dtype=bool)
    order = np.argsort(-np.abs(w).ravel(), kind="stable")
    mask.ravel()[order[:k]] = False
    return mask
