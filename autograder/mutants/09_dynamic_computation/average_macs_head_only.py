"""average_macs charges each sample only the stage of its exit, not the cumulative cost up to it.

Caught by: average_macs_cumulative
"""

# ruff: noqa: F821


import numpy as np


def average_macs(exit_index, macs_per_exit) -> float:
    """Mean over samples of the cumulative MACs up to each sample's exit.

    Raises ValueError naming exit_index if it is empty or holds an index outside [0, len(macs_per_exit)).
    """
    exit_index = np.asarray(exit_index)
    cumulative = np.asarray(macs_per_exit, dtype=np.float64)
    if exit_index.size == 0 or exit_index.dtype.kind not in "iu" or exit_index.min() < 0 \
            or exit_index.max() >= cumulative.size:
        raise ValueError(f"exit_index must be a non-empty array of ints in [0, {cumulative.size})")
    return float(cumulative[exit_index].mean())
