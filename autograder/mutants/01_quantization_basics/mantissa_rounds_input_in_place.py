"""round_mantissa rounds through a uint32 view of the caller's float32 array, changing it in place.

Caught by: round_mantissa_dtype_shape_and_input_untouched
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
    x = np.asarray(x, np.float32)  # the mistake: no copy when x is already float32
    drop = 23 - int(mantissa_bits)
    if drop == 0:
        return x
    bits = x.view(np.uint32)
    nan = np.isnan(x)
    lsb = (bits >> np.uint32(drop)) & np.uint32(1)
    quiet_nan = bits | np.uint32(0x00400000)
    bits[...] = np.where(nan, np.uint32(0), bits)
    bits += np.uint32((1 << (drop - 1)) - 1) + lsb
    bits &= np.uint32((0xFFFFFFFF << drop) & 0xFFFFFFFF)
    bits[...] = np.where(nan, quiet_nan, bits)
    return x
