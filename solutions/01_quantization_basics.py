# %% [markdown]
# # Lab 1: Quantization basics
#
# In this lab you build, in NumPy, the pieces every quantizer is made of, and then use them to shrink a trained
# network to a few bits per weight:
#
# | task | you write | checked against |
# |---|---|---|
# | 1 | `qrange`: the integer range of a `bits`-bit code | `torch.iinfo` |
# | 2 | `affine_qparams`: scale and zero point of an asymmetric range | `MinMaxObserver` |
# | 3 | `symmetric_scale`: the scale of a symmetric range | `MinMaxObserver` (symmetric) |
# | 4 | `quantize`, `dequantize`: real numbers to integer codes and back | hand-checked values |
# | 5 | `fake_quantize`: quantize then dequantize | `torch.fake_quantize_per_tensor_affine` / `_per_channel_affine` |
# | 6 | `per_channel_qparams`: a scale per slice along any axis, symmetric or not | `PerChannelMinMaxObserver` |
# | 7 | `stochastic_quantize`: unbiased random rounding onto the affine grid | its expectation |
# | 8 | `round_mantissa`: round float32 to m mantissa bits (bfloat16 and beyond) | `tensor.to(torch.bfloat16)` |
# | 9 | `log2_quantize`: power-of-two quantization | hand-checked values |
# | 10 | `sqnr_db`: signal-to-quantization-noise ratio | a value known exactly |
# | 11 | `fake_quantize_weights_`: weight-only quantization of a PyTorch model | `torch.fake_quantize_*` |
#
# Then you use your own functions on a LeNet-300-100 trained on handwritten digits: accuracy against bits for
# per-tensor and per-channel scales, what a single outlier weight does to a per-tensor scale, number formats compared
# by SQNR, and whether stochastic rounding is a good way to store weights. Four written questions are answered from
# your plots and tables.
#
# **How to check your work.** Every task ends in a check cell: run it. It tests a few small, hand-checkable cases and,
# where PyTorch has the same operation, compares your result with PyTorch's; a failure says what was expected, what
# came back and the likely mistake. Most results must match PyTorch *bit for bit* (`compare` prints `exact`,
# `max |diff| = 0`), because they compute the same float32 operations in the same order; scales may differ from
# PyTorch's by a relative 1e-6, because PyTorch computes them in float32 and you in float64. The autograder runs the
# same checks and hidden tests with other inputs, edge cases and error cases, so make each function follow its
# docstring exactly, including the `ValueError`s, whose message must name the bad argument.
#
# The cells tagged `slow` (training and plots) are skipped when grading, but run them: they are where you see your
# code compress a real model. The whole notebook runs in well under a minute on a laptop CPU.

# %%
import copy

import numpy as np
import torch
from torch import nn
from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver

from compresslab import check_raises, compare, progress, seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.measure import size_bytes
from compresslab.models import digits_cnn, lenet_300_100, mlp
from compresslab.plot import new_axes
from compresslab.train import evaluate, fit

FP32_EPS = float(np.finfo(np.float32).eps)  # 1.1920929e-07: the smallest scale PyTorch's observers return


# %% [markdown]
# ## Task 1: integer ranges
#
# A `bits`-bit integer code has $2^b$ values. Unsigned codes cover $[0,\ 2^b-1]$ and two's-complement signed codes
# cover $[-2^{b-1},\ 2^{b-1}-1]$. The signed range is lopsided (int8 has $-128$ but no $+128$), so symmetric
# quantizers often use the **narrow** range, which drops the lowest code:
#
# | | full | narrow |
# |---|---|---|
# | unsigned | $[0,\ 2^b-1]$ | $[1,\ 2^b-1]$ |
# | signed | $[-2^{b-1},\ 2^{b-1}-1]$ | $[-(2^{b-1}-1),\ 2^{b-1}-1]$ |
#
# Write `qrange`. `bits` must be an integer (a Python `int` or a NumPy integer, but not a `bool`, which Python counts
# as an `int`) from 2 to 16; anything else raises `ValueError` with a message that names `bits` and the allowed range,
# for example `bits must be an int between 2 and 16, got 1`. `signed` and `narrow` must be bools. Return Python ints.

# %%
def qrange(bits: int, signed: bool, narrow: bool = False) -> tuple[int, int]:
    """Integer range [qmin, qmax] of a `bits`-bit code.

    Inputs:
    - bits: number of bits, an int (Python or NumPy integer, not bool) in 2..16.
    - signed: True for two's-complement codes, False for unsigned codes.
    - narrow: True drops the lowest code: [-(2^(b-1) - 1), 2^(b-1) - 1] when signed, [1, 2^b - 1] when unsigned.

    Returns:
    - (qmin, qmax): a tuple of two Python ints, qmin < qmax.

    Raises:
    - ValueError if bits is not an int in 2..16, or if signed or narrow is not a bool.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 1: validate bits (int, not bool, 2..16) and the flags; return the pair per case.
    if isinstance(bits, (bool, np.bool_)) or not isinstance(bits, (int, np.integer)) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an int between 2 and 16, got {bits!r}")
    for name, flag in (("signed", signed), ("narrow", narrow)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {flag!r}")
    bits = int(bits)
    if signed:
        qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    else:
        qmin, qmax = 0, 2**bits - 1
    return (qmin + 1 if narrow else qmin), qmax
    ### END SOLUTION


# %%
for signed in (False, True):
    for narrow in (False, True):
        print(f"bits=8 signed={signed!s:<5} narrow={narrow!s:<5} -> {qrange(8, signed, narrow)}")

expected = {(False, False): (0, 255), (False, True): (1, 255), (True, False): (-128, 127), (True, True): (-127, 127)}
for (signed, narrow), pair in expected.items():
    got = qrange(8, signed, narrow)
    assert got == pair, f"qrange(8, signed={signed}, narrow={narrow}): expected {pair}, got {got}"
for dtype, signed in ((torch.uint8, False), (torch.int8, True), (torch.int16, True), (torch.uint16, False)):
    info = torch.iinfo(dtype)
    got = qrange(info.bits, signed)
    assert got == (info.min, info.max), f"qrange({info.bits}, {signed}): expected {(info.min, info.max)}, got {got}"
assert qrange(2, True) == (-2, 1), f"2-bit signed is [-2, 1], got {qrange(2, True)}: is the sign bit counted in bits?"
assert all(type(v) is int for v in qrange(np.int64(4), True)), "return Python ints (int(...)), not NumPy integers"
for bad in (1, 17, 8.0, True):
    check_raises(qrange, bad, True, names="bits")
check_raises(qrange, 8, "yes", names="signed")

# %% [markdown]
# ## Task 2: affine (asymmetric) quantization parameters
#
# Affine quantization maps a real interval onto the integer range $[q_{min}, q_{max}]$ with a **scale** $s$ (the real
# size of one integer step) and an integer **zero point** $z$ (the code that stands for the real number 0):
# $x \approx (q - z)\, s$. Zero must be exactly representable (zero padding, ReLU outputs, pruned weights), so the
# observed range $[x_{min}, x_{max}]$ is first widened to include it:
#
# $$x^-=\min(x_{min}, 0),\qquad x^+=\max(x_{max}, 0),\qquad
# s = \max\!\Big(\frac{x^+ - x^-}{q_{max}-q_{min}},\ \varepsilon\Big),\qquad
# z = \operatorname{clamp}\!\Big(q_{min} - \operatorname{round}\big(x^-/s\big),\ q_{min},\ q_{max}\Big)$$
#
# where $(q_{min}, q_{max})$ = `qrange(bits, signed)` (full range) and $\varepsilon$ = `FP32_EPS`, the float32 machine
# epsilon, which keeps an all-zero input from giving $s = 0$. $\operatorname{round}$ is round-half-to-even, as in
# PyTorch: `np.rint`, `np.round` and Python's `round` do it; `np.floor(v + 0.5)` and `int(v)` do not.
# This is exactly what PyTorch's `MinMaxObserver` computes for `qscheme=torch.per_tensor_affine`.
#
# Edge cases: `x_min > x_max` or a non-finite bound raises `ValueError` naming `x_min`/`x_max`; bad `bits` raises
# as in Task 1 (call your `qrange`). Return `(float(scale), int(zero_point))`.

# %%
def affine_qparams(x_min: float, x_max: float, bits: int = 8, signed: bool = False) -> tuple[float, int]:
    """Scale and zero point that map [x_min, x_max] (widened to include 0) onto qrange(bits, signed).

    Inputs:
    - x_min, x_max: real numbers (Python or NumPy scalars), finite, x_min <= x_max.
    - bits: int in 2..16.
    - signed: False for the unsigned range [0, 2^b - 1], True for [-2^(b-1), 2^(b-1) - 1].

    Returns:
    - scale: Python float, (max(x_max, 0) - min(x_min, 0)) / (qmax - qmin), at least FP32_EPS.
    - zero_point: Python int in [qmin, qmax], the code of the real number 0.

    Raises:
    - ValueError if a bound is not a finite real number, if x_min > x_max, or if bits/signed are invalid.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 2: check the bounds, widen them to include 0, then scale and zero point.
    bounds = {"x_min": x_min, "x_max": x_max}
    for name, value in bounds.items():
        if np.ndim(value) != 0 or np.asarray(value).dtype.kind not in "iuf" or not np.isfinite(value):
            raise ValueError(f"{name} must be a finite real number, got {value!r}")
    x_min, x_max = float(x_min), float(x_max)
    if x_min > x_max:
        raise ValueError(f"x_min must be <= x_max, got x_min={x_min}, x_max={x_max}")
    qmin, qmax = qrange(bits, signed)
    min_neg, max_pos = min(x_min, 0.0), max(x_max, 0.0)
    scale = max((max_pos - min_neg) / (qmax - qmin), FP32_EPS)
    zero_point = qmin - int(np.rint(min_neg / scale))
    return scale, min(max(zero_point, qmin), qmax)
    ### END SOLUTION


