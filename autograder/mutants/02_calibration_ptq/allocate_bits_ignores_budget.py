"""allocate_bits minimises the predicted damage without checking the size budget.

Caught by: allocate_bits_random_problems
           allocate_bits_tie_breaking
           allocate_bits_budget_edges_and_types
"""

import itertools

import numpy as np

# The lab's other names (abs_values, qrange, symmetric_fake_quantize, ...) come from the namespace this
# file is executed in.
# ruff: noqa: F821


def allocate_bits(sensitivity: dict[str, float], sizes: dict[str, int], budget_bytes: float,
                  choices=(2, 4, 8)) -> dict[str, int]:
    if not sensitivity or set(sensitivity) != set(sizes):
        raise ValueError(f"sizes must have the same non-empty keys as sensitivity, got {sorted(sizes)} and "
                         f"{sorted(sensitivity)}")
    for name in sensitivity:
        value = sensitivity[name]
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not np.isfinite(value):
            raise ValueError(f"sensitivity[{name!r}] must be a finite real number, got {value!r}")
        check_int(f"sizes[{name!r}]", sizes[name], 1)
    choices = list(choices)
    if not choices or any(isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)) or not 1 <= c <= 32
                          for c in choices):
        raise ValueError(f"choices must be a non-empty collection of ints in 1..32, got {choices!r}")
    names = sorted(sensitivity)
    options = sorted({int(c) for c in choices})
    smallest = sum(sizes[n] for n in names) * options[0] / 8
    if (isinstance(budget_bytes, (bool, np.bool_))
            or not isinstance(budget_bytes, (int, float, np.integer, np.floating)) or not budget_bytes >= smallest):
        raise ValueError(f"budget_bytes must be at least {smallest} (every layer at {options[0]} bits), "
                         f"got {budget_bytes!r}")
    weights = [max(float(sensitivity[n]), 0.0) for n in names]
    best_key, best_bits = None, None
    for bits in itertools.product(options, repeat=len(names)):  # lexicographic order: the first best wins ties
        size = sum(sizes[n] * b for n, b in zip(names, bits)) / 8
        key = (sum(w * 4.0**-b for w, b in zip(weights, bits)), size)
        if best_key is None or key < best_key:
            best_key, best_bits = key, bits
    allocation = dict(zip(names, best_bits))
    return {name: int(allocation[name]) for name in sensitivity}
