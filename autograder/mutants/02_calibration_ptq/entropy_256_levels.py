"""entropy_threshold groups the bins into 2^bits levels (256 at 8 bits) instead of 2^(bits-1).

Caught by: calibrate_entropy_half_normal_with_outliers
           calibrate_entropy_distributions
           calibrate_entropy_levels_per_bit_width
"""

import numpy as np
import scipy.special

# The lab's other names (abs_values, qrange, symmetric_fake_quantize, ...) come from the namespace this
# file is executed in.
# ruff: noqa: F821


def entropy_threshold(counts, edges, bits: int = 8) -> float:
    counts = np.asarray(counts)
    if counts.dtype.kind not in "iuf" or counts.ndim != 1 or len(counts) <= START_BIN:
        raise ValueError(f"counts must be a 1-D array of more than {START_BIN} real counts, got shape {counts.shape}")
    if not (np.isfinite(counts).all() and (counts >= 0).all()):
        raise ValueError("counts must be finite and non-negative")
    edges = np.asarray(edges, dtype=np.float64)
    if edges.shape != (len(counts) + 1,):
        raise ValueError(f"edges must have shape {(len(counts) + 1,)} for {len(counts)} counts, got {edges.shape}")
    _, qmax = qrange(bits, signed=True)
    levels = 2 * (qmax + 1)  # the mistake: 2^bits
    bins = counts.astype(np.float64)  # a copy: the caller's histogram is left alone
    bins[0] = bins[1]
    if not bins.any():
        raise ValueError("counts holds no data beyond bin 0, so there is no range to calibrate")
    clipped = np.append(np.cumsum(bins[::-1])[::-1], 0.0)  # clipped[i] = bins[i:].sum()
    index = np.arange(len(bins))
    divergences = np.empty(len(bins) - START_BIN + 1)
    for n, i in enumerate(range(START_BIN, len(bins) + 1)):
        kept = bins[:i]
        p = kept.copy()
        p[-1] += clipped[i]  # the clipped values pile up in the last kept bin
        groups = index[:i] * levels // i  # (i,) level of each bin: np.digitize's answer, in exact integers
        nonempty = kept > 0
        group_total = np.bincount(groups, weights=kept, minlength=levels)
        group_nonempty = np.bincount(groups, weights=nonempty, minlength=levels)
        q = np.where(nonempty, group_total[groups] / np.maximum(group_nonempty[groups], 1), 0.0)
        # scipy.stats.entropy(p, q), computed the same way without its ~1 ms of overhead per call
        divergences[n] = scipy.special.rel_entr(p / p.sum(), q / q.sum()).sum() if q.any() else np.inf
    last_best = len(divergences) - 1 - int(np.argmin(divergences[::-1]))  # ties go to the widest range
    return float(edges[START_BIN + last_best])
