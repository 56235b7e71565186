"""quantize_multiplier returns shift = 1 - e instead of -e (m0 * 2^(-31 - shift) is m / 2).

Caught by: quantize_multiplier_random
           quantize_multiplier_rounding_edges
           quantize_multiplier_tiny_and_numpy_m
           quantize_multiplier_exactness
"""

import math

import numpy as np

# The lab's other names (abs_values, qrange, symmetric_fake_quantize, ...) come from the namespace this
# file is executed in.
# ruff: noqa: F821


def quantize_multiplier(m: float) -> tuple[int, int]:
    if (isinstance(m, (bool, np.bool_)) or not isinstance(m, (int, float, np.integer, np.floating))
            or not 0 < m < 1):
        raise ValueError(f"m must be a real number with 0 < m < 1, got {m!r}")
    mantissa, exponent = math.frexp(float(m))  # m = mantissa * 2^exponent, mantissa in [0.5, 1)
    m0, shift = math.floor(mantissa * 2**31 + 0.5), 1 - exponent  # the mistake: off by one
    if m0 == 2**31:
        if shift == 0:
            return INT32_MAX, 0  # m > 1 - 2^-32: the nearest int32 multiplier without a left shift
        m0, shift = 2**30, shift - 1
    return m0, shift
