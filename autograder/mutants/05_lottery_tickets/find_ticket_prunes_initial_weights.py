"""find_ticket ranks the weights after rewinding (the initial values) instead of the trained ones.

Caught by: find_ticket_records
           find_ticket_rewind_step
"""

# ruff: noqa: F821

import copy

import torch


def find_ticket(model_fn, train_fn, rounds, rate, rewind_step=0):
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
        raise ValueError(f"rounds must be an int >= 0, got {rounds!r}")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < 1:
        raise ValueError(f"rate must be a float in (0, 1), got {rate!r}")
    if isinstance(rewind_step, bool) or not isinstance(rewind_step, int) or rewind_step < 0:
        raise ValueError(f"rewind_step must be an int >= 0, got {rewind_step!r}")
    model = model_fn()
    masks = [torch.ones_like(p, dtype=torch.bool) for _, p in prunable(model)]
    if rewind_step > 0:
        train_fn(model, masks, steps=rewind_step)
    rewind_state = copy.deepcopy(model.state_dict())
    records = []
    for r in range(rounds + 1):
        if r > 0:
            rewind(model, rewind_state, masks)
            masks = imp_round([p.detach() for _, p in prunable(model)], masks, rate)
            rewind(model, rewind_state, masks)
        out = train_fn(model, masks)
        records.append({"round": r, "fraction_left": kept_fraction(masks), "test_acc": float(out["test_acc"]),
                        "early_stop_iter": int(out["early_stop_iter"]), "masks": [m.clone() for m in masks]})
    return records
