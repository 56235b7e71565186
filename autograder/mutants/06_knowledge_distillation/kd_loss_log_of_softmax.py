"""kd_loss takes np.log of the probabilities, which is -inf (and the loss inf or NaN) where one underflows to 0.

Caught by: kd_loss_large_logits
"""

# ruff: noqa: F821

import numpy as np


def kd_loss(student_logits, teacher_logits, labels, T, alpha):
    check_T_alpha(T, alpha)
    zs, zt = np.asarray(student_logits, dtype=np.float64), np.asarray(teacher_logits, dtype=np.float64)
    labels = np.asarray(labels)
    n, c = zs.shape
    if labels.shape != (n,) or (n and (labels.min() < 0 or labels.max() >= c)):
        raise ValueError(f"labels must be {n} ints in [0, {c})")
    with np.errstate(divide="ignore", invalid="ignore"):
        ce = -np.log(softmax(zs))[np.arange(n), labels]
        p, q = softmax(zt, T), softmax(zs, T)
        kl = np.sum(p * (np.log(p) - np.log(q)), axis=1)
    return float(np.mean(alpha * ce + (1 - alpha) * T**2 * kl))
