"""KDLoss does not detach the teacher's logits, and distill runs the teacher with gradients on.

Caught by: KDLoss_no_teacher_grad
           distill_teacher_frozen_in_eval
"""

# ruff: noqa: F821

import torch
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
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=-1), F.softmax(teacher_logits / T, dim=-1),
                        reduction="batchmean")
        return alpha * hard + (1 - alpha) * T**2 * soft


def distill(teacher, student, loader, T, alpha, epochs, lr=1e-3, seed=0):
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    loss_fn = KDLoss(T, alpha)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    teacher.eval()
    history = []
    for _ in range(epochs):
        student.train()
        total, count = 0.0, 0
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(student(x), teacher(x), y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
            count += len(y)
        history.append(total / count)
    student.eval()
    return history
