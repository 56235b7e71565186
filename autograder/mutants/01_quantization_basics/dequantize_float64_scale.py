"""dequantize multiplies by the float64 scale and casts afterwards, instead of by np.float32(scale).

Caught by: dequantize_values_float32
"""

import numpy as np


def dequantize(q, scale, zero_point) -> np.ndarray:
    q = np.asarray(q)
    if q.dtype.kind not in "iu":
        raise ValueError(f"q must be integer codes (an integer dtype), got dtype {q.dtype}")
    scale = np.asarray(scale)
    if scale.dtype.kind not in "iuf":
        raise ValueError(f"scale must be a real number or array, got dtype {scale.dtype}")
    scale32 = scale.astype(np.float32)
    if not (np.isfinite(scale32) & (scale32 > 0)).all():
        raise ValueError(f"scale must be finite and positive, got {scale}")
    zero_point_array = np.asarray(zero_point)
    if zero_point_array.dtype.kind not in "iu":
        raise ValueError(f"zero_point must be an int or an integer array, got dtype {zero_point_array.dtype}")
    try:
        shape = np.broadcast_shapes(q.shape, scale.shape, zero_point_array.shape)
    except ValueError:
        shape = None
    if shape != q.shape:
        raise ValueError(f"scale {scale.shape} and zero_point {zero_point_array.shape} must broadcast to {q.shape}")
    diff = q.astype(np.int64) - zero_point_array.astype(np.int64)
    return (diff * scale.astype(np.float64)).astype(np.float32)  # the mistake: float64 product, rounded once more