# %%
scale, zero_point = affine_qparams(-1.0, 3.0)
print(f"[-1, 3], uint8: scale = {scale:.6f} (4/255), zero_point = {zero_point}")
assert abs(scale - 4 / 255) < 1e-12 and zero_point == 64, (
    f"expected (4/255, 64), got ({scale}, {zero_point}): s = (max - min) / (qmax - qmin), z = qmin - round(min / s)")
assert isinstance(scale, float) and type(zero_point) is int, "return (Python float, Python int)"

for bits, signed, torch_dtype in ((8, False, torch.quint8), (8, True, torch.qint8), (4, False, torch.quint8)):
    qmin, qmax = qrange(bits, signed)
    observer = MinMaxObserver(dtype=torch_dtype, qscheme=torch.per_tensor_affine, quant_min=qmin, quant_max=qmax)
    observer(torch.tensor([-0.7, 0.2, 2.9]))
    ref_scale, ref_zp = observer.calculate_qparams()
    scale, zero_point = affine_qparams(-0.7, 2.9, bits, signed)
    compare(f"scale, {bits}-bit signed={signed}, vs MinMaxObserver", scale, ref_scale.item())
    assert abs(scale / ref_scale.item() - 1) < 1e-6, f"scale {scale} differs from PyTorch's {ref_scale.item()}"
    assert zero_point == ref_zp.item(), f"zero point: PyTorch gives {ref_zp.item()}, you gave {zero_point}"

scale, zero_point = affine_qparams(2.0, 5.0)
assert zero_point == 0 and abs(scale - 5 / 255) < 1e-12, (
    f"[2, 5] must be widened to [0, 5]: expected (5/255, 0), got ({scale}, {zero_point})")
scale, zero_point = affine_qparams(0.0, 0.0)
assert scale == FP32_EPS and zero_point == 0, f"all zeros: expected (FP32_EPS, 0), got ({scale}, {zero_point})"
scale, zero_point = affine_qparams(-3.0, 3.0, bits=2)  # scale 2, x-/s = -1.5: a tie
assert zero_point == 2, f"round(-1.5) is -2 (half to even), so z = 0 - (-2) = 2; got {zero_point}: floor(v + 0.5)?"
check_raises(affine_qparams, 1.0, -1.0, names="x_min")
check_raises(affine_qparams, 0.0, float("nan"), names="x_max")
check_raises(affine_qparams, -1.0, 1.0, bits=1, names="bits")

# %% [markdown]
# ## Task 3: symmetric scale
#
# Weights are roughly symmetric around zero, and a zero point of 0 removes the cross terms $z\sum_k q_k$ from an
# integer matrix product, so weights are usually quantized **symmetrically**: zero point 0 and the narrow signed range
# $[-(2^{b-1}-1),\ 2^{b-1}-1]$, which uses the same number of levels on each side. A clipping threshold $t$ (for
# example $\max|w|$) is mapped onto the largest level:
#
# $$s = \max\!\Big(\frac{t}{2^{b-1}-1},\ \varepsilon\Big)$$
#
# PyTorch's symmetric observer computes $\max|x| / ((q_{max}-q_{min})/2)$; with `quant_min=-127, quant_max=127` that
# is the same $t/127$ (on the full range $[-128, 127]$ it would be $t/127.5$).
#
# Edge cases: $t = 0$ gives $\varepsilon$; a negative or non-finite `threshold` raises `ValueError` naming
# `threshold`; bad `bits` raises as in Task 1. Return a Python float.

