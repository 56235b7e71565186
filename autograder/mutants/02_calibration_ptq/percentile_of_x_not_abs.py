"""calibrate_percentile takes the percentile of x instead of |x|.

Caught by: calibrate_percentile_distributions
           calibrate_percentile_magnitudes_and_interpolation
"""

import numpy as np

# The lab's other names (abs_values, qrange, symmetric_fake_quantize, ...) come from the namespace this
# file is executed in.
# ruff: noqa: F821


def calibrate_percentile(x, percentile: float = 99.99) -> float:
    if (isinstance(percentile, (bool, np.bool_)) or not isinstance(percentile, (int, float, np.integer, np.floating))
            or not 0 < percentile <= 100):
        raise ValueError(f"percentile must be a real number in (0, 100], got {percentile!r}")
    abs_values(x)  # validates x
    return float(np.percentile(np.asarray(x, dtype=np.float64), percentile))  # the mistake: x, not |x|
