"""calibrate_max returns max(x) instead of max |x|, so negative values are ignored.

Caught by: calibrate_max_distributions_and_dtypes
"""

import numpy as np

# The lab's other names (abs_values, qrange, symmetric_fake_quantize, ...) come from the namespace this
# file is executed in.
# ruff: noqa: F821


def calibrate_max(x) -> float:
    abs_values(x)  # validates x
    return float(np.asarray(x, dtype=np.float64).max())  # the mistake: no abs
