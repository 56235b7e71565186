"""bfloat16 by truncation (clearing the low 16 bits) instead of rounding to nearest even.

Caught by: to_bfloat16_random_values
           to_bfloat16_ties_to_even
           to_bfloat16_nan_stays_nan
           to_bfloat16_infinities_overflow_zeros_subnormals
"""

import numpy as np


def to_bfloat16(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"x must hold real numbers (an integer or float dtype), got dtype {x.dtype}")
    x = x.astype(np.float32)
    bits = x.view(np.uint32)
    return (bits & np.uint32(0xFFFF0000)).view(np.float32)  # the mistake: always rounds towards zero
