"""The symmetric scale divides by 2^(b-1) (128 for 8 bits) instead of 2^(b-1) - 1 (127).

Caught by: symmetric_scale_thresholds_and_bit_widths
           per_channel_qparams_symmetric_rows
           fake_quantize_weights_per_channel_mlp
           fake_quantize_weights_per_tensor_mlp
"""

import numpy as np

# The lab's other names (qrange, FP32_EPS) come from the namespace this file is executed in.
# ruff: noqa: F821


def symmetric_scale(threshold: float, bits: int = 8) -> float:
    qrange(bits, signed=True, narrow=True)
    if (np.ndim(threshold) != 0 or np.asarray(threshold).dtype.kind not in "iuf" or not np.isfinite(threshold)
            or threshold < 0):
        raise ValueError(f"threshold must be a finite real number >= 0, got {threshold!r}")
    return max(float(threshold) / 2 ** (bits - 1), FP32_EPS)  # the mistake: 128 levels for 8 bits, not 127
