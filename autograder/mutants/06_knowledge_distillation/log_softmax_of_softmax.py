"""log_softmax returns np.log(softmax(z, T)), which is -inf where a probability underflows to 0.

Caught by: log_softmax_stable_large_logits
"""

# ruff: noqa: F821

import numpy as np


def log_softmax(z, T=1.0, axis=-1):
    with np.errstate(divide="ignore"):
        return np.log(softmax(z, T, axis))
