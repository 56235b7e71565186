# %% [markdown]
# # Calibration and post-training quantization
#
# Module 01 quantized weights. Their values are fixed once training ends, so $\max_i |w_i|$ is known and a scale
# follows from it. Activations are different: they exist only while the model runs, and they change with every input.
# An int8 kernel still needs their scale, either fixed ahead of time from sample data (*static* quantization) or
# measured on each batch as it arrives (*dynamic* quantization). Choosing that range from sample data is
# *calibration*, and quantizing a trained model without retraining it is *post-training quantization* (PTQ).
#
# This lecture builds four calibrators (max, percentile, MSE, and the entropy method TensorRT uses), a histogram
# observer that collects activations batch by batch, and static quantization of a whole model. It compares
# weight-only, dynamic and static PTQ; runs a layer in integer arithmetic only, with the fixed-point rescaling of
# Jacob et al. (2018); times PyTorch's real int8 kernels on this CPU; and gives each layer its own bit-width within a
# size budget (mixed precision).
#
# ## Motivation: one large unit and 255 codes
#
# We train the LeNet-300-100 MLP of module 01 on the 8x8 digits again, and keep the training images, in a fixed
# order, as calibration data.

# %%
import itertools
import logging
import os
import warnings
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import scipy.stats
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from compresslab import compare, progress, seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.measure import latency_ms, size_bytes
from compresslab.models import lenet_300_100
from compresslab.plot import new_axes
from compresslab.quantization_basics import affine_qparams, quantize, sqnr_db, symmetric_scale
from compresslab.train import evaluate, fit

seed_everything(0)
# One thread: these models are too small to gain from more, and the timings below stay stable (and the sums
# reproducible) when other programs share the cores.
torch.set_num_threads(1)

# %%
digits = load_digits_dataset()  # x (N, 64) float32 in [0, 1], 10 classes
loaders = make_loaders(digits, batch_size=64)
calibration = DataLoader(TensorDataset(*digits.train.tensors()), batch_size=64)  # no shuffling: a fixed order
x_calibration, x_test = torch.from_numpy(digits.train.x), torch.from_numpy(digits.test.x)  # (1221, 64), (360, 64)
model = lenet_300_100()  # Linear 64->300 ("0"), ReLU, Linear 300->100 ("2"), ReLU, Linear 100->10 ("4")
print(f"train/val/test examples: {len(digits.train)}/{len(digits.val)}/{len(digits.test)}")

# %% tags=["slow"]
history = fit(model, loaders["train"], epochs=30, lr=1e-3, val_loader=loaders["val"], seed=0)
print(f"final train loss {history.train_loss[-1]:.4f}, val accuracy {history.val_accuracy[-1]:.2%}")

# %%
model.eval()
fp32_accuracy = evaluate(model, loaders["test"])["accuracy"]
print(f"test accuracy at fp32: {fp32_accuracy:.2%}")

# %% [markdown]
# Real activations are not shaped like weights. The histograms below show, on a log scale, the pre-activations of the
# two hidden layers over the calibration images: a dense body near zero and a thin tail, with the largest values
# several times the typical ones. A range set by the largest value spends most of its codes on the tail.

# %% tags=["slow"]
with torch.no_grad():
    pre_activations = {"layer 0 (64 -> 300)": model[0](x_calibration)}  # (1221, 300)
    pre_activations["layer 2 (300 -> 100)"] = model[2](torch.relu(pre_activations["layer 0 (64 -> 300)"]))
fig, ax = new_axes("Pre-activations of the trained MLP on 1,221 digits", "pre-activation value", "count (log scale)")
for label, z in pre_activations.items():
    z = z.numpy().ravel()
    ax.hist(z, bins=200, histtype="step", log=True, label=f"{label}: std {z.std():.2f}, max |z| {np.abs(z).max():.1f}")
ax.set_ylim(0.5, 1e5)
ax.legend(loc="upper left")
plt.show()

# %% [markdown]
# Outliers make this much worse. Large language models, for example, develop a few hidden channels whose activations
# are far larger than the rest (Dettmers et al. 2022, *LLM.int8()*, arXiv:2208.07339). We can give our MLP such a
# channel without changing what it computes: multiply the incoming weights and the bias of one hidden unit of layer 0 by
# $c > 0$ and divide that unit's outgoing weights in layer 2 by $c$. Since $\mathrm{ReLU}(cz) = c\,\mathrm{ReLU}(z)$ for
# $c > 0$, the network's function is unchanged but that unit's activations are now $c$ times larger. We pick the unit
# that already has the largest pre-activation and $c = 128 = 2^7$: multiplying and dividing by a power of two is exact
# in floating point, so the rescaled model computes bit for bit the same logits.

# %%
def rescale_hidden_unit(model: nn.Sequential, unit: int, c: float) -> nn.Sequential:
    """A copy of the MLP whose hidden unit `unit` of layer 0 is c times larger and is read c times weaker by layer 2."""
    if c <= 0:
        raise ValueError(f"c must be positive (ReLU(c z) = c ReLU(z) only holds for c > 0), got {c}")
    scaled = lenet_300_100()
    scaled.load_state_dict(model.state_dict())  # a copy
    with torch.no_grad():
        scaled[0].weight[unit] *= c  # incoming weights and bias: the pre-activation becomes c z
        scaled[0].bias[unit] *= c
        scaled[2].weight[:, unit] /= c  # outgoing weights undo the factor after the ReLU
    return scaled


with torch.no_grad():
    outlier_unit = int(model[0](x_calibration).abs().amax(dim=0).argmax())
outlier_model = rescale_hidden_unit(model, outlier_unit, 128.0)
with torch.no_grad():
    assert compare("logits: rescaled model vs trained model", outlier_model(x_test), model(x_test)) == 0

# %% [markdown]
# Now quantize the input of layer 2 (the ReLU outputs) to 8 bits with the range set by the largest value, as in
# module 01, and count how many integer codes the 299 ordinary units actually use. The symmetric 8-bit grid has 255
# codes, $-127$ to $127$; ReLU outputs can only reach the 128 non-negative ones.

# %%
def codes_used(x: np.ndarray, threshold: float, bits: int = 8) -> int:
    """Number of distinct codes of the symmetric b-bit grid on [-threshold, threshold] that the values x land on."""
    qmax = 2 ** (bits - 1) - 1
    return int(np.unique(quantize(x, symmetric_scale(threshold, bits), 0, -qmax, qmax)).size)


def layer2_inputs(mlp: nn.Sequential) -> np.ndarray:
    """The ReLU outputs that layer 2 reads for the calibration images: (1221, 300) float32."""
    with torch.no_grad():
        return torch.relu(mlp[0](x_calibration)).numpy()


for label, mlp in [("trained", model), ("rescaled", outlier_model)]:
    h = layer2_inputs(mlp)
    ordinary = np.delete(h, outlier_unit, axis=1)  # (1221, 299): every unit but the rescaled one
    t = float(np.abs(h).max())
    ordinary_hat = quantize(ordinary, symmetric_scale(t, 8), 0, -127, 127) * symmetric_scale(t, 8)
    print(f"{label:>8}: max threshold {t:7.2f}, the ordinary units use {codes_used(ordinary, t):3d} codes, "
          f"SQNR {sqnr_db(ordinary, ordinary_hat):5.1f} dB")

# %% [markdown]
# In the trained model the ordinary units use 126 of the 128 non-negative codes. After the rescaling, one unit
# stretches the range 128-fold and the other 299 are left with two codes, 0 and 1, and an SQNR below 1 dB: the
# quantization error is almost as large as the signal. Choosing the threshold with care, below the largest value, is the
# subject of this lecture; the experiment at the end measures what each choice does to the accuracy.
#
# ## The math
#
# **Symmetric quantization with a threshold.** Following TensorRT, a tensor $x$ is quantized to $b$ bits with a
# *threshold* $t > 0$ (NVIDIA calls it `amax`): the real interval $[-t, t]$ maps onto the narrow signed range,
#
# $$s = \frac{t}{2^{b-1} - 1}, \qquad q_i = \operatorname{clamp}\!\Big(\Big\lfloor \frac{x_i}{s} \Big\rceil,\
# -(2^{b-1} - 1),\ 2^{b-1} - 1\Big), \qquad \hat{x}_i = s\, q_i,$$
#
# with $s$ the scale (units of $x$ per step), $q_i$ the integer code, $\lfloor\cdot\rceil$ rounding half to even and
# $\hat{x}_i$ the fake-quantized value. The zero point is 0, and $\pm t$ are codes $\pm(2^{b-1} - 1)$.
#
# **Two kinds of error.** For $|x_i| \le t$ the error is rounding, at most $s/2$ and about $s^2/12$ in mean square;
# for $|x_i| > t$ it is clipping, $|x_i| - t$. Over $n$ values,
#
# $$E(t) = \frac{1}{n}\sum_{i=1}^{n} (x_i - \hat{x}_i)^2 \approx \frac{1}{n}\Big(\#\{i : |x_i| \le t\}\,
# \frac{s^2}{12} + \sum_{i:\,|x_i| > t} (|x_i| - t)^2\Big).$$
#
# Raising $t$ removes clipping and coarsens every step ($s \propto t$). Calibration picks $t$ on that trade-off,
# from a sample of activations, the *calibration data*:
#
# | calibrator | threshold $t$ |
# |---|---|
# | max | $\max_i \lvert x_i \rvert$: no clipping at all |
# | percentile | the $p$-th percentile of $\lvert x \rvert$, e.g. $p = 99.99$: clip the top $100 - p$ percent |
# | MSE | $\arg\min_{t_k} E(t_k)$ over candidates $t_k = \frac{k}{K} \max_i \lvert x_i \rvert$, $k = 1, \dots, K$ |
# | entropy | the $t$ whose quantized histogram loses the least information (below) |
#
# **Entropy (KL) calibration** as NVIDIA's TensorRT tools implement it (GTC 2017 talk "8-bit Inference with TensorRT";
# `pytorch-quantization`'s `HistogramCalibrator`). Histogram $|x|$ into $B = 2048$ bins of width $w = \max|x| / B$,
# with counts $h_0, \dots, h_{B-1}$; first replace $h_0$ (mostly exact zeros, e.g. after a ReLU) by $h_1$. A
# candidate keeps the first $i$ bins, $t_i = i\,w$, for $i = 128, \dots, B$. Two distributions over those $i$ bins:
#
# - $P$, the data clipped at $t_i$: $P_j = h_j$ for $j < i - 1$, and the last kept bin also takes every outlier,
#   $P_{i-1} = h_{i-1} + \sum_{j \ge i} h_j$;
# - $Q$, what a grid of $L = 2^{b-1}$ levels (128 for 8 bits) keeps of it: the $i$ bins are merged into $L$ groups
#   $G_g = \{j : \lfloor jL/i \rfloor = g\}$, and each group's total is spread evenly over its *non-empty* bins,
#   $Q_j = \big(\sum_{k \in G_g} h_k\big) / \#\{k \in G_g : h_k > 0\}$ for $h_j > 0$, and $Q_j = 0$ for $h_j = 0$.
#
# After normalising both to sum 1 (lower-case $p$, $q$), the Kullback-Leibler divergence
#
# $$D_{\mathrm{KL}}(p \,\|\, q) = \sum_{j=0}^{i-1} p_j \log \frac{p_j}{q_j} \quad \text{(nats; } 0 \log 0 = 0\text{)}$$
#
# measures the information the clipped-and-quantized histogram loses. The threshold is $t_{i^*}$ with $i^*$ the
# *largest* minimiser. No smoothing is applied; if $q_j = 0$ where $p_j > 0$ the divergence is $+\infty$.
#
# **Three kinds of PTQ.**
#
# | | weights | activations | arithmetic | calibration |
# |---|---|---|---|---|
# | weight-only | int8, dequantized before use | float | float | none |
# | dynamic | int8 | quantized per batch, scale from that batch's range | 8-bit x int8 -> int32 | none |
# | static | int8 | quantized with a scale fixed ahead of time | 8-bit x int8 -> int32, end to end | needed |
#
# The 8-bit activations are int8 or uint8 depending on the kernel: PyTorch's x86 (FBGEMM) dynamic and static
# kernels multiply **uint8** activations (with a zero point) by int8 weights, which is what the x86 instructions
# `vpmaddubsw` and VNNI's `vpdpbusd` take (one unsigned and one signed operand).
#
# **Integer-only inference** (Jacob et al. 2018, Sections 2.2-2.4). Every tensor is stored as $r = S(q - Z)$. For a
# linear layer $y = Wx + b$ with input scale and zero point $(S_x, Z_x)$, symmetric weights $(S_w, 0)$ and output
# $(S_y, Z_y)$, quantize the bias with scale $S_x S_w$ and zero point 0, $q^b_n = \lfloor b_n / (S_x S_w) \rceil$
# (int32). Then output $n$ is
#
# $$q^y_n = Z_y + M\,a_n, \qquad a_n = q^b_n + \sum_{k} (q^x_k - Z_x)\, q^w_{nk}, \qquad M = \frac{S_x S_w}{S_y},$$
#
# with $a_n$ the int32 *accumulator*. Expanding the product (Section 2.3),
# $\sum_k (q^x_k - Z_x) q^w_{nk} = \sum_k q^x_k q^w_{nk} - Z_x \sum_k q^w_{nk}$: the core is a plain integer
# matrix product, and the zero-point *cross term* needs only one sum per weight row, computed once. The real
# multiplier $M$ lies in $(0, 1)$ in practice and is written
#
# $$M = 2^{-n} M_0, \qquad M_0 \in [0.5, 1), \qquad m_0 = \lfloor 2^{31} M_0 \rceil \in [2^{30}, 2^{31}),$$
#
# so that $m_0$ fits an int32 with at least 30 bits of relative precision and $n \ge 0$ is a shift. $M a_n$ becomes
# two integer steps, as in Google's gemmlowp library: a *rounding doubling high multiply*
# $\mathrm{SRDHM}(a, m_0) \approx \lfloor a\, m_0 / 2^{31} \rceil$ (the high 32 bits of the 64-bit product $2 a m_0$,
# rounded, ties toward $+\infty$), then a *rounding right shift* by $n$, $\approx \lfloor \cdot / 2^n \rceil$ with
# ties away from zero.
# Finally add $Z_y$ and clamp to $[q_{\min}, q_{\max}]$; setting $q_{\min} = Z_y$ fuses a ReLU into the clamp.
#
# **Mixed precision.** Give each of the $m$ layers, layer $l$ with $n_l$ weights, its own width $b_l$ from a set $C$
# (say $\{2, 4, 8\}$). Its *sensitivity* $\Delta_l$ is the accuracy lost when only that layer is quantized. Each bit
# removed about doubles the step and so multiplies the quantization noise power ($\propto s^2$, module 01) by about
# 4; if the damage is proportional to the noise power,
#
# $$\min_{b_1, \dots, b_m \in C}\ \sum_{l=1}^{m} \max(\Delta_l, 0)\, 4^{-b_l} \quad \text{subject to} \quad
# \sum_{l=1}^{m} \frac{n_l b_l}{8} \le \text{budget (bytes)}.$$
#
# With a handful of layers, trying all $|C|^m$ allocations is exact and instant. Every uniform allocation that fits
# the budget is among them, so in this model the result is never worse than uniform; whether it is better in
# reality is the last experiment.