# %%
def symmetric_scale(threshold: float, bits: int = 8) -> float:
    """Scale that maps [-threshold, threshold] onto the narrow signed range [-(2^(b-1) - 1), 2^(b-1) - 1].

    Inputs:
    - threshold: finite real number >= 0, the real value that maps to the largest level (often max |w|).
    - bits: int in 2..16.

    Returns:
    - scale: Python float, threshold / (2^(b-1) - 1), at least FP32_EPS. The zero point is 0.

    Raises:
    - ValueError if threshold is negative, non-finite or not a real number, or if bits is invalid.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 3: check bits and threshold, then divide by the largest narrow signed level.
    _, qmax = qrange(bits, signed=True, narrow=True)
    if (np.ndim(threshold) != 0 or np.asarray(threshold).dtype.kind not in "iuf" or not np.isfinite(threshold)
            or threshold < 0):
        raise ValueError(f"threshold must be a finite real number >= 0, got {threshold!r}")
    return max(float(threshold) / qmax, FP32_EPS)
    ### END SOLUTION


# %%
assert symmetric_scale(127.0) == 1.0, f"127 over 127 levels is a scale of 1, got {symmetric_scale(127.0)}"
assert symmetric_scale(7.0, bits=4) == 1.0, f"4 bits: levels -7..7, so t = 7 gives 1; got {symmetric_scale(7.0, 4)}"
assert symmetric_scale(0.0) == FP32_EPS, f"threshold 0 must give FP32_EPS, got {symmetric_scale(0.0)}"
for bits in (2, 4, 8):
    qmin, qmax = qrange(bits, signed=True, narrow=True)
    observer = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric, quant_min=qmin, quant_max=qmax)
    observer(torch.tensor([-2.5, 0.3, 1.0]))
    ref_scale = observer.calculate_qparams()[0].item()
    compare(f"symmetric scale, {bits} bits, vs MinMaxObserver", symmetric_scale(2.5, bits), ref_scale)
    assert abs(symmetric_scale(2.5, bits) / ref_scale - 1) < 1e-6, (
        f"{bits} bits: PyTorch gives {ref_scale}, you gave {symmetric_scale(2.5, bits)}: divide by 2^(b-1) - 1")
check_raises(symmetric_scale, -1.0, names="threshold")
check_raises(symmetric_scale, float("inf"), names="threshold")
check_raises(symmetric_scale, 1.0, bits=17, names="bits")

# %% [markdown]
# ## Task 4: quantize and dequantize
#
# $$q = \operatorname{clamp}\big(\operatorname{round}(x \cdot s^{-1}) + z,\ q_{min},\ q_{max}\big),
# \qquad \hat x = (q - z)\, s$$
#
# `quantize` returns int32 codes; `dequantize` maps codes back to float32 reals. To agree with PyTorch bit for bit,
# do what its kernel does: cast `x` to float32, compute the reciprocal in float32,
# `inv_scale = np.float32(1) / np.float32(scale)`, multiply in float32, round half to even (`np.rint`), add the zero
# point, clamp. `x / scale` or a float64 reciprocal differs from PyTorch at ties, by one code. In `dequantize`, take
# `q - zero_point` in int64, cast it to float32 and multiply by `np.float32(scale)`.
#
# `scale` and `zero_point` may be scalars or arrays that broadcast against `x` (one per channel, Task 6); the result
# has the shape of `x`. Values beyond the range saturate at $q_{min}$ or $q_{max}$, $\pm\infty$ included.
#
# Raise `ValueError`, naming the argument, when: `x` is not real numbers (complex, bool, strings) or contains NaN;
# `qmin`/`qmax` are not ints or `qmin >= qmax`; any `scale` is not finite or not positive (a float32 scale must also
# be at least the smallest normal float32, about 1.2e-38, or its reciprocal overflows); `zero_point` is not of an
# integer type or lies outside $[q_{min}, q_{max}]$; `scale` or `zero_point` does not broadcast to the shape of `x`.
# In `dequantize`, `q` must have an integer dtype.

# %%
def quantize(x, scale, zero_point, qmin, qmax) -> np.ndarray:
    """Affine quantization of x to integer codes, exactly as PyTorch's fake-quantize kernels round.

    Inputs:
    - x: array-like of real numbers, any shape S; cast to float32.
    - scale: positive finite float, or an array broadcastable to S (per-channel scales); used as float32.
    - zero_point: int, or an integer array broadcastable to S, each in [qmin, qmax].
    - qmin, qmax: ints, qmin < qmax, within int32.

    Returns:
    - q: np.ndarray of dtype int32 and shape S,
      clamp(round_half_even(x * (1 / scale)) + zero_point, qmin, qmax) with the product in float32.

    Raises:
    - ValueError if x is not real-valued or has NaN, qmin >= qmax, a scale is not finite and positive,
      a zero point is not an integer in [qmin, qmax], or scale / zero_point do not broadcast to x's shape.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 4: validate; x * float32 reciprocal (float32), np.rint, add z, clip, int32.
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"x must hold real numbers (an integer or float dtype), got dtype {x.dtype}")
    x = x.astype(np.float32)
    if np.isnan(x).any():
        raise ValueError("x contains NaN, which has no integer code")
    for name, value in (("qmin", qmin), ("qmax", qmax)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an int, got {value!r}")
    if not -(2**31) <= qmin < qmax <= 2**31 - 1:
        raise ValueError(f"qmin must be < qmax, both within int32, got qmin={qmin}, qmax={qmax}")
    scale = np.asarray(scale)
    if scale.dtype.kind not in "iuf":
        raise ValueError(f"scale must be a real number or array, got dtype {scale.dtype}")
    scale = scale.astype(np.float32)
    if not (np.isfinite(scale) & (scale >= np.finfo(np.float32).tiny)).all():
        raise ValueError(f"scale must be finite and positive (at least {np.finfo(np.float32).tiny:.3g}), got {scale}")
    zero_point = np.asarray(zero_point)
    if zero_point.dtype.kind not in "iu":
        raise ValueError(f"zero_point must be an int or an integer array, got dtype {zero_point.dtype}")
    if ((zero_point < qmin) | (zero_point > qmax)).any():
        raise ValueError(f"zero_point must lie in [qmin, qmax] = [{qmin}, {qmax}], got {zero_point}")
    try:
        shape = np.broadcast_shapes(x.shape, scale.shape, zero_point.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ValueError(f"scale {scale.shape} and zero_point {zero_point.shape} must broadcast to x's shape {x.shape}")
    inv_scale = np.float32(1) / scale
    with np.errstate(over="ignore"):
        codes = np.rint(x * inv_scale)  # float32; may overflow to +-inf, which the clip below saturates
    zero_point = zero_point.astype(np.int64)
    codes = np.clip(codes, qmin - zero_point, qmax - zero_point)  # clamp before the cast: huge values cannot overflow
    return (codes.astype(np.int64) + zero_point).astype(np.int32)
    ### END SOLUTION


def dequantize(q, scale, zero_point) -> np.ndarray:
    """Map integer codes back to reals: (q - zero_point) * scale, in float32.

    Inputs:
    - q: array-like of an integer dtype, any shape S.
    - scale: positive finite float, or an array broadcastable to S; used as float32.
    - zero_point: int, or an integer array broadcastable to S.

    Returns:
    - x_hat: np.ndarray of dtype float32 and shape S, float32(q - zero_point) * float32(scale).

    Raises:
    - ValueError if q is not of an integer dtype, a scale is not finite and positive, a zero point is not an
      integer, or scale / zero_point do not broadcast to q's shape.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 4: validate, then float32(q - zero_point) * float32(scale).
    q = np.asarray(q)
    if q.dtype.kind not in "iu":
        raise ValueError(f"q must be integer codes (an integer dtype), got dtype {q.dtype}")
    scale = np.asarray(scale)
    if scale.dtype.kind not in "iuf":
        raise ValueError(f"scale must be a real number or array, got dtype {scale.dtype}")
    scale = scale.astype(np.float32)
    if not (np.isfinite(scale) & (scale > 0)).all():
        raise ValueError(f"scale must be finite and positive, got {scale}")
    zero_point = np.asarray(zero_point)
    if zero_point.dtype.kind not in "iu":
        raise ValueError(f"zero_point must be an int or an integer array, got dtype {zero_point.dtype}")
    try:
        shape = np.broadcast_shapes(q.shape, scale.shape, zero_point.shape)
    except ValueError:
        shape = None
    if shape != q.shape:
        raise ValueError(f"scale {scale.shape} and zero_point {zero_point.shape} must broadcast to q's shape {q.shape}")
    return (q.astype(np.int64) - zero_point.astype(np.int64)).astype(np.float32) * scale
    ### END SOLUTION


# %%
q = quantize([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5], scale=1.0, zero_point=0, qmin=-128, qmax=127)
print("ties at .5 ->", q.tolist())
assert q.tolist() == [0, 2, 2, 0, -2, -2, 4], (
    f"expected round-half-to-even [0, 2, 2, 0, -2, -2, 4], got {q.tolist()}: did you use np.floor(x + 0.5)?")
assert q.dtype == np.int32, f"quantize must return int32 codes, got {q.dtype}"
q = quantize([1000.0, -1000.0, np.inf], 1.0, 0, -128, 127)
assert q.tolist() == [127, -128, 127], f"values beyond the range saturate: expected [127, -128, 127], got {q.tolist()}"
q = quantize([0.0, 0.5, -1.0], scale=0.5, zero_point=10, qmin=0, qmax=255)
assert q.tolist() == [10, 11, 8], f"real 0 maps to the zero point: expected [10, 11, 8], got {q.tolist()}"
x_hat = dequantize(q, 0.5, 10)
assert x_hat.dtype == np.float32 and x_hat.tolist() == [0.0, 0.5, -1.0], (
    f"dequantize: expected float32 [0.0, 0.5, -1.0], got {x_hat.dtype} {x_hat.tolist()}: (q - z) * s")
q = quantize(np.array([[1.0, 1.0], [1.0, 1.0]]), scale=np.array([[0.5], [0.25]]), zero_point=0, qmin=0, qmax=15)
assert q.tolist() == [[2, 2], [4, 4]], f"one scale per row (shape (2, 1)): expected [[2, 2], [4, 4]], got {q.tolist()}"
ties_scale = np.float32(0.3)  # not a power of two: x / s and x * (1 / s) round some of these ties differently
ties = ((np.arange(-100, 100) + 0.5) * ties_scale).astype(np.float32)
expected = np.clip(np.rint(ties * (np.float32(1) / ties_scale)), -128, 127).astype(np.int32)
assert np.sum(np.rint(ties / ties_scale) != expected) > 0  # this input tells the two formulas apart
q = quantize(ties, ties_scale, 0, -128, 127)
assert np.array_equal(q, expected), (
    f"{np.sum(q != expected)} ties at scale 0.3 differ from rint(x * (1 / scale)) in float32: did you divide by scale?")
check_raises(quantize, [1.0], 1.0, 0, 5, 5, names="qmin")
check_raises(quantize, [1.0], -0.1, 0, 0, 255, names="scale")
check_raises(quantize, [1.0], 0.1, 300, 0, 255, names="zero_point")
check_raises(quantize, [1.0], 0.1, 3.0, 0, 255, names="zero_point")
check_raises(quantize, np.array([1 + 2j]), 0.1, 0, 0, 255, names="x")
check_raises(dequantize, np.array([1.5]), 0.1, 0, names="q")

# %% [markdown]
# ## Task 5: fake quantization, checked against PyTorch
#
# **Fake quantization** (quantize, then dequantize at once) keeps tensors in float32 but restricts them to the values
# the integer code can represent:
#
# $$\tilde x = \big(\operatorname{clamp}(\operatorname{round}(x/s)+z,\ q_{min},\ q_{max}) - z\big)\,s$$
#
# It is how quantization is simulated in training and how weight-only quantization is evaluated on a CPU. Write it
# from your two functions; the check compares it with `torch.fake_quantize_per_tensor_affine` and, with one scale per
# slice along axis 1, with `torch.fake_quantize_per_channel_affine`. Both must agree bit for bit, ties included.

# %%
def fake_quantize(x, scale, zero_point, qmin, qmax) -> np.ndarray:
    """Quantize then dequantize: the float32 value each element of x is represented by.

    Inputs:
    - x, scale, zero_point, qmin, qmax: as in quantize (scale and zero_point may broadcast per channel).

    Returns:
    - x_tilde: np.ndarray of dtype float32 and x's shape, dequantize(quantize(x, ...), scale, zero_point).

    Raises:
    - ValueError on the same bad arguments as quantize.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 5: compose your quantize and dequantize.
    return dequantize(quantize(x, scale, zero_point, qmin, qmax), scale, zero_point)
    ### END SOLUTION


# %%
rng = np.random.default_rng(0)
x = rng.normal(size=(4, 6, 5)).astype(np.float32)
x[0, 0, :3] = np.array([0.5, 1.5, 2.5], np.float32) * 0.03125  # exact ties at a power-of-two scale
ours = fake_quantize(x, 0.03125, 3, -128, 127)
ref = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), 0.03125, 3, -128, 127).numpy()
assert compare("fake_quantize vs torch, per tensor", ours, ref) == 0, "per-tensor result must equal PyTorch's exactly"
assert ours.dtype == np.float32 and ours.shape == x.shape, f"expected float32 {x.shape}, got {ours.dtype} {ours.shape}"
ties = ((np.arange(-100, 100) + 0.5) * np.float32(0.3)).astype(np.float32)  # ties where x / s and x * (1 / s) differ
ref = torch.fake_quantize_per_tensor_affine(torch.from_numpy(ties), 0.3, 0, -128, 127).numpy()
assert compare("fake_quantize vs torch, ties at scale 0.3", fake_quantize(ties, 0.3, 0, -128, 127), ref) == 0, (
    "ties at scale 0.3 must round as PyTorch's kernel does: x * (1 / scale) in float32, not x / scale")

scales = np.array([0.02, 0.05, 0.1, 0.013, 0.3, 0.07], np.float32)  # one per slice along axis 1
zero_points = np.array([0, 10, 128, 255, 3, 77], np.int32)
ours = fake_quantize(x, scales.reshape(1, 6, 1), zero_points.reshape(1, 6, 1), 0, 255)
ref = torch.fake_quantize_per_channel_affine(torch.from_numpy(x), torch.from_numpy(scales),
                                             torch.from_numpy(zero_points), 1, 0, 255).numpy()
assert compare("fake_quantize vs torch, per channel, axis 1", ours, ref) == 0, (
    "per-channel result must equal PyTorch's exactly: is the reciprocal 1/scale computed in float32?")

# %% [markdown]
# ## Task 6: per-channel quantization parameters, along any axis
#
# One scale for a whole tensor is set by its largest value, so channels with small weights get only a few levels.
# **Per-channel** quantization gives every slice along an axis its own scale (and zero point). For a Linear weight
# (C_out, C_in) or a Conv2d weight (C_out, C_in, K, K) the axis is 0, one scale per output channel; activations are
# sometimes quantized per column, which needs another axis. For slice $c$ of `w` along `axis`:
#
# - `symmetric=True`: $s_c$ = `symmetric_scale(max |w_c|, bits)`, $z_c = 0$ (narrow signed range);
# - `symmetric=False`: $(s_c, z_c)$ = `affine_qparams(min w_c, max w_c, bits, signed=False)` (unsigned range).
#
# `axis` may be negative, as in NumPy. Return two arrays of shape `(w.shape[axis],)`: scales as float64, zero points
# as int64. The asymmetric case equals PyTorch's `PerChannelMinMaxObserver` (quint8, `per_channel_affine`).
#
# Raise `ValueError` when `w` is a scalar (ndim 0), is empty, is not real-valued or is not finite (name `w`); when
# `axis` is not an int in $[-\text{ndim}, \text{ndim}-1]$ (name `axis` and the allowed range); on bad `bits`, or a
# `symmetric` that is not a bool.

