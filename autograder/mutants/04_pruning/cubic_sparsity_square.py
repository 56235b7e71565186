"""cubic_sparsity uses the exponent 2 instead of 3.

Caught by: cubic_sparsity_values
"""

# ruff: noqa: F821

def cubic_sparsity(step, s_init, s_final, start, n_steps, freq):
    if step < start:
        return float(s_init)
    t = min((step - start) // freq, n_steps)
    return float(s_final + (s_init - s_final) * (1.0 - t / n_steps) ** 2)