# %% [markdown]
# ## From scratch (NumPy)
#
# ### The symmetric quantizer with a threshold
#
# The cells tagged `export` from here on make up `compresslab/calibration_ptq.py`, which later modules import. The
# first holds the imports, a check on inputs, and the quantizer: module 01's `fake_quantize` on the narrow signed
# range with $s = t / (2^{b-1} - 1)$ (it multiplies by the float32 inverse scale, like PyTorch's kernels).

# %% tags=["export"]
import copy
import math
from collections.abc import Iterable

import numpy as np
import scipy.special
import torch
from numpy.typing import ArrayLike
from torch import nn

from compresslab.quantization_basics import FLOAT32_EPS, fake_quantize, qrange, symmetric_scale

QUANTIZED_LAYERS = (nn.Linear, nn.Conv2d)
START_BIN = 128  # TensorRT's first candidate: keep at least 128 of the histogram's bins
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def _check_int(name: str, value: int, low: int | None = None, high: int | None = None) -> None:
    """Raise ValueError unless value is an int (not a bool) within [low, high] (either bound may be None)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if low is not None and value < low or high is not None and value > high:
        bounds = f">= {low}" if high is None else f"<= {high}" if low is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an int {bounds}, got {value}")


def _magnitudes(x: ArrayLike) -> np.ndarray:
    """|x| flattened, as float64; ValueError unless x is a non-empty, finite array of real numbers."""
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"x must hold real numbers (an int or float dtype), got dtype {x.dtype}")
    if x.size == 0:
        raise ValueError("x is empty: there is nothing to calibrate on")
    magnitudes = np.abs(x.astype(np.float64)).ravel()  # float64 first: np.abs of int8 -128 would overflow
    if not np.all(np.isfinite(magnitudes)):
        raise ValueError("x must be finite (no NaN or inf)")
    return magnitudes


def symmetric_fake_quantize(x: ArrayLike, threshold: float, bits: int = 8) -> np.ndarray:
    """x on the symmetric grid s * q, s = threshold / (2^(bits-1) - 1), q in +-(2^(bits-1) - 1): float32, x's shape."""
    qmin, qmax = qrange(bits, signed=True, narrow=True)
    return fake_quantize(x, symmetric_scale(threshold, bits), 0, qmin, qmax)


# %%
x = np.array([-3.0, -0.5, 0.02, 1.0, 2.9, 40.0], dtype=np.float32)
print("x                   ", x)
print("threshold 3, 8 bits ", symmetric_fake_quantize(x, 3.0, 8))
print("threshold 3, 4 bits ", symmetric_fake_quantize(x, 3.0, 4))

# %% [markdown]
# $\pm 3$ are exact, the values in between move by at most half a step ($3/127$ at 8 bits, $3/7$ at 4 bits), and 40
# is clipped to 3.
#
# ### Max and percentile
#
# Every calibrator returns a threshold on $|x|$ as a Python float. The percentile uses NumPy's default linear
# interpolation between the two nearest order statistics.

# %% tags=["export"]
def calibrate_max(x: ArrayLike) -> float:
    """Threshold max |x|, in x's units: nothing is clipped."""
    return float(_magnitudes(x).max())


def _check_percentile(percentile: float) -> None:
    """Raise ValueError unless percentile is a real number in (0, 100]."""
    real = isinstance(percentile, (int, float, np.integer, np.floating)) and not isinstance(percentile, bool)
    if not (real and 0 < percentile <= 100):
        raise ValueError(f"percentile must be in (0, 100], got {percentile!r}")


def calibrate_percentile(x: ArrayLike, percentile: float = 99.99) -> float:
    """Threshold at the given percentile of |x| (linear interpolation), in x's units: the top (100 - p)% is clipped."""
    _check_percentile(percentile)
    return float(np.percentile(_magnitudes(x), percentile))


# %% [markdown]
# Our running example: 200,000 half-normal values $|z|$, $z \sim \mathcal{N}(0, 1)$, plus five outliers at 12. NVIDIA's
# own entropy function, run unmodified on exactly this data, gives a reference threshold that ours must reproduce.

# %%
def reference_data() -> np.ndarray:
    """200,000 half-normal samples from default_rng(0) followed by 5 outliers at 12.0: (200005,) float64."""
    rng = np.random.default_rng(0)
    return np.concatenate([np.abs(rng.standard_normal(200_000)), np.full(5, 12.0)])


reference = reference_data()
print(f"max:               {calibrate_max(reference):.4f}")
for p in (99.99, 99.9, 99.0):
    print(f"percentile {p:>5}:  {calibrate_percentile(reference, p):.4f}")

# %% [markdown]
# Five values out of 200,005 set the max threshold at 12; the 99.99th percentile, which may clip 20 values, already
# ignores them and sits at 3.98, where a half-normal tail thins out.
#
# ### MSE
#
# The MSE calibrator tries $K$ evenly spaced thresholds up to $\max|x|$ and keeps the one with the smallest mean
# squared error; on ties the first, smallest, one.

# %% tags=["export"]
def _candidate_thresholds(amax: float, num_candidates: int) -> np.ndarray:
    """amax * k / num_candidates for k = 1..num_candidates: (num_candidates,) float64."""
    _check_int("num_candidates", num_candidates, 1)
    return amax * np.arange(1, num_candidates + 1) / num_candidates


def calibrate_mse(x: ArrayLike, bits: int = 8, num_candidates: int = 100) -> float:
    """Threshold among max|x| * k / num_candidates minimising mean((fake_quant(x) - x)^2); ties go to the smallest."""
    qrange(bits, signed=True)  # validates bits
    amax = float(_magnitudes(x).max())
    x = np.asarray(x, dtype=np.float64).ravel()
    candidates = _candidate_thresholds(amax, num_candidates)
    errors = [np.mean((symmetric_fake_quantize(x, t, bits) - x) ** 2) for t in candidates]
    return float(candidates[int(np.argmin(errors))])  # np.argmin returns the first minimum


# %%
mse_threshold = calibrate_mse(reference)
print(f"MSE threshold: {mse_threshold:.2f}")
for t in (calibrate_percentile(reference), mse_threshold):
    clipped = np.sum((np.abs(reference) - t).clip(min=0) ** 2) / reference.size
    print(f"t = {t:5.2f}: mean squared error {np.mean((symmetric_fake_quantize(reference, t) - reference) ** 2):.2e}"
          f" of which clipping {clipped:.2e}")

# %% [markdown]
# MSE keeps the outliers: clipping five values from 12 to 4 costs
# $5 \cdot 8^2 / 200{,}005 \approx 1.6 \times 10^{-3}$ in mean square, more than all the rounding error a threshold
# of 10 adds. Squared error weighs a large miss heavily, so MSE only clips outliers that are both rare and not too far
# out.
#
# ### Entropy (KL divergence), as TensorRT does it
#
# First the divergence. `scipy.stats.entropy(p, q)` normalises both histograms and sums
# `scipy.special.rel_entr(p, q)`; we write the same two steps, because `scipy.stats.entropy` spends half a
# millisecond per call checking its inputs and the search calls it about 2,000 times. The check section confirms the
# results are bit for bit the same.

# %% tags=["export"]
def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """D_KL(p || q) in nats of two histograms, each normalised to sum 1 first: scipy.stats.entropy(p, q)."""
    p = p / p.sum()
    q = q / q.sum()
    return float(np.sum(scipy.special.rel_entr(p, q)))  # p log(p/q), 0 where p = 0, inf where q = 0 < p


# %% [markdown]
# Now the search over candidates $i = 128, \dots, B$. Three details follow NVIDIA's code exactly: the zero bin takes
# its neighbour's count (on a copy), $Q$ leaves empty bins empty, and ties go to the largest $i$. The groups are
# `np.digitize(range(i), np.linspace(0, i, L + 1)) - 1` in NVIDIA's code; because $L$ is a power of two,
# $i/L$ is exact in binary and that equals the integer formula $\lfloor jL/i \rfloor$, which we use (checked below).
# One deliberate difference: when the first $i$ bins are all empty, $Q$ is all zero and `scipy.stats.entropy`
# returns NaN, which NVIDIA's `np.argmin` then *selects*; we score such a candidate $+\infty$ (the pitfalls section
# shows where this matters).

