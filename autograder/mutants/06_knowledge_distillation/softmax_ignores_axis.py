"""softmax and log_softmax always normalize along the last axis, whatever `axis` says.

Caught by: softmax_any_axis
           log_softmax_values
"""

import numpy as np


def softmax(z, T=1.0, axis=-1):
    if not np.isfinite(T) or T <= 0:
        raise ValueError(f"T must be a finite temperature > 0, got {T}")
    u = np.asarray(z, dtype=np.float64) / T
    e = np.exp(u - u.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(z, T=1.0, axis=-1):
    if not np.isfinite(T) or T <= 0:
        raise ValueError(f"T must be a finite temperature > 0, got {T}")
    u = np.asarray(z, dtype=np.float64) / T
    shifted = u - u.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
