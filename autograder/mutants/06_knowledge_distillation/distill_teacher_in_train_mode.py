"""distill never calls teacher.eval(), so the teacher's dropout changes its targets on every batch.

Caught by: distill_teacher_frozen_in_eval
"""

# ruff: noqa: F821

import torch


def distill(teacher, student, loader, T, alpha, epochs, lr=1e-3, seed=0):
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    loss_fn = KDLoss(T, alpha)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        student.train()
        total, count = 0.0, 0
        for x, y in loader:
            with torch.no_grad():
                target = teacher(x)
            opt.zero_grad()
            loss = loss_fn(student(x), target, y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
            count += len(y)
        history.append(total / count)
    student.eval()
    return history