# %% tags=["export"]
def entropy_threshold(counts: ArrayLike, edges: ArrayLike, bits: int = 8) -> float:
    """TensorRT's KL threshold from a histogram of |x| (counts (B,), edges (B + 1,)): a bin edge, in x's units."""
    levels = qrange(bits, signed=True)[1] + 1  # 2^(bits-1): 128 levels for 8 bits
    counts = np.asarray(counts)
    if counts.dtype.kind not in "iuf" or counts.ndim != 1 or counts.size <= START_BIN:
        raise ValueError(f"counts must be 1-D and real with more than {START_BIN} bins, got shape {counts.shape}")
    if not np.all(np.isfinite(counts) & (counts >= 0)):
        raise ValueError("counts must be finite and non-negative")
    edges = np.asarray(edges, dtype=np.float64)
    if edges.shape != (counts.size + 1,):
        raise ValueError(f"edges must have shape ({counts.size + 1},), got {edges.shape}")
    bins = counts.astype(np.float64)  # a copy: the zero-bin fix must not touch the caller's histogram
    bins[0] = bins[1]  # exact zeros (ReLU outputs) would dominate P
    if not np.any(bins):
        raise ValueError("counts holds no data beyond bin 0: there is no range to calibrate")
    beyond = np.append(np.cumsum(bins[::-1])[::-1], 0.0)  # beyond[i] = bins[i:].sum()
    divergences = np.full(bins.size + 1 - START_BIN, np.inf)  # one per candidate i = START_BIN..B
    for i in range(START_BIN, bins.size + 1):
        kept = bins[:i]
        if not np.any(kept):
            continue  # Q would be all zero: the divergence is undefined, the candidate useless
        p = kept.copy()
        p[-1] += beyond[i]  # outliers folded into the last kept bin
        group = np.arange(i) * levels // i  # (i,): which of the levels each bin merges into
        nonempty = kept > 0
        group_total = np.bincount(group, weights=kept, minlength=levels)
        group_nonempty = np.bincount(group, weights=nonempty, minlength=levels)
        q = np.where(nonempty, group_total[group] / np.maximum(group_nonempty[group], 1), 0.0)
        divergences[i - START_BIN] = kl_divergence(p, q)
    best = divergences.size - 1 - int(np.argmin(divergences[::-1]))  # the last minimiser: ties go to larger i
    return float(edges[START_BIN + best])


def calibrate_entropy(x: ArrayLike, bits: int = 8, num_bins: int = 2048) -> float:
    """Threshold minimising the KL divergence between |x|'s histogram clipped there and its 2^(bits-1)-level copy."""
    _check_int("num_bins", num_bins, START_BIN + 1)
    qrange(bits, signed=True)  # validates bits
    magnitudes = _magnitudes(x)
    amax = float(magnitudes.max())
    if amax == 0:
        return 0.0  # all zeros: no histogram to search
    counts, edges = np.histogram(magnitudes, bins=num_bins, range=(0.0, amax))
    return entropy_threshold(counts, edges, bits)


# %%
entropy_amax = calibrate_entropy(reference)
print(f"entropy threshold: {entropy_amax!r} = edge {entropy_amax / (12 / 2048):.0f} of 2048 bins of width 12/2048")
assert entropy_amax == 4.271484375, "NVIDIA's reference run gives 4.271484375"

# %% [markdown]
# This is exactly NVIDIA's reference value, 4.271484375 (bin edge 729): running `_compute_amax_entropy` unmodified on
# the same data gives the same number. Entropy clips the outliers, like the percentile, but the
# threshold now comes from the shape of the histogram instead of a fraction fixed in advance.
#
# ### A histogram observer
#
# Calibration data arrive in batches, and activations are too many to keep. An *observer* keeps a summary, here a
# histogram of $|x|$. The first batch with a non-zero value fixes the bin width, $\max|x| / B$; when a later batch
# goes past the last edge, bins of the same width are appended (NVIDIA's collection rule), so old counts never move.
# Any calibrator can then read its threshold off the histogram: percentile takes the edge where the cumulative share
# reaches $p$ (NVIDIA's rule), MSE weighs each bin centre by its count, entropy is the search above.

# %% tags=["export"]
class HistogramObserver:
    """Accumulates a histogram of |x| over batches; ``threshold(method)`` reads a calibrated threshold off it."""

    METHODS = ("max", "percentile", "mse", "entropy")

    def __init__(self, num_bins: int = 2048) -> None:
        _check_int("num_bins", num_bins, 1)
        self.num_bins = int(num_bins)
        self.counts: np.ndarray | None = None  # (B,) int64, B grows from num_bins as the range grows
        self.edges: np.ndarray | None = None  # (B + 1,) float64, evenly spaced from 0
        self.max_abs = 0.0  # the largest |x| seen, exact
        self.num_values = 0  # values seen, the zeros of batches before the range was fixed included

    def update(self, x: ArrayLike) -> None:
        """Add the magnitudes of one batch x (any shape) to the histogram."""
        magnitudes = _magnitudes(x)
        batch_max = float(magnitudes.max())
        self.max_abs = max(self.max_abs, batch_max)
        self.num_values += magnitudes.size
        if self.counts is None:
            if batch_max > 0:
                self.counts, self.edges = np.histogram(magnitudes, bins=self.num_bins, range=(0.0, batch_max))
                self.counts[0] += self.num_values - magnitudes.size  # the zeros of earlier all-zero batches
            return
        if batch_max > self.edges[-1]:
            width = self.edges[1] - self.edges[0]
            extra = math.ceil((batch_max - self.edges[-1]) / width)
            while self.edges[-1] + extra * width < batch_max:  # guard against the division rounding down
                extra += 1
            self.edges = np.append(self.edges, self.edges[-1] + width * np.arange(1, extra + 1))
            self.counts = np.append(self.counts, np.zeros(extra, dtype=self.counts.dtype))
        self.counts += np.histogram(magnitudes, bins=self.edges)[0]

    OPTIONS = {"max": {}, "percentile": {"percentile": 99.99}, "mse": {"bits": 8, "num_candidates": 100},
               "entropy": {"bits": 8}}  # each method's keyword options and their defaults

    def threshold(self, method: str, **kwargs) -> float:
        """Threshold (x's units) by "max", "percentile" (percentile=), "mse" (bits=, num_candidates=) or "entropy"."""
        if method not in self.METHODS:
            raise ValueError(f"method must be one of {self.METHODS}, got {method!r}")
        unknown = sorted(set(kwargs) - set(self.OPTIONS[method]))
        if unknown:
            raise ValueError(f"threshold({method!r}) takes the options {sorted(self.OPTIONS[method])}, not {unknown}")
        if self.num_values == 0:
            raise RuntimeError("no data was observed: call update(x) before threshold()")
        options = {**self.OPTIONS[method], **kwargs}
        if method == "max":
            return self.max_abs
        if method == "percentile":
            _check_percentile(options["percentile"])
        else:
            qrange(options["bits"], signed=True)  # validates bits
        if self.counts is None:
            return 0.0  # only zeros seen
        if method == "percentile":
            return self._percentile(options["percentile"])
        if method == "mse":
            return self._mse(options["bits"], options["num_candidates"])
        return entropy_threshold(self.counts, self.edges, options["bits"])

    def _percentile(self, percentile: float) -> float:
        """NVIDIA's histogram percentile: the edge at which the cumulative share first reaches percentile / 100."""
        cdf = np.cumsum(self.counts / self.counts.sum())
        return float(self.edges[np.searchsorted(cdf, percentile / 100)])

    def _mse(self, bits: int, num_candidates: int) -> float:
        """calibrate_mse on the histogram: each bin centre stands for its count; ties go to the smallest threshold."""
        centres = (self.edges[:-1] + self.edges[1:]) / 2  # (B,)
        candidates = _candidate_thresholds(self.max_abs, num_candidates)
        errors = [np.average((symmetric_fake_quantize(centres, t, bits) - centres) ** 2, weights=self.counts)
                  for t in candidates]
        return float(candidates[int(np.argmin(errors))])


# %% [markdown]
# Three batches of Gaussian data with a growing spread: the histogram keeps its bin width and grows. (The entropy
# search costs time proportional to the square of the number of bins, so a histogram that grows far gets slow.)

# %%
rng = np.random.default_rng(1)
observer = HistogramObserver()
for spread in (1.0, 1.5, 2.0):
    batch = rng.standard_normal(50_000) * spread
    observer.update(batch)
    print(f"batch with spread {spread}: {observer.counts.size:5d} bins of width {observer.edges[1]:.5f}, "
          f"last edge {observer.edges[-1]:.3f}, max |x| so far {observer.max_abs:.3f}")
print({method: round(observer.threshold(method), 3) for method in HistogramObserver.METHODS})
assert observer.counts.sum() == 150_000 and observer.edges[-1] >= observer.max_abs

# %% [markdown]
# Every value is counted once, and the last edge always covers the largest value. After a single batch the observer
# holds exactly the histogram `calibrate_entropy` builds, so the two agree exactly:

# %%
single = HistogramObserver()
single.update(reference)
assert single.threshold("entropy") == calibrate_entropy(reference) == 4.271484375
print(f"percentile 99.99 from the histogram: {single.threshold('percentile')!r}, "
      f"exact percentile: {calibrate_percentile(reference):.6f}")

# %% [markdown]
# The histogram percentile is a bin edge, the left edge of the bin where the cumulative share crosses $p$, so it may
# sit up to one bin width ($12/2048 \approx 0.006$ here) below the exact percentile.
#
# ### Integer-only arithmetic
#
# **The multiplier.** `math.frexp` splits $M = M_0 \cdot 2^{e}$ with $M_0 \in [0.5, 1)$; the shift is $n = -e$
# and $m_0 = \lfloor 2^{31} M_0 + \tfrac12 \rfloor$, the nearest integer (ties up). Rounding can give $2^{31}$
# exactly, which does not fit an int32; then $m_0 = 2^{30}$ and the shift drops by one. (If that would make the shift
# negative, $M$ is within $2^{-32}$ of 1 and we keep the largest int32, $2^{31} - 1$, with shift 0.)

# %% tags=["export"]
def quantize_multiplier(m: float) -> tuple[int, int]:
    """(m0, shift) with m = m0 * 2^(-31 - shift) to a relative 2^-31: m0 an int in [2^30, 2^31), shift >= 0."""
    if isinstance(m, bool) or not isinstance(m, (int, float, np.integer, np.floating)) or not (
            math.isfinite(m) and 0 < m < 1):
        raise ValueError(f"m must be a finite real number in (0, 1), got {m!r}")
    mantissa, exponent = math.frexp(float(m))  # m = mantissa * 2^exponent, mantissa in [0.5, 1), exponent <= 0
    m0, shift = math.floor(mantissa * 2**31 + 0.5), -exponent  # both steps are exact in float64
    if m0 == 2**31:  # rounded up to 1.0: renormalise
        m0, shift = 2**30, shift - 1
        if shift < 0:
            m0, shift = INT32_MAX, 0
    return int(m0), int(shift)


# %%
for m in (0.5, 0.75, 0.1, 3.2e-4):
    m0, shift = quantize_multiplier(m)
    print(f"M = {m:<7g} -> m0 = {m0:>10d}, shift = {shift:>2d}: m0 * 2^-(31 + shift) = {m0 * 2.0**(-31 - shift):.12g}")

# %% [markdown]
# **The two gemmlowp primitives**, in NumPy int64 (every product of two int32 values fits). `SRDHM` adds a nudge of
# $2^{30}$ (or $1 - 2^{30}$ for a negative product) and divides by $2^{31}$ truncating toward zero. For a negative
# tie the nudge falls one short of the half, so the truncation goes toward zero: ties go toward $+\infty$
# ($-1.5 \to -1$, $-0.5 \to 0$, $0.5 \to 1$, $1.5 \to 2$; the cell below checks it). The one product that
# overflows, $(-2^{31})^2$, saturates to $2^{31} - 1$. The rounding right shift (an arithmetic shift rounds toward
# $-\infty$) adds one when the discarded remainder is at least half, or more than half for a negative value: its
# ties go away from zero.

