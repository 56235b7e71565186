"""compression_rate leaves the codebook's k*b bits out of the denominator.

Caught by: compression_rate_values
"""

# ruff: noqa: F821

def compression_rate(n, bits, k, b=32):
    n, bits, k, b = (check_int(name, v, 1, 2**62) for name, v in (("n", n), ("bits", bits), ("k", k), ("b", b)))
    return n * b / (n * bits)
