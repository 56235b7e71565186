"""qrange does not validate bits (bits=1, 17, 8.0 or True are accepted).

Caught by: qrange_rejects_bad_arguments
           affine_qparams_rejects_bad_arguments
           symmetric_scale_rejects_bad_arguments
           fake_quantize_weights_validates_before_changing
"""

import numpy as np


def qrange(bits: int, signed: bool, narrow: bool = False) -> tuple[int, int]:
    # the mistake: no check that bits is an int in 2..16
    for name, flag in (("signed", signed), ("narrow", narrow)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {flag!r}")
    bits = int(bits)
    if signed:
        qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    else:
        qmin, qmax = 0, 2**bits - 1
    return (qmin + 1 if narrow else qmin), qmax