# %% tags=["export"]
def saturating_rounding_doubling_high_mul(a: np.ndarray, b: int) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul: round(a * b / 2^31) for int32 a (int64 array) and int32 b."""
    product = a * np.int64(b)  # |a b| <= 2^62 fits int64
    nudge = np.where(product >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    total = product + nudge
    high = np.where(total >= 0, total >> 31, -((-total) >> 31))  # division by 2^31 truncating toward zero
    return np.where((a == INT32_MIN) & (b == INT32_MIN), np.int64(INT32_MAX), high)


def rounding_divide_by_pot(x: np.ndarray, exponent: int) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT: x / 2^exponent (0 <= exponent <= 31) rounded half away from zero, int64 array."""
    mask = np.int64((1 << exponent) - 1)
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def requantize(acc: ArrayLike, m0: int, shift: int, zero_point: int, qmin: int, qmax: int) -> np.ndarray:
    """Codes clamp(RDivPOT(SRDHM(acc, m0), shift) + zero_point, qmin, qmax) for int32 acc: int32, acc's shape."""
    acc = np.asarray(acc)
    if acc.dtype.kind not in "iu":
        raise ValueError(f"acc must be an integer array, got dtype {acc.dtype}")
    if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):  # before the cast: uint64 would wrap
        raise ValueError(f"acc must fit in int32, got values in [{acc.min()}, {acc.max()}]")
    acc = acc.astype(np.int64)
    _check_int("m0", m0, INT32_MIN, INT32_MAX)
    _check_int("shift", shift, 0, 31)  # gemmlowp's range for a rounding right shift of an int32
    _check_int("qmin", qmin, INT32_MIN, INT32_MAX)
    _check_int("qmax", qmax, INT32_MIN, INT32_MAX)
    if qmin >= qmax:
        raise ValueError(f"qmin must be smaller than qmax, got qmin={qmin}, qmax={qmax}")
    _check_int("zero_point", zero_point, qmin, qmax)
    scaled = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(acc, int(m0)), int(shift))
    return np.clip(scaled + zero_point, qmin, qmax).astype(np.int32)


# %% [markdown]
# The two tie rules, on exact ties. With $M = 1/2$ ($m_0 = 2^{30}$, shift 0) only the doubling high multiply
# rounds; with $M = 1/4$ (shift 1) it computes $a/2$ exactly for even $a$ and the shift rounds the halves:

# %%
halves = np.array([-3, -1, 1, 3])  # a * 2^30 / 2^31 = -1.5, -0.5, 0.5, 1.5
srdhm = saturating_rounding_doubling_high_mul(halves, 1 << 30)
print("a * m0 / 2^31", halves / 2, "-> SRDHM", srdhm)
assert srdhm.tolist() == [-1, 0, 1, 2], "SRDHM rounds ties toward +infinity"
acc = np.array([-10, -6, -2, -1, 1, 2, 6, 10, 1_000])
m0, shift = quantize_multiplier(0.25)
quarter = requantize(acc, m0, shift, zero_point=0, qmin=-127, qmax=127)
print("acc          ", acc)
print("acc / 4      ", acc / 4)
print("requantize   ", quarter)
assert quarter[[0, 1, 2, 6]].tolist() == [-3, -2, -1, 2], "the rounding shift sends ties away from zero"

# %% [markdown]
# The doubling high multiply sends $-0.5$ to 0 and $0.5$ to 1 (ties toward $+\infty$). At $M = 1/4$,
# $-10/4 = -2.5$ goes to $-3$ and $6/4 = 1.5$ to 2 (the shift's ties go away from zero, unlike `np.round`), and
# 250 is clamped to 127. $\pm 1/4$ are not ties, yet $-1$ gives 0 and $1$ gives 1: the high multiply rounds
# $\pm 0.5$ toward $+\infty$ first, then the shift rounds $1/2$ away from zero. Rounding twice.
#
# **The integer linear layer.** The int64 accumulator is $x_q w_q^\top - Z_x \sum_k w_q + b_q$; it must fit in int32,
# the accumulator width of the hardware, before it is requantized. No float appears anywhere.

