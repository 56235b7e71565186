"""relative_indices takes 2^b as the largest gap, which needs b + 1 bits.

Caught by: relative_indices_small_mask
           relative_indices_fillers_random_masks
"""

# ruff: noqa: F821

import numpy as np


def relative_indices(mask_flat, index_bits):
    index_bits = check_int("index_bits", index_bits, 1, 16)
    mask = np.asarray(mask_flat)
    if mask.dtype != np.bool_ or mask.ndim != 1:
        raise ValueError(f"mask_flat must be a 1-D bool array, got {mask.dtype} {mask.shape}")
    top = 2**index_bits
    stream, fillers = [], 0
    for d in np.diff(np.flatnonzero(mask), prepend=-1).tolist():
        n_fill = (d - 1) // top
        stream.extend([top] * n_fill)
        stream.append(d - n_fill * top)
        fillers += n_fill
    return np.array(stream, dtype=np.int64), fillers
