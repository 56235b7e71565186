"""prepare_qat replaces the layers of the model it is given instead of a copy, and ignores keep_first_last.

Caught by: prepare_qat_copy_and_keep_first_last
"""

# ruff: noqa: F821

from torch import nn


def prepare_qat(model, bits_w, bits_a, keep_first_last=False):
    check_bits("bits_w", bits_w)
    check_bits("bits_a", bits_a)
    names = [n for n, m in model.named_modules() if type(m) in (nn.Linear, nn.Conv2d)]
    for name in names:
        m = model.get_submodule(name)
        if isinstance(m, nn.Linear):
            q = QuantLinear(m.in_features, m.out_features, m.bias is not None, bits_w, bits_a)
        else:
            q = QuantConv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                            m.bias is not None, bits_w, bits_a)
        q.load_state_dict(m.state_dict(), strict=False)
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, q)
    return model
