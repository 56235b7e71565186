"""round_mantissa always drops 16 bits (bfloat16), whatever mantissa_bits says.

Caught by: round_mantissa_every_width
           round_mantissa_bfloat16_and_float16_precision
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
    drop = 16  # the mistake: the lecture's bfloat16 case, not 23 - mantissa_bits
    bits = x.view(np.uint32)
    nan = np.isnan(x)
    finite_bits = np.where(nan, np.uint32(0), bits)
    lsb = (finite_bits >> np.uint32(drop)) & np.uint32(1)
    rounded = (finite_bits + np.uint32(0x7FFF) + lsb) & np.uint32(0xFFFF0000)
    return np.where(nan, bits | np.uint32(0x00400000), rounded).astype(np.uint32).view(np.float32)
