"""huffman_decode decodes every bit of the last byte, padding included, and returns extra symbols.

Caught by: huffman_decode_round_trips
           huffman_decode_ignores_padding
"""

# ruff: noqa: F821

import numpy as np


def huffman_decode(data, nbits, code):
    nbits = check_int("nbits", nbits, 0, 8 * len(data))
    inverse = {c: s for s, c in code.items()}
    bits = "".join(format(b, "08b") for b in data)  # the mistake: not cut to nbits
    out, start = [], 0
    for end in range(1, len(bits) + 1):
        sym = inverse.get(bits[start:end])
        if sym is not None:
            out.append(sym)
            start = end
    return np.array(out, dtype=np.int64)
