"""Zero padding of 2p added after the image only, instead of p on each side.

Caught by: conv2d_stride_and_padding
"""

import numpy as np


def conv2d(x, w, b=None, stride: int = 1, padding: int = 0, groups: int = 1) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n, c_in, h, wd = x.shape
    c_out, c_per, kh, kw = w.shape
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide C_in={c_in} and C_out={c_out}")
    if c_per != c_in // groups:
        raise ValueError(f"w has {c_per} input channels, expected C_in / groups = {c_in // groups}")
    xp = np.pad(x, ((0, 0), (0, 0), (0, 2 * padding), (0, 2 * padding)))  # the mistake
    h_out = (h + 2 * padding - kh) // stride + 1
    w_out = (wd + 2 * padding - kw) // stride + 1
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    win = win[:, :, :h_out, :w_out]
    out_per = c_out // groups
    outs = []
    for g in range(groups):
        cols = win[:, g * c_per:(g + 1) * c_per]
        cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n, cols.shape[2], cols.shape[3], c_per * kh * kw)
        kern = w[g * out_per:(g + 1) * out_per].reshape(out_per, -1)
        outs.append(cols @ kern.T)
    y = np.concatenate(outs, axis=-1).transpose(0, 3, 1, 2)
    if b is not None:
        y = y + np.asarray(b, dtype=np.float64).reshape(1, -1, 1, 1)
    return np.ascontiguousarray(y)
