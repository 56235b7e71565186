"""Both factors carry the full singular values, so A @ B has sigma^2 instead of sigma.

Caught by: low_rank_factors_eckart_young
           low_rank_linear_from_linear_output
"""

import numpy as np


def low_rank_factors(W, rank):
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or not 1 <= rank <= min(W.shape):
        raise ValueError(f"rank must be in 1..min(m, n), got {rank}")
    U, S, Vt = np.linalg.svd(W, full_matrices=False)
    return U[:, :rank] * S[:rank], S[:rank, None] * Vt[:rank]  # the mistake: S applied twice