# %% tags=["export"]
def _integer_matrix(name: str, a: ArrayLike, ndim: int, low: int, high: int) -> np.ndarray:
    """a as int64; ValueError unless it has an integer dtype, ndim dimensions and values in [low, high]."""
    a = np.asarray(a)
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an integer array, got dtype {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {a.shape}")
    if a.size and (a.min() < low or a.max() > high):
        raise ValueError(f"{name} must hold values in [{low}, {high}], got [{a.min()}, {a.max()}]")
    return a.astype(np.int64)


def int_linear(x_q: ArrayLike, x_zp: int, w_q: ArrayLike, b_q: ArrayLike, m0: int, shift: int, y_zp: int,
               qmin: int, qmax: int) -> np.ndarray:
    """Integer-only y = W x + b: x_q (N, C_in) with zero point x_zp, w_q (C_out, C_in), b_q (C_out,) -> (N, C_out)."""
    x_q = _integer_matrix("x_q", x_q, 2, INT32_MIN, INT32_MAX)
    w_q = _integer_matrix("w_q", w_q, 2, -128, 127)  # int8 weight codes
    b_q = _integer_matrix("b_q", b_q, 1, INT32_MIN, INT32_MAX)  # int32 bias codes
    _check_int("x_zp", x_zp)
    if w_q.shape[1] != x_q.shape[1]:
        raise ValueError(f"w_q must have {x_q.shape[1]} columns to match x_q, got shape {w_q.shape}")
    if b_q.shape != (w_q.shape[0],):
        raise ValueError(f"b_q must have shape ({w_q.shape[0]},), got {b_q.shape}")
    acc = x_q @ w_q.T - x_zp * w_q.sum(axis=1) + b_q  # (N, C_out): the zero-point cross term is one sum per row
    if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise ValueError(f"the accumulator overflows int32: values in [{acc.min()}, {acc.max()}]")
    return requantize(acc, m0, shift, y_zp, qmin, qmax)


# %% [markdown]
# A case to check by hand: $x_q = (3, -1)$ with $Z_x = 1$, so $x_q - Z_x = (2, -2)$; rows $(2, 1)$ and $(-1, 4)$;
# bias $(5, 0)$. The accumulators are $2 \cdot 2 - 2 \cdot 1 + 5 = 7$ and $-2 - 8 = -10$, and $M = 1/4$ maps them to
# $1.75 \to 2$ and $-2.5 \to -3$.

# %%
y_q = int_linear(np.array([[3, -1]]), 1, np.array([[2, 1], [-1, 4]]), np.array([5, 0]), *quantize_multiplier(0.25),
                 y_zp=0, qmin=-127, qmax=127)
print(y_q)
assert np.array_equal(y_q, [[2, -3]])

# %% [markdown]
# ## Check against the library
#
# **Percentile.** `calibrate_percentile` is `np.percentile` by definition; `torch.quantile` (linear interpolation
# too) is an independent implementation. On the reference data, in float64, they agree exactly.

# %%
for p in (50.0, 99.0, 99.9, 99.99, 100.0):
    assert compare(f"percentile {p} vs torch.quantile", calibrate_percentile(reference, p),
                   torch.quantile(torch.from_numpy(reference), p / 100).item()) == 0

# %% [markdown]
# **MSE.** The chosen threshold must be within one candidate step ($\max|x| / 100$) of the best threshold on a grid
# ten times finer. We check the first 20,000 reference values with the five outliers, and Gaussian data, at 8 and 4
# bits.

# %%
rng = np.random.default_rng(2)
for label, x in [("reference", np.concatenate([reference[:20_000], reference[-5:]])),
                 ("Gaussian", rng.standard_normal(20_000))]:
    for bits in (8, 4):
        amax = calibrate_max(x)
        fine = amax * np.arange(1, 1001) / 1000
        fine_best = fine[np.argmin([np.mean((symmetric_fake_quantize(x, t, bits) - x) ** 2) for t in fine])]
        ours = calibrate_mse(x, bits)
        print(f"{label:>9}, {bits} bits: ours {ours:.4f}, best of 1000 {fine_best:.4f}, step {amax / 100:.4f}")
        assert abs(ours - fine_best) <= amax / 100 + 1e-12, "MSE threshold more than one step from the best"

# %% [markdown]
# **Entropy.** Four checks. The integer group formula equals NVIDIA's `np.digitize` construction for every
# candidate; `kl_divergence` equals `scipy.stats.entropy` bit for bit on the reference histogram's candidates (every
# eighth, to save time); and `np.histogram` and `torch.histc` (NVIDIA's default collector) give the same counts on
# the reference data, so both reproduce 4.271484375. And the observer's percentile rule gives what NVIDIA's
# `_compute_amax_percentile` gives on the same histogram: 3.97265625 at 99.99 and 3.28125 at 99.9.

# %%
for i in range(START_BIN, 2049):
    assert np.array_equal(np.arange(i) * 128 // i, np.digitize(range(i), np.linspace(0, i, 129)) - 1), i
print("group formula equals np.digitize for every i from 128 to 2048")

hist, edges = np.histogram(reference, bins=2048, range=(0.0, 12.0))
bins = hist.astype(np.float64)
bins[0] = bins[1]
ours, scipys = [], []
for i in range(START_BIN, 2049, 8):
    p = bins[:i].copy()
    p[-1] += bins[i:].sum()
    group = np.arange(i) * 128 // i
    group_total = np.bincount(group, weights=bins[:i], minlength=128)
    group_nonempty = np.bincount(group, weights=bins[:i] > 0, minlength=128)
    q = np.where(bins[:i] > 0, group_total[group] / np.maximum(group_nonempty[group], 1), 0.0)
    ours.append(kl_divergence(p, q))
    scipys.append(scipy.stats.entropy(p, q))
assert compare("kl_divergence vs scipy.stats.entropy", ours, scipys) == 0

reference32 = torch.from_numpy(reference.astype(np.float32))
histc = torch.histc(reference32, bins=2048, min=0, max=12.0).numpy()
assert compare("np.histogram vs torch.histc counts", hist, histc) == 0
assert entropy_threshold(histc, torch.linspace(0, 12.0, 2049).numpy()) == 4.271484375
assert compare("percentile rule: 99.99 and 99.9", [single.threshold("percentile", percentile=p) for p in (99.99, 99.9)],
               [3.97265625, 3.28125]) == 0

# %% [markdown]
# **PyTorch's `HistogramObserver` is not KL.** Its name suggests the same method, but it minimises an estimate of
# the L2 quantization error with a greedy search over the histogram (`_non_linear_param_search`, ported from Caffe2),
# and it does not clip rare, distant outliers. On the reference data, with the same symmetric range $[-127, 127]$:

# %%
torch_observer = torch.ao.quantization.HistogramObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric,
                                                         quant_min=-127, quant_max=127)
torch_observer(reference32)
torch_threshold = torch_observer.calculate_qparams()[0].item() * 127  # scale = threshold / 127
print(f"torch.ao HistogramObserver (L2): {torch_threshold:.3f}   ours: entropy {calibrate_entropy(reference):.3f}, "
      f"MSE {calibrate_mse(reference):.3f}, max {calibrate_max(reference):.3f}")
assert torch_threshold > 11.9, "PyTorch's L2 search keeps the outliers at 12"

# %% [markdown]
# PyTorch's observer keeps the outliers, as our MSE search does; both minimise squared error. Entropy calibration is
# a different objective, and the choice between them is a modelling decision, not a detail.
#
# **The multiplier.** Python's `Fraction` is exact, so it can check $|m_0 2^{-31-n} - M| \le 2^{-31} M$ with no
# rounding of its own, on 10,000 multipliers spread over eight decades and on the edge cases ($M$ just below 1,
# powers of two, the smallest positive float).

# %%
rng = np.random.default_rng(3)
multipliers = list(10.0 ** rng.uniform(-8, 0, 10_000)) + [1 - 2**-53, 1 - 2**-33, 0.5, 2**-20, 5e-324, 0.999999999]
worst = Fraction(0)
for m in multipliers:
    m0, shift = quantize_multiplier(m)
    assert 2**30 <= m0 < 2**31 and shift >= 0, (m, m0, shift)
    worst = max(worst, abs(Fraction(m0, 2 ** (31 + shift)) - Fraction(m)) / Fraction(m))
print(f"largest relative error: {float(worst):.3g} (bound 2^-31 = {2**-31:.3g})")
assert worst <= Fraction(1, 2**31)

# %% [markdown]
# **Requantization.** Two references. A scalar transcription of gemmlowp's C code in Python integers (arbitrary
# precision, C's truncating division written out) must match exactly, overflow case included. The exact rational
# $\lfloor a\, m_0 / 2^{31 + n} \rceil$ (half to even) may differ by one: the integer path rounds twice, with its
# own tie rules (toward $+\infty$ in the high multiply, away from zero in the shift).

# %%
def gemmlowp_reference(a: int, b: int, exponent: int) -> int:
    """RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(a, b), exponent) in Python ints, as in gemmlowp's C."""
    if a == b == INT32_MIN:
        high = INT32_MAX
    else:
        product = a * b
        nudge = (1 << 30) if product >= 0 else 1 - (1 << 30)
        high = abs(product + nudge) // 2**31 * (1 if product + nudge >= 0 else -1)  # C truncates toward zero
    mask = (1 << exponent) - 1
    remainder, threshold = high & mask, (mask >> 1) + (high < 0)
    return (high >> exponent) + (remainder > threshold)


rng = np.random.default_rng(4)
acc = np.concatenate([rng.integers(INT32_MIN, INT32_MAX, 2_000, endpoint=True), rng.integers(-5000, 5000, 2_000),
                      [INT32_MIN, INT32_MAX, 0, -1, 1]])
for m0, shift in [quantize_multiplier(m) for m in (0.75, 3.2e-4, 1e-7)] + [(INT32_MIN, 0), (INT32_MAX, 31)]:
    ours = requantize(acc, m0, shift, 0, INT32_MIN, INT32_MAX)
    python_ints = [gemmlowp_reference(int(a), m0, shift) for a in acc]
    assert compare(f"requantize m0={m0}, shift={shift} vs Python ints", ours, python_ints) == 0
    if m0 > 0:
        exact = [round(Fraction(int(a) * m0, 2 ** (31 + shift))) for a in acc]
        off = np.abs(ours.astype(np.int64) - np.array(exact, dtype=np.int64))
        print(f"    vs the exact rational: {np.mean(off == 0):.2%} equal, max difference {off.max()}")
        assert off.max() <= 1

# %% [markdown]
# **A real trained layer, in integers.** Layer 2 of the trained MLP (300 -> 100) on the 360 test digits. Its input,
# the ReLU outputs, gets an asymmetric int8 range: all values are $\ge 0$, so the zero point is $-128$ and the
# cross term is far from zero. Its weights get a symmetric per-tensor scale, its bias the scale $S_x S_w$ (Jacob et
# al. 2018, Section 2.4), and its output an asymmetric int8 range. The float reference rounds $M a_n$ once, in
# float64; the integer path must agree within one step (one LSB) everywhere and exactly on at least 99.9% of outputs.

# %%
with torch.no_grad():
    layer_input = torch.relu(model[0](x_test)).numpy()  # (360, 300)
    layer_output = model[2](torch.from_numpy(layer_input)).numpy()  # (360, 100)
w, b = model[2].weight.detach().numpy(), model[2].bias.detach().numpy()
s_x, x_zp = affine_qparams(float(layer_input.min()), float(layer_input.max()), 8, signed=True)
s_w = symmetric_scale(float(np.abs(w).max()), 8)
s_y, y_zp = affine_qparams(float(layer_output.min()), float(layer_output.max()), 8, signed=True)
x_q = quantize(layer_input, s_x, x_zp, -128, 127)  # (360, 300) int32 codes
w_q = quantize(w, s_w, 0, -127, 127)  # (100, 300)
b_q = np.round(b.astype(np.float64) / (s_x * s_w)).astype(np.int64)  # (100,) int32 range
multiplier = s_x * s_w / s_y
m0, shift = quantize_multiplier(multiplier)
print(f"S_x = {s_x:.5f}, Z_x = {x_zp}; S_w = {s_w:.6f}; S_y = {s_y:.5f}, Z_y = {y_zp}; "
      f"M = {multiplier:.6g} -> m0 = {m0}, shift = {shift}")

integer_output = int_linear(x_q, x_zp, w_q, b_q, m0, shift, y_zp, -128, 127)
acc = (x_q.astype(np.int64) - x_zp) @ w_q.T.astype(np.int64) + b_q  # the same accumulator, written directly
float_reference = np.clip(np.round(acc * multiplier) + y_zp, -128, 127)
lsb_error = np.abs(integer_output - float_reference)
print(f"integer vs float reference: {np.sum(lsb_error == 0)} of {lsb_error.size} outputs exact "
      f"({np.mean(lsb_error == 0):.3%}), max error {lsb_error.max():.0f} LSB")
assert lsb_error.max() <= 1 and np.mean(lsb_error == 0) >= 0.999

# %% [markdown]
# The few outputs that differ sit on or next to a rounding tie, where the two-step integer rounding and the float
# `np.round` (half to even) part ways. An independent check: PyTorch's FBGEMM int8 kernel
# (`torch.ops.quantized.linear`) on the same codes. It takes uint8 activations, which are our int8 codes plus 128
# with the zero point shifted to match, and it requantizes with a float multiplier instead of gemmlowp's fixed point.
# Creating quantized tensors warns that the quantized dtypes are deprecated (PyTorch 2.13), so the cell silences that.

# %%
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # "quint8/qint8 ... are deprecated and will be removed"
    torch.backends.quantized.engine = "x86"
    # Wrap our exact codes; torch.quantize_per_tensor would round the float input again, and may break ties otherwise.
    x_fbgemm = torch._make_per_tensor_quantized_tensor(torch.from_numpy((x_q + 128).astype(np.uint8)), s_x, x_zp + 128)
    w_fbgemm = torch._make_per_tensor_quantized_tensor(torch.from_numpy(w_q.astype(np.int8)), s_w, 0)
    packed = torch.ops.quantized.linear_prepack(w_fbgemm, torch.from_numpy((b_q * s_x * s_w).astype(np.float32)))
    fbgemm_output = torch.ops.quantized.linear(x_fbgemm, packed, s_y, y_zp + 128).int_repr().numpy().astype(int) - 128
fbgemm_error = np.abs(integer_output - fbgemm_output)
print(f"integer vs FBGEMM: {np.mean(fbgemm_error == 0):.3%} exact, max error {fbgemm_error.max()} LSB")
assert fbgemm_error.max() <= 1 and np.mean(fbgemm_error == 0) >= 0.999

# %% [markdown]
# ## With PyTorch
#
# ### Observing a model
#
# Forward hooks see every layer's input and output as the calibration data pass through. `observe_model` gives each
# `nn.Linear` and `nn.Conv2d` two observers, keyed `"<name>.input"` and `"<name>.output"`, and removes its hooks
# even if a batch fails; the model itself is left as it was (its train/eval mode included). `calibrate_model` reads
# one threshold per observer. Keeping the observers lets us try every method without running the data again.

# %% tags=["export"]
def _quantized_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every nn.Linear and nn.Conv2d, in named_modules() order; ValueError if there is none."""
    layers = [(name, module) for name, module in model.named_modules() if isinstance(module, QUANTIZED_LAYERS)]
    if not layers:
        raise ValueError("model has no nn.Linear or nn.Conv2d layer")
    return layers


@torch.no_grad()
def observe_model(model: nn.Module, loader: Iterable) -> dict[str, HistogramObserver]:
    """A HistogramObserver per Linear/Conv2d input and output ("<name>.input", "<name>.output") over (x, y) batches."""
    layers = _quantized_layers(model)
    observers = {f"{name}.{side}": HistogramObserver() for name, _ in layers for side in ("input", "output")}

    def hook_for(name: str):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            observers[f"{name}.input"].update(inputs[0].detach().cpu().numpy())
            observers[f"{name}.output"].update(output.detach().cpu().numpy())
        return hook

    modes = {module: module.training for module in model.modules()}  # restored one by one afterwards
    handles = [module.register_forward_hook(hook_for(name)) for name, module in layers]
    batches = 0
    try:
        model.eval()
        device = next(model.parameters()).device
        for x, _ in loader:
            model(x.to(device))
            batches += 1
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.training = training
    if batches == 0:
        raise ValueError("loader yielded no batch: there is nothing to calibrate on")
    return observers


def calibrate_model(model: nn.Module, loader: Iterable, method: str) -> dict[str, float]:
    """Threshold by `method` for every Linear/Conv2d input and output ("<name>.input", "<name>.output")."""
    if method not in HistogramObserver.METHODS:
        raise ValueError(f"method must be one of {HistogramObserver.METHODS}, got {method!r}")
    return {key: observer.threshold(method) for key, observer in observe_model(model, loader).items()}


# %%
observers = observe_model(model, calibration)
print(f"{'tensor':>10} " + " ".join(f"{method:>10}" for method in HistogramObserver.METHODS))
for key, obs in observers.items():
    print(f"{key:>10} " + " ".join(f"{obs.threshold(method):>10.3f}" for method in HistogramObserver.METHODS))

# %% [markdown]
# The inputs of layers 2 and 4 are the outputs of layers 0 and 2 after a ReLU, so their max thresholds match. Entropy
# keeps the 8x8 pixel input at 1.0; the pitfalls section explains why that needed care. On this well-behaved model
# the four calibrators disagree by little; the outlier model will separate them.
#
# ### Static quantization, simulated
#
# `quantize_static` returns a copy in which every Linear/Conv2d has per-output-channel symmetric weights (module 01)
# and fake-quantizes its input and its output at the calibrated thresholds, through a forward pre-hook and a forward
# hook. `torch.fake_quantize_per_tensor_affine` rounds exactly like our NumPy quantizer (module 01 checked it).

# %% tags=["export"]
@torch.no_grad()
def _fake_quantize_weights_per_channel_(module: nn.Module, bits: int) -> None:
    """Snap module.weight in place to symmetric per-output-channel grids, scale_c = max|w_c| / (2^(bits-1) - 1)."""
    qmin, qmax = qrange(bits, signed=True, narrow=True)
    w = module.weight  # (C_out, C_in) or (C_out, C_in, K, K)
    amax = w.abs().amax(dim=tuple(range(1, w.dim())))  # (C_out,)
    scales = torch.clamp(amax.double() / qmax, min=FLOAT32_EPS).float()
    zero_points = torch.zeros_like(scales, dtype=torch.int32)
    w.copy_(torch.fake_quantize_per_channel_affine(w, scales, zero_points, 0, qmin, qmax))


def _fake_quantize_tensor(x: torch.Tensor, threshold: float, bits: int) -> torch.Tensor:
    """The symmetric quantizer on a float32 tensor: symmetric_fake_quantize in PyTorch."""
    qmin, qmax = qrange(bits, signed=True, narrow=True)
    return torch.fake_quantize_per_tensor_affine(x, symmetric_scale(threshold, bits), 0, qmin, qmax)


def quantize_static(model: nn.Module, thresholds: dict[str, float], bits: int) -> nn.Module:
    """A copy of model with per-channel bits-bit weights and its Linear/Conv2d inputs and outputs fake-quantized."""
    qrange(bits, signed=True)  # validates bits
    for name, _ in _quantized_layers(model):  # every check before any work
        for key in (f"{name}.input", f"{name}.output"):
            if key not in thresholds:
                raise ValueError(f"thresholds has no entry {key!r}: calibrate this model first")
            symmetric_scale(thresholds[key], bits)  # ValueError for a negative or non-finite threshold
    quantized = copy.deepcopy(model)
    for name, module in _quantized_layers(quantized):
        t_in, t_out = float(thresholds[f"{name}.input"]), float(thresholds[f"{name}.output"])
        _fake_quantize_weights_per_channel_(module, bits)
        module.register_forward_pre_hook(lambda m, inputs, t=t_in: (_fake_quantize_tensor(inputs[0], t, bits),))
        module.register_forward_hook(lambda m, inputs, output, t=t_out: _fake_quantize_tensor(output, t, bits))
    return quantized


# %% [markdown]
# A check of the hooks: the same static model written out in NumPy (per-channel weights with module 01's
# `quantize`, activations with `symmetric_fake_quantize`, float32 matrix products) must give the same logits. NumPy
# and PyTorch may sum the products in a different order, which could move an activation across a rounding boundary
# now and then, so we require the predictions to agree on every test digit and the logits to agree to a tenth of an
# output step. Here they come out identical.

# %%
thresholds = calibrate_model(model, calibration, "entropy")
static_model = quantize_static(model, thresholds, bits=8)
h = digits.test.x
for name in ("0", "2", "4"):
    layer = model.get_submodule(name)
    w = layer.weight.detach().numpy()
    w_scales = (np.abs(w).max(axis=1) / 127)[:, None]  # (C_out, 1) per-channel scales
    w_hat = quantize(w, w_scales, 0, -127, 127) * w_scales.astype(np.float32)
    h = symmetric_fake_quantize(h, thresholds[f"{name}.input"], 8)
    h = symmetric_fake_quantize(h @ w_hat.T + layer.bias.detach().numpy(), thresholds[f"{name}.output"], 8)
    h = np.maximum(h, 0) if name != "4" else h  # the ReLUs between the layers
with torch.no_grad():
    hooked_logits = static_model(x_test)
output_step = symmetric_scale(thresholds["4.output"], 8)
assert compare("quantize_static vs NumPy forward (logits)", hooked_logits, h) <= output_step / 10
assert np.array_equal(hooked_logits.argmax(1).numpy(), h.argmax(1))
print(f"static int8 (entropy) accuracy: {evaluate(static_model, loaders['test'])['accuracy']:.2%} "
      f"(fp32 {fp32_accuracy:.2%})")

# %% [markdown]
# ### Weight-only, dynamic and static PTQ, with real kernels
#
# Fake quantization measures accuracy, not speed. PyTorch has real int8 paths for all three kinds of PTQ:
#
# - weight-only: torchao's `quantize_` with `Int8WeightOnlyConfig` stores int8 weights with per-row scales and
#   dequantizes them inside the forward pass;
# - dynamic: `torch.ao.quantization.quantize_dynamic` (FBGEMM kernels) quantizes the input of each Linear on the
#   fly, from that batch's range;
# - static: `torch.ao.quantization` eager mode: wrap the model in `QuantStub`/`DeQuantStub`, `prepare` it with the
#   x86 configuration (PyTorch's L2 `HistogramObserver` for activations, per-channel weights), run the calibration
#   data, `convert`. Activations then stay uint8 from layer to layer.
#
# torchao 0.18 is `torch.ao.quantization`'s successor. Two harmless start-up messages are silenced: the variable
# `TORCHAO_FORCE_SKIP_LOADING_SO_FILES=1` skips its C++ extensions, which have no CPU kernels to offer here (the
# default load attempt logs a failure on a CPU-only build), and we raise its logger's level so that the skip itself
# is not announced; torch logs a notice about an enum registration when torchao imports.

# %%
os.environ["TORCHAO_FORCE_SKIP_LOADING_SO_FILES"] = "1"  # must be set before torchao is imported
logging.getLogger("torchao").setLevel(logging.ERROR)
logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)
from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig, quantize_


def torchao_quantized(model: nn.Module, config) -> nn.Module:
    """A copy of model with torchao's quantize_(config) applied to its nn.Linear layers."""
    quantized = copy.deepcopy(model).eval()
    quantize_(quantized, config)
    return quantized


def torch_ao_dynamic(model: nn.Module) -> nn.Module:
    """torch.ao.quantization.quantize_dynamic on a copy: int8 Linear weights, activations quantized per batch."""
    return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model).eval(), {nn.Linear}, dtype=torch.qint8)


