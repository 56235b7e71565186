"""cluster_weights makes 2^bits - 1 clusters, one fewer than the bits can index.

Caught by: cluster_weights_codebook_size_and_dtypes
           cluster_weights_init_and_wide_indices
"""

# ruff: noqa: F821

import numpy as np


def cluster_weights(w, bits, init="linear"):
    bits = check_int("bits", bits, 1, 16)
    w = np.asarray(w)
    centroids, labels = kmeans_1d(w, 2**bits - 1, init)
    return centroids.astype(np.float32), labels.astype(np.uint8 if bits <= 8 else np.uint16)
