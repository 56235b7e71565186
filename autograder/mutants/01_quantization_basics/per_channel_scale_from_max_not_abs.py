"""Symmetric per-channel scales from max(w_c) instead of max |w_c|.

Caught by: per_channel_qparams_symmetric_rows
"""

import numpy as np

# The lab's other names (qrange, symmetric_scale, affine_qparams) come from the namespace this file is executed in.
# ruff: noqa: F821


def per_channel_qparams(w, axis: int = 0, bits: int = 8, symmetric: bool = True) -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(w)
    if w.dtype.kind not in "iuf":
        raise ValueError(f"w must hold real numbers (an integer or float dtype), got dtype {w.dtype}")
    if w.ndim == 0 or w.size == 0:
        raise ValueError(f"w must have at least one dimension and one element, got shape {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("w must be finite, but it contains NaN or inf")
    if (isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer))
            or not -w.ndim <= axis < w.ndim):
        raise ValueError(f"axis must be an int in [{-w.ndim}, {w.ndim - 1}] for w of shape {w.shape}, got {axis!r}")
    if not isinstance(symmetric, (bool, np.bool_)):
        raise ValueError(f"symmetric must be True or False, got {symmetric!r}")
    qrange(bits, signed=True)
    rows = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1).astype(np.float64)
    scales = np.empty(len(rows), np.float64)
    zero_points = np.zeros(len(rows), np.int64)
    for c, row in enumerate(rows):
        if symmetric:
            scales[c] = symmetric_scale(max(float(row.max()), 0.0), bits)  # the mistake: largest value, not magnitude
        else:
            scales[c], zero_points[c] = affine_qparams(float(row.min()), float(row.max()), bits, signed=False)
    return scales, zero_points