def torch_ao_static(model: nn.Sequential, loader: Iterable) -> nn.Module:
    """torch.ao.quantization eager static int8: QuantStub + model + DeQuantStub, x86 qconfig, calibrated on loader."""
    torch.backends.quantized.engine = "x86"
    stubs = torch.ao.quantization.QuantStub(), torch.ao.quantization.DeQuantStub()
    wrapped = nn.Sequential(stubs[0], *copy.deepcopy(model), stubs[1])
    wrapped.eval()
    wrapped.qconfig = torch.ao.quantization.get_default_qconfig("x86")
    torch.ao.quantization.prepare(wrapped, inplace=True)
    with torch.no_grad():
        for x, _ in loader:
            wrapped(x)
    return torch.ao.quantization.convert(wrapped, inplace=True)


with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    ptq_models = {
        "fp32": model,
        "weight-only (torchao)": torchao_quantized(model, Int8WeightOnlyConfig()),
        "dynamic (torch.ao)": torch_ao_dynamic(model),
        "static (torch.ao)": torch_ao_static(model, calibration),
        "static, simulated (ours, entropy)": static_model,
    }
for message in sorted({" ".join(str(w.message).split("\n")[0].split()) for w in caught}):  # first lines, spaces tidied
    print(f"warning: {message}")

# %% [markdown]
# The warnings are part of the lesson: `torch.ao.quantization` is deprecated (it announces removal in 2.10, and
# is still here in 2.13), and its own x86 configuration still passes the `reduce_range` option it warns about.
# `reduce_range=True` means 7-bit activations: the static model's uint8 activations use only the codes 0..127
# (the cell below prints the observer's range), a margin that keeps FBGEMM's 16-bit intermediate sums of
# `vpmaddubsw` from saturating on CPUs without VNNI. Now
# the table: test accuracy, bytes of the weights at 8 bits plus float32 biases (`size_bytes`, which counts parameters
# only), and the median latency of one digit and of the whole test set, on one thread. These timings are
# indicative; `make bench` measures the int8 kernels more carefully.

# %% tags=["slow"]
int8_weights = {f"{name}.weight": 8 for name in ("0", "2", "4")}
activation_observer = torch.ao.quantization.get_default_qconfig("x86").activation()
print(f"x86 qconfig activations: {activation_observer.dtype}, reduce_range={activation_observer.reduce_range}, "
      f"codes {activation_observer.quant_min}..{activation_observer.quant_max}")
ptq_ms = {}
print(f"{torch.get_num_threads()} threads")
print(f"{'':>34} {'accuracy':>9} {'bytes':>8} {'1 digit':>10} {'360 digits':>11}")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # quantized dtypes are deprecated
    for label, ptq_model in ptq_models.items():
        accuracy = evaluate(ptq_model, loaders["test"], device="cpu")["accuracy"]
        one = latency_ms(lambda m=ptq_model: m(x_test[:1]), repeats=30)
        batch = latency_ms(lambda m=ptq_model: m(x_test), repeats=10)
        stored = size_bytes(model, 32 if label == "fp32" else int8_weights)
        print(f"{label:>34} {accuracy:>9.2%} {stored:>8,} {one:>7.3f} ms {batch:>8.3f} ms")
        ptq_ms[label] = {"1 digit": one, "360 digits": batch}
for column in ("1 digit", "360 digits"):
    ranking = sorted(ptq_ms, key=lambda label: ptq_ms[label][column])
    print(f"{column}: fastest {ranking[0]}, slowest {ranking[-1]}; the simulated static model ranks "
          f"{ranking.index('static, simulated (ours, entropy)') + 1} of {len(ranking)}")

# %% [markdown]
# All three kinds of PTQ keep the accuracy of this small model at 8 bits, and all store the weights in a quarter of
# the bytes. Speed is another matter: at this size (50,000 weights) a forward pass takes a fraction of a
# millisecond, and the work of quantizing inputs, rescaling outputs and dispatching through more operators is
# comparable to the matrix products themselves; the last lines above rank the models by latency, one digit and the
# whole test set separately, because the order changes with the batch size. Whatever its rank, the simulated static
# model does float arithmetic plus rounding: fake quantization is a tool to measure accuracy, not a way to run faster.
#
# ### Real int8 speed on a wider MLP
#
# The kernels pay off when the matrix products dominate. We time a two-layer MLP of width 1024
# (Linear 1024 -> 1024, ReLU, Linear 1024 -> 1024; 2.1 million weights) at batch 1 and batch 64 with fp32 weights,
# torch.ao dynamic int8, and torchao's int8 dynamic and weight-only configurations. These few repeats are only
# indicative; `make bench` repeats the measurement and writes it to `build/bench.json`.

# %% tags=["slow"]
with open("/proc/cpuinfo") if os.path.exists("/proc/cpuinfo") else open(os.devnull) as cpuinfo:
    cpu_flags = set(next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), []))
isa = {flag: flag in cpu_flags for flag in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")}
print(f"PyTorch's CPU capability: {torch.backends.cpu.get_cpu_capability()}; "
      + ", ".join(f"{flag} {'yes' if on else 'no'}" for flag, on in isa.items()))
torch.manual_seed(0)
wide = nn.Sequential(nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 1024)).eval()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the torch.ao deprecation warnings shown above
    wide_models = {"fp32": wide, "torch.ao dynamic int8": torch_ao_dynamic(wide),
                   "torchao int8 dynamic": torchao_quantized(wide, Int8DynamicActivationInt8WeightConfig()),
                   "torchao int8 weight-only": torchao_quantized(wide, Int8WeightOnlyConfig())}
wide_ms = {}
print(f"{torch.get_num_threads()} threads")
for batch_size in (1, 64):
    x_wide = torch.randn(batch_size, 1024)
    with torch.no_grad():
        reference_output = wide(x_wide)
    for label, wide_model in wide_models.items():
        with torch.no_grad():
            error = (wide_model(x_wide) - reference_output).abs().max().item()
        wide_ms[label, batch_size] = latency_ms(lambda m=wide_model, x=x_wide: m(x), repeats=5, warmup=2)
        speedup = wide_ms["fp32", batch_size] / wide_ms[label, batch_size]
        print(f"batch {batch_size:>2}  {label:<26} {wide_ms[label, batch_size]:8.3f} ms  {speedup:5.2f}x fp32 speed"
              f"   max |error| {error:.4f}")
for batch_size in (1, 64):
    faster = [label for label in wide_models
              if label != "fp32" and wide_ms[label, batch_size] < wide_ms["fp32", batch_size]]
    best = min(wide_models, key=lambda label: wide_ms[label, batch_size])
    print(f"On this CPU at batch {batch_size}: int8 paths faster than fp32: {', '.join(faster) or 'none'}; "
          f"fastest {best} ({wide_ms['fp32', batch_size] / wide_ms[best, batch_size]:.2f}x fp32 speed)")

# %% [markdown]
# The first line says which instructions this CPU has: VNNI (`avx512_vnni`, `avx_vnni`) adds an 8-bit dot product
# that accumulates in int32, and AMX (`amx_int8`) tile matrix products; without them int8 kernels fall back to
# slower sequences. The last lines say which int8 paths beat fp32 here; the answer depends on the CPU, the batch
# size and the kernel, and on none of them is it the 4x that a quarter of the bytes might suggest for a product
# that is not memory-bound. Where the time goes (`torch.profiler`): torchao's dynamic configuration calls
# `aten::_int_mm`, PyTorch's generic int8 matrix product, and the weight-only configuration converts the int8
# weights back to float and then calls the float product `aten::mm`. The bare kernels:

