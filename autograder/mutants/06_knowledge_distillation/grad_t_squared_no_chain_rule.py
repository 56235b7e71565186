"""kd_loss_grad multiplies the soft gradient by T^2 and forgets the 1/T of the chain rule through z_s / T.

Caught by: kd_loss_grad_temperature_scale
           kd_loss_grad_matches_autograd
"""

# ruff: noqa: F821

import numpy as np


def kd_loss_grad(student_logits, teacher_logits, labels, T, alpha):
    check_T_alpha(T, alpha)
    zs, zt = np.asarray(student_logits, dtype=np.float64), np.asarray(teacher_logits, dtype=np.float64)
    labels = np.asarray(labels)
    n = len(zs)
    hard = softmax(zs)
    hard[np.arange(n), labels] -= 1.0
    return (alpha * hard + (1 - alpha) * T**2 * (softmax(zs, T) - softmax(zt, T))) / n
