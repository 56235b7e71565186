"""HintLoss sums the squared errors instead of averaging them over all entries.

Caught by: hint_loss_value
           hint_loss_gradients
"""

import torch.nn.functional as F
from torch import nn


class HintLoss(nn.Module):
    def __init__(self, student_dim, teacher_dim):
        super().__init__()
        for name, value in (("student_dim", student_dim), ("teacher_dim", teacher_dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        self.regressor = nn.Linear(student_dim, teacher_dim)

    def forward(self, student_feat, teacher_feat):
        return F.mse_loss(self.regressor(student_feat), teacher_feat.detach(), reduction="sum")
