"""Stochastic rounding as np.round(y + u - 0.5): other results for the same seed.

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
    u = rng.random(y.shape)
    return np.clip(np.round(y + u - 0.5) + z, qmin, qmax).astype(np.int32)  # the mistake
