"""calibrate_mse scores each candidate with an asymmetric (affine) quantizer of [min x, max x] * k / N.

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
    for k in range(1, num_candidates + 1):
        t = m * k / num_candidates
        values = np.asarray(x, dtype=np.float64).ravel()
        lo, hi = min(values.min(), 0.0) * k / num_candidates, max(values.max(), 0.0) * k / num_candidates
        scale, zero_point = affine_qparams(lo, hi, bits, signed=True)  # the mistake: asymmetric, 2^b - 1 steps
        mse = np.mean((fake_quantize(values, scale, zero_point, *qrange(bits, signed=True)) - values) ** 2)
        if mse < best_mse:  # strict: ties keep the smaller threshold
            best_t, best_mse = t, mse
    return float(best_t)
