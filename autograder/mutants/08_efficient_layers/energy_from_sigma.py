"""The rank is chosen from the cumulative sum of sigma instead of sigma^2.

Caught by: rank_for_energy_uses_squared_singular_values
"""

import numpy as np


def rank_for_energy(S, energy):
    if not 0 < energy <= 1:
        raise ValueError(f"energy must be in (0, 1], got {energy!r}")
    power = np.asarray(S, dtype=np.float64)  # the mistake: sigma, not sigma ** 2
    kept = np.cumsum(power) / power.sum()
    return int(np.searchsorted(kept, energy * (1 - 1e-12)) + 1)
