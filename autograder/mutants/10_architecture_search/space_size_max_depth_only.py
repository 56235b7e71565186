"""space_size counts only the deepest architectures, as if every block were present.

Caught by: space_size_sums_over_depths
"""

# ruff: noqa: F821




def space_size(space: dict) -> int:
    """Number of distinct architectures of `space` (a Python int). ValueError naming space if it is malformed."""
    check_space(space)
    per_block = len(space["types"]) * len(space["kernels"]) * len(space["widths"])
    return int(per_block ** max(space["depths"]))
