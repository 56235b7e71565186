"""entropy uses log base 2 (bits) instead of the natural log (nats) the docstring asks for.

Caught by: entropy_values
           entropy_zero_probabilities
"""

import numpy as np


def entropy(p, axis: int = -1):
    p = np.asarray(p, dtype=np.float64)
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("p must hold finite, non-negative probabilities")
    safe = np.where(p > 0, p, 1.0)
    return -(p * np.log2(safe)).sum(axis=axis)
