"""Density init takes quantiles at linspace(0, 1, k), putting centroids on the min and max.

Caught by: kmeans_density_init
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
            centroids = np.quantile(flat, np.linspace(0, 1, k))
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
        new = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        shift = np.abs(new - centroids).max()
        centroids = new
        if shift <= tol:
            break
    labels = np.argmin(np.abs(flat[:, None] - centroids[None, :]), axis=1)
    return centroids, labels.astype(np.int64).reshape(x.shape)