# %%
def per_channel_qparams(w, axis: int = 0, bits: int = 8, symmetric: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One (scale, zero_point) per slice of w along `axis`.

    Inputs:
    - w: array-like of finite real numbers with ndim >= 1 and at least one element; shape (..., C, ...) with C at
      position `axis`.
    - axis: int in [-w.ndim, w.ndim - 1], the channel axis.
    - bits: int in 2..16.
    - symmetric: True for symmetric_scale(max |w_c|, bits) and zero point 0 (narrow signed range); False for
      affine_qparams(min w_c, max w_c, bits, signed=False) (unsigned range).

    Returns:
    - scales: np.ndarray of dtype float64 and shape (C,).
    - zero_points: np.ndarray of dtype int64 and shape (C,).

    Raises:
    - ValueError if w is 0-d, empty, not real-valued or not finite, if axis is out of range, or on bad bits/symmetric.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 6: validate; move axis to the front, reshape to (C, -1), qparams per row.
    w = np.asarray(w)
    if w.dtype.kind not in "iuf":
        raise ValueError(f"w must hold real numbers (an integer or float dtype), got dtype {w.dtype}")
    if w.ndim == 0 or w.size == 0:
        raise ValueError(f"w must have at least one dimension and one element, got shape {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("w must be finite, but it contains NaN or inf")
    if (isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer))
            or not -w.ndim <= axis < w.ndim):
        raise ValueError(f"axis must be an int in [{-w.ndim}, {w.ndim - 1}] for w of shape {w.shape}, got {axis!r}")
    if not isinstance(symmetric, (bool, np.bool_)):
        raise ValueError(f"symmetric must be True or False, got {symmetric!r}")
    qrange(bits, signed=True)  # validates bits
    rows = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1).astype(np.float64)  # (C, everything else)
    scales = np.empty(len(rows), np.float64)
    zero_points = np.zeros(len(rows), np.int64)
    for c, row in enumerate(rows):
        if symmetric:
            scales[c] = symmetric_scale(float(np.abs(row).max()), bits)
        else:
            scales[c], zero_points[c] = affine_qparams(float(row.min()), float(row.max()), bits, signed=False)
    return scales, zero_points
    ### END SOLUTION


# %%
w = np.array([[-1.0, 0.5, 2.0],
              [0.1, -0.2, 0.05]])
scales, zero_points = per_channel_qparams(w, axis=0, bits=8)
assert np.allclose(scales, [2 / 127, 0.2 / 127]) and zero_points.tolist() == [0, 0], (
    f"rows of w: expected scales [2/127, 0.2/127] and zero points [0, 0], got {scales}, {zero_points}")
scales, _ = per_channel_qparams(w, axis=-1, bits=8)
assert np.allclose(scales, [1 / 127, 0.5 / 127, 2 / 127]), (
    f"axis=-1 means columns: expected [1/127, 0.5/127, 2/127], got {scales}")
assert scales.dtype == np.float64 and zero_points.dtype == np.int64, (
    f"expected float64 scales and int64 zero points, got {scales.dtype} and {zero_points.dtype}")

w = np.random.default_rng(1).normal(size=(3, 4, 5)).astype(np.float32)
for axis in (0, 1, -1):
    observer = PerChannelMinMaxObserver(ch_axis=axis, dtype=torch.quint8, qscheme=torch.per_channel_affine)
    observer(torch.from_numpy(w))
    ref_scales, ref_zps = observer.calculate_qparams()
    scales, zero_points = per_channel_qparams(w, axis=axis, bits=8, symmetric=False)
    compare(f"asymmetric per-channel scales, axis {axis}", scales, ref_scales.double())
    assert np.allclose(scales, ref_scales.double().numpy(), rtol=1e-6, atol=0), f"axis {axis}: scales differ"
    assert zero_points.tolist() == ref_zps.tolist(), (
        f"axis {axis}: zero points {zero_points.tolist()} differ from PyTorch's {ref_zps.tolist()}")
check_raises(per_channel_qparams, w, axis=3, names="axis")
check_raises(per_channel_qparams, np.float32(1.0), names="w")

# %% [markdown]
# ## Task 7: stochastic quantization
#
# Rounding to nearest always moves a given value the same way: an update smaller than half a step is lost every
# time. The lecture rounds numbers to integers stochastically, up with probability equal to the fractional part,
# which is unbiased, $\mathbb E[\operatorname{SR}(y)] = y$:
#
# $$\operatorname{SR}(y) = \lfloor y \rfloor + \mathbb 1\big[u < y - \lfloor y \rfloor\big],
# \qquad u \sim \mathcal U[0, 1)$$
#
# Here you put it on the affine grid of Task 4: integer codes
# $q = \operatorname{clamp}\big(\operatorname{SR}(x \cdot (1/S)) + Z,\ q_{\min},\ q_{\max}\big)$, with the product
# $y = x \cdot (1/S)$ computed in float32 exactly as in `quantize` (then taken to float64 for the floor and the
# comparison), `scale` and `zero_point` broadcasting to x's shape (one per channel, say), and the codes returned as
# int32 of x's shape. Unlike `quantize`, the codes are unbiased inside the range: the mean of many draws of
# $(q - Z) S$ is $x$.
#
# Draw all of `u` with **one** call, `u = rng.random(x.shape)`, so that a given seed gives a given result (the
# autograder compares yours with the reference for the same seed). Raise `ValueError` naming the argument for what
# `quantize` rejects, if `rng` is not a `np.random.Generator` (name `rng`), or if `x` is not finite (name `x`).

# %%
def stochastic_quantize(x, scale, zero_point, qmin: int, qmax: int, rng: np.random.Generator) -> np.ndarray:
    """Stochastically rounded affine codes clamp(SR(x * (1/scale)) + zero_point, qmin, qmax).

    Inputs:
    - x: array-like of finite real numbers, any shape S; cast to float32.
    - scale, zero_point, qmin, qmax: as for quantize (scale and zero_point broadcast to S).
    - rng: a np.random.Generator; exactly one call rng.random(S) is made.

    Returns:
    - np.ndarray of dtype int32 and shape S: clamp(floor(y) + (u < y - floor(y)) + zero_point, qmin, qmax),
      y = x * (1 / scale) in float32.

    Raises:
    - ValueError for the arguments quantize rejects, if rng is not a np.random.Generator, or x has NaN/inf.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 7: validate; y = x * float32(1/scale); u = rng.random(x.shape); floor; + z; clip.
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a np.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    quantize(x, scale, zero_point, qmin, qmax)  # validates every argument and the shapes
    x = np.asarray(x).astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError("x must be finite, but it contains NaN or inf")
    with np.errstate(over="ignore"):
        y = (x * (np.float32(1) / np.asarray(scale).astype(np.float32))).astype(np.float64)  # float32 product
    u = rng.random(x.shape)
    floor = np.floor(y)
    with np.errstate(invalid="ignore"):  # inf - inf for an overflowed product: the clamp saturates it anyway
        codes = floor + (u < y - floor) + np.asarray(zero_point).astype(np.int64)
    return np.clip(codes, qmin, qmax).astype(np.int32)
    ### END SOLUTION


# %%
x = np.array([-1.75, -1.0, 0.0, 0.25, 2.5, 3.0], np.float32) * np.float32(0.3)
scale, zero_point = np.float32(0.3), 10
codes = stochastic_quantize(np.tile(x, (20000, 1)), scale, zero_point, 0, 255, np.random.default_rng(0))
y = x * (np.float32(1) / scale)  # the float32 product, as quantize computes it
print("x / scale:", y, " mean code - zero point over 20000 draws:", (codes.mean(axis=0) - zero_point).round(3))
assert codes.dtype == np.int32 and codes.shape == (20000, 6), f"expected int32 (20000, 6), got {codes.dtype}"
assert np.all((codes == np.floor(y) + zero_point) | (codes == np.ceil(y) + zero_point)), "floor or ceil, plus z"
frac = y - np.floor(y)
standard_error = np.sqrt(frac * (1 - frac) / 20000)
assert np.all(np.abs(codes.mean(axis=0) - zero_point - y) <= 5 * standard_error + 1e-6), (
    f"the mean of many draws must be x / scale (unbiased): is it u < frac, not u > frac? {codes.mean(axis=0)}")
again = stochastic_quantize(np.tile(x, (20000, 1)), scale, zero_point, 0, 255, np.random.default_rng(0))
assert np.array_equal(codes, again), "the same seed must give the same result: draw u once with rng.random(x.shape)"
saturated = stochastic_quantize([100.0, -100.0], 0.5, 3, -8, 7, np.random.default_rng(0))
assert saturated.tolist() == [7, -8], f"codes beyond the range saturate at qmax and qmin, got {saturated.tolist()}"
per_row = stochastic_quantize(np.ones((2, 3)), np.array([[0.5], [0.25]]), 0, 0, 15, np.random.default_rng(0))
assert per_row.tolist() == [[2, 2, 2], [4, 4, 4]], f"one scale per row: expected [[2]*3, [4]*3], got {per_row.tolist()}"
check_raises(stochastic_quantize, x, 0.1, 0, -8, 7, 0, names="rng")
check_raises(stochastic_quantize, [np.nan], 0.1, 0, -8, 7, np.random.default_rng(0), names="x")
check_raises(stochastic_quantize, [1.0], -0.1, 0, -8, 7, np.random.default_rng(0), names="scale")

# %% [markdown]
# ## Task 8: fewer mantissa bits: bfloat16, float16's precision and below
#
# The lecture rounds float32 to bfloat16, which keeps float32's sign bit and 8 exponent bits but only 7 of its 23
# mantissa bits: the upper half of the bit pattern. Here you write the general case: round a float32 to the nearest
# float with float32's exponent range and only $m$ explicit mantissa bits, $0 \le m \le 23$, ties to even. $m = 7$
# is bfloat16; $m = 10$ is float16's precision (without float16's narrow range); $m = 23$ changes nothing. With
# $d = 23 - m$ dropped bits, on the 32-bit pattern $b$:
#
# $$b' = \big(b + (2^{d-1} - 1) + ((b \gg d)\ \&\ 1)\big)\ \&\ \lnot(2^d - 1) \qquad (d \ge 1)$$
#
# Adding $2^{d-1} - 1$ rounds up exactly when the dropped bits exceed half; the extra bit breaks an exact tie towards
# an even kept part. A carry out of the mantissa correctly bumps the exponent: the largest values round to infinity
# (for bfloat16, those above about 3.39e38, just below float32's largest 3.40e38), and infinity stays infinity. NaN
# needs care: the addition can carry a NaN pattern into the sign bit, and clearing the dropped bits can clear its
# payload and turn it into infinity, so return a NaN for every NaN.
#
# In NumPy, `x.view(np.uint32)` reinterprets the bits (no conversion) and `.view(np.float32)` goes back. Cast the
# input to a fresh float32 array first; for $m = 7$ return exactly `torch.from_numpy(x).to(torch.bfloat16).float()`.
# Raise `ValueError` naming `x` for complex, bool or non-numeric input, and naming `mantissa_bits` unless it is an int
# (not bool) in 0..23.

# %%
def round_mantissa(x, mantissa_bits: int = 7) -> np.ndarray:
    """Round float32 values to the nearest float with `mantissa_bits` explicit mantissa bits (ties to even).

    Inputs:
    - x: array-like of real numbers, any shape S; cast to float32 first (the caller's array is not changed).
    - mantissa_bits: int m in 0..23 (not bool); 7 gives bfloat16, 23 leaves float32 values unchanged.

    Returns:
    - np.ndarray of dtype float32 and shape S whose low 23 - m bits are zero (except in NaNs): NaN stays NaN,
      +-inf stays +-inf, values that round past the largest finite value become +-inf.

    Raises:
    - ValueError if x is not real-valued, or mantissa_bits is not an int in 0..23.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 8: d = 23 - m; uint32 view; add 2^(d-1) - 1 + bit d; clear low d bits; keep NaN.
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"x must hold real numbers (an integer or float dtype), got dtype {x.dtype}")
    if isinstance(mantissa_bits, (bool, np.bool_)) or not isinstance(mantissa_bits, (int, np.integer)):
        raise ValueError(f"mantissa_bits must be an int in 0..23, got {mantissa_bits!r}")
    if not 0 <= mantissa_bits <= 23:
        raise ValueError(f"mantissa_bits must be in 0..23, got {mantissa_bits}")
    x = x.astype(np.float32)  # a fresh contiguous copy, so the bit view below is safe
    drop = 23 - int(mantissa_bits)
    if drop == 0:
        return x
    bits = x.view(np.uint32)
    nan = np.isnan(x)
    finite_bits = np.where(nan, np.uint32(0), bits)  # keep NaN patterns out of the addition: they could overflow
    lsb = (finite_bits >> np.uint32(drop)) & np.uint32(1)  # last kept bit: breaks exact ties towards even
    keep = np.uint32((0xFFFFFFFF << drop) & 0xFFFFFFFF)
    rounded = (finite_bits + np.uint32((1 << (drop - 1)) - 1) + lsb) & keep
    quiet_nan = bits | np.uint32(0x00400000)  # set the quiet bit: a NaN stays a NaN whatever is cleared
    return np.where(nan, quiet_nan, rounded).astype(np.uint32).view(np.float32)
    ### END SOLUTION


