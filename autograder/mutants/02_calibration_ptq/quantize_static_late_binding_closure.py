"""quantize_static's hooks look their scale up by the loop variable, so every layer uses the last layer's.

Caught by: quantize_static_mlp_outputs
           quantize_static_conv_model
"""

import copy

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
        fake_quantize_weight_(module, bits)
        module.register_forward_pre_hook(lambda m, inputs: (torch.fake_quantize_per_tensor_affine(
            inputs[0], scales[f"{name}.input"], 0, qmin, qmax),))  # noqa: B023 - the mistake: name is read late
        module.register_forward_hook(lambda m, inputs, output: torch.fake_quantize_per_tensor_affine(
            output, scales[f"{name}.output"], 0, qmin, qmax))  # noqa: B023
    return quantized
