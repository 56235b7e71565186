"""The affine scale divides by 2^b levels instead of the 2^b - 1 steps between qmin and qmax.

Caught by: affine_qparams_random_ranges
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
    scale = max((max_pos - min_neg) / 2**bits, FP32_EPS)  # the mistake: 2^b, not qmax - qmin
    zero_point = qmin - int(np.rint(min_neg / scale))
    return scale, min(max(zero_point, qmin), qmax)
