# %% [markdown]
# # Quantization basics: number formats, scales and zero points
#
# A trained network stores every weight as a 32-bit float, yet it rarely needs that much precision to make the
# same predictions. Quantization keeps fewer bits per number: 16-bit floats, 8-bit or 4-bit integers plus a scale.
# This lecture builds the pieces every later module reuses: the floating-point formats (fp32, fp16, bf16), affine
# and symmetric integer quantization with its scale and zero point, rounding (to nearest even and stochastic),
# power-of-two quantization, the error metrics (MSE and SQNR), and per-tensor against per-channel scales. Each piece
# is written in NumPy, checked against PyTorch, and then used to quantize the weights of a trained digit classifier.
#
# ## Motivation: the bytes of a trained model
#
# We train LeNet-300-100, a two-hidden-layer MLP, on scikit-learn's 8x8 handwritten digits, and count how many
# bytes its parameters need at each width. The data, model and training loop come from the course's helper package.

# %%
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from compresslab import compare, progress, seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.measure import count_parameters, size_bytes
from compresslab.models import lenet_300_100
from compresslab.plot import new_axes
from compresslab.train import evaluate, fit

seed_everything(0)

# %%
digits = load_digits_dataset()  # x (N, 64) float32 in [0, 1], 10 classes
loaders = make_loaders(digits, batch_size=64)
model = lenet_300_100()  # Linear 64->300, ReLU, Linear 300->100, ReLU, Linear 100->10
print(f"train/val/test examples: {len(digits.train)}/{len(digits.val)}/{len(digits.test)}")
print(f"parameters: {count_parameters(model):,}")

# %% tags=["slow"]
history = fit(model, loaders["train"], epochs=30, lr=1e-3, val_loader=loaders["val"], seed=0)
print(f"final train loss {history.train_loss[-1]:.4f}, val accuracy {history.val_accuracy[-1]:.2%}")

# %%
fp32_accuracy = evaluate(model, loaders["test"])["accuracy"]
print(f"test accuracy at fp32: {fp32_accuracy:.2%}")
for name, bits in [("fp32", 32), ("fp16", 16), ("int8", 8), ("int4", 4)]:
    print(f"{name:>5}: {size_bytes(model, bits):>9,} bytes   {32 // bits}x smaller than fp32")

# %% [markdown]
# Bytes fall in proportion to bits: int8 is 4x smaller than fp32 and int4 8x. Smaller weights also mean less memory
# traffic, which often limits the speed of inference. The open question is the accuracy: how few bits can the
# weights keep, and which rounding rule and which scales get there? The experiment at the end of this lecture
# measures the test accuracy of this very model with its weights at 2 to 8 bits.
#
# ## The math
#
# **Floating point.** A binary float stores a sign bit $s$, an exponent field $E$ of $e$ bits and a mantissa field
# $m$ of $p$ bits. A normal number ($0 < E < 2^e - 1$) is
#
# $$x = (-1)^s \cdot 2^{E - \text{bias}} \cdot (1.m)_2, \qquad \text{bias} = 2^{e-1} - 1,$$
#
# and $E = 0$ gives the *subnormals* $(-1)^s \cdot 2^{1 - \text{bias}} \cdot (0.m)_2$, which fill the gap between 0
# and the smallest normal number with ever fewer significant bits. $E = 2^e - 1$ encodes $\pm\infty$ and NaN.
# The exponent bits set the range, the mantissa bits the relative precision $\varepsilon = 2^{-p}$:
#
# | format | sign | exponent bits $e$ | mantissa bits $p$ | bias |
# |---|---|---|---|---|
# | fp32 | 1 | 8 | 23 | 127 |
# | fp16 | 1 | 5 | 10 | 15 |
# | bf16 | 1 | 8 | 7 | 127 |
#
# bf16 is the top half of an fp32 bit pattern: the same 8 exponent bits (the same range) and the first 7 of the 23
# mantissa bits, so converting fp32 to bf16 means rounding away the low 16 bits.
#
# **Affine quantization.** A real tensor $x$ is stored as integer codes $q$ plus two numbers: the *scale* $S > 0$
# (real units per integer step) and the *zero point* $Z$ (the integer code that stands for real 0). A code
# represents the real value (Jacob et al. 2018, Eq. 1)
#
# $$\hat{x} = S\,(q - Z).$$
#
# *Quantizing* picks the nearest code and *clamps* it into the integer range $[q_{\min}, q_{\max}]$:
#
# $$q = \operatorname{clamp}\!\Big(\Big\lfloor \frac{x}{S} \Big\rceil + Z,\ q_{\min},\ q_{\max}\Big), \qquad
# \operatorname{clamp}(v, a, b) = \min(\max(v, a), b),$$
#
# where $\lfloor \cdot \rceil$ rounds to the nearest integer and breaks exact ties towards the even neighbour
# ($\lfloor 2.5 \rceil = 2$, $\lfloor 3.5 \rceil = 4$), so ties go up as often as down. *Fake quantization*
# returns at once to floats, $\hat{x} = S(q - Z)$: the values a low-bit model computes with, in a format that any
# float kernel runs.
#
# **Integer ranges** of $b$ bits:
#
# | range | $q_{\min}$ | $q_{\max}$ |
# |---|---|---|
# | unsigned | $0$ | $2^b - 1$ |
# | unsigned narrow | $1$ | $2^b - 1$ |
# | signed | $-2^{b-1}$ | $2^{b-1} - 1$ |
# | signed narrow | $-(2^{b-1} - 1)$ | $2^{b-1} - 1$ |
#
# **Min-max (asymmetric) parameters.** Given observed bounds $x_{\min} \le x_{\max}$, widen them to contain 0,
# $m_- = \min(x_{\min}, 0)$ and $m_+ = \max(x_{\max}, 0)$, so that real 0 (zero padding, ReLU outputs, pruned
# weights) is exactly a code. Then
#
# $$S = \frac{m_+ - m_-}{q_{\max} - q_{\min}}, \qquad Z = q_{\min} - \Big\lfloor \frac{m_-}{S} \Big\rceil,$$
#
# with $Z$ clamped to $[q_{\min}, q_{\max}]$ and $S$ floored at the float32 machine epsilon $2^{-23}$, so that an
# all-zero tensor never divides by zero.
#
# **Symmetric parameters.** Weights are centred on 0, so fix $Z = 0$ and choose a threshold $t$ (here
# $t = \max_i |x_i|$):
#
# $$S = \frac{t}{2^{b-1} - 1}, \qquad q \in [-(2^{b-1} - 1),\ 2^{b-1} - 1].$$
#
# The narrow range gives up the code $-2^{b-1}$ so that both $-t$ and $+t$ are codes and the grid is symmetric.
# With $Z = 0$ an integer matrix product needs no zero-point correction terms (Jacob et al. 2018, Section 2.3).
#
# **Per-channel scales.** A weight $W \in \mathbb{R}^{C_\text{out} \times C_\text{in}}$ may get one scale per
# output channel $c$, $S_c = \max_j |W_{cj}| / (2^{b-1} - 1)$, instead of one scale for the whole tensor. A row with
# small weights then gets a fine grid of its own instead of the coarse grid the largest row needs.
#
# **Error.** Inside the range, the rounding error is at most half a step, $|x - \hat{x}| \le S/2$; outside it,
# clamping adds a clipping error that grows with $|x|$. We measure the total with the mean squared error and the
# signal-to-quantization-noise ratio in decibels:
#
# $$\mathrm{MSE} = \frac{1}{n}\sum_{i=1}^n (x_i - \hat{x}_i)^2, \qquad
# \mathrm{SQNR} = 10 \log_{10} \frac{\sum_i x_i^2}{\sum_i (x_i - \hat{x}_i)^2}\ \text{dB}.$$
#
# **Why about 6.02 dB per bit.** If the rounding error $\delta = x - \hat{x}$ is spread evenly over
# $[-S/2, S/2]$, its power is $\frac{1}{S}\int_{-S/2}^{S/2} \delta^2\, d\delta = S^2/12$. For $x$ uniform on
# $[-a, a]$ (power $a^2/3$) cut into $2^b$ steps, $S = 2a/2^b$ and
#
# $$\mathrm{SQNR} = \frac{a^2/3}{S^2/12} = 2^{2b}, \qquad 10 \log_{10} 2^{2b} = (20 \log_{10} 2)\, b \approx 6.02\, b
# \ \text{dB}.$$
#
# One more bit halves $S$, quarters the noise power and adds 6.02 dB. For a signal of power $\sigma^2$ clipped at
# $\pm t$ the same algebra gives $\mathrm{SQNR} \approx 6.02\, b + 4.77 - 20 \log_{10}(t / \sigma)$ dB: the slope
# is the same for every distribution (as long as the step is small against the spread of the data), and the offset
# falls as the range grows relative to the typical value.
# (A min-max grid has $2^b - 1$ steps, not $2^b$, which lowers the SQNR noticeably only at 2 or 3 bits.)
#
# **Stochastic rounding** rounds up with probability equal to the fractional part. With $u \sim \mathcal{U}[0, 1)$
# and $p = y - \lfloor y \rfloor$,
#
# $$\operatorname{SR}(y) = \lfloor y \rfloor + \mathbb{1}[u < p], \qquad
# \mathbb{E}[\operatorname{SR}(y)] = \lfloor y \rfloor + p = y, \qquad
# \operatorname{Var}[\operatorname{SR}(y)] = p(1 - p),$$
#
# so it is unbiased: small updates survive on average instead of being rounded away every time.
#
# **Power-of-two (log) quantization** keeps one sign bit and $b - 1$ bits of exponent code, code 0 meaning exact 0:
#
# $$\hat{x} = \operatorname{sign}(x)\, 2^{e}, \qquad e = \lfloor \log_2 |x| \rceil \in [e_{\max} - L + 1,\ e_{\max}],
# \qquad L = 2^{b-1} - 1, \qquad e_{\max} = \lfloor \log_2 \max_i |x_i| \rceil,$$
#
# and values whose $e$ falls below the lowest level become 0. Rounding in the log domain bounds the *relative* error
# of every kept value by $\sqrt{2} - 1$ whatever $b$ is, and multiplying by $2^e$ is a bit shift.

