"""stochastic_quantize fills u column by column (Fortran order), so a seed gives other results.

Caught by: stochastic_quantize_same_seed_as_reference
"""

import numpy as np


def stochastic_quantize(x, scale, zero_point, qmin: int, qmax: int, rng: np.random.Generator) -> np.ndarray:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a np.random.Generator, got {type(rng).__name__}")
    quantize(x, scale, zero_point, qmin, qmax)  # noqa: F821 (the solution's quantize validates)
    x = np.asarray(x).astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError("x must be finite, but it contains NaN or inf")
    with np.errstate(over="ignore"):
        y = (x * (np.float32(1) / np.asarray(scale).astype(np.float32))).astype(np.float64)
    z = np.asarray(zero_point).astype(np.int64)
    u = rng.random(y.size).reshape(y.shape, order="F")  # the mistake
    floor = np.floor(y)
    return np.clip(floor + (u < y - floor) + z, qmin, qmax).astype(np.int32)
