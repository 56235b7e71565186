"""A single symbol gets the empty code '', which takes no bits and cannot be decoded.

Caught by: huffman_one_two_symbols_and_dict_input
           huffman_decode_round_trips
"""

# ruff: noqa: F821

import heapq

import numpy as np


def huffman_code(freqs):
    items = freqs.items() if isinstance(freqs, dict) else enumerate(np.asarray(freqs).ravel().tolist())
    counts = {int(s): float(c) for s, c in items if c > 0}
    if not counts:
        raise ValueError("freqs must give at least one symbol a positive count")
    symbols = sorted(counts)
    lengths = dict.fromkeys(symbols, 0)
    heap = [(counts[s], i, [s]) for i, s in enumerate(symbols)]
    heapq.heapify(heap)
    order = len(heap)
    while len(heap) > 1:
        c1, _, s1 = heapq.heappop(heap)
        c2, _, s2 = heapq.heappop(heap)
        for s in s1 + s2:
            lengths[s] += 1
        heapq.heappush(heap, (c1 + c2, order, s1 + s2))
        order += 1
    code, value, prev_len = {}, 0, None
    for s in sorted(symbols, key=lambda s: (lengths[s], s)):
        if prev_len is not None:
            value = (value + 1) << (lengths[s] - prev_len)
        prev_len = lengths[s]
        code[s] = format(value, f"0{lengths[s]}b") if lengths[s] else ""
    return code
