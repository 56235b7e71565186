"""quantize_static quantizes and hooks the original model instead of a deep copy.

Caught by: quantize_static_copy_leaves_original
"""

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

    quantized = model  # the mistake: no copy
    for name, module in quant_layers(quantized):
        fake_quantize_weight_(module, bits)
        module.register_forward_pre_hook(quantize_input(scales[f"{name}.input"]))
        module.register_forward_hook(quantize_output(scales[f"{name}.output"]))
    return quantized
