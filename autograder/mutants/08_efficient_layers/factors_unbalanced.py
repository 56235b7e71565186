"""All of the singular values go into A (A = U_r S_r, B = V_r^T) instead of sqrt(S) each.

Caught by: low_rank_factors_balanced_split
"""

import numpy as np


def low_rank_factors(W, rank):
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or not 1 <= rank <= min(W.shape):
        raise ValueError(f"rank must be in 1..min(m, n), got {rank}")
    U, S, Vt = np.linalg.svd(W, full_matrices=False)
    return U[:, :rank] * S[:rank], Vt[:rank]  # the mistake: not split evenly
