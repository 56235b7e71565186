"""softmax exponentiates z / T without subtracting the maximum, so exp(1e4) overflows and the result is NaN.

Caught by: softmax_stable_large_logits
"""

import numpy as np


def softmax(z, T=1.0, axis=-1):
    if not np.isfinite(T) or T <= 0:
        raise ValueError(f"T must be a finite temperature > 0, got {T}")
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.asarray(z, dtype=np.float64) / T)
        return e / e.sum(axis=axis, keepdims=True)
