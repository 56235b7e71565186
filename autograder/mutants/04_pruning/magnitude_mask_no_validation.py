"""magnitude_mask accepts any sparsity (a negative one prunes nothing, above 1 everything).

Caught by: magnitude_mask_rejects_bad_sparsity
"""

# ruff: noqa: F821

import numpy as np


def magnitude_mask(w, sparsity):
    w = np.asarray(w)
    k = max(0, min(w.size, int(round(float(sparsity) * w.size)))) if sparsity == sparsity else 0
    mask = np.ones(w.shape, dtype=bool)
    order = np.argsort(np.abs(w).ravel(), kind="stable")
    mask.ravel()[order[:k]] = False
    return mask
