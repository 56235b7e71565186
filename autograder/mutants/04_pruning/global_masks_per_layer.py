"""global_magnitude_masks prunes each layer to the same fraction (layer-wise, not global).

Caught by: global_masks_match_global_unstructured
"""

# ruff: noqa: F821

import numpy as np


def global_magnitude_masks(weights, sparsity):
    sparsity = check_fraction("sparsity", sparsity)
    if not weights:
        raise ValueError("weights must hold at least one array")
    return [magnitude_mask(np.asarray(w), sparsity) for w in weights]
