"""early_exit_predict runs every block on every sample and decides afterwards: right answers, nothing saved.

Caught by: early_exit_predict_skips_exited_samples
"""

# ruff: noqa: F821

import torch


def early_exit_predict(model, x, threshold, rule="maxprob"):
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    probs, h = [], x
    with torch.no_grad():
        for block, head in zip(model.blocks, model.exits):  # every block on the whole batch
            h = block(h)
            probs.append(torch.softmax(head(h), dim=1).double().numpy())
    pred, ex = exit_decisions(probs, threshold, rule)
    return torch.from_numpy(pred), torch.from_numpy(ex)
