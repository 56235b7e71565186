"""neuron_l1_importance sums |w| over `axis` itself instead of over the other axes.

Caught by: neuron_l1_linear_and_conv
"""

# ruff: noqa: F821

import numpy as np


def neuron_l1_importance(w, axis):
    w = np.asarray(w, dtype=np.float64)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -w.ndim <= axis < w.ndim:
        raise ValueError(f"axis must be an int in [{-w.ndim}, {w.ndim}), got {axis!r}")
    return np.abs(w).sum(axis=axis).ravel()
