"""The narrow range drops the highest code (qmax - 1) instead of the lowest (qmin + 1).

Caught by: qrange_all_bit_widths_and_flags
"""

import numpy as np


def qrange(bits: int, signed: bool, narrow: bool = False) -> tuple[int, int]:
    if isinstance(bits, (bool, np.bool_)) or not isinstance(bits, (int, np.integer)) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an int between 2 and 16, got {bits!r}")
    for name, flag in (("signed", signed), ("narrow", narrow)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {flag!r}")
    bits = int(bits)
    if signed:
        qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    else:
        qmin, qmax = 0, 2**bits - 1
    return qmin, (qmax - 1 if narrow else qmax)  # the mistake
