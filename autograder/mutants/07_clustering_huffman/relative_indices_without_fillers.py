"""relative_indices stores every gap as is, with no fillers, so wide gaps overflow the index bits.

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
    return np.diff(np.flatnonzero(mask), prepend=-1).astype(np.int64), 0
