"""exit_decisions sends the confident samples on and lets the unsure ones leave early.

Caught by: exit_decisions_maxprob
           exit_decisions_entropy_rule
"""

# ruff: noqa: F821


import numpy as np


def exit_decisions(probs_per_exit: list, threshold: float, rule: str = "maxprob") -> tuple[np.ndarray, np.ndarray]:
    """(predictions int64 (N,), exit index int64 (N,) in 0..E-1) for E arrays of probabilities of shape (N, C).

    Raises ValueError naming rule (not "maxprob" or "entropy") or probs_per_exit (empty, or shapes that differ).
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if len(probs_per_exit) == 0:
        raise ValueError("probs_per_exit must hold at least one exit")
    probs = [np.asarray(p, dtype=np.float64) for p in probs_per_exit]
    if any(p.ndim != 2 or p.shape != probs[0].shape for p in probs):
        raise ValueError(f"probs_per_exit must be arrays of one shape (N, C), got {[p.shape for p in probs]}")
    n = probs[0].shape[0]
    exit_index = np.full(n, len(probs) - 1, dtype=np.int64)
    predictions = probs[-1].argmax(axis=1).astype(np.int64)
    left = np.ones(n, dtype=bool)
    for i, p in enumerate(probs[:-1]):
        confident = p.max(axis=1) >= threshold if rule == "maxprob" else entropy(p, axis=1) <= threshold
        leave = left & ~confident
        exit_index[leave] = i
        predictions[leave] = p[leave].argmax(axis=1)
        left &= ~leave
    return predictions, exit_index
