"""quantize_static fake-quantizes each weight with one scale per tensor instead of one per output channel.

Caught by: quantize_static_mlp_outputs
           quantize_static_weights_and_biases
"""

import copy

import numpy as np
import torch
from torch import nn

# The lab's other names (abs_values, qrange, symmetric_fake_quantize, ...) come from the namespace this
# file is executed in.
# ruff: noqa: F821


def quantize_static(model: nn.Module, thresholds: dict[str, float], bits: int) -> nn.Module:
    qmin, qmax = qrange(bits, signed=True, narrow=True)
    scales = {}
    for name, _ in quant_layers(model):
        for key in (f"{name}.input", f"{name}.output"):
            if key not in thresholds:
                raise ValueError(f"thresholds has no entry {key!r}: calibrate this model first")
            scales[key] = symmetric_scale(thresholds[key], bits)

    def quantize_input(scale: float):
        return lambda module, inputs: (torch.fake_quantize_per_tensor_affine(inputs[0], scale, 0, qmin, qmax),)

    def quantize_output(scale: float):
        return lambda module, inputs, output: torch.fake_quantize_per_tensor_affine(output, scale, 0, qmin, qmax)

    quantized = copy.deepcopy(model)
    for name, module in quant_layers(quantized):
        w = module.weight.detach().cpu().numpy()  # the mistake: one scale for the whole tensor
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(symmetric_fake_quantize(w, float(np.abs(w).max()), bits)))
        module.register_forward_pre_hook(quantize_input(scales[f"{name}.input"]))
        module.register_forward_hook(quantize_output(scales[f"{name}.output"]))
    return quantized
