"""Mantissa rounding by truncation (clearing the dropped bits) instead of rounding to nearest even.

Caught by: round_mantissa_bfloat16_and_float16_precision
           round_mantissa_ties_to_even
           round_mantissa_infinities_overflow_zeros_subnormals
"""

import numpy as np


def round_mantissa(x, mantissa_bits: int = 7) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"x must hold real numbers (an integer or float dtype), got dtype {x.dtype}")
    if isinstance(mantissa_bits, (bool, np.bool_)) or not isinstance(mantissa_bits, (int, np.integer)):
        raise ValueError(f"mantissa_bits must be an int in 0..23, got {mantissa_bits!r}")
    if not 0 <= mantissa_bits <= 23:
        raise ValueError(f"mantissa_bits must be in 0..23, got {mantissa_bits}")
    x = x.astype(np.float32)
    drop = 23 - int(mantissa_bits)
    bits = x.view(np.uint32)
    nan = np.isnan(x)
    truncated = bits & np.uint32((0xFFFFFFFF << drop) & 0xFFFFFFFF)  # the mistake
    return np.where(nan, bits | np.uint32(0x00400000), truncated).astype(np.uint32).view(np.float32)
