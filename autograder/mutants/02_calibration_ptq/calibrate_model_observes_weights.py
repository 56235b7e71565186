"""calibrate_model's hooks feed the layer's weight to the input observer instead of the input activation.

Caught by: calibrate_model_mlp_max_over_batches
           calibrate_model_histogram_methods
           calibrate_model_conv_model
"""

import torch
from torch import nn

# The lab's other names (abs_values, qrange, symmetric_fake_quantize, ...) come from the namespace this
# file is executed in.
# ruff: noqa: F821


def calibrate_model(model: nn.Module, loader, method: str, **options) -> dict[str, float]:
    if method not in HistogramObserver.METHODS:
        raise ValueError(f"method must be one of {list(HistogramObserver.METHODS)}, got {method!r}")
    layers = quant_layers(model)
    if not layers:
        raise ValueError("model has no nn.Linear or nn.Conv2d layer to calibrate")
    observers = {f"{name}.{side}": HistogramObserver() for name, _ in layers for side in ("input", "output")}

    def observe(name: str):
        def hook(module, inputs, output):
            observers[f"{name}.input"].update(module.weight.detach().cpu().numpy())  # the mistake
            observers[f"{name}.output"].update(output.detach().cpu().numpy())
        return hook

    modes = {module: module.training for module in model.modules()}
    handles = [module.register_forward_hook(observe(name)) for name, module in layers]
    batches = 0
    try:
        model.eval()
        device = next(model.parameters()).device
        with torch.no_grad():
            for x, _ in loader:
                model(x.to(device))
                batches += 1
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.training = training
    if batches == 0:
        raise ValueError("loader yielded no batch: there is nothing to calibrate on")
    return {key: observer.threshold(method, **options) for key, observer in observers.items()}
