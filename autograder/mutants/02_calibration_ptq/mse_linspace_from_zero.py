"""calibrate_mse tries np.linspace(0, max|x|, N) (0 included, step max / (N - 1)) instead of max * k / N.

Caught by: calibrate_mse_distributions
           calibrate_mse_candidate_grid_and_bit_widths
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
    for t in np.linspace(0.0, m, num_candidates):  # the mistake: another grid
        mse = np.mean((symmetric_fake_quantize(a, t, bits) - a) ** 2)
        if mse < best_mse:  # strict: ties keep the smaller threshold
            best_t, best_mse = t, mse
    return float(best_t)
