"""An empty cluster divides its sum by a count of zero and its centroid turns into NaN.

Caught by: kmeans_empty_cluster_keeps_centroid
"""

# ruff: noqa: F821

import numpy as np


def kmeans_1d(x, k, init="linear", iters=100, tol=1e-6, seed=0):
    x = np.asarray(x)
    if x.dtype.kind not in "iuf" or x.size == 0 or not np.isfinite(x).all():
        raise ValueError("x must be a non-empty array of finite real numbers")
    flat = x.astype(np.float64).ravel()
    k = check_int("k", k, 1, 2**16)
    iters = check_int("iters", iters, 1, 10**6)
    if isinstance(init, str):
        if init == "linear":
            centroids = np.linspace(flat.min(), flat.max(), k)
        elif init == "random":
            if k > flat.size:
                raise ValueError(f"init random needs k <= x.size, got k={k}")
            centroids = np.random.default_rng(seed).choice(flat, k, replace=False)
        elif init == "density":
            centroids = np.quantile(flat, (np.arange(k) + 0.5) / k)
        else:
            raise ValueError(f"init must be linear, random, density or an array, got {init!r}")
    else:
        centroids = np.asarray(init, dtype=np.float64).ravel()
        if centroids.size != k:
            raise ValueError(f"init must hold k={k} values, got {centroids.size}")
    centroids = np.sort(centroids)
    for _ in range(iters):
        labels = np.argmin(np.abs(flat[:, None] - centroids[None, :]), axis=1)
        sums = np.bincount(labels, weights=flat, minlength=k)
        counts = np.bincount(labels, minlength=k)
        new = sums / counts
        shift = np.abs(new - centroids).max()
        centroids = new
        if shift <= tol:
            break
    labels = np.argmin(np.abs(flat[:, None] - centroids[None, :]), axis=1)
    return centroids, labels.astype(np.int64).reshape(x.shape)
