"""arch_params forgets the depthwise convolution's bias in separable blocks.

Caught by: arch_params_closed_form
"""

# ruff: noqa: F821




def arch_params(arch: dict, num_classes: int = 10) -> int:
    """Parameters of build_model(arch), biases included (separable: both of its convolutions have a bias)."""
    check_arch(arch)
    params = 9 * arch["stem"] + arch["stem"]
    c_in = arch["stem"]
    for b in arch["blocks"]:
        k, w = b["kernel"], b["width"]
        params += c_in * w * k * k + w if b["type"] == "conv" else c_in * k * k + c_in * w + w
        c_in = w
    return int(params + 16 * c_in * num_classes + num_classes)
