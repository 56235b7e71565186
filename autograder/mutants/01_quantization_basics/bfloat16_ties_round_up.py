"""bfloat16 rounding adds 0x8000, so exact ties round up (away from zero), not to even.

Caught by: to_bfloat16_ties_to_even
"""

import numpy as np


def to_bfloat16(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"x must hold real numbers (an integer or float dtype), got dtype {x.dtype}")
    x = x.astype(np.float32)
    bits = x.view(np.uint32)
    nan = np.isnan(x)
    rounded = (np.where(nan, np.uint32(0), bits) + np.uint32(0x8000)) & np.uint32(0xFFFF0000)  # the mistake
    quiet_nan = (bits | np.uint32(0x00400000)) & np.uint32(0xFFFF0000)
    return np.where(nan, quiet_nan, rounded).astype(np.uint32).view(np.float32)