# %% [markdown]
# ## From scratch (NumPy)
#
# ### Floating-point formats
#
# `np.finfo` reports each format's constants: the largest finite value, the smallest normal and subnormal numbers,
# and the machine epsilon (the gap between 1 and the next number). NumPy has no bfloat16, so we build its
# constants from their bit patterns: a bf16 number is the top 16 bits of a float32.

# %%
def bf16_from_bits(pattern: int) -> float:
    """The bf16 number whose 16-bit pattern is ``pattern``, as a Python float (via the top half of a float32)."""
    return float(np.array([pattern << 16], dtype=np.uint32).view(np.float32)[0])


bf16_constants = {
    "max": bf16_from_bits(0x7F7F),  # exponent 254, mantissa all ones
    "smallest normal": bf16_from_bits(0x0080),  # exponent 1, mantissa 0
    "smallest subnormal": bf16_from_bits(0x0001),  # exponent 0, last mantissa bit
    "eps": bf16_from_bits(0x3F81) - 1.0,  # next number after 1.0, minus 1
}
print(f"{'':>19} {'fp32':>12} {'fp16':>12} {'bf16':>12}")
for key, attr in [("max", "max"), ("smallest normal", "smallest_normal"),
                  ("smallest subnormal", "smallest_subnormal"), ("eps", "eps")]:
    fp32, fp16 = getattr(np.finfo(np.float32), attr), getattr(np.finfo(np.float16), attr)
    print(f"{key:>19} {fp32:12.6g} {fp16:12.6g} {bf16_constants[key]:12.6g}")

# %% [markdown]
# fp16 trades range for precision: its largest value is only 65504, while bf16 reaches as far as fp32 with a much
# coarser epsilon. The fields of a float16 show where each number sits.

# %%
def float16_fields(x: float) -> str:
    """Sign, exponent and mantissa bits of x stored as float16, as the string 's eeeee mmmmmmmmmm'."""
    pattern = f"{int(np.float16(x).view(np.uint16)):016b}"
    return f"{pattern[0]} {pattern[1:6]} {pattern[6:]}"


for value in [1.0, -2.5, 65504.0, 2.0**-14, 2.0**-24]:
    print(f"{value:>12.6g} -> {float16_fields(value)}")

# %% [markdown]
# 1.0 has the biased exponent $15 = 01111_2$ and an empty mantissa; 65504 has the largest exponent below the
# all-ones pattern (reserved for infinity and NaN) and a full mantissa; $2^{-14}$ is the smallest normal number and
# $2^{-24}$ the smallest subnormal (exponent field 0, last mantissa bit set).
#
# Past the top of the range, fp16 overflows to infinity: anything from 65520 up (halfway between 65504 and
# $2^{16}$, where the next step would land) rounds to `inf`. At the bottom, subnormals lose precision gradually and
# then flush to 0.

# %%
with np.errstate(over="ignore"):  # casting 65520 and 1e5 to float16 overflows, which is the point here
    for value in [65504.0, 65519.0, 65520.0, 1e5]:
        print(f"float16({value:>8g}) = {np.float16(value)}")
for value in [1e-2, 1e-5, 1e-7, 2.0**-25]:
    stored = float(np.float16(value))
    print(f"float16({value:.3g}) = {stored:.6g}   relative error {abs(stored - value) / value:.2%}")

# %% [markdown]
# A value of $10^{-2}$ keeps fp16's full relative precision; $10^{-5}$ and $10^{-7}$ are subnormal and keep ever fewer
# significant bits; $2^{-25}$ lies exactly halfway between 0 and the smallest subnormal and rounds to the even
# neighbour, 0. Weights rarely hit either end, but gradients and activations can, which is why fp16 training scales
# the loss up before the backward pass, and why bf16 (fp32's range) became popular for training.
#
# ### bfloat16 by bit manipulation
#
# bf16 keeps the top 16 bits of a float32. Rounding to nearest even on the bit pattern $u$ (a uint32): add
# $\texttt{0x7FFF}$ plus the lowest kept bit $\ell = (u \gg 16)\ \&\ 1$, then clear the low 16 bits,
#
# $$u_\text{bf16} = (u + \texttt{0x7FFF} + \ell)\ \&\ \texttt{0xFFFF0000}.$$
#
# A discarded half below $\texttt{0x8000}$ never carries into the kept bits, one above always does, and exactly
# $\texttt{0x8000}$ carries only when $\ell = 1$, which makes the kept pattern even. The carry may run into the
# exponent (rounding up to the next power of two) and, from the largest bf16 upwards, into infinity.
#
# The cells tagged `export` from here on make up `compresslab/quantization_basics.py`, which later modules import.
# The first holds the imports and the argument checks the functions share.

# %% tags=["export"]
import numpy as np
from numpy.typing import ArrayLike

FLOAT32_EPS = float(np.finfo(np.float32).eps)  # 2**-23: the smallest scale PyTorch's observers return


def _check_bits(bits: int) -> None:
    """Raise ValueError unless bits is an int (a bool is not) between 2 and 16."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
        raise ValueError(f"bits must be an int between 2 and 16, got {bits!r}")
    if not 2 <= bits <= 16:
        raise ValueError(f"bits must be between 2 and 16, got {bits}")


def _check_int(name: str, value: int) -> None:
    """Raise ValueError unless value is a Python or NumPy int (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {value!r}")


def _real_array(x: ArrayLike, name: str = "x") -> np.ndarray:
    """x as an array; ValueError unless its dtype is int or float (bool, complex and object are refused)."""
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"{name} must hold real numbers (an int or float dtype), got dtype {x.dtype}")
    return x


def _scale_float32(scale: ArrayLike) -> np.ndarray:
    """scale as float32; ValueError unless every entry is positive and finite in float32."""
    scale32 = np.asarray(scale, dtype=np.float32)
    if not np.all(np.isfinite(scale32) & (scale32 > 0)):
        raise ValueError(f"scale must be positive and finite (in float32), got {scale}")
    return scale32


def _zero_point_int64(zero_point: ArrayLike) -> np.ndarray:
    """zero_point as int64; ValueError unless it has an integer dtype."""
    as_array = np.asarray(zero_point)
    if as_array.dtype.kind not in "iu":
        raise ValueError(f"zero_point must be an integer, got {zero_point!r} of dtype {as_array.dtype}")
    return as_array.astype(np.int64)


# %% tags=["export"]
def to_bfloat16(x: ArrayLike) -> np.ndarray:
    """x rounded to the nearest bfloat16 (ties to even), as float32 values of x's shape; NaN stays NaN."""
    x = _real_array(x).astype(np.float32)
    pattern = x.view(np.uint32).astype(np.uint64)  # uint64 so that adding the bias cannot wrap around
    kept_lsb = (pattern >> 16) & 1  # lowest bit that bfloat16 keeps
    rounded = (pattern + 0x7FFF + kept_lsb) & 0xFFFF0000  # round half to even, clear the 16 dropped bits
    out = rounded.astype(np.uint32).view(np.float32)
    return np.where(np.isnan(x), np.float32(np.nan), out)  # adding to a NaN pattern could turn it into inf


# %%
examples = np.array([np.pi, 1 + 2**-8, 1 + 3 * 2**-8, 1e-40, 3.4e38, -np.inf], dtype=np.float32)
for value, rounded in zip(examples, to_bfloat16(examples)):
    print(f"{value:>14.8g} -> {rounded:<14.8g} bits {int(rounded.view(np.uint32)) >> 16:016b}")

# %% [markdown]
# $\pi$ keeps three significant digits. $1 + 2^{-8}$ is exactly halfway between 1 and $1 + 2^{-7}$ and goes to the
# even neighbour 1; $1 + 3 \cdot 2^{-8}$ is halfway between $1 + 2^{-7}$ (odd) and $1 + 2^{-6}$ (even) and goes up.
# The fp32 subnormal $10^{-40}$ keeps a single significant bit: it becomes the smallest bf16 subnormal.
# $3.4 \times 10^{38}$ is above the largest bf16 and becomes infinity. Why round at all, instead of just cutting the
# low bits? Truncation always moves towards zero:

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal(100_000).astype(np.float32)
truncated = (x.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)  # chop the low 16 bits
print(f"mean relative error, truncation:       {np.mean((truncated - x) / x):+.2e}")
print(f"mean relative error, round half even:  {np.mean((to_bfloat16(x) - x) / x):+.2e}")

