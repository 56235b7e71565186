"""entropy computes -sum p * log(p) directly, so a zero probability gives 0 * -inf = NaN.

Caught by: entropy_zero_probabilities
"""

import numpy as np


def entropy(p, axis: int = -1):
    p = np.asarray(p, dtype=np.float64)
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("p must hold finite, non-negative probabilities")
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(p * np.log(p)).sum(axis=axis)
