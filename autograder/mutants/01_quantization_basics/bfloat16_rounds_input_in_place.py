"""to_bfloat16 rounds through a uint32 view of the caller's float32 array, changing it in place.

Caught by: to_bfloat16_dtype_shape_and_input_untouched
"""

import numpy as np


def to_bfloat16(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"x must hold real numbers (an integer or float dtype), got dtype {x.dtype}")
    x = np.asarray(x, np.float32)  # the mistake: no copy when x is already float32
    bits = x.view(np.uint32)
    nan = np.isnan(x)
    lsb = (bits >> np.uint32(16)) & np.uint32(1)
    quiet_nan = (bits | np.uint32(0x00400000)) & np.uint32(0xFFFF0000)
    bits[...] = np.where(nan, np.uint32(0), bits)
    bits += np.uint32(0x7FFF) + lsb
    bits &= np.uint32(0xFFFF0000)
    bits[nan] = quiet_nan[nan]
    return x
