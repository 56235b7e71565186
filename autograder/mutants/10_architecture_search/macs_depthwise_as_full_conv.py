"""arch_macs counts the depthwise step of a separable block as a full c_in x c_in convolution.

Caught by: arch_macs_closed_form
"""

# ruff: noqa: F821




def arch_macs(arch: dict, num_classes: int = 10) -> int:
    """MACs of build_model(arch) for one image: stem at 8x8, blocks at 4x4 (separable: depthwise + pointwise), head."""
    check_arch(arch)
    macs = 9 * arch["stem"] * 64
    c_in = arch["stem"]
    for b in arch["blocks"]:
        k, w = b["kernel"], b["width"]
        macs += (c_in * w * k * k if b["type"] == "conv" else c_in * c_in * k * k + c_in * w) * 16
        c_in = w
    return int(macs + 16 * c_in * num_classes)
