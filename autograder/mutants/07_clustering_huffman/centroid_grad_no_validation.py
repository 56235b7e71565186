"""centroid_grad trusts its inputs: a negative or too large index is silently dropped or wraps.

Caught by: centroid_grad_rejects_bad_arguments
"""

# ruff: noqa: F821

import numpy as np


def centroid_grad(grad_w, indices, k):
    grad_w, indices = np.asarray(grad_w, dtype=np.float64), np.asarray(indices)
    return np.bincount(indices.ravel().astype(np.int64), weights=grad_w.ravel(), minlength=k)[:k]
