"""threshold_sweep always uses the maximum-probability rule, whatever rule it is given.

Caught by: threshold_sweep_entropy_rule
"""

# ruff: noqa: F821


import numpy as np


def threshold_sweep(probs_per_exit, labels, thresholds, macs_per_exit,
                    rule: str = "maxprob") -> list[tuple[float, float, float]]:
    """[(threshold, accuracy, average MACs), ...] for each threshold in order (floats)."""
    labels = np.asarray(labels)
    out = []
    for t in thresholds:
        pred, ex = exit_decisions(probs_per_exit, t)
        out.append((float(t), float(np.mean(pred == labels)), average_macs(ex, macs_per_exit)))
    return out
