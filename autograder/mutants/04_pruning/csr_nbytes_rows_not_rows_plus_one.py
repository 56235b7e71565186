"""csr_nbytes counts one row pointer per row, forgetting the final one (rows + 1).

Caught by: csr_nbytes_matches_scipy
"""

# ruff: noqa: F821

import numpy as np


def csr_nbytes(w, index_dtype=np.int32):
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError(f"w must be 2-D, got shape {w.shape}")
    index = np.dtype(index_dtype)
    if index.kind not in "iu":
        raise ValueError(f"index_dtype must be an integer dtype, got {index}")
    nnz = int(np.count_nonzero(w))
    return nnz * (w.dtype.itemsize + index.itemsize) + w.shape[0] * index.itemsize
