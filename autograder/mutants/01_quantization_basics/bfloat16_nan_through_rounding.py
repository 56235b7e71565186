"""NaN patterns go through the rounding addition and can come out as inf or a number.

Caught by: to_bfloat16_nan_stays_nan
"""

import numpy as np


def to_bfloat16(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"x must hold real numbers (an integer or float dtype), got dtype {x.dtype}")
    x = x.astype(np.float32)
    bits = x.view(np.uint32)
    lsb = (bits >> np.uint32(16)) & np.uint32(1)
    with np.errstate(over="ignore"):
        rounded = (bits + np.uint32(0x7FFF) + lsb) & np.uint32(0xFFFF0000)  # the mistake: NaN not kept out
    return rounded.view(np.float32)
