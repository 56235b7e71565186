"""The separable convolution stops after the depthwise step.

Caught by: separable_conv2d_is_depthwise_then_pointwise
"""

import numpy as np


def separable_conv2d(x, w_dw, w_pw, b_dw=None, b_pw=None, stride=1, padding=0) -> np.ndarray:
    return depthwise_conv2d(x, w_dw, b_dw, stride=stride, padding=padding)  # noqa: F821 - the mistake: no pointwise step
