"""SuperNet cuts the last channels of each weight instead of the first.

Caught by: supernet_shares_first_channels_and_kernel_centre
"""

# ruff: noqa: F821


import torch
import torch.nn.functional as F
from torch import nn


class SuperNet(nn.Module):
    """Weights of the largest network of each type per block; forward runs the active sub-network."""

    def __init__(self, space: dict, num_classes: int = 10):
        super().__init__()
        check_space(space)
        self.space = space
        stem, wmax, kmax = space["stem"], max(space["widths"]), max(space["kernels"])
        self.stem = nn.Conv2d(1, stem, 3, padding=1)
        self.conv, self.depthwise, self.pointwise = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for i in range(max(space["depths"])):
            c_in = stem if i == 0 else wmax
            self.conv.append(nn.Conv2d(c_in, wmax, kmax, padding=kmax // 2))
            self.depthwise.append(nn.Conv2d(c_in, c_in, kmax, padding=kmax // 2, groups=c_in))
            self.pointwise.append(nn.Conv2d(c_in, wmax, 1))
        self.head = nn.Linear(16 * wmax, num_classes)
        self.active = None

    def _cut(self, i: int, block: dict, c_in: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """[(weight, bias), ...] of block i of the sub-network: one convolution, or depthwise then pointwise."""
        k, w = block["kernel"], block["width"]
        s = (max(self.space["kernels"]) - k) // 2
        if block["type"] == "conv":
            conv = self.conv[i]
            return [(conv.weight[-w:, -c_in:, s:s + k, s:s + k], conv.bias[-w:])]
        dw, pw = self.depthwise[i], self.pointwise[i]
        return [(dw.weight[-c_in:, :, s:s + k, s:s + k], dw.bias[-c_in:]), (pw.weight[-w:, -c_in:], pw.bias[-w:])]

    def set_active(self, arch: dict) -> None:
        """Make `arch` the sub-network that forward runs."""
        check_arch(arch)
        if len(arch["blocks"]) > max(self.space["depths"]) or arch["stem"] != self.space["stem"] or any(
                b["width"] > max(self.space["widths"]) or b["kernel"] > max(self.space["kernels"])
                for b in arch["blocks"]):
            raise ValueError(f"arch does not fit in this supernet: {arch!r}")
        self.active = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.active is None:
            raise RuntimeError("call set_active(arch) before forward")
        h = F.max_pool2d(F.relu(self.stem(x.reshape(-1, 1, 8, 8))), 2)
        c_in = self.space["stem"]
        for i, block in enumerate(self.active["blocks"]):
            pad = block["kernel"] // 2
            cut = self._cut(i, block, c_in)
            if block["type"] == "conv":
                h = F.conv2d(h, *cut[0], padding=pad)
            else:
                h = F.conv2d(F.conv2d(h, *cut[0], padding=pad, groups=c_in), *cut[1])
            h = F.relu(h)
            c_in = block["width"]
        return F.linear(h.flatten(1), self.head.weight[:, :16 * c_in], self.head.bias)

    def extract(self, arch: dict) -> nn.Sequential:
        """build_model(arch) holding copies of the weights this supernet uses for arch."""
        self.set_active(arch)
        model = build_model(arch, self.head.out_features)
        with torch.no_grad():
            model[1].weight.copy_(self.stem.weight)
            model[1].bias.copy_(self.stem.bias)
            c_in = arch["stem"]
            for i, block in enumerate(arch["blocks"]):
                layer = model[4 + 2 * i]
                convs = [layer] if block["type"] == "conv" else [layer.depthwise, layer.pointwise]
                for conv, (w, b) in zip(convs, self._cut(i, block, c_in)):
                    conv.weight.copy_(w)
                    conv.bias.copy_(b)
                c_in = block["width"]
            model[-1].weight.copy_(self.head.weight[:, :16 * c_in])
            model[-1].bias.copy_(self.head.bias)
        return model
