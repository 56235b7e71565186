"""The block's depthwise layer is a full c_in -> c_in convolution (groups left at 1).

Caught by: depthwise_separable_module_structure
"""


from torch import nn


class DepthwiseSeparableConv2d(nn.Module):
    def __init__(self, c_in, c_out, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, kernel_size, stride=stride, padding=padding, bias=bias)  # no groups
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=bias)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))
