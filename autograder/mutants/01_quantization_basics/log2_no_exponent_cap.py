"""log2_quantize does not cap e_max at 127, so 2^128 overflows float32 to inf.

Caught by: log2_quantize_exponent_capped_at_127
"""

import numpy as np

# The lab's qrange comes from the namespace this file is executed in.
# ruff: noqa: F821


def log2_quantize(x, bits: int) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"x must hold real numbers (an integer or float dtype), got dtype {x.dtype}")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError("x must be finite, but it contains NaN or inf")
    _, qmax = qrange(bits, signed=True, narrow=True)
    magnitude = np.abs(x).astype(np.float64)
    out = np.zeros(x.shape, np.float32)
    if x.size == 0 or magnitude.max() == 0:
        return out
    e_max = np.rint(np.log2(magnitude.max()))  # the mistake: no cap at 127
    nonzero = magnitude > 0
    e = np.minimum(np.rint(np.log2(magnitude[nonzero])), e_max)
    with np.errstate(over="ignore"):
        out[nonzero] = np.where(e >= e_max - qmax + 1, np.sign(x[nonzero]) * np.exp2(e), 0.0)
    return out
