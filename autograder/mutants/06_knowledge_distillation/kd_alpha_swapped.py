"""kd_loss puts alpha on the soft term and 1 - alpha on the hard-label term.

Caught by: kd_loss_matches_torch
           kd_loss_hard_term_at_T1
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
    return float(np.mean((1 - alpha) * ce + alpha * T**2 * kl))
