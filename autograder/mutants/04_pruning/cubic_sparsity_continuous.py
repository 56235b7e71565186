"""cubic_sparsity divides (step - start) by freq exactly, so it never stays flat between pruning steps.

Caught by: cubic_sparsity_values
"""

# ruff: noqa: F821

def cubic_sparsity(step, s_init, s_final, start, n_steps, freq):
    s_init, s_final = check_fraction("s_init", s_init), check_fraction("s_final", s_final)
    if s_init > s_final:
        raise ValueError(f"s_init must be <= s_final, got {s_init} > {s_final}")
    for name, value, low in (("start", start, 0), ("n_steps", n_steps, 1), ("freq", freq, 1)):
        if value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if step < start:
        return s_init
    t = min((step - start) / freq, n_steps)
    return float(s_final + (s_init - s_final) * (1.0 - t / n_steps) ** 3)
