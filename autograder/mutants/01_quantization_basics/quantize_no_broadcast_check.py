"""quantize does not check that scale and zero_point broadcast to x's shape.

Caught by: quantize_rejects_params_that_do_not_broadcast_to_x
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
    # the mistake: no check that scale and zero_point broadcast to x's shape; NumPy broadcasts or fails
    inv_scale = np.float32(1) / scale
    with np.errstate(over="ignore"):
        codes = np.rint(x * inv_scale)
    zero_point = zero_point.astype(np.int64)
    codes = np.clip(codes, qmin - zero_point, qmax - zero_point)
    return (codes.astype(np.int64) + zero_point).astype(np.int32)
