"""remove_channels rebuilds the convolutions with default stride, padding and dilation.

Caught by: remove_channels_copies_settings
           remove_channels_equals_masked_convs
"""

# ruff: noqa: F821

import torch
from torch import nn


def remove_channels(conv1, conv2, keep):
    if conv1.groups != 1 or conv2.groups != 1:
        raise ValueError("conv1 and conv2 must have groups=1")
    if conv2.in_channels != conv1.out_channels:
        raise ValueError(f"conv2 takes {conv2.in_channels} channels, conv1 gives {conv1.out_channels}")
    idx = torch.from_numpy(keep_indices(keep, conv1.out_channels))
    new1 = nn.Conv2d(conv1.in_channels, len(idx), conv1.kernel_size, bias=conv1.bias is not None)
    new2 = nn.Conv2d(len(idx), conv2.out_channels, conv2.kernel_size, bias=conv2.bias is not None)
    with torch.no_grad():
        new1.weight.copy_(conv1.weight[idx])
        if conv1.bias is not None:
            new1.bias.copy_(conv1.bias[idx])
        new2.weight.copy_(conv2.weight[:, idx])
        if conv2.bias is not None:
            new2.bias.copy_(conv2.bias)
    return new1, new2
