"""Mantissa rounding adds 2^(d-1), so exact ties round up (away from zero), not to even.

Caught by: round_mantissa_ties_to_even
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
    if drop == 0:
        return x
    bits = x.view(np.uint32)
    nan = np.isnan(x)
    keep = np.uint32((0xFFFFFFFF << drop) & 0xFFFFFFFF)
    rounded = (np.where(nan, np.uint32(0), bits) + np.uint32(1 << (drop - 1))) & keep  # the mistake
    return np.where(nan, bits | np.uint32(0x00400000), rounded).astype(np.uint32).view(np.float32)