# %%
x = np.array([1.0, 1 + 2**-8, 1 + 3 * 2**-8, -3.14159265, 3.4e38, np.inf, -np.inf, np.nan, -0.0, 1e-40], np.float32)
ours = round_mantissa(x, 7)
ref = torch.from_numpy(x).to(torch.bfloat16).float().numpy()
print("x        ", x)
print("m = 7    ", ours)
assert compare("round_mantissa(x, 7) vs torch bfloat16", ours, ref) == 0, "m = 7 must equal PyTorch's bfloat16"
assert ours[1] == 1.0 and ours[2] == 1 + 2**-6, (
    f"1 + 2^-8 is a tie and rounds down to even (1.0); 1 + 3*2^-8 rounds up to 1 + 2^-6; got {ours[1]}, {ours[2]}")
assert np.isnan(ours[7]), f"NaN must stay NaN, got {ours[7]}: handle NaN before adding the rounding bias"
assert ours[4] == np.inf, f"3.4e38 is beyond the largest bfloat16 (about 3.39e38) and rounds to inf, got {ours[4]}"
assert ours.dtype == np.float32 and ours.shape == x.shape, f"expected float32 {x.shape}, got {ours.dtype} {ours.shape}"
normal16 = (np.random.default_rng(0).normal(size=1000) * 10.0 ** np.random.default_rng(1).uniform(-4, 4, 1000))
normal16 = normal16[(np.abs(normal16) >= 2**-14) & (np.abs(normal16) < 60_000)].astype(np.float32)  # float16 normals
assert compare("round_mantissa(x, 10) vs float16", round_mantissa(normal16, 10),
               normal16.astype(np.float16).astype(np.float32)) == 0, "m = 10 must equal float16's rounding here"
assert round_mantissa(np.float32(1.5), 0) == 2.0 and round_mantissa(np.float32(3.0), 0) == 2.0, (
    "m = 0 keeps powers of two only; 1.5 and 3 are ties and go to the even exponent field: 2.0 both times")
assert np.isnan(round_mantissa(np.array([np.nan], np.float32), 0)[0]), "with m = 0 a NaN must not become inf"
check_raises(round_mantissa, np.array([True, False]), names="x")
check_raises(round_mantissa, [1.0], 24, names="mantissa_bits")

# %% [markdown]
# ## Task 9: power-of-two (log) quantization
#
# Weights are bell-shaped: many small values, few large ones. Logarithmic quantization spends its levels
# geometrically, on powers of two, and replaces every multiplication by a bit shift (Miyashita et al. 2016). With one
# sign bit and `bits - 1` bits of code, where code 0 is reserved for an exact zero, there are $L = 2^{b-1}-1$
# magnitudes $2^e$, $e \in [e_{max}-L+1,\ e_{max}]$, with the top level set by the largest magnitude:
#
# $$e_{max} = \operatorname{round}(\log_2 \max_i |x_i|),\qquad
# e_i = \min\big(\operatorname{round}(\log_2 |x_i|),\ e_{max}\big),\qquad
# \tilde x_i = \begin{cases} \operatorname{sign}(x_i)\, 2^{e_i} & e_i \ge e_{max} - L + 1 \\
# 0 & \text{otherwise}\end{cases}$$
#
# Rounding in the log domain picks the *geometrically* nearest level: 5.8 lies between 4 and 8, nearer to 4 on a
# linear scale but nearer to 8 on a log scale (its geometric midpoint is $\sqrt{32} \approx 5.66$), so it becomes 8.
# `round` is half to even (`np.rint`). Zeros stay zero and an all-zero `x` gives zeros. float32 cannot hold $2^{128}$,
# so cap $e_{max}$ at 127 (it matters only for $\max|x| \ge 2^{127.5}$). Compute the logs in float64 and return
# float32.
#
# The lecture sets one top level for the whole tensor. Here `axis` chooses the granularity, as in
# `per_channel_qparams`: `axis=None` is the lecture's per-tensor case; an int gives each index along that axis
# (each output channel for `axis=0` of a weight matrix) its own $e_{max}$ from the largest $|x|$ of its slice, and an
# all-zero slice stays zero. Raise `ValueError` for non-finite or non-real `x` (name `x`), bad `bits`, and an `axis`
# that is not `None` or an int in $[-x.ndim, x.ndim)$ (name `axis`).

