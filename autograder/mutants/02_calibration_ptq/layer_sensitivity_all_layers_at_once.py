"""layer_sensitivity quantizes every layer in one copy and reports the same drop for each layer.

Caught by: layer_sensitivity_mlp
           layer_sensitivity_one_layer_per_copy
"""

import copy

from torch import nn

# The lab's other names (abs_values, qrange, symmetric_fake_quantize, ...) come from the namespace this
# file is executed in.
# ruff: noqa: F821


def layer_sensitivity(model: nn.Module, eval_fn, bits: int) -> dict[str, float]:
    qrange(bits, signed=True)
    if not callable(eval_fn):
        raise ValueError(f"eval_fn must be a callable that takes a model, got {type(eval_fn).__name__}")
    names = [name for name, _ in quant_layers(model)]
    if not names:
        raise ValueError("model has no nn.Linear or nn.Conv2d layer")
    baseline = float(eval_fn(model))
    drops = {}
    probe = copy.deepcopy(model)  # the mistake: every layer at once
    for name in names:
        fake_quantize_weight_(probe.get_submodule(name), bits)
    drop = baseline - float(eval_fn(probe))
    for name in names:
        drops[name] = drop
    return drops
