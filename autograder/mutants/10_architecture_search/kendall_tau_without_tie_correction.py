"""kendall_tau divides by the number of pairs (tau-a), without the tie correction of tau-b.

Caught by: kendall_tau_b_with_ties
"""

# ruff: noqa: F821


import numpy as np


def kendall_tau(x, y) -> float:
    """Kendall's tau-b of two equally long sequences, with the tie correction; nan if either is constant."""
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if x.size != y.size or x.size < 2:
        raise ValueError(f"x and y must have the same length >= 2, got {x.size} and {y.size}")
    i, j = np.triu_indices(x.size, k=1)
    sx, sy = np.sign(x[j] - x[i]), np.sign(y[j] - y[i])
    s = float(np.sum(sx * sy))
    denom = float(len(i)) ** 2
    return float(s / np.sqrt(denom)) if denom > 0 else float("nan")