# %%
def log2_quantize(x, bits: int, axis) -> np.ndarray:
    """Quantize x to 0 or signed powers of two, 2^(bits-1) - 1 magnitudes below the top level of each slice.

    Inputs:
    - x: array-like of finite real numbers, any shape S; cast to float32.
    - bits: int in 2..16 (1 sign bit, bits - 1 bits of code, code 0 meaning zero).
    - axis: None for one top level for the whole of x, or an int in [-x.ndim, x.ndim): one top level per index
      along that axis (per output channel for axis=0 of a weight matrix), from the largest |x| of that slice.

    Returns:
    - np.ndarray of dtype float32 and shape S: each element 0 or sign(x) * 2^e,
      e = min(round(log2 |x|), e_max) with e_max = min(round(log2 max |x| of its slice), 127);
      e < e_max - L + 1 gives 0, and an all-zero slice stays zero.

    Raises:
    - ValueError if x is not real-valued or not finite, bits is invalid, or axis is not None or a valid int.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 9: validate; e_max per slice (keepdims); rint log2 |x|, cap above, 0 below.
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"x must hold real numbers (an integer or float dtype), got dtype {x.dtype}")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError("x must be finite, but it contains NaN or inf")
    if axis is not None and (isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer))
                             or not -x.ndim <= axis < x.ndim):
        raise ValueError(f"axis must be None or an int in [-{x.ndim}, {x.ndim}), got {axis!r}")
    _, qmax = qrange(bits, signed=True, narrow=True)  # validates bits; qmax = 2^(b-1) - 1 = L magnitudes
    magnitude = np.abs(x).astype(np.float64)
    if x.size == 0:
        return np.zeros(x.shape, np.float32)
    reduce = None if axis is None else tuple(d for d in range(x.ndim) if d != int(axis) % x.ndim)
    amax = magnitude.max(axis=reduce, keepdims=True)  # the top level of each slice (of the whole x if axis is None)
    with np.errstate(divide="ignore"):  # log2 0 = -inf: zeros, and all-zero slices, are masked out below
        e_max = np.minimum(np.rint(np.log2(amax)), 127.0)  # 2^128 would overflow float32
        e = np.minimum(np.rint(np.log2(magnitude)), e_max)  # the nearest level in the log domain
    keep = (magnitude > 0) & (e >= e_max - qmax + 1)  # below the lowest level: 0
    return np.where(keep, np.sign(x) * np.exp2(np.where(keep, e, 0.0)), 0.0).astype(np.float32)
    ### END SOLUTION


# %%
x = np.array([0.0, -0.3, 3.0, -5.8, 11.0, 16.0], np.float32)
ours = log2_quantize(x, bits=3, axis=None)  # L = 3 magnitudes: 4, 8, 16
print(x, "->", ours)
expected = [0.0, 0.0, 4.0, -8.0, 8.0, 16.0]
assert ours.tolist() == expected, (
    f"expected {expected}, got {ours.tolist()}: -5.8 must round in the log domain (to -8), -0.3 falls below the "
    "smallest of the 3 levels (4) and becomes 0")
assert ours.dtype == np.float32, f"expected float32, got {ours.dtype}"
assert log2_quantize(np.zeros(3), 4, None).tolist() == [0.0, 0.0, 0.0], "an all-zero x must give zeros"
top = log2_quantize(np.array([0.1, 0.7]), bits=8, axis=None).tolist()
assert top == [0.125, 0.5], f"max |x| = 0.7 gives e_max = round(log2 0.7) = -1, so 0.7 -> 0.5; got {top}"
rows = np.array([[16.0, 5.8, 0.3], [0.5, -0.2, 0.02], [0.0, 0.0, 0.0]], np.float32)
per_row = log2_quantize(rows, bits=3, axis=0)  # one top level per row: 16, 0.5 and none
expected_rows = [[16.0, 8.0, 0.0], [0.5, -0.25, 0.0], [0.0, 0.0, 0.0]]
assert per_row.tolist() == expected_rows, (
    f"with axis=0 each row has its own e_max: expected {expected_rows}, got {per_row.tolist()}")
assert log2_quantize(rows.T, 3, axis=1).T.tolist() == expected_rows, "axis=1 takes one top level per column"
assert log2_quantize(rows, 3, axis=None)[1].tolist() == [0.0, 0.0, 0.0], "axis=None: one top level (16) for all"
check_raises(log2_quantize, [np.inf], 4, None, names="x")
check_raises(log2_quantize, [1.0], 1, None, names="bits")
check_raises(log2_quantize, rows, 4, 2, names="axis")

# %% [markdown]
# ## Task 10: signal-to-quantization-noise ratio
#
# SQNR measures how much of a signal survives quantization, in decibels:
#
# $$\operatorname{SQNR}(x, \hat x) = 10 \log_{10} \frac{\sum_i x_i^2}{\sum_i (x_i - \hat x_i)^2}\ \text{dB}$$
#
# 10 dB means the noise has a tenth of the signal's power; each extra bit of a uniform quantizer halves the step and
# so adds about $20\log_{10}2 \approx 6.02$ dB. Compute in float64. Return `float("inf")` when $\hat x = x$ exactly
# (zero noise). Raise `ValueError` when the shapes differ (name `shape`), when `x` has zero power (all zeros or empty:
# SQNR is undefined; name `x`), or when an input is not real-valued or not finite.

# %%
def sqnr_db(x, x_hat) -> float:
    """Signal-to-quantization-noise ratio of x_hat as an approximation of x, in decibels.

    Inputs:
    - x: array-like of finite real numbers, shape S, not all zero.
    - x_hat: array-like of finite real numbers, shape S.

    Returns:
    - Python float: 10 * log10(sum x^2 / sum (x - x_hat)^2), computed in float64; inf when x_hat == x.

    Raises:
    - ValueError if the shapes differ, x has zero power, or an input is not real-valued or not finite.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 10: validate, then 10 * log10(signal power / noise power) in float64.
    arrays = {"x": np.asarray(x), "x_hat": np.asarray(x_hat)}
    for name, a in arrays.items():
        if a.dtype.kind not in "iuf":
            raise ValueError(f"{name} must hold real numbers (an integer or float dtype), got dtype {a.dtype}")
        if not np.isfinite(a).all():
            raise ValueError(f"{name} must be finite, but it contains NaN or inf")
    x, x_hat = arrays["x"].astype(np.float64), arrays["x_hat"].astype(np.float64)
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {x.shape} and {x_hat.shape}")
    signal = np.sum(x**2)
    if signal == 0:
        raise ValueError("x has zero power (all zeros or empty): SQNR is undefined")
    noise = np.sum((x - x_hat) ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(signal / noise))
    ### END SOLUTION


# %%
value = sqnr_db(np.ones(4), np.full(4, 1.1))
print(f"SQNR of ones vs 1.1 * ones: {value:.6f} dB")
assert abs(value - 20.0) < 1e-9, f"noise power is 1/100 of the signal's, so 20 dB; got {value}: 10*log10, not 20*log10?"
assert sqnr_db([1.0, -2.0], [1.0, -2.0]) == float("inf"), "identical inputs have no noise: expected inf"
assert isinstance(value, float), f"return a Python float, got {type(value).__name__}"
x = np.random.default_rng(2).uniform(-1, 1, size=100_000)
gains = [sqnr_db(x, fake_quantize(x, symmetric_scale(1.0, b), 0, *qrange(b, True, True))) for b in (6, 7, 8)]
print("uniform signal, SQNR at 6, 7, 8 bits:", np.round(gains, 2).tolist(), "dB")
assert all(5.7 < g2 - g1 < 6.3 for g1, g2 in zip(gains, gains[1:])), f"each bit should add about 6 dB, got {gains}"
check_raises(sqnr_db, np.ones(3), np.ones(4), names="shape")
check_raises(sqnr_db, np.zeros(3), np.ones(3), names="x")

# %% [markdown]
# ## Task 11: weight-only quantization of a PyTorch model
#
# Now apply your functions to a network. `fake_quantize_weights_` (the trailing underscore is PyTorch's mark of an
# in-place operation) replaces the weight of every `nn.Linear` and `nn.Conv2d` in `model.modules()` by its
# symmetric fake-quantized value: narrow signed range `qrange(bits, signed=True, narrow=True)`, zero point 0, and
#
# - `per_channel=True`: one scale per output channel (axis 0), from `per_channel_qparams(w, 0, bits, True)`;
# - `per_channel=False`: one scale for the whole weight, `symmetric_scale(max |w|, bits)`.
#
# Biases stay in float32 (real int8 kernels store them as int32 at the product's scale, which costs nothing in
# accuracy). Other layers are left alone. Return the same `model` object. Validate `bits` *before* touching any weight,
# so that a bad call leaves the model as it was. Work on `w = module.weight.detach().cpu().numpy()` and write back
# with `module.weight.copy_(torch.from_numpy(...))` inside `torch.no_grad()`, which keeps the parameter object, its
# device and its dtype. Reshape per-channel scales to `(C_out, 1, ...)` so they broadcast against the weight.

