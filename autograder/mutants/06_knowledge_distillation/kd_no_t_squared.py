"""kd_loss forgets the T^2 factor on the soft term, so its weight shrinks as 1/T^2 at high temperature.

Caught by: kd_loss_matches_torch
           kd_loss_soft_term_T_squared
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
    ce = -log_softmax(zs)[np.arange(n), labels]
    log_p, log_q = log_softmax(zt, T), log_softmax(zs, T)
    kl = np.sum(np.exp(log_p) * (log_p - log_q), axis=1)
    return float(np.mean(alpha * ce + (1 - alpha) * kl))
