"""requantize rounds acc * m0 / 2^(31 + shift) once in float64 instead of gemmlowp's two integer roundings.

Caught by: requantize_random_accumulators
           requantize_rounding_ties
"""

import numpy as np

# The lab's other names (abs_values, qrange, symmetric_fake_quantize, ...) come from the namespace this
# file is executed in.
# ruff: noqa: F821


def requantize(acc, m0: int, shift: int, zero_point: int, qmin: int, qmax: int) -> np.ndarray:
    acc = np.asarray(acc)
    if acc.dtype.kind not in "iu":
        raise ValueError(f"acc must be an integer array (the int32 accumulators), got dtype {acc.dtype}")
    acc = acc.astype(np.int64)
    if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise ValueError(f"acc must fit in int32, got values in [{acc.min()}, {acc.max()}]")
    for name, value, low, high in (("m0", m0, INT32_MIN, INT32_MAX), ("shift", shift, 0, 31),
                                   ("qmin", qmin, INT32_MIN, INT32_MAX), ("qmax", qmax, INT32_MIN, INT32_MAX)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise ValueError(f"{name} must be an int in [{low}, {high}], got {value!r}")
    if qmin >= qmax:
        raise ValueError(f"qmin must be smaller than qmax, got qmin={qmin}, qmax={qmax}")
    if (isinstance(zero_point, (bool, np.bool_)) or not isinstance(zero_point, (int, np.integer))
            or not qmin <= zero_point <= qmax):
        raise ValueError(f"zero_point must be an int in [qmin, qmax] = [{qmin}, {qmax}], got {zero_point!r}")
    exact = acc * (float(m0) / 2.0 ** (31 + shift))  # the mistake: floats and one rounding
    return np.clip(np.round(exact) + zero_point, qmin, qmax).astype(np.int32)
    product = acc * np.int64(m0)  # |product| <= 2^62
    nudged = product + np.where(product >= 0, np.int64(2**30), np.int64(1 - 2**30))
    high = np.where(nudged >= 0, nudged >> 31, -(-nudged >> 31))  # divide by 2^31, truncating toward zero
    high = np.where((acc == INT32_MIN) & (m0 == INT32_MIN), np.int64(INT32_MAX), high)
    mask = np.int64((1 << shift) - 1)
    threshold = (mask >> 1) + (high < 0)
    rounded = (high >> shift) + ((high & mask) > threshold)
    return np.clip(rounded + zero_point, qmin, qmax).astype(np.int32)