# %%
def fake_quantize_weights_(model: nn.Module, bits: int, per_channel: bool) -> nn.Module:
    """Symmetric weight-only fake quantization of every nn.Linear and nn.Conv2d weight, in place.

    Inputs:
    - model: an nn.Module; its Linear and Conv2d weights, shape (C_out, C_in) or (C_out, C_in, K_h, K_w), are changed.
    - bits: int in 2..16; the codes lie in the narrow signed range [-(2^(b-1) - 1), 2^(b-1) - 1], zero point 0.
    - per_channel: True for one scale per output channel (axis 0), False for one scale per weight tensor.

    Returns:
    - model, the same object, with the weights replaced by their fake-quantized values (biases unchanged).

    Raises:
    - ValueError if model is not an nn.Module, bits is invalid or per_channel is not a bool; nothing is changed then.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 11: validate first; per Linear/Conv2d weight: scale(s), fake_quantize, copy_.
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(per_channel, (bool, np.bool_)):
        raise ValueError(f"per_channel must be True or False, got {per_channel!r}")
    qmin, qmax = qrange(bits, signed=True, narrow=True)  # raises on bad bits before any weight changes
    with torch.no_grad():
        for module in model.modules():
            if not isinstance(module, (nn.Linear, nn.Conv2d)):
                continue
            w = module.weight.detach().cpu().numpy()  # (C_out, C_in) or (C_out, C_in, K_h, K_w)
            if per_channel:
                scales, zero_points = per_channel_qparams(w, axis=0, bits=bits, symmetric=True)
                shape = (-1,) + (1,) * (w.ndim - 1)  # (C_out, 1, ...) broadcasts over each output channel
                scale, zero_point = scales.reshape(shape), zero_points.reshape(shape)
            else:
                scale, zero_point = symmetric_scale(float(np.abs(w).max()), bits), 0
            module.weight.copy_(torch.from_numpy(fake_quantize(w, scale, zero_point, qmin, qmax)))
    return model
    ### END SOLUTION


# %%
for net in (mlp([8, 6, 4], seed=0), digits_cnn(seed=0)):
    for per_channel in (True, False):
        original = copy.deepcopy(net)
        quantized = copy.deepcopy(net)
        assert fake_quantize_weights_(quantized, 4, per_channel) is quantized, "return the model you were given"
        for before, after in zip(original.modules(), quantized.modules()):
            if not isinstance(before, (nn.Linear, nn.Conv2d)):
                continue
            w = before.weight.detach()
            if per_channel:
                amax = w.abs().reshape(len(w), -1).amax(dim=1)
                zeros = torch.zeros(len(w), dtype=torch.int32)
                ref = torch.fake_quantize_per_channel_affine(w, (amax / 7).float(), zeros, 0, -7, 7)
            else:
                ref = torch.fake_quantize_per_tensor_affine(w, w.abs().max().item() / 7, 0, -7, 7)
            name = f"{type(before).__name__} {tuple(w.shape)} per_channel={per_channel}"
            assert compare(name, after.weight, ref) == 0, (
                f"{name}: 4-bit weights must equal PyTorch's (scale = max|w| / 7, codes -7..7)")
            assert torch.equal(after.bias, before.bias), f"{name}: the bias must not change"

net = mlp([8, 6, 4], seed=0)
before = copy.deepcopy(net)
check_raises(fake_quantize_weights_, net, 1, True, names="bits")
assert all(torch.equal(a, b) for a, b in zip(net.parameters(), before.parameters())), (
    "bits=1 must raise before any weight is changed: validate bits first")

# %% [markdown]
# ## Experiments on a trained network
#
# The rest of the lab uses your functions on LeNet-300-100 (two hidden layers of 300 and 100 units; 50,610
# parameters with the 64 pixels of an 8x8 image as input) trained on scikit-learn's handwritten digits: 1,221
# training, 216 validation and 360 test images. These cells are tagged `slow`. The first one trains the network
# (about two seconds on a laptop CPU) and calls none of your functions; the others copy the trained model before
# quantizing it.

# %% tags=["slow"]
seed_everything(0)
digits = load_digits_dataset(seed=0)
loaders = make_loaders(digits, batch_size=64, seed=0)
model = lenet_300_100(in_features=64, num_classes=10, seed=0)
fit(model, loaders["train"], epochs=20, lr=1e-3, val_loader=loaders["val"], seed=0)
float_accuracy = evaluate(model, loaders["test"])["accuracy"]
print(f"float32 LeNet-300-100: test accuracy {100 * float_accuracy:.2f}%, "
      f"weights and biases {size_bytes(model, 32) / 1024:.1f} KiB")

# %% [markdown]
# ### Experiment 1: accuracy against bits, per-tensor and per-channel
#
# Weight-only quantization at 2 to 8 bits, biases kept in float32. `size_bytes` counts the stored bits of the
# weights at the quantized width and of the biases at 32 bits; the scales (one float per tensor or per output channel)
# are not counted.

# %% tags=["slow"]
bit_widths = list(range(2, 9))
accuracy = {False: [], True: []}  # per_channel -> test accuracy (%) at each bit-width
for bits in progress(bit_widths, desc="bits"):
    for per_channel in (False, True):
        quantized = fake_quantize_weights_(copy.deepcopy(model), bits, per_channel)
        accuracy[per_channel].append(100 * evaluate(quantized, loaders["test"])["accuracy"])

weight_bits = lambda bits: {name: bits for name, _ in model.named_parameters() if name.endswith("weight")}
se_float = 100 * np.sqrt(float_accuracy * (1 - float_accuracy) / len(loaders["test"].dataset))
print(f"binomial standard error of an accuracy near float32's on {len(loaders['test'].dataset)} test digits: "
      f"{se_float:.2f} points; of a difference of two accuracies: about {np.sqrt(2) * se_float:.2f} points")
print(f"{'bits':>4} {'KiB':>7} {'per-tensor %':>13} {'per-channel %':>14}")
for i, bits in enumerate(bit_widths):
    kib = size_bytes(model, weight_bits(bits)) / 1024
    print(f"{bits:>4} {kib:>7.1f} {accuracy[False][i]:>13.2f} {accuracy[True][i]:>14.2f}")

fig, ax = new_axes("Weight-only quantization of LeNet-300-100 (digits)", "weight bits", "test accuracy (%)")
ax.axhline(100 * float_accuracy, color="gray", linestyle="--", label="float32")
n_test = len(loaders["test"].dataset)
for per_channel, marker, label in ((False, "o-", "per-tensor scale"), (True, "s-", "per-channel scales")):
    p_hat = np.array(accuracy[per_channel]) / 100
    standard_error = 100 * np.sqrt(p_hat * (1 - p_hat) / n_test)  # binomial standard error, in percentage points
    ax.errorbar(bit_widths, accuracy[per_channel], yerr=2 * standard_error, fmt=marker, capsize=3,
                label=f"{label} (± 2 standard errors)")
ax.set_xticks(bit_widths)
ax.legend()
fig.tight_layout()

# %% [markdown]
# **Question 1.** From your plot and table: what is the smallest bit-width at which per-tensor and per-channel
# quantization each stay within one percentage point of the float32 accuracy, and how large is the model then,
# compared with float32? Where is the gap between the two curves largest, and why does a per-channel scale help most
# there? At which bit-widths is the difference between the curves larger than noise? An accuracy $p$ measured on
# $n = 360$ test digits has the binomial standard error $\sqrt{p(1-p)/n}$ (printed above the table; the error bars
# show two of them), and a difference of two such accuracies about $\sqrt{2}$ times that.

# %% [markdown] tags=["answer"]
# *Reference answer (numbers from the reference run; yours match if your functions are right).* Both stay within one
# point of float32 (96.39%) down to **3 bits**: 95.83% per-tensor and 96.67% per-channel. At 3 bits the model takes
# 20.0 KiB instead of 197.7 KiB, about 10x smaller (the weights shrink 32/3 = 10.7x; the float32 biases and the
# uncounted scales are the rest). The gap is largest at **2 bits**: 64.17% per-tensor against 84.17% per-channel.
# With 2 bits the codes are -1, 0, +1 times the scale, so every weight smaller than half the scale becomes 0. One
# scale per layer is set by the layer's largest weight, so neurons whose weights are all small lose every weight; a
# scale per output channel fits each neuron's own largest weight, and every neuron keeps its strongest connections.
# From 3 bits up the curves differ by one to three test images (0.28 points each out of 360), in either direction:
# per-channel is even below per-tensor at some widths. The binomial standard error near 96% on 360 digits is about
# 1 point (3.5 digits), and that of a difference about 1.4 points, so these gaps are noise; only the 2-bit gap of 20
# points is far outside it.

# %% [markdown]
# ### Experiment 2: one outlier weight
#
# A single large weight sets a per-tensor scale for everyone. To see this without changing what the network computes,
# plant the outlier on an input that is always zero: pixel 0 (the top-left corner) is blank in every digits image, so
# the weight `W[0, 0]` of the first layer never affects the output and the float32 accuracy stays exactly the same
# (the cell asserts it). We set it to $m \cdot \max|W|$ for growing $m$ and quantize to 4 bits. The SQNR is measured
# over the first layer's *other* weights, the ones the network actually uses.

# %% tags=["slow"]
all_pixels = np.concatenate([digits.train.x, digits.val.x, digits.test.x])
assert np.all(all_pixels[:, 0] == 0), "pixel 0 must be blank in every image for this experiment"
outlier_bits = 4
multiples = [1, 2, 4, 8, 16, 32, 64]
outlier_sqnr = {False: [], True: []}
outlier_accuracy = {False: [], True: []}
for m in progress(multiples, desc="outlier"):
    planted = copy.deepcopy(model)
    first = planted[0].weight  # (300, 64)
    with torch.no_grad():
        first[0, 0] = m * first.abs().max()
    assert evaluate(planted, loaders["test"])["accuracy"] == float_accuracy, "the outlier must not change the outputs"
    others = np.ones(first.shape, bool)
    others[0, 0] = False
    w_float = first.detach().cpu().numpy()[others]
    for per_channel in (False, True):
        quantized = fake_quantize_weights_(copy.deepcopy(planted), outlier_bits, per_channel)
        w_quant = quantized[0].weight.detach().cpu().numpy()[others]
        outlier_sqnr[per_channel].append(sqnr_db(w_float, w_quant))
        outlier_accuracy[per_channel].append(100 * evaluate(quantized, loaders["test"])["accuracy"])

print(f"{'m':>3} {'SQNR per-tensor':>16} {'per-channel':>12} {'acc per-tensor %':>17} {'per-channel %':>14}")
for i, m in enumerate(multiples):
    print(f"{m:>3} {outlier_sqnr[False][i]:>13.1f} dB {outlier_sqnr[True][i]:>9.1f} dB "
          f"{outlier_accuracy[False][i]:>17.2f} {outlier_accuracy[True][i]:>14.2f}")

fig, ax = new_axes(f"One outlier in layer 1, {outlier_bits}-bit weights", "outlier size m (multiples of max |W|)",
                   "SQNR of the other weights (dB)")
ax.plot(multiples, outlier_sqnr[False], "o-", label="per-tensor scale")
ax.plot(multiples, outlier_sqnr[True], "s-", label="per-channel scales")
ax.set_xscale("log", base=2)
ax.legend()
fig.tight_layout()

fig, ax = new_axes(f"One outlier in layer 1, {outlier_bits}-bit weights", "outlier size m (multiples of max |W|)",
                   "test accuracy (%)")
ax.axhline(100 * float_accuracy, color="gray", linestyle="--", label="float32 (with or without the outlier)")
ax.plot(multiples, outlier_accuracy[False], "o-", label="per-tensor scale")
ax.plot(multiples, outlier_accuracy[True], "s-", label="per-channel scales")
ax.set_xscale("log", base=2)
ax.legend()
fig.tight_layout()

# %% [markdown]
# **Question 2.** By how many dB does the per-tensor SQNR fall each time the outlier doubles? Derive the number from
# the scale formula (Task 3) and the noise of a uniform quantizer, and compare it with your plot. Why is the
# per-channel curve almost flat, and what kind of outlier would hurt per-channel scales too?

# %% [markdown] tags=["answer"]
# *Reference answer.* About **6 dB per doubling**. The per-tensor scale is $s = m\max|W|/7$ at 4 bits, so it grows in
# proportion to $m$. Rounding error is roughly uniform on $[-s/2, s/2]$, with power $s^2/12$ per weight, so doubling
# $m$ quadruples the noise and costs $10\log_{10}4 = 6.02$ dB. The plot shows 16.9, 11.0 and 4.8 dB at $m$ = 1, 2 and 4
# (5.9 and 6.2 dB per doubling). The rule stops once the half step $s/2$ exceeds the other weights: from $m = 16$ it
# is larger than all of them, every other weight rounds to zero, the noise equals the signal (0 dB), and the accuracy
# falls from 96.67% to 10.28%, chance level, although the outlier itself never touches an input.
#
# Per-channel scales are set row by row, so the outlier only coarsens row 0: the 64 weights of one of the 300 neurons.
# The SQNR moves from 20.6 to 19.4 dB and the accuracy stays at 95.83%. Per-output-channel scales cannot help when the
# outliers sit in every row: a large *column* (an input feature with large weights into every neuron), or outliers
# in the activations, which are quantized per tensor. Large language models have exactly such outlier features
# (LLM.int8, SmoothQuant).

# %% [markdown]
# ### Experiment 3: number formats compared by SQNR
#
# The same trained weights (all three layers together) in different formats: uniform symmetric integers with a
# per-tensor or per-channel scale, power-of-two codes (`log2_quantize` on each layer, whose largest weight sets the top
# level), and bfloat16 as a 16-bit reference. The dotted line is the textbook $6.02\,b$ dB rule for a uniform signal.

# %% tags=["slow"]
bit_widths = list(range(2, 9))
layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
w_float = np.concatenate([layer.weight.detach().cpu().numpy().ravel() for layer in layers])
format_sqnr = {"int, per-tensor": [], "int, per-channel": [], "power of two, per-tensor": []}
for bits in bit_widths:
    for label, per_channel in (("int, per-tensor", False), ("int, per-channel", True)):
        quantized = fake_quantize_weights_(copy.deepcopy(model), bits, per_channel)
        w_quant = np.concatenate([m.weight.detach().cpu().numpy().ravel()
                                  for m in quantized.modules() if isinstance(m, nn.Linear)])
        format_sqnr[label].append(sqnr_db(w_float, w_quant))
    w_log = np.concatenate([log2_quantize(layer.weight.detach().cpu().numpy(), bits, None).ravel() for layer in layers])
    format_sqnr["power of two, per-tensor"].append(sqnr_db(w_float, w_log))
bf16_sqnr = sqnr_db(w_float, round_mantissa(w_float, 7))
print(f"bfloat16: {bf16_sqnr:.1f} dB")
for label, values in format_sqnr.items():
    print(f"{label:<26}", " ".join(f"{v:5.1f}" for v in values), "dB at bits", bit_widths)

fig, ax = new_axes("Trained LeNet-300-100 weights in different formats", "bits per weight", "SQNR (dB)")
for (label, values), marker in zip(format_sqnr.items(), "os^"):
    ax.plot(bit_widths, values, marker + "-", label=label)
ax.plot(bit_widths, [6.02 * b for b in bit_widths], "k:", label="6.02 dB per bit")
ax.axhline(bf16_sqnr, color="gray", linestyle="--", label="bfloat16 (16 bits)")
ax.set_xticks(bit_widths)
ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
fig.set_size_inches(8.0, 4.0)  # room for the legend beside the axes
fig.tight_layout()

# %% [markdown]
# **Question 3.** In your plot, at which bit-widths do power-of-two codes beat uniform per-tensor integers, and why
# does their SQNR stop improving as bits are added while the uniform curves keep climbing?

# %% [markdown] tags=["answer"]
# *Reference answer.* Power-of-two codes win only at **3 bits** (10.6 dB against 8.9 dB for per-tensor integers) and
# roughly tie at 2 bits (0.8 against 0.7 dB); from 4 bits on uniform integers win and keep gaining about 6 dB per bit,
# while power-of-two codes stay at 13.6 dB from 4 bits up. Neighbouring powers of two are always a factor 2 apart, so
# the *relative* error does not shrink with more bits: extra bits only add smaller magnitudes at the bottom, which
# help the tiny weights that carry almost none of the noise power. For a value spread evenly in $\log_2$ between two
# levels, the mean squared relative error of rounding in the log domain is
# $\int_{-1/2}^{1/2} (2^{-f}-1)^2\,df \approx 0.042$, which is $-10\log_{10}0.042 \approx 13.8$ dB, close to the
# measured plateau.

# %% [markdown]
# ### Experiment 4: stochastic rounding for storing weights?
#
# Stochastic rounding keeps sums unbiased, which is why low-precision *training* uses it for weight updates: the
# lecture shows a weight that round-to-nearest never moves. Is it also a better way to *store* trained weights? Here the
# weights of all three layers are put on the same per-channel grids as in Experiment 1, once by rounding to nearest
# (your `fake_quantize_weights_`) and five times by stochastic rounding with different seeds.

# %% tags=["slow"]
sr_bits = [2, 3, 4]
sr_seeds = range(5)
layer_names = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
w_float = np.concatenate([model.get_submodule(n).weight.detach().cpu().numpy().ravel() for n in layer_names])
nearest = {"sqnr": [], "accuracy": []}
stochastic = {"sqnr": [], "accuracy": []}  # one list of len(sr_seeds) per bit-width
for bits in progress(sr_bits, desc="bits"):
    quantized = fake_quantize_weights_(copy.deepcopy(model), bits, per_channel=True)
    w_quant = np.concatenate([quantized.get_submodule(n).weight.detach().cpu().numpy().ravel() for n in layer_names])
    nearest["sqnr"].append(sqnr_db(w_float, w_quant))
    nearest["accuracy"].append(100 * evaluate(quantized, loaders["test"])["accuracy"])
    _, qmax = qrange(bits, signed=True, narrow=True)
    sqnrs, accuracies = [], []
    for seed in sr_seeds:
        rng = np.random.default_rng(seed)
        rounded = copy.deepcopy(model)
        for name in layer_names:
            weight = rounded.get_submodule(name).weight
            w = weight.detach().cpu().numpy()  # (C_out, C_in)
            scales = per_channel_qparams(w, axis=0, bits=bits, symmetric=True)[0][:, None]  # (C_out, 1)
            codes = stochastic_quantize(w, scales, 0, -qmax, qmax, rng)
            with torch.no_grad():
                weight.copy_(torch.from_numpy((codes * scales).astype(np.float32)))
        w_sr = np.concatenate([rounded.get_submodule(n).weight.detach().cpu().numpy().ravel() for n in layer_names])
        sqnrs.append(sqnr_db(w_float, w_sr))
        accuracies.append(100 * evaluate(rounded, loaders["test"])["accuracy"])
    stochastic["sqnr"].append(sqnrs)
    stochastic["accuracy"].append(accuracies)

print(f"{'bits':>4} {'SQNR nearest':>13} {'SQNR stochastic':>16} {'acc nearest %':>14} "
      f"{'acc stochastic % (5 seeds)':>27}")
for i, bits in enumerate(sr_bits):
    print(f"{bits:>4} {nearest['sqnr'][i]:>10.2f} dB {np.mean(stochastic['sqnr'][i]):>13.2f} dB "
          f"{nearest['accuracy'][i]:>14.2f} {np.mean(stochastic['accuracy'][i]):>14.2f} "
          f"(min {min(stochastic['accuracy'][i]):.2f}, max {max(stochastic['accuracy'][i]):.2f})")

fig, ax = new_axes("Per-channel weight rounding: nearest vs stochastic", "weight bits", "test accuracy (%)")
ax.axhline(100 * float_accuracy, color="gray", linestyle="--", label="float32")
ax.plot(sr_bits, nearest["accuracy"], "o-", label="round to nearest")
for i, bits in enumerate(sr_bits):
    ax.plot([bits] * len(sr_seeds), stochastic["accuracy"][i], "x", color="tab:orange",
            label="stochastic rounding, one seed each" if i == 0 else None)
ax.plot(sr_bits, [np.mean(a) for a in stochastic["accuracy"]], "s--", color="tab:orange",
        label="stochastic rounding, mean")
ax.set_xticks(sr_bits)
ax.legend()
fig.tight_layout()

# %% [markdown]
# **Question 4.** By how many dB is the SQNR of stochastically rounded weights below that of rounding to nearest, in
# your table? Derive the number, assuming that the fractional parts $f = x/s - \lfloor x/s \rfloor$ are spread
# uniformly over $[0, 1)$. When is stochastic rounding the right choice, and when is rounding to nearest?

# %% [markdown] tags=["answer"]
# *Reference answer.* About **3 dB**: 3.05, 3.01 and 3.01 dB at 2, 3 and 4 bits. In units of the step $s$, rounding
# to nearest leaves an error uniform on $[-1/2, 1/2]$, with mean square $1/12$. Stochastic rounding of a value with
# fractional part $f$ errs by $-f$ with probability $1-f$ and by $1-f$ with probability $f$, a mean square of
# $f^2(1-f) + (1-f)^2 f = f(1-f)$, whose average over uniform $f$ is $1/2 - 1/3 = 1/6$. Twice the noise power is
# $10\log_{10}2 = 3.01$ dB. The accuracy agrees: stochastic rounding loses 8.7 points at 2 bits (75.44% on average
# against 84.17%) and 1.9 points at 3 bits, and is within noise at 4 bits.
#
# Round to nearest is the right choice for a value that is stored once and used many times, such as an inference
# weight: it gives each weight the smallest possible error, and its bias averages out over many weights whose
# fractional parts differ. Stochastic rounding is the right choice when many small roundings of the *same* quantity
# add up, such as weight updates, gradients or optimizer states in low-precision training: there a systematic bias
# accumulates (round to nearest can drop every update smaller than half a step), while unbiased noise averages out.
