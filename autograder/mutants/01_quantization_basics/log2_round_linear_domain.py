"""log2_quantize rounds to the nearer power of two on a linear scale, not in the log domain.

Caught by: log2_quantize_rounds_in_log_domain
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
    e_max = min(np.rint(np.log2(magnitude.max())), 127.0)
    nonzero = magnitude > 0
    m = magnitude[nonzero]
    low = np.floor(np.log2(m))
    # the mistake: the arithmetic midpoint 1.5 * 2^low decides, not the geometric one 2^(low + 1/2)
    e = np.minimum(np.where(m - np.exp2(low) < np.exp2(low + 1) - m, low, low + 1), e_max)
    out[nonzero] = np.where(e >= e_max - qmax + 1, np.sign(x[nonzero]) * np.exp2(e), 0.0)
    return out
