"""Multiply by a float64 reciprocal 1 / scale (in float64) instead of the float32 one.

Caught by: quantize_float32_reciprocal_at_ties
"""

import numpy as np


def quantize(x, scale, zero_point, qmin, qmax) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"x must hold real numbers (an integer or float dtype), got dtype {x.dtype}")
    x = x.astype(np.float32)
    if np.isnan(x).any():
        raise ValueError("x contains NaN, which has no integer code")
    for name, value in (("qmin", qmin), ("qmax", qmax)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an int, got {value!r}")
    if not -(2**31) <= qmin < qmax <= 2**31 - 1:
        raise ValueError(f"qmin must be < qmax, both within int32, got qmin={qmin}, qmax={qmax}")
    scale = np.asarray(scale)
    if scale.dtype.kind not in "iuf":
        raise ValueError(f"scale must be a real number or array, got dtype {scale.dtype}")
    scale = scale.astype(np.float32)
    if not (np.isfinite(scale) & (scale >= np.finfo(np.float32).tiny)).all():
        raise ValueError(f"scale must be finite and positive (at least {np.finfo(np.float32).tiny:.3g}), got {scale}")
    zero_point = np.asarray(zero_point)
    if zero_point.dtype.kind not in "iu":
        raise ValueError(f"zero_point must be an int or an integer array, got dtype {zero_point.dtype}")
    if ((zero_point < qmin) | (zero_point > qmax)).any():
        raise ValueError(f"zero_point must lie in [qmin, qmax] = [{qmin}, {qmax}], got {zero_point}")
    try:
        shape = np.broadcast_shapes(x.shape, scale.shape, zero_point.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ValueError(f"scale {scale.shape} and zero_point {zero_point.shape} must broadcast to x's shape {x.shape}")
    inv_scale = 1.0 / scale.astype(np.float64)  # the mistake: float64 reciprocal and product
    codes = np.rint(x.astype(np.float64) * inv_scale)
    zero_point = zero_point.astype(np.int64)
    codes = np.clip(codes, qmin - zero_point, qmax - zero_point)
    return (codes.astype(np.int64) + zero_point).astype(np.int32)
