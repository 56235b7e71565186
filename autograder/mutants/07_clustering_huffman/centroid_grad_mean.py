"""centroid_grad averages the gradients of a cluster instead of summing them.

Caught by: centroid_grad_sums_per_cluster
           centroid_grad_empty_clusters
"""

# ruff: noqa: F821

import numpy as np


def centroid_grad(grad_w, indices, k):
    grad_w, indices = np.asarray(grad_w, dtype=np.float64), np.asarray(indices)
    k = check_int("k", k, 1, 2**16)
    if grad_w.shape != indices.shape:
        raise ValueError(f"grad_w {grad_w.shape} and indices {indices.shape} must have the same shape")
    if indices.dtype.kind not in "iu" or (indices.size and (indices.min() < 0 or indices.max() >= k)):
        raise ValueError(f"indices must be integers in [0, {k})")
    flat = indices.ravel().astype(np.int64)
    sums = np.bincount(flat, weights=grad_w.ravel(), minlength=k)
    return sums / np.maximum(np.bincount(flat, minlength=k), 1)
