"""The canonical step pads a longer code with leading zeros instead of shifting left, so codes become prefixes.

Caught by: huffman_code_canonical
           huffman_code_ties_prefix_free
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
    if len(symbols) == 1:
        return {symbols[0]: "0"}
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
    code, value, first = {}, 0, True
    for s in sorted(symbols, key=lambda s: (lengths[s], s)):
        if not first:
            value += 1  # the mistake: no shift when the length grows
        first = False
        code[s] = format(value, f"0{lengths[s]}b")
    return code
