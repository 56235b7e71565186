"""The affine scale is not floored at FP32_EPS, so an all-zero range gives scale 0 and 0 / 0.

Caught by: affine_qparams_all_zero_constant_and_tiny_ranges
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
    scale = (max_pos - min_neg) / (qmax - qmin)  # the mistake: 0 for a zero-width range
    zero_point = qmin - int(np.rint(min_neg / scale))
    return scale, min(max(zero_point, qmin), qmax)
