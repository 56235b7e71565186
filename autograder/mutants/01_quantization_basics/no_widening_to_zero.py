"""The range [x_min, x_max] is not widened to include 0.

Caught by: affine_qparams_widens_range_to_include_zero
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
    min_neg, max_pos = x_min, x_max  # the mistake: 0 may fall outside the range
    scale = max((max_pos - min_neg) / (qmax - qmin), FP32_EPS)
    zero_point = qmin - int(np.rint(min_neg / scale))
    return scale, min(max(zero_point, qmin), qmax)
