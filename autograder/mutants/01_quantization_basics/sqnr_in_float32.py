"""SQNR sums taken in float32 for float32 inputs instead of float64.

Caught by: sqnr_db_float32_inputs_computed_in_float64
"""

import numpy as np


def sqnr_db(x, x_hat) -> float:
    arrays = {"x": np.asarray(x), "x_hat": np.asarray(x_hat)}
    for name, a in arrays.items():
        if a.dtype.kind not in "iuf":
            raise ValueError(f"{name} must hold real numbers (an integer or float dtype), got dtype {a.dtype}")
        if not np.isfinite(a).all():
            raise ValueError(f"{name} must be finite, but it contains NaN or inf")
    x, x_hat = arrays["x"], arrays["x_hat"]  # the mistake: no cast to float64
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {x.shape} and {x_hat.shape}")
    signal = np.sum(x**2)
    if signal == 0:
        raise ValueError("x has zero power (all zeros or empty): SQNR is undefined")
    noise = np.sum((x - x_hat) ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(signal / noise))
