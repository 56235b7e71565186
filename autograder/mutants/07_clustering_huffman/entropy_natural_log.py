"""entropy_bits uses the natural logarithm, giving nats instead of bits.

Caught by: entropy_bits_values
           huffman_average_length_and_entropy_bound
"""

# ruff: noqa: F821

import numpy as np


def entropy_bits(freqs):
    values = list(freqs.values()) if isinstance(freqs, dict) else np.asarray(freqs).ravel().tolist()
    p = np.array([v for v in values if v > 0], dtype=np.float64)
    p = p / p.sum()
    return float(-(p * np.log(p)).sum())
