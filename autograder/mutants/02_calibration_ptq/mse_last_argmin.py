"""calibrate_mse keeps the last of equal errors (<=) instead of the first, smallest candidate.

Caught by: calibrate_mse_ties_keep_first
"""

import numpy as np

# The lab's other names (abs_values, qrange, symmetric_fake_quantize, ...) come from the namespace this
# file is executed in.
# ruff: noqa: F821


def calibrate_mse(x, bits: int = 8, num_candidates: int = 100) -> float:
    qrange(bits, signed=True)  # validates bits
    check_int("num_candidates", num_candidates, 1)
    a = abs_values(x)
    m = a.max()
    if m == 0:
        return 0.0
    best_t, best_mse = 0.0, np.inf
    for k in range(1, num_candidates + 1):
        t = m * k / num_candidates
        mse = np.mean((symmetric_fake_quantize(a, t, bits) - a) ** 2)
        if mse <= best_mse:  # strict: ties keep the smaller threshold
            best_t, best_mse = t, mse
    return float(best_t)