# %% tags=["slow"]
a_int8 = torch.randint(-127, 128, (64, 1024), dtype=torch.int8)
w_int8 = torch.randint(-127, 128, (1024, 1024), dtype=torch.int8)
a_float, w_float = a_int8.float(), w_int8.float()
assert torch.equal(torch._int_mm(a_int8, w_int8), (a_float @ w_float).int()), "both products are exact here"
kernel_ms = {"int8 x int8 -> int32 (aten::_int_mm)": latency_ms(lambda: torch._int_mm(a_int8, w_int8), repeats=3),
             "float32 (aten::mm)": latency_ms(lambda: torch.mm(a_float, w_float), repeats=20),
             "int8 weights -> float32": latency_ms(lambda: w_int8.float() * 0.01, repeats=20)}
for label, ms in kernel_ms.items():
    print(f"(64 x 1024) @ (1024 x 1024), {label:<36} {ms:8.3f} ms")
ratio = kernel_ms["int8 x int8 -> int32 (aten::_int_mm)"] / kernel_ms["float32 (aten::mm)"]
print(f"On this CPU the generic int8 product takes {ratio:.2f}x the time of the float32 product "
      f"({'slower' if ratio > 1 else 'faster'}), and converting the int8 weights to float costs "
      f"{kernel_ms['int8 weights -> float32'] / kernel_ms['float32 (aten::mm)']:.0%} of a float32 product per call.")

# %% [markdown]
# The printed sentence compares the generic int8 product with the float BLAS routine on this CPU. Converting the
# weights back to float costs the printed fraction of the float product on every call, so weight-only int8 saves
# memory, and time only when the product is limited by reading the weights. Eager mode on a CPU is not where
# torchao's speed comes from: its tutorial runs these configurations on a GPU in bfloat16, and
# `Int8DynamicActivationInt8WeightConfig` sets `torch.compile` (inductor) options "for better performance" by
# default.
#
# What this means for users: `torch.ao.quantization`, whose FBGEMM kernels are PyTorch's tuned x86 int8 path, is
# deprecated in favour of torchao (`quantize_` for eager users, `prepare_pt2e`/`convert_pt2e` for FX users; the
# migration is tracked in pytorch/ao#2259). Its code still ships in PyTorch 2.13 with a warning, its removal is
# planned, and the quantized dtypes it builds on are deprecated too. New projects should start from torchao, and
# measure on their own hardware rather than assume that int8 is faster.
#
# ## Experiments
#
# ### Four calibrators on the outlier model
#
# Back to the motivation. We observe the rescaled model once, then read thresholds for each calibrator at 8 and at 6
# bits (MSE and entropy depend on the number of levels; max and percentile do not) and evaluate the statically
# quantized model on the test digits. The table also shows the threshold for the input of layer 2 and how many codes
# the 299 ordinary units get there.

# %% tags=["slow"]
outlier_observers = observe_model(outlier_model, calibration)
ordinary_inputs = np.delete(layer2_inputs(outlier_model), outlier_unit, axis=1)  # (1221, 299)
outlier_accuracy = {}
outlier_fp32 = evaluate(outlier_model, loaders["test"])["accuracy"]
print(f"fp32 accuracy of the outlier model: {outlier_fp32:.2%}")
print(f"{'calibrator':>10} {'threshold':>10} {'codes':>6} {'8-bit':>7} {'6-bit':>7}")
for method in progress(HistogramObserver.METHODS, desc="calibrators"):
    for bits in (8, 6):
        options = {"bits": bits} if method in ("mse", "entropy") else {}
        method_thresholds = {key: obs.threshold(method, **options) for key, obs in outlier_observers.items()}
        quantized = quantize_static(outlier_model, method_thresholds, bits)
        outlier_accuracy[method, bits] = evaluate(quantized, loaders["test"])["accuracy"]
        if bits == 8:
            layer2_threshold = method_thresholds["2.input"]
    print(f"{method:>10} {layer2_threshold:>10.2f} {codes_used(ordinary_inputs, layer2_threshold):>6} "
          f"{outlier_accuracy[method, 8]:>7.2%} {outlier_accuracy[method, 6]:>7.2%}")
for method in ("percentile", "mse", "entropy"):
    assert outlier_accuracy[method, 8] > outlier_accuracy["max", 8], f"{method} should beat max at 8 bits"
for bits in (8, 6):
    lost = {method: 100 * (outlier_fp32 - outlier_accuracy[method, bits]) for method in HistogramObserver.METHODS}
    print(f"{bits} bits, points lost against fp32: " + ", ".join(f"{m} {v:.1f}" for m, v in lost.items()))

# %% tags=["headline"]
best_int8 = min((label for label in wide_models if label != "fp32"), key=lambda label: wide_ms[label, 64])
print(f"outlier model, static int8: max calibration {outlier_accuracy['max', 8]:.2%}, entropy "
      f"{outlier_accuracy['entropy', 8]:.2%} (fp32 {outlier_fp32:.2%})")
print(f"1024-wide MLP at batch 64: {best_int8} runs at {wide_ms['fp32', 64] / wide_ms[best_int8, 64]:.2f}x fp32 "
      "speed on this CPU")

# %% [markdown]
# The last two lines above say what each calibrator costs. Max calibration keeps the outlier unit inside the range,
# so the ordinary units get very few codes; percentile and MSE shrink the step, so more activations reach code 1
# instead of rounding to 0, but they too leave the ordinary units only the codes counted in the table. Entropy clips
# the outlier unit. At 6 bits the codes left to the ordinary units decide whether the model keeps its accuracy or
# falls towards chance (10% on ten classes).
#
# Why do percentile and MSE keep the outlier? The rescaled unit is one of 300, so a third of a percent of all values
# are large: the 99.99th percentile lies inside that unit's own values. MSE weighs the clipping error of those
# values, squared, against the rounding error of everything else, and the outliers win. Entropy compares the *shape*
# of the histogram before and after quantization, and a thin, far tail carries little probability mass. The plot
# shows the histogram of layer 2's input and the four thresholds.

# %% tags=["slow"]
observer = outlier_observers["2.input"]
centres = (observer.edges[:-1] + observer.edges[1:]) / 2
fig, ax = new_axes("Input of layer 2 in the outlier model, and four 8-bit thresholds",
                   "|activation|", "count per bin (log scale)")
ax.loglog(centres, np.where(observer.counts > 0, observer.counts, np.nan), ".", markersize=3, color="0.5",
          label=f"histogram of |x| ({observer.counts.size} bins)")
for method, style in zip(HistogramObserver.METHODS, ["-", "--", "-.", ":"]):
    t = observer.threshold(method)
    label = f"{method}: t = {t:.1f}, {outlier_accuracy[method, 8]:.1%}"
    ax.axvline(t, ymax=0.55, linestyle=style, color="k", label=label)  # short lines leave room for the legend
ax.legend(loc="upper right")
plt.show()
print(f"bin width {observer.edges[1]:.4f}; entropy's smallest candidate (edge {START_BIN}): "
      f"{observer.edges[START_BIN]:.2f}")

# %% [markdown]
# The bulk of the histogram, the 299 ordinary units, lies below about 2; the rescaled unit spreads from there to
# above 200. Max, percentile and MSE sit among the outlier unit's values; entropy stops a little past the bulk.
# Note how coarse the histogram is where the data are: the bin width follows the largest value of the first batch, so
# the bulk falls into about twenty bins, and the entropy search cannot go below 128 bins (the smallest candidate
# printed above). With a larger outlier that floor becomes the limit (exercise 1).
#
# ### Mixed precision from per-layer sensitivity
#
# Weights only now, per-channel, with each layer's width chosen from $\{2, 4, 8\}$. First the sensitivity: the damage
# done when only one layer is quantized at 2 bits, the lowest width on offer, measured on the *validation* digits.
# Accuracy is too coarse a signal for it: on 216 validation digits one digit is 0.46 points, so two layers whose
# drops differ by a digit or two cannot be ranked. We score a model instead by the mean KL divergence of its output
# distribution from the float model's, $\frac{1}{n}\sum_i \mathrm{KL}(p_i^{\text{fp32}} \,\|\, p_i)$ over the
# validation digits: it is 0 for the float model, and it moves with every output, not only with the argmax. The cell
# prints the accuracy drops too.

# %%
def layer_sensitivity(model: nn.Module, eval_fn, bits: int) -> dict[str, float]:
    """Per Linear/Conv2d name: eval_fn(model) - eval_fn(copy with only that layer's weights at `bits`, per channel)."""
    qrange(bits, signed=True)  # validates bits
    if not callable(eval_fn):
        raise ValueError(f"eval_fn must be a callable that scores a model, got {eval_fn!r}")
    baseline = float(eval_fn(model))
    drops = {}
    for name, _ in _quantized_layers(model):
        probe = copy.deepcopy(model)
        _fake_quantize_weights_per_channel_(probe.get_submodule(name), bits)
        drops[name] = baseline - float(eval_fn(probe))
    return drops


def validation_accuracy(m: nn.Module) -> float:
    """Accuracy on the 216 validation digits."""
    return evaluate(m, loaders["val"])["accuracy"]


x_val = torch.cat([x for x, _ in loaders["val"]])
with torch.no_grad():
    float_log_probs = torch.log_softmax(model(x_val), dim=1)


def negative_output_kl(m: nn.Module) -> float:
    """-mean KL(float model's output distribution || m's) on the validation digits: 0 for the float model."""
    with torch.no_grad():
        log_probs = torch.log_softmax(m(x_val), dim=1)
    kl = (float_log_probs.exp() * (float_log_probs - log_probs)).sum(dim=1).mean()
    return -float(kl)


sensitivity = layer_sensitivity(model, negative_output_kl, bits=2)
accuracy_drop = layer_sensitivity(model, validation_accuracy, bits=2)
layer_sizes = {name: module.weight.numel() for name, module in _quantized_layers(model)}
one_val_digit = 1 / len(x_val)
for name in sensitivity:
    print(f"layer {name}: {layer_sizes[name]:>6,} weights, at 2 bits: output KL {sensitivity[name]:.4f} nats, "
          f"validation accuracy drop {accuracy_drop[name]:.2%} ({accuracy_drop[name] / one_val_digit:+.0f} digits)")
ranking = sorted(sensitivity, key=sensitivity.get, reverse=True)
gap = min(sensitivity[a] - sensitivity[b] for a, b in zip(ranking, ranking[1:]))
print(f"most to least sensitive by output KL: {ranking}; smallest KL gap between neighbours {gap:.4f} nats")

# %% [markdown]
# The KL divergences separate the layers by clear margins where the accuracy drops differ by a digit or so, within
# the noise of 216 digits. The allocator searches all
# $3^3 = 27$ allocations; ties in predicted damage go to the smaller model, then to the allocation whose widths,
# listed in layer-name order, come first.

