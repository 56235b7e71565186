"""early_exit_predict always applies the maximum-probability test, even when asked for the entropy rule.

Caught by: early_exit_predict_entropy_rule
"""

# ruff: noqa: F821


import torch


def early_exit_predict(model: MultiExitMLP, x: torch.Tensor, threshold: float,
                       rule: str = "maxprob") -> tuple[torch.Tensor, torch.Tensor]:
    """(predictions int64 (N,), exit index int64 (N,)); block i runs only on the samples that did not leave before.

    Raises ValueError naming rule if it is not "maxprob" or "entropy".
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    n = x.shape[0]
    predictions = torch.zeros(n, dtype=torch.int64)
    exit_index = torch.zeros(n, dtype=torch.int64)
    left = torch.arange(n)
    h = x
    last = len(model.blocks) - 1
    with torch.no_grad():
        for i, (block, head) in enumerate(zip(model.blocks, model.exits)):
            if left.numel() == 0:
                break
            h = block(h)
            probs = torch.softmax(head(h), dim=1)
            if i == last:
                leave = torch.ones(left.numel(), dtype=torch.bool)
            elif True:
                leave = probs.max(dim=1).values >= threshold
            else:
                leave = torch.from_numpy(entropy(probs.double().numpy(), axis=1) <= threshold)
            predictions[left[leave]] = probs[leave].argmax(dim=1)
            exit_index[left[leave]] = i
            left, h = left[~leave], h[~leave]
    return predictions, exit_index