# %% [markdown]
# Truncation shrinks every value by about half a bf16 step on average; rounding to nearest even has no such bias.
#
# ### Integer ranges
#
# The four ranges of the table in the math section, for any width from 2 to 16 bits.

# %% tags=["export"]
def qrange(bits: int, signed: bool, narrow: bool = False) -> tuple[int, int]:
    """Integer code range (qmin, qmax) of a bits-bit integer; narrow drops the lowest code."""
    _check_bits(bits)
    bits = int(bits)  # a NumPy integer would compute 2**bits in its own dtype: np.uint8(2)**8 wraps to 0
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    return (int(qmin) + 1 if narrow else int(qmin)), int(qmax)


# %%
for bits in (2, 4, 8):
    ranges = {label: qrange(bits, signed, narrow) for label, signed, narrow in
              [("unsigned", False, False), ("signed", True, False), ("signed narrow", True, True)]}
    print(f"{bits} bits: " + "   ".join(f"{label} {lo}..{hi}" for label, (lo, hi) in ranges.items()))

# %% [markdown]
# Every function in this lecture checks its arguments and says what it expected, instead of returning a silently
# wrong answer:

# %%
for bad_call in [lambda: qrange(1, signed=True), lambda: qrange(8.0, signed=True), lambda: qrange(True, signed=False)]:
    try:
        bad_call()
    except ValueError as error:
        print(f"ValueError: {error}")

# %% [markdown]
# ### Rounding and clamping
#
# `np.round` (like Python's `round` and `torch.round`) rounds exact ties to the even neighbour. The rule taught at
# school, round half up, is $\lfloor y + 1/2 \rfloor$. On values that sit exactly on ties, which integer inputs and
# coarse grids produce often, the school rule is biased by half a step:

# %%
ties = np.arange(-100, 100) + 0.5  # -99.5, -98.5, ..., 99.5: every value an exact tie
print("round half to even:", np.round(ties[98:103]), f" mean error {np.mean(np.round(ties) - ties):+.3f}")
print("round half up:     ", np.floor(ties[98:103] + 0.5), f" mean error {np.mean(np.floor(ties + 0.5) - ties):+.3f}")

# %% [markdown]
# Clamping must happen *before* the cast to a narrow integer type. A float-to-integer cast of a value outside the
# target type's range is undefined behaviour in C, and NumPy inherits it: what comes back depends on the value, the
# dtypes and the CPU (often a wrapped-around or zero code), with at most a `RuntimeWarning`. The cell prints what
# this machine does.

# %%
codes = np.round(np.array([126.4, 127.6, 200.0, -130.0, 1e10]))
with np.errstate(invalid="ignore"):  # the out-of-range cast may warn; its result is unspecified either way
    print("cast without clamping:", codes.astype(np.int8), " (undefined for 200, -130 and 1e10)")
print("clamp, then cast:     ", np.clip(codes, -128, 127).astype(np.int8))

# %% [markdown]
# ### Affine quantization: scale and zero point
#
# $$m_- = \min(x_{\min}, 0),\quad m_+ = \max(x_{\max}, 0),\quad
# S = \max\!\Big(\frac{m_+ - m_-}{q_{\max} - q_{\min}},\ 2^{-23}\Big),\quad
# Z = \operatorname{clamp}\!\Big(q_{\min} - \Big\lfloor \frac{m_-}{S} \Big\rceil,\ q_{\min},\ q_{\max}\Big)$$

# %% tags=["export"]
def affine_qparams(x_min: float, x_max: float, bits: int = 8, signed: bool = False) -> tuple[float, int]:
    """Min-max (scale, zero_point): scale in x's units per step (float), zero_point the int code of real 0."""
    if not (np.isfinite(x_min) and np.isfinite(x_max)):
        raise ValueError(f"x_min and x_max must be finite, got x_min={x_min}, x_max={x_max}")
    if x_min > x_max:
        raise ValueError(f"x_min must not exceed x_max, got x_min={x_min}, x_max={x_max}")
    qmin, qmax = qrange(bits, signed)
    min_neg, max_pos = min(float(x_min), 0.0), max(float(x_max), 0.0)  # widen the range so that it holds 0
    scale = max((max_pos - min_neg) / (qmax - qmin), FLOAT32_EPS)  # real width of one integer step
    zero_point = qmin - int(np.round(min_neg / scale))  # the code that min_neg lands on is qmin
    return float(scale), int(np.clip(zero_point, qmin, qmax))


# %%
scale, zero_point = affine_qparams(-1.0, 3.0, bits=8)
print(f"[-1, 3] on uint8:  scale = 4/255 = {scale:.6f}, zero_point = {zero_point}")
print(f"[2, 5] on uint8:   (scale, zero_point) = {affine_qparams(2.0, 5.0, bits=8)}   (widened to [0, 5])")
print(f"[-1, 3] on int8:   (scale, zero_point) = {affine_qparams(-1.0, 3.0, bits=8, signed=True)}")

# %% [markdown]
# $-1/S = -63.75$ rounds to $-64$, so real 0 is code 64 of 0..255; the signed range has the same scale and a zero
# point shifted by 128. A range that does not contain 0 is widened to contain it, which wastes codes for $[2, 5]$
# but keeps 0 exact.
#
# ### Quantize, dequantize, fake-quantize
#
# $$q = \operatorname{clamp}\big(\lfloor x \cdot (1/S) \rceil + Z,\ q_{\min},\ q_{\max}\big), \qquad
# \hat{x} = (q - Z) \cdot S$$
#
# We compute $x \cdot (1/S)$ in float32 rather than $x / S$: this is what PyTorch's kernels do (the inverse scale
# is computed once as `1.0f / scale`), and the two can differ in the last bit, which moves values that sit on a tie.
# `scale` and `zero_point` may be arrays that broadcast against `x`, one per channel.

# %% tags=["export"]
def quantize(x: ArrayLike, scale: ArrayLike, zero_point: ArrayLike, qmin: int, qmax: int) -> np.ndarray:
    """Integer codes clamp(round_half_even(x * (1/scale)) + zero_point, qmin, qmax): int32, x's shape."""
    _check_int("qmin", qmin)
    _check_int("qmax", qmax)
    if qmin >= qmax:
        raise ValueError(f"qmin must be smaller than qmax, got qmin={qmin}, qmax={qmax}")
    x = _real_array(x).astype(np.float32)
    if np.any(np.isnan(x)):
        raise ValueError("x contains NaN, which has no integer code")
    scale32 = _scale_float32(scale)
    zero_point = _zero_point_int64(zero_point)
    if np.any(zero_point < qmin) or np.any(zero_point > qmax):
        raise ValueError(f"zero_point must lie in [qmin, qmax] = [{qmin}, {qmax}], got {zero_point}")
    try:  # one scale per channel may broadcast against x, but must not grow it: the codes have x's shape
        shape = np.broadcast_shapes(x.shape, scale32.shape, zero_point.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ValueError(f"scale {scale32.shape} and zero_point {zero_point.shape} must broadcast to x's shape "
                         f"{x.shape}")
    inv_scale = np.float32(1) / scale32  # float32, as in PyTorch's kernel
    q = np.round(x * inv_scale) + zero_point  # float32 product, rounded half to even
    return np.asarray(np.clip(q, qmin, qmax), dtype=np.int32)  # clamp first, then cast


# %% tags=["export"]
def dequantize(q: ArrayLike, scale: ArrayLike, zero_point: ArrayLike) -> np.ndarray:
    """Real values (q - zero_point) * scale: float32, the broadcast shape of q, scale and zero_point."""
    q = np.asarray(q)
    if q.dtype.kind not in "iu":
        raise ValueError(f"q must be an integer array, got dtype {q.dtype}")
    steps = q.astype(np.int64) - _zero_point_int64(zero_point)  # exact integer difference
    return np.asarray(steps.astype(np.float32) * _scale_float32(scale))  # one float32 multiply


# %% tags=["export"]
def fake_quantize(x: ArrayLike, scale: ArrayLike, zero_point: ArrayLike, qmin: int, qmax: int) -> np.ndarray:
    """x snapped to the quantization grid, dequantize(quantize(x)): float32, x's shape."""
    return dequantize(quantize(x, scale, zero_point, qmin, qmax), scale, zero_point)


# %%
x = np.array([-1.0, -0.26, 0.0, 0.5, 3.0, 10.0], dtype=np.float32)
scale, zero_point = affine_qparams(-1.0, 3.0, bits=8)
qmin, qmax = qrange(8, signed=False)
q = quantize(x, scale, zero_point, qmin, qmax)
x_hat = dequantize(q, scale, zero_point)
print("x     ", x)
print("q     ", q)
print("x_hat ", x_hat.round(4))
inside = (x >= -1.0) & (x <= 3.0)
assert np.all(np.abs(x - x_hat)[inside] <= scale / 2 + 1e-7), "rounding error above half a step"
assert x_hat[x == 0.0] == 0.0, "real 0 must be exact"
print(f"max |x - x_hat| inside the range: {np.abs(x - x_hat)[inside].max():.5f} <= scale/2 = {scale / 2:.5f}")

# %% [markdown]
# Inside $[-1, 3]$ the error stays below half a step and 0 comes back exactly; 10 is clamped to code 255 and comes
# back as 3. That clipping error is the other half of every range-setting decision (module 02).
#
# ### Symmetric quantization
#
# $$S = \frac{t}{2^{b-1} - 1}, \qquad Z = 0, \qquad q \in [-(2^{b-1} - 1),\ 2^{b-1} - 1]$$

# %% tags=["export"]
def symmetric_scale(threshold: float, bits: int = 8) -> float:
    """Scale (x's units per step) mapping [-threshold, threshold] onto the narrow signed range; zero point 0."""
    if not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"threshold must be finite and >= 0, got {threshold}")
    _, qmax = qrange(bits, signed=True, narrow=True)
    return float(max(threshold / qmax, FLOAT32_EPS))


