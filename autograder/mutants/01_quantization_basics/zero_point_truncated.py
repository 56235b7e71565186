"""The zero point is truncated with int() instead of rounded half to even.

Caught by: affine_qparams_random_ranges
           affine_qparams_zero_point_ties_half_to_even
"""

import numpy as np

# The lab's other names (qrange, FP32_EPS) come from the namespace this file is executed in.
# ruff: noqa: F821


def affine_qparams(x_min: float, x_max: float, bits: int = 8, signed: bool = False) -> tuple[float, int]:
    bounds = {"x_min": x_min, "x_max": x_max}
    for name, value in bounds.items():
        if np.ndim(value) != 0 or np.asarray(value).dtype.kind not in "iuf" or not np.isfinite(value):
            raise ValueError(f"{name} must be a finite real number, got {value!r}")
    x_min, x_max = float(x_min), float(x_max)
    if x_min > x_max:
        raise ValueError(f"x_min must be <= x_max, got x_min={x_min}, x_max={x_max}")
    qmin, qmax = qrange(bits, signed)
    min_neg, max_pos = min(x_min, 0.0), max(x_max, 0.0)
    scale = max((max_pos - min_neg) / (qmax - qmin), FP32_EPS)
    zero_point = qmin - int(min_neg / scale)  # the mistake: int() truncates towards zero
    return scale, min(max(zero_point, qmin), qmax)
