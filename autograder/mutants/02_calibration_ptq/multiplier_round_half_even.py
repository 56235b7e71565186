"""quantize_multiplier rounds 2^31 * M0 with Python's round (half to even) instead of half away from zero.

Caught by: quantize_multiplier_rounding_edges
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
    m0, shift = round(mantissa * 2**31), -exponent
    if m0 == 2**31:
        if shift == 0:
            return INT32_MAX, 0  # m > 1 - 2^-32: the nearest int32 multiplier without a left shift
        m0, shift = 2**30, shift - 1
    return m0, shift