# %%
def allocate_bits(sensitivity: dict[str, float], sizes: dict[str, int], budget_bytes: float,
                  choices: tuple[int, ...] = (2, 4, 8)) -> dict[str, int]:
    """Bits per layer minimising sum(max(D_l, 0) * 4^-b_l) with sum(sizes_l * b_l / 8) <= budget_bytes (exhaustive)."""
    if not sensitivity or set(sensitivity) != set(sizes):
        raise ValueError(f"sizes must name the same layers as sensitivity, got {sorted(sizes)} "
                         f"and {sorted(sensitivity)}")
    if not all(np.isfinite(value) for value in sensitivity.values()):
        raise ValueError(f"sensitivity must hold finite numbers, got {sensitivity}")
    for name, size in sizes.items():
        _check_int(f"sizes[{name!r}]", size, 1)
    choices = sorted(set(choices))
    if not choices:
        raise ValueError("choices must hold at least one bit-width")
    for bits in choices:
        _check_int("choices", bits, 1, 32)
    names = sorted(sizes)
    smallest = sum(sizes[name] for name in names) * choices[0] / 8
    if not budget_bytes >= smallest:
        raise ValueError(f"budget_bytes must be at least {smallest} (every layer at {choices[0]} bits), "
                         f"got {budget_bytes}")
    best, best_key = None, None
    for widths in itertools.product(choices, repeat=len(names)):  # lexicographic order, layers sorted by name
        size = sum(sizes[name] * bits for name, bits in zip(names, widths)) / 8
        if size > budget_bytes:
            continue
        damage = sum(max(sensitivity[name], 0.0) * 4.0**-bits for name, bits in zip(names, widths))
        if best_key is None or (damage, size) < best_key:  # strict: the first of equals is kept
            best, best_key = dict(zip(names, widths)), (damage, size)
    return {name: int(best[name]) for name in sensitivity}


# %%
weight_count = sum(layer_sizes.values())
for average_bits in (3, 5):
    allocation = allocate_bits(sensitivity, layer_sizes, weight_count * average_bits / 8)
    print(f"budget {weight_count * average_bits / 8:>8,.0f} bytes ({average_bits} bits a weight on average): "
          f"{allocation}")

# %% [markdown]
# Now the comparison. We sweep the budget from 2 to 8 bits a weight on average in half-bit steps. *Uniform* means the
# widest single width from $\{2, 4, 8\}$ that fits, the only uniform choices if the kernels support 2, 4 and 8 bits;
# *mixed* is the allocator's answer. We plot test accuracy against the bytes of the whole model
# (`size_bytes`: quantized weights, float32 biases) and assert that mixed is at least as accurate at every budget.

# %% tags=["slow"]
def quantize_weights_per_layer(model: nn.Module, allocation: dict[str, int]) -> nn.Module:
    """A copy of model with each named layer's weights at its own width (per-channel, symmetric)."""
    quantized = copy.deepcopy(model)
    for name, bits in allocation.items():
        _fake_quantize_weights_per_channel_(quantized.get_submodule(name), bits)
    return quantized


def accuracy_and_bytes(allocation: dict[str, int]) -> tuple[float, int]:
    """Test accuracy of the model quantized by allocation, and its bytes (weights at their widths, biases fp32)."""
    accuracy = evaluate(quantize_weights_per_layer(model, allocation), loaders["test"])["accuracy"]
    return accuracy, size_bytes(model, {f"{name}.weight": bits for name, bits in allocation.items()})


budgets = weight_count * np.arange(2.0, 8.01, 0.5) / 8  # bytes of weights
mixed, uniform = [], []
for budget in progress(budgets, desc="budgets"):
    widest = max(bits for bits in (2, 4, 8) if weight_count * bits / 8 <= budget)
    allocation = allocate_bits(sensitivity, layer_sizes, budget)
    mixed.append((*accuracy_and_bytes(allocation), allocation))
    uniform.append(accuracy_and_bytes({name: widest for name in layer_sizes}))
for budget, (acc_m, bytes_m, allocation), (acc_u, bytes_u) in zip(budgets, mixed, uniform):
    print(f"budget {budget:>7,.0f} B: uniform {acc_u:.2%} ({bytes_u:>7,} B)   mixed {acc_m:.2%} ({bytes_m:>7,} B) "
          f"{tuple(allocation.values())}")
    assert acc_m >= acc_u, f"mixed precision below uniform at a budget of {budget:.0f} bytes"
uniform3 = accuracy_and_bytes({name: 3 for name in layer_sizes})
print(f"for comparison, uniform 3 bits: {uniform3[0]:.2%} ({uniform3[1]:,} B)")

# %% tags=["slow"]
fig, ax = new_axes("Weight-only PTQ of LeNet-300-100: mixed vs uniform bit-widths", "model size (kB)",
                   "test accuracy (%)")
ax.axhline(100 * fp32_accuracy, color="k", linestyle=":", label=f"fp32 ({size_bytes(model) / 1e3:.0f} kB)")
ax.step([b / 1e3 for _, b in uniform], [100 * a for a, _ in uniform], "s-", where="post",
        label="uniform 2, 4 or 8 bits (best that fits)")
ax.plot([b / 1e3 for _, b, _ in mixed], [100 * a for a, _, _ in mixed], "o", label="mixed, from sensitivity")
ax.plot(uniform3[1] / 1e3, 100 * uniform3[0], "x", markersize=9, color="C3", label="uniform 3 bits (no such kernel)")
ax.legend()
plt.show()

# %% [markdown]
# The allocator never falls below the uniform staircase, and between the uniform widths it is far above it: with a
# budget of 3 bits a weight, uniform must drop to 2 bits everywhere, while the allocator keeps the sensitive last
# layer at 8 bits and the first at 4, and only the middle layer at 2. The red cross is the honest caveat. A uniform
# 3-bit model, if a kernel for it existed, would beat that mixed allocation: the noise model undercounts the
# damage of 2 bits. On the narrow grid, 2 bits leave three levels $\{-s, 0, s\}$, so going from 3 bits to 2 divides
# the levels by three and multiplies the noise power by about 9, not 4, and most weights round to zero, which is no
# longer small noise. The $4^{-b}$ rule is accurate for fine grids, and an allocator should only be offered widths
# where it holds, or measure each width instead of extrapolating.
#
# ## Pitfalls
#
# - **Calibrate on data like the deployment data.** A threshold is a statistic of the calibration set. A modest
#   representative sample is enough (here 1,221 images); images from another domain give another range.
# - **The order of batches matters for a growing histogram.** The first non-zero batch fixes the bin width, so a
#   first batch with a small range gives fine bins that later grow into many; a shuffled loader makes the thresholds
#   change from run to run. Calibrate in a fixed order, as here.
# - **Discrete inputs break the entropy search as published.** The 8x8 pixels take only the values $k/16$; the
#   histogram of $|x|$ has 17 non-empty bins, the zero bin is replaced by the empty bin 1, and the first candidate
#   ($i = 128$) sees only empty bins. NVIDIA's code then computes a NaN divergence, and `np.argmin` picks NaN, so
#   its threshold is $1/16$: almost every pixel is clipped. Our version scores that candidate $+\infty$ and returns
#   1.0. Look at the thresholds before trusting them.
# - **PyTorch's `HistogramObserver` minimises L2 error, not KL.** Do not expect TensorRT's thresholds from it.
# - **Symmetric grids waste half their codes on ReLU outputs**, which are never negative; static int8 kernels use
#   uint8 with a zero point for them (as the torch.ao static model did), or a fused ReLU clamp.
# - **Round twice, differ once in a while.** Integer requantization rounds in two steps (ties toward $+\infty$, then
#   away from zero), so it
#   can differ by one LSB from a float reference that rounds once, half to even. Bit-exact reproductions must use
#   the same integer steps.
# - **Overflow.** The accumulator is int32. Each product $(q^x_k - Z_x)\, q^w_{nk}$ is below $255 \cdot 127 < 2^{15}$
#   in magnitude, so sums over up to $2^{16}$ inputs always fit, but a bias at scale $S_x S_w$ can be large; check,
#   as `int_linear` does.
# - **int8 is not automatically faster.** It depends on the kernel, the CPU's instructions (VNNI, AMX), the batch
#   size and the framework; measure it.
# - **`torch.ao.quantization` is deprecated** (pytorch/ao#2259). It works in PyTorch 2.13 with warnings, and the
#   quantized dtypes it builds on are deprecated too.
#
# ## Summary
#
# - Activations need a range chosen from calibration data. Max keeps every outlier and can leave the bulk of the
#   values with a handful of codes; percentile, MSE and entropy clip, each by its own rule.
# - MSE (and PyTorch's L2 `HistogramObserver`) weigh a distant outlier's squared error heavily and often keep it;
#   entropy compares histogram shapes and clips thin tails. Our NumPy version reproduces NVIDIA's reference
#   threshold, 4.271484375, exactly.
# - A histogram observer summarises any number of batches; its bins keep their width as the range grows.
# - Integer-only inference needs int32 accumulators, an int32 bias at scale $S_x S_w$, the zero-point cross term
#   (one sum per weight row), and a fixed-point multiplier $m_0 2^{-31-n}$; on a trained layer it matches a float
#   reference exactly on all but a few outputs, and never by more than one LSB.
# - Weight-only, dynamic and static int8 all keep this model's accuracy at a quarter of the bytes; speed depends on
#   the kernels, the batch size and the CPU's instructions (VNNI, AMX): the wide-MLP cell prints which int8 paths
#   beat fp32 on the machine that runs it.
# - Per-layer sensitivity and a $4^{-b}$ noise model allocate bits better than uniform widths within 2/4/8-bit
#   kernels; the model undercounts the damage of 2-bit grids.
#
# **Read next.**
#
# - Jacob et al. 2018, *Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
#   Inference* (arXiv:1712.05877), Sections 2.2-2.4: the integer matrix product, the zero-point cross terms, the
#   int32 bias and the fixed-point multiplier $M = 2^{-n} M_0$ built here. Table 4.1: ResNet-50 on ImageNet at
#   76.4% in float and 74.9% in 8-bit integers.
# - Migacz, *8-bit Inference with TensorRT* (NVIDIA GTC 2017, S7310): the entropy calibration, and NVIDIA's
#   `pytorch-quantization` `HistogramCalibrator` (TensorRT repository, `tools/pytorch-quantization`), whose
#   `_compute_amax_entropy` this lecture reproduces; the tool is now deprecated in favour of TensorRT Model Optimizer.
# - Nagel et al. 2021, *A White Paper on Neural Network Quantization* (arXiv:2106.08295), Section 3.5: a standard PTQ
#   pipeline that sets weight and activation ranges by MSE; Section 3.6: W8A8 PTQ within 0.7% of floating point for
#   every model tested.
# - Wu et al. 2020, *Integer Quantization for Deep Learning Inference: Principles and Empirical Evaluation*
#   (arXiv:2004.09602): the choices of quantization parameters, calibration among them, evaluated across vision,
#   speech and language models, and an 8-bit workflow within 1% of floating point on all networks studied.
# - torchao (`pytorch/ao`), the successor of `torch.ao.quantization`, and the migration tracker pytorch/ao#2259.
#
# Module 03 trains with the quantizer in the loop (quantization-aware training), which recovers what PTQ loses at
# low bit-widths.
#
# ## Exercises
#
# 1. *(From your table.)* Repeat the calibrator experiment with $c = 32$ and with $c = 1024$ instead of 128. Which
#    calibrators still beat max at 8 bits? Explain MSE's choices with the error split of the math section.
# 2. *(Code.)* At which percentile does the percentile calibrator clip the rescaled unit of the outlier model? Predict
#    it from the share of values that unit contributes, then check the thresholds and the 6-bit accuracy.
# 3. *(Code.)* Calibrate with the training loader (shuffled) instead of `calibration`, twice. How much do the entropy
#    thresholds move, and why?
# 4. *(Code.)* Run the whole trained MLP in integers: int8 input, `int_linear` for each layer with the ReLU fused into
#    the clamp ($q_{\min} = Z_y$), dequantized logits at the end. What is its test accuracy, and how many predictions
#    differ from the fake-quantized static model?
# 5. *(Code and question.)* Change the allocator's noise model to the real step of the narrow grid, damage
#    $\propto \Delta_l / (2^{b-1} - 1)^2$, and offer it every width from 2 to 8. Does mixed precision now beat uniform 3
#    bits at a 3-bit budget?
# 6. *(From your timings.)* Run `make bench`. At which batch size does torch.ao's dynamic int8 beat fp32 on your
#    machine, and by how much? Compare with the fp32 and int8 peak throughput of your CPU's instruction set.
