"""huffman_encode packs each byte least significant bit first (and decode reads it back the same way).

Caught by: huffman_encode_packing
"""

# ruff: noqa: F821

import numpy as np


def huffman_encode(symbols, code):
    try:
        bits = "".join(code[int(s)] for s in np.asarray(symbols).ravel().tolist())
    except KeyError as err:
        raise ValueError(f"symbols holds {err.args[0]!r}, which has no code") from None
    nbits = len(bits)
    bits += "0" * (-nbits % 8)
    return bytes(int(bits[i:i + 8][::-1], 2) for i in range(0, len(bits), 8)), nbits


def huffman_decode(data, nbits, code):
    nbits = check_int("nbits", nbits, 0, 8 * len(data))
    inverse = {c: s for s, c in code.items()}
    bits = "".join(format(b, "08b")[::-1] for b in data)[:nbits]
    out, start = [], 0
    for end in range(1, nbits + 1):
        sym = inverse.get(bits[start:end])
        if sym is not None:
            out.append(sym)
            start = end
    if start != nbits:
        raise ValueError("data ends in the middle of a code word")
    return np.array(out, dtype=np.int64)
