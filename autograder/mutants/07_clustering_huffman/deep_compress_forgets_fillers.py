"""deep_compress counts only the kept weights: the filler entries' weight and index slots cost nothing.

Caught by: deep_compress_report
"""

# ruff: noqa: F821

import numpy as np
from torch import nn


def deep_compress(model: nn.Module, sparsity, bits: int, index_bits: int = 5, loader=None, prune_epochs: int = 0,
                  share_epochs: int = 0, lr: float = 1e-3) -> dict:
    """Prune, share and Huffman-code model in place; return the per-layer and total size report in bits."""
    if not isinstance(sparsity, dict) and not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
    masks = magnitude_prune_(model, sparsity)
    if loader is not None and prune_epochs > 0:
        fit_masked(model, masks, loader, prune_epochs, lr)
    shared = share_weights_(model, bits, loader, share_epochs, lr)
    k, rows = 2**bits, {}
    for name, (_codebook, idx, mask) in shared.items():
        stream, fillers = relative_indices(mask.ravel(), index_bits)
        kept = int(mask.sum())
        slots = kept + fillers
        kept_slot = mask.ravel()[np.cumsum(stream) - 1]
        weight_symbols = np.full(slots, k, dtype=np.int64)  # a filler's weight slot carries the extra symbol k
        weight_symbols[kept_slot] = idx.astype(np.int64)
        w_counts = np.bincount(weight_symbols, minlength=k + 1)
        i_counts = np.bincount(stream)
        w_code, i_code = huffman_code(w_counts), huffman_code(i_counts)
        huff_w = sum(int(w_counts[s]) * len(c) for s, c in w_code.items())
        huff_i = sum(int(i_counts[s]) * len(c) for s, c in i_code.items())
        rows[name] = {
            "weights": int(mask.size), "kept": kept, "fillers": int(fillers),
            "dense_bits": 32 * int(mask.size),
            "pruned_bits": 32 * kept + index_bits * kept,
            "quantized_bits": bits * kept + index_bits * kept + 32 * k,  # the mistake: fillers cost nothing
            "huffman_bits": huff_w + huff_i + 32 * k,
        }
    total = {key: sum(row[key] for row in rows.values()) for key in next(iter(rows.values()))}
    return {"layers": rows, "total": total}
