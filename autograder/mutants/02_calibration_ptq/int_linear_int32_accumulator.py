"""int_linear accumulates in int32, which wraps silently instead of raising when the accumulator overflows.

Caught by: int_linear_accumulator_int32_boundary
"""

import numpy as np

# The lab's other names (abs_values, qrange, symmetric_fake_quantize, ...) come from the namespace this
# file is executed in.
# ruff: noqa: F821


def int_linear(x_q, x_zp: int, w_q, b_q, m0: int, shift: int, y_zp: int, qmin: int, qmax: int) -> np.ndarray:
    arrays = {"x_q": (x_q, 2, INT32_MIN, INT32_MAX), "w_q": (w_q, 2, -128, 127), "b_q": (b_q, 1, INT32_MIN, INT32_MAX)}
    checked = {}
    for name, (value, ndim, low, high) in arrays.items():
        a = np.asarray(value)
        if a.dtype.kind not in "iu" or a.ndim != ndim:
            raise ValueError(f"{name} must be a {ndim}-D integer array, got dtype {a.dtype} and shape {a.shape}")
        if a.size and (a.min() < low or a.max() > high):
            raise ValueError(f"{name} must hold values in [{low}, {high}], got [{a.min()}, {a.max()}]")
        checked[name] = a.astype(np.int64)
    x_q, w_q, b_q = checked["x_q"], checked["w_q"], checked["b_q"]
    if w_q.shape[1] != x_q.shape[1]:
        raise ValueError(f"w_q must have C_in = {x_q.shape[1]} columns like x_q, got shape {w_q.shape}")
    if b_q.shape != (w_q.shape[0],):
        raise ValueError(f"b_q must have shape ({w_q.shape[0]},), one per output channel, got {b_q.shape}")
    if isinstance(x_zp, (bool, np.bool_)) or not isinstance(x_zp, (int, np.integer)):
        raise ValueError(f"x_zp must be an int, got {x_zp!r}")
    x_q, w_q, b_q = x_q.astype(np.int32), w_q.astype(np.int32), b_q.astype(np.int32)
    with np.errstate(over="ignore"):
        acc = x_q @ w_q.T - np.int32(x_zp) * w_q.sum(axis=1, dtype=np.int32) + b_q  # the mistake: wraps
    if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise ValueError(f"the int32 accumulator overflows: values in [{acc.min()}, {acc.max()}]")
    return requantize(acc, m0, shift, y_zp, qmin, qmax)