# %%
w = np.array([-3.0, -1.2, 0.0, 0.01, 2.9, 3.0], dtype=np.float32)
for bits in (8, 4):
    scale = symmetric_scale(float(np.abs(w).max()), bits)
    qmin, qmax = qrange(bits, signed=True, narrow=True)
    print(f"{bits} bits: scale = 3/{qmax} = {scale:.5f}, codes {quantize(w, scale, 0, qmin, qmax)}")

# %% [markdown]
# $\pm 3$ map to $\pm q_{\max}$ exactly. At 4 bits the step is $3/7$, so $0.01$ becomes 0 and $-1.2$ becomes
# $-3 \cdot 3/7 \approx -1.29$. PyTorch's default symmetric observer makes a different choice, shown in the check
# against the library below.
#
# ### Stochastic rounding
#
# $$\operatorname{SR}(y) = \lfloor y \rfloor + \mathbb{1}[u < y - \lfloor y \rfloor], \qquad u \sim \mathcal{U}[0, 1)$$
#
# The generator is an argument, so a given seed gives a given result; one uniform number is drawn per element.

# %% tags=["export"]
def stochastic_round(x: ArrayLike, rng: np.random.Generator) -> np.ndarray:
    """floor(x) or ceil(x), ceil with probability x - floor(x), so E[result] = x; x's shape, float32 or float64."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a np.random.Generator, got {type(rng).__name__}")
    x = _real_array(x)
    x = x if x.dtype == np.float32 else x.astype(np.float64)  # float32 stays float32, the rest becomes float64
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite (no NaN or inf)")
    u = rng.random(x.shape)  # one uniform draw in [0, 1) per element
    floor = np.floor(x)
    return np.asarray(floor + (u < x - floor).astype(x.dtype))  # round up with probability = fractional part


# %%
rng = np.random.default_rng(0)
y = np.full(100_000, 2.3)
rounded = stochastic_round(y, rng)
standard_error = rounded.std() / np.sqrt(rounded.size)
print(f"values seen: {np.unique(rounded)}, fraction rounded up {np.mean(rounded == 3.0):.4f}")
print(f"mean {rounded.mean():.4f} vs y = 2.3 (standard error {standard_error:.4f}); np.round gives {np.round(2.3)}")
assert set(np.unique(rounded)) <= {2.0, 3.0}, "stochastic rounding must return floor or ceil"
assert abs(rounded.mean() - 2.3) < 3 * standard_error, "mean not within 3 standard errors of y"

# %% [markdown]
# Each result is 2 or 3, and the mean lands within three standard errors of 2.3: unbiased, as the expectation above
# says. This matters when many small updates are added to a low-precision number. Here a weight lives on an integer
# grid (step 1) and receives 1,000 updates of $+0.1$, rounded after each step, in 2,000 independent runs:

# %%
rng = np.random.default_rng(1)
nearest = np.zeros(2_000)
stochastic = np.zeros(2_000)
for _ in range(1_000):
    nearest = np.round(nearest + 0.1)  # 0.1 is below half a step: rounded away every time
    stochastic = stochastic_round(stochastic + 0.1, rng)
standard_error = stochastic.std() / np.sqrt(stochastic.size)
print(f"exact sum 100.0 | round to nearest {nearest.mean():.1f} | stochastic {stochastic.mean():.2f} "
      f"(standard error {standard_error:.2f})")
assert np.all(nearest == 0.0), "round to nearest should lose every update"
assert abs(stochastic.mean() - 100.0) < 3 * standard_error, "stochastic rounding should keep the sum on average"

# %% [markdown]
# Round to nearest loses every update (the weight never moves); stochastic rounding keeps the sum on average. This
# is the effect behind Gupta et al. (2015), who found the rounding scheme crucial when training with 16-bit
# fixed-point numbers, and stochastic rounding the one that works.
#
# ### Power-of-two (log) quantization
#
# $$\hat{x} = \operatorname{sign}(x)\, 2^{e}, \quad e = \min\big(\lfloor \log_2 |x| \rceil, e_{\max}\big), \quad
# \hat{x} = 0 \text{ if } e < e_{\max} - L + 1, \quad L = 2^{b-1} - 1$$

# %% tags=["export"]
def log2_quantize(x: ArrayLike, bits: int) -> np.ndarray:
    """sign(x) * 2^e, e = round_half_even(log2|x|) among the 2^(bits-1) - 1 exponents up to e_max, or 0; float32."""
    _check_bits(bits)
    x = _real_array(x).astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite (no NaN or inf)")
    magnitude = np.abs(x).astype(np.float64)
    if not np.any(magnitude > 0):
        return np.zeros_like(x)  # an all-zero tensor stays zero
    levels = 2 ** (bits - 1) - 1  # one sign bit; code 0 is reserved for exact zero
    e_max = min(np.round(np.log2(magnitude.max())), 127.0)  # 2^128 overflows float32: the top level is 2^127
    e_min = e_max - levels + 1
    with np.errstate(divide="ignore"):  # log2(0) = -inf; zeros are masked out below
        e = np.minimum(np.round(np.log2(magnitude)), e_max)  # nearest level in the log domain
    keep = (magnitude > 0) & (e >= e_min)  # values below the lowest level become 0
    return np.where(keep, np.sign(x) * np.exp2(np.where(keep, e, 0.0)), 0.0).astype(np.float32)


# %%
x = np.array([0.9, 0.3, 0.2, -0.05, 0.001, 0.0], dtype=np.float32)
print("x              ", x)
print("log2|x|        ", np.log2(np.abs(x[:-1])).round(2))
print("log2_quantize 3", log2_quantize(x, bits=3))

# %% [markdown]
# With 3 bits there are $L = 3$ magnitudes. $e_{\max} = \lfloor \log_2 0.9 \rceil = 0$, so the levels are 1, 0.5 and
# 0.25. $0.3$ has $\log_2 0.3 = -1.74$ and goes to $0.25$; $0.2$ has $\log_2 0.2 = -2.32$ and also goes to 0.25, a
# relative error of 25%. $-0.05$ and $0.001$ fall below the lowest level and become 0.
#
# ### Error metrics: MSE and SQNR
#
# $$\mathrm{SQNR} = 10 \log_{10} \frac{\sum_i x_i^2}{\sum_i (x_i - \hat{x}_i)^2}\ \text{dB}$$

# %% tags=["export"]
def sqnr_db(x: ArrayLike, x_hat: ArrayLike) -> float:
    """Signal-to-quantization-noise ratio of x_hat against x in dB (float64 sums); inf when x_hat equals x."""
    x = _real_array(x).astype(np.float64)
    x_hat = _real_array(x_hat, "x_hat").astype(np.float64)
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {x.shape} and {x_hat.shape}")
    signal = np.sum(x**2)
    if signal == 0:
        raise ValueError("x has zero power (all zeros), so the SQNR is undefined")
    noise = np.sum((x - x_hat) ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(signal / noise))


# %%
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, 100_000).astype(np.float32)
for bits in (4, 8):
    scale, zero_point = affine_qparams(float(x.min()), float(x.max()), bits)
    x_hat = fake_quantize(x, scale, zero_point, *qrange(bits, signed=False))
    mse = np.mean((x - x_hat) ** 2)
    print(f"{bits} bits: MSE {mse:.3e} (scale^2/12 = {scale**2 / 12:.3e}), SQNR {sqnr_db(x, x_hat):.2f} dB, "
          f"6.02 * bits = {6.02 * bits:.2f} dB")

# %% [markdown]
# The measured MSE matches $S^2/12$ and the SQNR sits near $6.02\,b$ dB; the experiment below measures the SQNR
# from 2 to 16 bits and fits its slope.
#
# ### Per-channel scales
#
# $$S_c = \frac{\max_j |W_{cj}|}{2^{b-1} - 1}, \qquad c = 1, \dots, C_\text{out}$$
#
# For a 2-D weight of shape $(C_\text{out}, C_\text{in})$, one symmetric scale per row (output channel), written
# here for axis 0 only. A 4-bit example with rows of very different sizes shows what it buys:

# %%
def per_output_channel_scales(w: np.ndarray, bits: int) -> np.ndarray:
    """Symmetric scales (C_out,) float64, one per row of a 2-D weight w of shape (C_out, C_in)."""
    if w.ndim != 2:
        raise ValueError(f"w must be 2-D (C_out, C_in), got shape {w.shape}")
    return np.array([symmetric_scale(float(amax), bits) for amax in np.abs(w).max(axis=1)])


w = np.array([[0.02, -0.01, 0.005, 0.015],
              [0.8, -0.3, 0.1, -0.5],
              [-2.0, 1.5, 0.7, 0.2]], dtype=np.float32)  # (C_out=3, C_in=4)
qmin, qmax = qrange(4, signed=True, narrow=True)
per_tensor = fake_quantize(w, symmetric_scale(float(np.abs(w).max()), 4), 0, qmin, qmax)
scales = per_output_channel_scales(w, 4)  # (3,)
per_channel = fake_quantize(w, scales[:, None], 0, qmin, qmax)  # scales broadcast over columns
print("per-tensor:\n", per_tensor.round(4))
print("per-channel:\n", per_channel.round(4))
for c in range(3):
    print(f"row {c}: SQNR per-tensor {sqnr_db(w[c], per_tensor[c]):6.2f} dB, "
          f"per-channel {sqnr_db(w[c], per_channel[c]):6.2f} dB")

# %% [markdown]
# With one scale for the tensor, the step is $2/7$ and the whole first row rounds to zero (0 dB: the error is as
# large as the signal); with its own scale it keeps its shape. The cost is one float per output channel.
#
# ## Check against the library
#
# PyTorch is the oracle. Each cell states a tolerance and asserts it; `compare` prints whether the results are
# exact, close, or different, with the largest absolute difference.
#
# **fp16 and bf16.** NumPy's float16 cast and PyTorch's agree bit for bit (both are IEEE round to nearest even);
# our bf16 constants match `torch.finfo`; `to_bfloat16` matches `tensor.to(torch.bfloat16)` exactly on values across
# fp32's whole range, on ties, on overflow to infinity, on infinities and on NaN (compared as NaN, since the NaN
# payload is not specified).

# %%
rng = np.random.default_rng(0)
exponents = rng.uniform(-45, 38, 200_000)  # decimal exponents across fp32's range, subnormals included
x = (rng.choice([-1.0, 1.0], exponents.size) * 10.0**exponents).astype(np.float32)
edge_cases = np.array([0.0, -0.0, 1 + 2**-8, 1 + 3 * 2**-8, 3.4028235e38, -3.4028235e38, 1e-45,
                       np.inf, -np.inf, np.nan], dtype=np.float32)
x = np.concatenate([x, edge_cases])

with np.errstate(over="ignore", under="ignore"):
    assert compare("float16 cast: NumPy vs torch", x.astype(np.float16),
                   torch.from_numpy(x).to(torch.float16)) == 0
assert compare("to_bfloat16 vs tensor.to(torch.bfloat16)", to_bfloat16(x),
               torch.from_numpy(x).to(torch.bfloat16).float()) == 0
bf16_info = torch.finfo(torch.bfloat16)
assert compare("bf16 max, smallest normal, eps vs torch.finfo",
               [bf16_constants["max"], bf16_constants["smallest normal"], bf16_constants["eps"]],
               [bf16_info.max, bf16_info.smallest_normal, bf16_info.eps]) == 0

# %% [markdown]
# **Integer ranges and rounding.** `qrange` matches `torch.iinfo` for the full-width types, and `np.round` matches
# `torch.round` (half to even) exactly, ties included.

# %%
for bits, signed, dtype in [(8, False, torch.uint8), (8, True, torch.int8), (16, True, torch.int16)]:
    info = torch.iinfo(dtype)
    assert compare(f"qrange({bits}, signed={signed}) vs torch.iinfo({dtype})",
                   qrange(bits, signed), (info.min, info.max)) == 0
ties = np.arange(-50, 50, dtype=np.float32) + np.float32(0.5)
assert compare("np.round vs torch.round on 100 ties", np.round(ties), torch.round(torch.from_numpy(ties))) == 0

# %% [markdown]
# **Min-max parameters.** `torch.ao.quantization.MinMaxObserver` with the affine scheme computes the same scale and
# zero point. PyTorch works in float32 and we in float64, so the scales agree to a relative $10^{-6}$ and the zero
# points exactly. We test 8-bit and 4-bit, unsigned and signed ranges, on random data with varied offsets and
# spreads, on all-positive data, and on an all-zero tensor (scale floored at $2^{-23}$).

# %%
from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver

rng = np.random.default_rng(0)
samples = [(rng.standard_normal(500) * rng.uniform(0.01, 10) + rng.uniform(-3, 3)).astype(np.float32)
           for _ in range(40)]
samples += [np.abs(samples[0]), np.zeros(10, dtype=np.float32)]
ours, theirs = [], []
for bits in (4, 8):
    for signed in (False, True):
        qmin, qmax = qrange(bits, signed)
        for sample in samples:
            observer = MinMaxObserver(dtype=torch.qint8 if signed else torch.quint8,
                                      qscheme=torch.per_tensor_affine, quant_min=qmin, quant_max=qmax)
            observer(torch.from_numpy(sample))
            scale, zero_point = observer.calculate_qparams()
            ours.append(affine_qparams(float(sample.min()), float(sample.max()), bits, signed))
            theirs.append((scale.item(), zero_point.item()))
ours, theirs = np.array(ours), np.array(theirs)  # (n, 2): scale, zero point
compare("affine_qparams scale vs MinMaxObserver", ours[:, 0], theirs[:, 0])
assert np.allclose(ours[:, 0], theirs[:, 0], rtol=1e-6, atol=0), "scales differ by more than a relative 1e-6"
assert compare("affine_qparams zero_point vs MinMaxObserver", ours[:, 1], theirs[:, 1]) == 0

# %% [markdown]
# **Fake quantization.** `fake_quantize` equals `torch.fake_quantize_per_tensor_affine` bit for bit: on random
# data, on inputs placed exactly on ties ($x = (k + \tfrac12) S$, where $x/S$ and $x \cdot (1/S)$ can round
# differently), and past the range (clamping). The codes agree too: they are recovered from PyTorch's output as
# $\lfloor \hat{x}/S \rceil + Z$.

# %%
rng = np.random.default_rng(0)
for bits, signed in [(8, False), (8, True), (4, False), (3, True)]:
    qmin, qmax = qrange(bits, signed)
    x = (rng.standard_normal(10_000) * 2).astype(np.float32)
    scale, zero_point = affine_qparams(-3.0, 2.0, bits, signed)  # narrower than the data: some values clamp
    on_ties = ((np.arange(qmin - 3, qmax + 3) - zero_point + 0.5) * np.float32(scale)).astype(np.float32)
    x = np.concatenate([x, on_ties])
    reference = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), scale, zero_point, qmin, qmax)
    assert compare(f"fake_quantize {bits}-bit signed={signed}", fake_quantize(x, scale, zero_point, qmin, qmax),
                   reference) == 0
    codes_from_torch = np.round(reference.numpy() / np.float32(scale)) + zero_point
    assert compare(f"quantize {bits}-bit signed={signed} (codes)", quantize(x, scale, zero_point, qmin, qmax),
                   codes_from_torch) == 0

# %% [markdown]
# The shortcut $x / S$ would not be bit-exact. On the same kind of tie inputs, dividing gives a different code than
# multiplying by the float32 inverse for some of them (the cell prints how many), because $x/S$ and $x \cdot (1/S)$
# differ in the last bit and a tie is decided by that bit.

# %%
scale, zero_point = affine_qparams(-3.0, 2.0, bits=8)
on_ties = ((np.arange(-3, 258) - zero_point + 0.5) * np.float32(scale)).astype(np.float32)
divided = np.clip(np.round(on_ties / np.float32(scale)) + zero_point, 0, 255)  # x / S instead of x * (1/S)
mismatches = int(np.sum(divided != quantize(on_ties, scale, zero_point, 0, 255)))
print(f"x / S and x * (1/S) give different codes for {mismatches} of {on_ties.size} tie inputs")
assert mismatches > 0

# %% [markdown]
# **Symmetric scales, ours and PyTorch's.** With `quant_min=-127, quant_max=127`, PyTorch's symmetric observer
# computes `amax / ((qmax - qmin) / 2)` $= \max|x| / 127$: our `symmetric_scale`. Its default `qint8` range is
# $[-128, 127]$, which gives $\max|x| / 127.5$. That grid is a little finer, but $+\max|x|$ lands on code 127.5,
# rounds to 128 and is clamped to 127, so the largest positive weight is clipped by half a step. Both are shown.

# %%
x = np.array([-3.0, -1.0, 0.5, 3.0], dtype=np.float32)
observer_narrow = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric, quant_min=-127, quant_max=127)
observer_default = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)
for observer in (observer_narrow, observer_default):
    observer(torch.from_numpy(x))
scale_narrow = observer_narrow.calculate_qparams()[0].item()
scale_default = observer_default.calculate_qparams()[0].item()
compare("symmetric_scale(3, 8) vs observer on [-127, 127]", symmetric_scale(3.0, 8), scale_narrow)
assert np.isclose(symmetric_scale(3.0, 8), scale_narrow, rtol=1e-6, atol=0)
print(f"ours: 3/127 = {symmetric_scale(3.0, 8):.6f}   PyTorch default qint8: {scale_default:.6f} = 3/127.5 "
      f"= {3 / 127.5:.6f}")
ours_narrow = fake_quantize(x, symmetric_scale(3.0, 8), 0, -127, 127)
torch_default = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), scale_default, 0, -128, 127).numpy()
print("x                     ", x)
print("ours     [-127, 127]  ", ours_narrow)
print("PyTorch  [-128, 127]  ", torch_default)
assert ours_narrow[-1] == 3.0, "the narrow range keeps +max|x| exact"
assert np.isclose(3.0 - torch_default[-1], scale_default / 2), "PyTorch's default clips +max|x| by half a step"

# %% [markdown]
# **Per-channel.** Our per-row scales match `PerChannelMinMaxObserver` (symmetric, axis 0, narrow range) to a
# relative $10^{-6}$, and fake quantization with those scales (broadcast along the rows) equals
# `torch.fake_quantize_per_channel_affine` bit for bit. The scales are passed to PyTorch as float32 and the zero
# points as int32, the dtypes its kernel expects.

# %%
rng = np.random.default_rng(0)
w = (rng.standard_normal((64, 32)) * rng.uniform(0.01, 1.0, (64, 1))).astype(np.float32)  # (C_out, C_in)
for bits in (2, 4, 8):
    qmin, qmax = qrange(bits, signed=True, narrow=True)
    scales = per_output_channel_scales(w, bits)  # (64,)
    observer = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric,
                                        quant_min=qmin, quant_max=qmax)
    observer(torch.from_numpy(w))
    torch_scales = observer.calculate_qparams()[0].numpy()
    compare(f"{bits}-bit per-channel scales", scales, torch_scales)
    assert np.allclose(scales, torch_scales, rtol=1e-6, atol=0), "scales differ by more than a relative 1e-6"
    reference = torch.fake_quantize_per_channel_affine(torch.from_numpy(w), torch.from_numpy(scales).float(),
                                                       torch.zeros(64, dtype=torch.int32), 0, qmin, qmax)
    assert compare(f"{bits}-bit per-channel fake_quantize", fake_quantize(w, scales[:, None], 0, qmin, qmax),
                   reference) == 0

# %% [markdown]
# **SQNR, stochastic rounding and log quantization.** PyTorch has no SQNR function, so `sqnr_db` is checked against
# the same formula written with torch in float64 (to $10^{-9}$ dB). Stochastic rounding and power-of-two
# quantization have no PyTorch counterpart, so they are checked against the identities that define them:
# stochastic rounding returns floor or ceil, leaves integers alone, repeats itself under the same seed, and is
# unbiased; every power-of-two output is 0 or $\pm 2^k$ (`torch.frexp` gives mantissa $\tfrac12$), keeps the sign,
# lies within half an octave of its input, and uses at most $2^{b-1} - 1$ magnitudes.

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal(10_000)
x_hat = x + 0.01 * rng.standard_normal(10_000)
x_t, x_hat_t = torch.from_numpy(x), torch.from_numpy(x_hat)
torch_sqnr = (10 * torch.log10(x_t.pow(2).sum() / (x_t - x_hat_t).pow(2).sum())).item()
assert compare("sqnr_db vs torch formula (dB)", sqnr_db(x, x_hat), torch_sqnr) <= 1e-9

y = rng.uniform(-5, 5, 10_000)
rounded = stochastic_round(y, np.random.default_rng(7))
assert np.all((rounded == np.floor(y)) | (rounded == np.ceil(y))), "not floor or ceil"
assert compare("stochastic_round, same seed twice", rounded, stochastic_round(y, np.random.default_rng(7))) == 0
assert compare("stochastic_round on integers", stochastic_round(np.arange(-5.0, 6.0), rng), np.arange(-5.0, 6.0)) == 0
repeats = stochastic_round(np.tile(y[:100], (2_000, 1)), rng)  # (2000, 100): 2000 draws of 100 values
standard_errors = repeats.std(axis=0) / np.sqrt(2_000)
assert np.all(np.abs(repeats.mean(axis=0) - y[:100]) < 4 * standard_errors + 1e-12), "biased"
print("stochastic_round: floor or ceil, reproducible, unbiased within 4 standard errors on 100 values")

w = (rng.standard_normal(10_000) * 0.05).astype(np.float32)
for bits in (3, 5, 8):
    w_hat = log2_quantize(w, bits)
    mantissa, exponent = torch.frexp(torch.from_numpy(w_hat[w_hat != 0]))
    kept = w_hat != 0
    assert torch.all(mantissa.abs() == 0.5), "an output is not a power of two"
    assert np.all(np.sign(w_hat[kept]) == np.sign(w[kept])), "sign changed"
    assert np.all(np.abs(np.log2(np.abs(w_hat[kept]) / np.abs(w[kept]))) <= 0.5 + 1e-6), "not the nearest level"
    assert len(np.unique(exponent.numpy())) <= 2 ** (bits - 1) - 1, "too many magnitudes"
    print(f"log2_quantize {bits} bits: powers of two, signs kept, within half an octave, "
          f"{len(np.unique(exponent.numpy()))} magnitudes used, {np.mean(~kept):.1%} set to 0")

# %% [markdown]
# ## With PyTorch
#
# The same idea on an `nn.Module`: replace every Linear (and Conv2d) weight by its symmetric fake-quantized values,
# leave the biases in float32 (real int8 kernels keep them as int32 at scale $S_w S_x$, Jacob et al. 2018,
# Section 2.4), and run the float model as usual. This is *weight-only* quantization: activations stay in float.
# The function returns a quantized copy, so the trained model stays intact for the next bit-width.

# %%
QUANTIZED_LAYERS = (nn.Linear, nn.Conv2d)


@torch.no_grad()
def fake_quantize_weights_copy(model: nn.Module, bits: int, per_channel: bool) -> nn.Module:
    """A copy of model with each Linear/Conv2d weight symmetric fake-quantized (narrow signed range, zero point 0)."""
    qmin, qmax = qrange(bits, signed=True, narrow=True)  # also validates bits
    quantized = copy.deepcopy(model)
    for module in quantized.modules():
        if not isinstance(module, QUANTIZED_LAYERS):
            continue
        w = module.weight  # (C_out, C_in) or (C_out, C_in, K, K)
        if per_channel:
            amax = w.abs().amax(dim=tuple(range(1, w.dim())))  # (C_out,)
            scales = torch.clamp(amax.double() / qmax, min=FLOAT32_EPS).float()
            w.copy_(torch.fake_quantize_per_channel_affine(w, scales, torch.zeros_like(scales, dtype=torch.int32),
                                                           0, qmin, qmax))
        else:
            scale = symmetric_scale(w.abs().max().item(), bits)
            w.copy_(torch.fake_quantize_per_tensor_affine(w, scale, 0, qmin, qmax))
    return quantized


# %% [markdown]
# The PyTorch version agrees with the NumPy one layer by layer, exactly:

# %%
for per_channel in (False, True):
    quantized = fake_quantize_weights_copy(model, 4, per_channel)
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            w = module.weight.detach().numpy()
            scale = per_output_channel_scales(w, 4)[:, None] if per_channel else symmetric_scale(np.abs(w).max(), 4)
            ours = fake_quantize(w, scale, 0, *qrange(4, signed=True, narrow=True))
            label = "per-channel" if per_channel else "per-tensor"
            assert compare(f"layer {name} 4-bit {label}", ours, quantized.get_submodule(name).weight) == 0

# %% [markdown]
# How much of each layer's weight survives at 4 bits? Per-channel scales give every layer a higher SQNR, because no
# row is forced onto the grid of the largest row.

# %%
quantized_models = [fake_quantize_weights_copy(model, 4, per_channel) for per_channel in (False, True)]
print(f"{'layer':>6} {'shape':>12} {'per-tensor':>12} {'per-channel':>12}")
for name, module in model.named_modules():
    if isinstance(module, nn.Linear):
        w = module.weight.detach().numpy()
        sqnr = [sqnr_db(w, q.get_submodule(name).weight.detach().numpy()) for q in quantized_models]
        print(f"{name:>6} {str(tuple(w.shape)):>12} {sqnr[0]:>9.2f} dB {sqnr[1]:>9.2f} dB")
        assert sqnr[1] >= sqnr[0], f"layer {name}: per-channel SQNR below per-tensor"

# %% [markdown]
# Fake quantization only simulates the format. To store the model for real, keep the int8 codes and one float32
# scale per output channel; the biases stay float32. The real byte count is a little above `size_bytes(model, 8)`,
# which counts every parameter (biases too) at 8 bits and no scales. Dequantizing the stored codes gives back the
# fake-quantized weights exactly.

# %%
qmin, qmax = qrange(8, signed=True, narrow=True)
quantized = fake_quantize_weights_copy(model, 8, per_channel=True)
stored = {}
for name, module in model.named_modules():
    if isinstance(module, nn.Linear):
        w = module.weight.detach().numpy()
        scales = per_output_channel_scales(w, 8)  # (C_out,)
        codes = quantize(w, scales[:, None], 0, qmin, qmax).astype(np.int8)  # within [-127, 127]: the cast is safe
        stored[name] = (torch.from_numpy(codes), torch.from_numpy(scales.astype(np.float32)),
                        module.bias.detach().clone())
        assert compare(f"layer {name}: dequantized int8 codes vs fake-quantized",
                       dequantize(codes, scales[:, None], 0), quantized.get_submodule(name).weight) == 0
real_bytes = sum(t.nbytes for tensors in stored.values() for t in tensors)
print(f"fp32 parameters:            {size_bytes(model, 32):>8,} bytes")
print(f"size_bytes(model, 8):       {size_bytes(model, 8):>8,} bytes")
print(f"int8 codes + fp32 scales and biases: {real_bytes:>8,} bytes")
print(f"accuracy: fp32 {evaluate(model, loaders['test'])['accuracy']:.2%}, "
      f"int8 per-channel weights {evaluate(quantized, loaders['test'])['accuracy']:.2%}")

# %% [markdown]
# ## Experiments
#
# ### SQNR against bits: 6.02 dB per bit
#
# We quantize uniform data on $[-1, 1]$ and standard Gaussian data with min-max parameters at 2 to 16 bits and
# measure the SQNR. A straight-line fit over 4 to 16 bits (where $2^b - 1 \approx 2^b$) measures the slope, which
# the math predicts to be $20 \log_{10} 2 \approx 6.02$ dB per bit.

# %% tags=["slow"]
rng = np.random.default_rng(0)
signals = {"uniform on [-1, 1]": rng.uniform(-1, 1, 200_000).astype(np.float32),
           "Gaussian N(0, 1)": rng.standard_normal(200_000).astype(np.float32)}
bit_widths = np.arange(2, 17)
sqnr = {}
for label, x in signals.items():
    values = []
    for bits in bit_widths:
        scale, zero_point = affine_qparams(float(x.min()), float(x.max()), int(bits))
        values.append(sqnr_db(x, fake_quantize(x, scale, zero_point, *qrange(int(bits), signed=False))))
    sqnr[label] = np.array(values)
fit_range = bit_widths >= 4
slopes = {label: np.polyfit(bit_widths[fit_range], values[fit_range], 1) for label, values in sqnr.items()}
for label, (slope, intercept) in slopes.items():
    print(f"{label:>20}: SQNR = {slope:.3f} dB/bit * bits {intercept:+.2f} dB  (fit over 4..16 bits)")
assert abs(slopes["uniform on [-1, 1]"][0] - 6.02) < 0.1, "uniform slope not within 0.1 dB/bit of 6.02"

# %% tags=["slow"]
fig, ax = new_axes("SQNR of min-max quantization against bit-width", "bits", "SQNR (dB)")
for (label, values), marker in zip(sqnr.items(), ["o", "s"]):
    slope, intercept = slopes[label]
    ax.plot(bit_widths, values, marker, label=f"{label}, measured")
    ax.plot(bit_widths, slope * bit_widths + intercept, "-", alpha=0.6,
            label=f"{label}, fit: {slope:.2f} dB/bit")
ax.plot(bit_widths, 20 * np.log10(2) * bit_widths, "k:", label="6.02 dB/bit * bits")
ax.legend()
plt.show()

# %% [markdown]
# Both lines climb about 6 dB per bit, as the fit printed above shows. The uniform points sit on $6.02\,b$ except at 2
# and 3 bits, where $2^b - 1$ steps are noticeably fewer than $2^b$. The Gaussian line is parallel but lower: its
# min-max range reaches out to the largest of 200,000 samples, several standard deviations, so the offset
# $4.77 - 20\log_{10}(t/\sigma)$ is negative. Spending those dB better, by clipping the range, is module 02.
#
# ### Power-of-two against uniform on Gaussian weights
#
# Trained weights are roughly Gaussian: many small values, few large ones. Power-of-two levels crowd near zero,
# uniform levels are evenly spaced. We compare their SQNR on Gaussian weights with standard deviation 0.05, both
# with the range set by $\max|w|$.

# %% tags=["slow"]
rng = np.random.default_rng(0)
w = (rng.standard_normal(100_000) * 0.05).astype(np.float32)
bit_widths = np.arange(2, 9)
uniform_sqnr, log2_sqnr = [], []
for bits in bit_widths:
    scale = symmetric_scale(float(np.abs(w).max()), int(bits))
    uniform_sqnr.append(sqnr_db(w, fake_quantize(w, scale, 0, *qrange(int(bits), signed=True, narrow=True))))
    log2_sqnr.append(sqnr_db(w, log2_quantize(w, int(bits))))
for bits, u, lg in zip(bit_widths, uniform_sqnr, log2_sqnr):
    print(f"{bits} bits: uniform {u:6.2f} dB   power-of-two {lg:6.2f} dB")
assert log2_sqnr[1] > uniform_sqnr[1], "power-of-two should win at 3 bits"
assert all(u > lg for u, lg in zip(uniform_sqnr[2:], log2_sqnr[2:])), "uniform should win from 4 bits on"
assert max(log2_sqnr[2:]) - min(log2_sqnr[2:]) < 0.1, "power-of-two SQNR should be flat from 4 bits on"

# %% tags=["slow"]
fig, ax = new_axes("Power-of-two vs uniform quantization of Gaussian weights", "bits", "SQNR (dB)")
ax.plot(bit_widths, uniform_sqnr, "o-", label="uniform (symmetric, max |w|)")
ax.plot(bit_widths, log2_sqnr, "s-", label="power-of-two (log2)")
ax.legend()
plt.show()

# %% [markdown]
# The cell above prints the crossover. At 2 bits neither grid is usable, and at 3 bits, where each has three
# magnitudes, power-of-two edges ahead. From 4 bits on the uniform grid wins and gains about 6 dB per bit, while
# power-of-two stays flat: the error power comes from the large weights, whose levels are an octave apart whatever
# the bit-width, so their relative error stays up to $\sqrt{2} - 1$; more bits only add levels below the smallest
# one, where the small weights are many but contribute little error power. Its appeal is elsewhere: a multiplication by
# $\pm 2^e$ is a shift, no multiplier needed (Miyashita et al. 2016). The levels themselves, at 4 bits, over the
# weight histogram:

# %% tags=["slow"]
fig, ax = new_axes("4-bit levels over the weight distribution", "weight value", "density (1/unit)")
ax.hist(w, bins=200, density=True, color="0.75", label="weights, N(0, 0.05)")
uniform_levels = np.unique(fake_quantize(w, symmetric_scale(float(np.abs(w).max()), 4), 0,
                                         *qrange(4, signed=True, narrow=True)))
log2_levels = np.unique(log2_quantize(w, 4))
for levels, height, label in [(uniform_levels, 1.0, "uniform"), (log2_levels, 3.0, "power-of-two")]:
    ax.plot(levels, np.full(levels.size, height), "|", markersize=18, label=f"{label} levels (height arbitrary)")
ax.legend()
plt.show()

# %% [markdown]
# ### Accuracy against bits: per-tensor and per-channel
#
# Finally the question of the motivation: the trained MLP with its weights fake-quantized to 2 to 8 bits, one scale
# per tensor against one per output channel, evaluated on the 360 test digits.

# %% tags=["slow"]
bit_widths = list(range(2, 9))
accuracy = {"per-tensor": [], "per-channel": []}
for bits in progress(bit_widths, desc="bits"):
    for label, per_channel in (("per-tensor", False), ("per-channel", True)):
        quantized = fake_quantize_weights_copy(model, bits, per_channel)
        accuracy[label].append(evaluate(quantized, loaders["test"])["accuracy"])
print(f"fp32: {fp32_accuracy:.2%}")
for i, bits in enumerate(bit_widths):
    print(f"{bits} bits: per-tensor {accuracy['per-tensor'][i]:.2%}   per-channel {accuracy['per-channel'][i]:.2%}")
one_digit = 1 / len(digits.test)  # one test example, in accuracy
assert accuracy["per-channel"][0] > accuracy["per-tensor"][0] + 10 * one_digit, "per-channel should win at 2 bits"
assert all(accuracy["per-channel"][i] >= accuracy["per-tensor"][i] - one_digit for i in (1, 2)), \
    "per-channel should be at least as accurate (within one test digit) at 3 and 4 bits"
assert all(fp32_accuracy - acc[-1] <= 3 * one_digit + 1e-12 for acc in accuracy.values()), "8-bit lost > 3 digits"
# How large a difference is noise: an accuracy p measured on n test digits has binomial standard error
# sqrt(p (1 - p) / n); the difference of two such accuracies (nearly independent errors) about sqrt(2) times that.
n_test = len(digits.test)
standard_error = {label: np.sqrt(np.array(acc) * (1 - np.array(acc)) / n_test) for label, acc in accuracy.items()}
se_fp32 = float(np.sqrt(fp32_accuracy * (1 - fp32_accuracy) / n_test))
print(f"binomial standard error at fp32's accuracy on {n_test} digits: {se_fp32:.2%} "
      f"({se_fp32 * n_test:.1f} digits); a difference of two accuracies: about {np.sqrt(2) * se_fp32:.2%} "
      f"({np.sqrt(2) * se_fp32 * n_test:.1f} digits), so a gap under about {2 * np.sqrt(2) * se_fp32 * n_test:.0f} "
      "digits (two standard errors) is noise")

# %% tags=["headline"]
for bits in (8, 4):
    at = bit_widths.index(bits)
    print(f"LeNet-300-100 weights at {bits} bits ({32 // bits}x smaller than fp32): per-channel "
          f"{accuracy['per-channel'][at]:.2%}, per-tensor {accuracy['per-tensor'][at]:.2%} (fp32 {fp32_accuracy:.2%})")

# %% tags=["slow"]
fig, ax = new_axes("Weight-only quantization of LeNet-300-100 on digits", "weight bits", "test accuracy (%)")
ax.axhline(100 * fp32_accuracy, color="k", linestyle=":", label="fp32")
for (label, acc), marker in zip(accuracy.items(), "os"):  # error bars: two binomial standard errors
    ax.errorbar(bit_widths, 100 * np.array(acc), yerr=200 * standard_error[label], fmt=f"{marker}-", capsize=3,
                label=f"{label} scale{'s' if label == 'per-channel' else ''} (± 2 standard errors)")
ax.legend()
plt.show()

# %% [markdown]
# Read the plot from the right. At 8 bits both granularities stay within three test digits of fp32. How much is a
# digit worth? One digit is $1/360 = 0.28$ percentage points, and an accuracy $p$ measured on $n$ examples has the
# binomial standard error $\sqrt{p(1-p)/n}$: the cell above prints it in digits, and the error bars show two of
# them. A per-channel result a few digits below the per-tensor one (as at some bit-widths here) is inside that band:
# noise of the test set, not a property of the method. Going down, the accuracy holds for a
# while and then falls off a cliff. Per-channel scales are at least as accurate, to within one test digit, at 3 and
# 4 bits, and far more accurate at 2 bits. There the grid has only the codes $-1, 0, 1$: one scale set by the largest
# weight of the layer rounds nearly every weight to 0, while a scale per row keeps each row's largest weights.
# At 4 bits the weights take 8 times fewer bytes than at fp32 (the motivation cell); the plot says what that costs
# for this model.
#
# ## Pitfalls
#
# - **Zero must be a code.** Skipping the widening to include 0 makes real 0 fall between codes, so zero padding,
#   ReLU outputs and pruned weights come back as small non-zero values.
# - **`x / scale` is not `x * (1 / scale)`.** They differ in the last float32 bit, which flips values that sit on
#   a tie. Match the kernel (PyTorch multiplies by `1.0f / scale`) if you need bit-exact agreement.
# - **Round half up is biased.** `np.floor(x + 0.5)` moves every tie up, so on ties its mean error is $+1/2$.
#   `int(x + 0.5)` is not even that for negative x: `int` truncates toward zero, so `int(-1.2 + 0.5) == 0`. C's
#   `round` rounds half away from zero, unbiased only when the ties sit symmetrically about 0. `np.round`,
#   `torch.round` and Python's `round` go to even, unbiased on any set of ties.
# - **Clamp before casting.** An out-of-range float-to-int cast is undefined: `np.array([1e10]).astype(np.int8)`
#   may give 0, -56 for 200, or anything else, with at most a warning.
# - **PyTorch's symmetric qint8 scale is `amax / 127.5`**, not `amax / 127`, and it clips the largest positive value
#   by half a step. Pass `quant_min=-127, quant_max=127` to get the narrow range.
# - **Degenerate ranges.** An all-zero tensor would give scale 0; the scale is floored at the float32 epsilon.
# - **Metadata is not free.** `size_bytes` counts parameters only; per-channel scales add one float per output
#   channel, and biases usually stay at 32 bits.
# - **fp16 overflows at 65504** and flushes tiny values to subnormals and 0; bf16 has fp32's range but only 8
#   significant bits, so it is coarser than fp16 for values of moderate size.
# - **`torch.ao.quantization` is deprecated.** In PyTorch 2.13 its eager `prepare`/`convert` API warns and the
#   quantized dtypes `qint8`/`quint8` are on their way out; the successor is torchao. The observers and
#   `torch.fake_quantize_*` functions used here still work without warnings.
#
# ## Summary
#
# - A $b$-bit integer with a scale $S$ and zero point $Z$ represents $S(q - Z)$; quantizing rounds half to even and
#   clamps to $[q_{\min}, q_{\max}]$. Min-max parameters widen the range to contain 0; symmetric parameters fix
#   $Z = 0$ and use the narrow range $[-(2^{b-1}-1), 2^{b-1}-1]$ with $S = t / (2^{b-1} - 1)$.
# - Every extra bit adds about 6.02 dB of SQNR; the distribution and the range only move the offset.
# - Stochastic rounding is unbiased; power-of-two quantization has a relative error bounded by $\sqrt{2} - 1$ (for
#   values within its range) and needs no multiplier.
# - Per-channel scales give each output channel a grid that fits its own range; they raise the weight SQNR of every
#   layer here and matter most at low bit-widths.
# - Our NumPy fake quantization equals PyTorch's kernels bit for bit, and our scales equal PyTorch's observers' to
#   float tolerance (a relative 1e-6: PyTorch computes them in float32, we in float64), which is what lets later
#   modules trust them.
#
# **Read next.**
#
# - Jacob et al. 2018, *Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
#   Inference* (arXiv:1712.05877), Sections 2.1-2.2: the scheme $r = S(q - Z)$ and the integer-only matrix product
#   with the multiplier $M = S_1 S_2 / S_3$. Table 4.1 reports ResNet-50 on ImageNet at 76.4% in float and 74.9%
#   with 8-bit integers.
# - Nagel et al. 2021, *A White Paper on Neural Network Quantization* (arXiv:2106.08295), Section 2.2 (the uniform
#   affine quantizer, symmetric and per-channel variants) and Section 3.6 with its table of standard-PTQ-pipeline
#   results: for every model in that table, W8A8 stays within 0.7% of floating point; at W4A8 with per-tensor
#   weights MobileNetV2 drops 2.5% and EfficientNet-lite 4.2%, and per-channel weights recover 2.8% of that for
#   EfficientNet-lite.
# - Miyashita, Lee and Murmann 2016, *Convolutional Neural Networks using Logarithmic Data Representation*
#   (arXiv:1603.01025): power-of-two weights and activations, reported in the abstract to encode networks to 3 bits
#   with negligible loss and to remove the multipliers.
# - Gupta et al. 2015, *Deep Learning with Limited Numerical Precision* (arXiv:1502.02551): training with 16-bit
#   fixed-point numbers works when rounding is stochastic.
#
# Module 02 (calibration and post-training quantization) chooses the range instead of taking the min and max, and
# runs the integer arithmetic for real.
#
# ## Exercises
#
# 1. *(From your SQNR plot.)* Read the vertical gap between the uniform and the Gaussian lines. Predict it from
#    $4.77 - 20 \log_{10}(t/\sigma)$ with $t = \max|x|$ of the Gaussian sample, and check your prediction with code.
# 2. *(Code.)* Quantize the Gaussian signal with the range clipped at $\pm 3\sigma$ instead of its min and max. At
#    which bit-widths does the SQNR improve, and why does it fall behind the min-max range at high bit-widths?
# 3. *(From your accuracy plot.)* At which bit-width does each granularity first lose more than three test digits?
#    How many bytes does the model need there, counting the per-channel scales and the float32 biases?
# 4. *(Code.)* Pack two 4-bit codes per byte with NumPy (`np.uint8`, shifts and masks), unpack them, and check that
#    the packed weights of the MLP take the number of bytes `size_bytes` predicts plus the scales.
# 5. *(Code.)* Repeat the accumulation experiment of the stochastic-rounding section with updates of 0.01 and 0.6
#    instead of 0.1. What does round to nearest do with 0.6, and is the result closer to the exact sum?
# 6. *(Code and question.)* Cast the MLP's weights to fp16 and to bf16 (with `to_bfloat16`) and compute each layer's
#    SQNR. Which format is more accurate for these weights, by how many dB, and how does that follow from the
#    mantissa widths in the table of the math section?
# 7. *(Code.)* Change `log2_quantize` to use base $\sqrt{2}$ (levels $2^{k/2}$). Does it beat the uniform grid at
#    4 bits on the Gaussian weights? What would the hardware lose?
