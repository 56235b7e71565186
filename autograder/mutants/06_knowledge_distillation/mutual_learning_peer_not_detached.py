"""mutual_learning lets each student's KL term send gradients into its peers (the targets are not detached).

Caught by: mutual_learning_two_students
           mutual_learning_three_students
"""

import torch
import torch.nn.functional as F


def mutual_learning(students, loader, epochs, lr=1e-3, seed=0):
    students = list(students)
    if len(students) < 2:
        raise ValueError(f"students must hold at least 2 models, got {len(students)}")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    k = len(students)
    torch.manual_seed(seed)
    opts = [torch.optim.Adam(m.parameters(), lr=lr) for m in students]
    history = []
    for _ in range(epochs):
        for m in students:
            m.train()
        totals, count = [0.0] * k, 0
        for x, y in loader:
            for opt in opts:
                opt.zero_grad()
            logits = [m(x) for m in students]
            targets = [F.softmax(z, dim=-1) for z in logits]
            losses = []
            for i, z in enumerate(logits):
                log_q = F.log_softmax(z, dim=-1)
                peers = sum(F.kl_div(log_q, targets[j], reduction="batchmean") for j in range(k) if j != i)
                losses.append(F.cross_entropy(z, y) + peers / (k - 1))
            sum(losses).backward()
            for opt in opts:
                opt.step()
            totals = [a + b.item() * len(y) for a, b in zip(totals, losses)]
            count += len(y)
        history.append([v / count for v in totals])
    for m in students:
        m.eval()
    return history
