"""rank_for_energy returns the index of the first value reaching the energy, one too few.

Caught by: rank_for_energy_uses_squared_singular_values
           rank_for_energy_edges
"""

import numpy as np


def rank_for_energy(S, energy):
    if not 0 < energy <= 1:
        raise ValueError(f"energy must be in (0, 1], got {energy!r}")
    power = np.asarray(S, dtype=np.float64) ** 2
    kept = np.cumsum(power) / power.sum()
    return max(1, int(np.searchsorted(kept, energy * (1 - 1e-12))))  # the mistake: no + 1
