"""prepare_qat replaces only the model's direct children, missing layers nested in submodules.

Caught by: prepare_qat_nested_modules
"""

# ruff: noqa: F821

import copy

from torch import nn


def prepare_qat(model, bits_w, bits_a, keep_first_last=False):
    check_bits("bits_w", bits_w)
    check_bits("bits_a", bits_a)
    model = copy.deepcopy(model)
    names = [n for n, m in model.named_children() if type(m) in (nn.Linear, nn.Conv2d)]
    if keep_first_last:
        names = names[1:-1]
    for name in names:
        m = getattr(model, name)
        if isinstance(m, nn.Linear):
            q = QuantLinear(m.in_features, m.out_features, m.bias is not None, bits_w, bits_a)
        else:
            q = QuantConv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                            m.bias is not None, bits_w, bits_a)
        q.load_state_dict(m.state_dict(), strict=False)
        q.train(m.training)
        setattr(model, name, q)
    return model
