"""KDLoss uses F.kl_div's default reduction "mean", which divides by N * C instead of the batch size N.

Caught by: KDLoss_matches_kl_div_batchmean
           KDLoss_many_classes
"""

# ruff: noqa: F821

import torch.nn.functional as F
from torch import nn


class KDLoss(nn.Module):
    def __init__(self, T=4.0, alpha=0.1):
        super().__init__()
        check_T_alpha(T, alpha)
        self.T, self.alpha = float(T), float(alpha)

    def forward(self, student_logits, teacher_logits, labels):
        T, alpha = self.T, self.alpha
        hard = F.cross_entropy(student_logits, labels)
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=-1), F.softmax(teacher_logits.detach() / T, dim=-1),
                        reduction="mean")
        return alpha * hard + (1 - alpha) * T**2 * soft
