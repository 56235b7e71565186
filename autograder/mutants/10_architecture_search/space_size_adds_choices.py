"""space_size adds the numbers of types, kernels and widths instead of multiplying.

Caught by: space_size_sums_over_depths
"""

# ruff: noqa: F821




def space_size(space: dict) -> int:
    """Number of distinct architectures of `space` (a Python int). ValueError naming space if it is malformed."""
    check_space(space)
    per_block = len(space["types"]) + len(space["kernels"]) + len(space["widths"])
    return int(sum(per_block ** int(d) for d in space["depths"]))
