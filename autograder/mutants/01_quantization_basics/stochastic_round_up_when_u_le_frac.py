"""Round up when u <= frac instead of u < frac (strict).

Caught by: stochastic_round_up_only_when_u_below_frac
"""

import numpy as np


def stochastic_round(x, rng: np.random.Generator) -> np.ndarray:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a np.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"x must hold real numbers (an integer or float dtype), got dtype {x.dtype}")
    x = x.astype(np.float32 if x.dtype == np.float32 else np.float64)
    if not np.isfinite(x).all():
        raise ValueError("x must be finite, but it contains NaN or inf")
    u = rng.random(x.shape)
    floor = np.floor(x)
    return floor + (u <= x - floor)  # the mistake: u == frac rounds up
