"""ste_grad compares round(x / scale) with [qmin, qmax] without adding the zero point.

Caught by: ste_grad_zero_point_and_unsigned
           ste_grad_per_channel
"""

# ruff: noqa: F821

import numpy as np


def ste_grad(x, scale, zero_point, qmin, qmax, upstream):
    x, upstream = np.asarray(x), np.asarray(upstream)
    if upstream.shape != x.shape:
        raise ValueError(f"upstream must have x's shape {x.shape}, got {upstream.shape}")
    if qmin >= qmax:
        raise ValueError(f"qmin must be smaller than qmax, got qmin={qmin}, qmax={qmax}")
    scale = np.asarray(scale, dtype=np.float32)
    if not np.all(np.isfinite(scale) & (scale > 0)):
        raise ValueError(f"scale must be positive and finite, got {scale}")
    if np.asarray(zero_point).dtype.kind not in "iu":
        raise ValueError("zero_point must be integers")
    code = np.round(x.astype(np.float32) * (np.float32(1) / scale))
    mask = (code >= qmin) & (code <= qmax)
    dtype = upstream.dtype if upstream.dtype.kind == "f" else np.float64
    return np.where(mask, upstream, 0).astype(dtype)
