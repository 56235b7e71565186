"""sqnr_db accepts inputs of different shapes with the same number of elements.

Caught by: sqnr_db_rejects_shape_mismatch
"""

import numpy as np


def sqnr_db(x, x_hat) -> float:
    arrays = {"x": np.asarray(x), "x_hat": np.asarray(x_hat)}
    for name, a in arrays.items():
        if a.dtype.kind not in "iuf":
            raise ValueError(f"{name} must hold real numbers (an integer or float dtype), got dtype {a.dtype}")
        if not np.isfinite(a).all():
            raise ValueError(f"{name} must be finite, but it contains NaN or inf")
    x, x_hat = arrays["x"].astype(np.float64).ravel(), arrays["x_hat"].astype(np.float64).ravel()
    if x.size != x_hat.size:  # the mistake: (6,) and (2, 3) have the same size but not the same shape
        raise ValueError(f"x and x_hat must have the same shape, got {x.shape} and {x_hat.shape}")
    signal = np.sum(x**2)
    if signal == 0:
        raise ValueError("x has zero power (all zeros or empty): SQNR is undefined")
    noise = np.sum((x - x_hat) ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(signal / noise))
