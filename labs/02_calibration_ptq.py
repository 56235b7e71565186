# %% [markdown]
# # Lab 2: Calibration, post-training quantization and integer-only inference
#
# Lab 1 quantized weights, whose range is known. Activations are different: their range depends on the input, so it
# is measured on a few batches of real data (**calibration**) and then frozen, which is **static post-training
# quantization** (PTQ). In this lab you write the calibration methods TensorRT offers, the integer arithmetic of an
# int8 layer as in Jacob et al. 2018, and a small mixed-precision planner:
#
# | task | you write | checked against |
# |---|---|---|
# | 1 | `calibrate_max`, `calibrate_percentile`: the range, a percentile | `MinMaxObserver`, `torch.quantile` |
# | 2 | `calibrate_mse`: the threshold of least quantization error | a 10x finer search |
# | 3 | `entropy_threshold`, `calibrate_entropy`: TensorRT's KL calibration | NVIDIA's run, `scipy.stats.entropy` |
# | 4 | `HistogramObserver`: one histogram over many batches, four methods | your Tasks 1 to 3 |
# | 5 | `quantize_multiplier`: a real multiplier as an int32 and a shift | exact fractions |
# | 6 | `requantize`: gemmlowp's fixed-point multiply and rounding shift | exact fractions |
# | 7 | `int_linear`: an int8 Linear layer with int32 accumulation, no floats | the float fake-quant layer |
# | 8 | `calibrate_model`: forward hooks that observe every layer's input and output | activations captured by hand |
# | 9 | `quantize_static`: a fake-quantized copy of a model (weights and activations) | `torch.fake_quantize_*` |
# | 10 | `layer_sensitivity`: what each layer loses when only its weights are quantized | a copy quantized by hand |
# | 11 | `allocate_bits`: the best bit-width per layer under a size budget | brute force |
#
# Then you use your functions on a digit classifier: a model whose activations carry outliers, calibrated four ways at
# 4 bits; one of its layers run in integer arithmetic only; and a mixed-precision model against uniform bit-widths.
# Four written questions are answered from your tables and plot.
#
# **Conventions.** All thresholds are on $|x|$ and quantization is symmetric, as in TensorRT: a threshold (NVIDIA
# calls it *amax*) $t > 0$ and $b$ bits give the scale $s = t / (2^{b-1} - 1)$, codes
# $q = \operatorname{clip}(\operatorname{round}(x/s), -(2^{b-1}-1), 2^{b-1}-1)$ (round half to even, the narrow
# signed range, so $+t$ maps to $+127$ at 8 bits) and the fake-quantized value $q\,s$. The setup cell below gives
# you this quantizer as `symmetric_fake_quantize`, built from Lab 1's functions (imported from
# `compresslab.quantization_basics`), and a few more helpers.
#
# **How to check your work.** Every task ends in a check cell that tests small, hand-checkable cases and compares your
# result with a library or an exact computation; a failure says what was expected, what came back and the likely
# mistake. The autograder runs hidden tests with other inputs, edge cases and bad arguments, so follow each docstring
# exactly, including the errors it documents: a `ValueError` message must name the bad argument. The cells tagged
# `slow` (training, experiments and plots) are skipped when grading, but run them: that is where your code quantizes a
# real model. The whole notebook runs in well under a minute on a laptop CPU.

# %%
import copy
import itertools
import math
from fractions import Fraction

import numpy as np
import scipy.special
import scipy.stats
import torch
from torch import nn
from torch.ao.quantization import MinMaxObserver
from torch.utils.data import DataLoader, TensorDataset

from compresslab import check_raises, compare, progress, seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.models import digits_cnn, lenet_300_100, mlp
from compresslab.plot import new_axes
from compresslab.quantization_basics import affine_qparams, fake_quantize, qrange, quantize, symmetric_scale
from compresslab.train import evaluate, fit

START_BIN = 128  # NVIDIA's start_bin: the entropy search keeps at least the first 128 bins of the histogram
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def check_int(name: str, value, minimum: int) -> None:
    """Raise ValueError naming `name` unless value is an int (Python or NumPy, not bool) >= minimum."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def abs_values(x) -> np.ndarray:
    """|x| as a flat float64 array; ValueError naming x unless x holds at least one finite real number, all finite."""
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"x must hold real numbers (an int or float dtype), got dtype {x.dtype}")
    if x.size == 0:
        raise ValueError("x must hold at least one value, got an empty array")
    x = x.astype(np.float64).ravel()  # float64 first: np.abs of int8 -128 would overflow
    if not np.isfinite(x).all():
        raise ValueError("x must be finite, but it contains NaN or inf")
    return np.abs(x)


def symmetric_fake_quantize(x, threshold: float, bits: int) -> np.ndarray:
    """x snapped to the narrow signed grid of scale threshold / (2^(b-1) - 1), zero point 0: float32, x's shape."""
    qmin, qmax = qrange(bits, signed=True, narrow=True)
    return fake_quantize(x, symmetric_scale(threshold, bits), 0, qmin, qmax)


def quant_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every nn.Linear and nn.Conv2d of model, in model.named_modules() order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def fake_quantize_weight_(module: nn.Module, bits: int) -> None:
    """Replace module.weight (C_out, ...) in place by its symmetric fake-quantized value, one scale per C_out."""
    w = module.weight.detach().cpu().numpy()
    amax = np.abs(w).reshape(len(w), -1).max(axis=1)  # (C_out,)
    scales = np.array([symmetric_scale(float(a), bits) for a in amax]).reshape((-1,) + (1,) * (w.ndim - 1))
    qmin, qmax = qrange(bits, signed=True, narrow=True)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(fake_quantize(w, scales, 0, qmin, qmax)))


# %% [markdown]
# ## Task 1: the max and percentile thresholds
#
# A symmetric quantizer is set by one number, the threshold $t$: values in $[-t, t]$ are rounded to a step
# $s = t/(2^{b-1}-1)$ and values beyond are clipped to $\pm t$. The simplest choice is the largest magnitude seen,
#
# $$t_{\max} = \max_i |x_i|,$$
#
# which never clips but lets one outlier stretch the step for everybody. The **percentile** threshold ignores the top
# $100 - p$ percent of magnitudes instead. For the magnitudes sorted ascending, $a_{(0)} \le \dots \le a_{(n-1)}$, it
# is NumPy's default (linear) percentile:
#
# $$t_p = a_{(\lfloor h\rfloor)} + (h - \lfloor h\rfloor)\,\big(a_{(\lfloor h\rfloor+1)} - a_{(\lfloor h\rfloor)}\big),
# \qquad h = (n-1)\,\frac{p}{100},$$
#
# that is `np.percentile(np.abs(x), p)`, which is also what `torch.quantile(|x|, p / 100)` computes. TensorRT's
# calibrators offer percentiles such as 99.9, 99.99 and 99.999.
#
# Use the setup cell's `abs_values(x)`: it returns $|x|$ as a flat float64 array and raises `ValueError` naming `x`
# for an empty input, non-real dtypes (bool, complex) and NaN or inf. NaN is refused rather than skipped: a NaN
# activation is a bug upstream, and a threshold computed around it would hide it. `percentile` must be a real number
# (not a bool) in $(0, 100]$, else `ValueError` naming `percentile`. Return Python floats.

# %%
def calibrate_max(x) -> float:
    """Threshold max |x|.

    Inputs:
    - x: array-like of finite real numbers, any shape, at least one element.

    Returns:
    - Python float, the largest |x_i| (0.0 for an all-zero x).

    Raises:
    - ValueError if x is empty, not real-valued, or holds NaN or inf.
    """
    raise NotImplementedError("Task 1: the largest of abs_values(x), as a Python float.")


def calibrate_percentile(x, percentile: float = 99.99) -> float:
    """Threshold at the given percentile of |x| (NumPy's default linear interpolation).

    Inputs:
    - x: array-like of finite real numbers, any shape, at least one element.
    - percentile: real number in (0, 100]; 100 gives max |x|.

    Returns:
    - Python float, np.percentile(|x|, percentile).

    Raises:
    - ValueError if percentile is not a real number in (0, 100], or x is empty, not real-valued or not finite.
    """
    raise NotImplementedError("Task 1: check percentile is a number in (0, 100]; np.percentile of abs_values(x).")


# %% tags=["raises-exception"]
assert calibrate_max([-3, 1, 2]) == 3.0, f"max |x| of [-3, 1, 2] is 3.0, got {calibrate_max([-3, 1, 2])}: abs first?"
assert calibrate_max(np.array([-128], np.int8)) == 128.0, (
    f"int8 -128 has magnitude 128, got {calibrate_max(np.array([-128], np.int8))}: np.abs overflows int8, cast first")
assert calibrate_max(np.zeros(5)) == 0.0 and isinstance(calibrate_max([1.5]), float), "return a Python float"
x = np.random.default_rng(0).standard_t(df=3, size=10_000).astype(np.float32)  # heavy tails
observer = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric, quant_min=-127, quant_max=127)
observer(torch.from_numpy(x))
ref_max = max(-observer.min_val.item(), observer.max_val.item())
assert compare("calibrate_max vs MinMaxObserver", calibrate_max(x), ref_max) == 0, "max |x| must be exact"

median = calibrate_percentile(np.arange(1, 101), 50)
assert median == 50.5, f"the 50th percentile of 1..100 is 50.5 (halfway between 50 and 51), got {median}"
assert calibrate_percentile(x, 100) == calibrate_max(x), "the 100th percentile is the maximum"
for p in (99.0, 99.9):
    ref = torch.quantile(torch.from_numpy(np.abs(x).astype(np.float64)), p / 100).item()
    ours = calibrate_percentile(x, p)
    compare(f"calibrate_percentile({p}) vs torch.quantile", ours, ref)
    assert abs(ours - ref) <= 1e-12 * ref, f"percentile {p}: torch.quantile gives {ref}, you gave {ours}"
print(f"heavy-tailed x: max {calibrate_max(x):.2f}, 99.99th percentile {calibrate_percentile(x):.2f}, "
      f"99th {calibrate_percentile(x, 99):.2f}")
check_raises(calibrate_percentile, x, 0, names="percentile")
check_raises(calibrate_percentile, x, 100.5, names="percentile")
check_raises(calibrate_percentile, x, True, names="percentile")
check_raises(calibrate_max, np.array([1.0, np.nan]), names="x")
check_raises(calibrate_max, [], names="x")

# %% [markdown]
# ## Task 2: the threshold of least mean squared error
#
# A smaller threshold clips the largest values (clipping error) but gives a finer step to all the others (rounding
# error, about $s^2/12$ per value). The MSE method tries candidate thresholds and keeps the one whose fake-quantized
# tensor is closest to the original. With $m = \max_i|x_i|$ and $N$ = `num_candidates`:
#
# $$t_k = \frac{m\,k}{N},\quad k = 1, \dots, N, \qquad
# t^\star = \operatorname*{arg\,min}_{t_k}\ \frac{1}{n}\sum_{i=1}^{n}\big(Q_{t_k}(x_i) - x_i\big)^2,$$
#
# where $Q_t$ is `symmetric_fake_quantize(x, t, bits)`. Compute each $t_k$ as `m * k / num_candidates` in float64, the
# squared errors in float64 against the float64 $x$, and on ties keep the first (smallest) candidate. Nagel et al.
# 2021 (Sec. 3.5) recommend MSE range setting for post-training quantization.
#
# Since $Q_t(-v) = -Q_t(v)$, the error of $x$ equals that of $|x|$, so you may work on `abs_values(x)`. An all-zero
# `x` returns 0.0. Bad `bits` raises as in Lab 1 (`qrange` checks it); `num_candidates` must be an int >= 1
# (`check_int` from the setup cell).

# %%
def calibrate_mse(x, bits: int = 8, num_candidates: int = 100) -> float:
    """Threshold among max|x| * k / num_candidates (k = 1..num_candidates) of least mean squared quantization error.

    Inputs:
    - x: array-like of finite real numbers, any shape, at least one element.
    - bits: int in 2..16, the width of the symmetric quantizer.
    - num_candidates: int >= 1, the number of thresholds tried.

    Returns:
    - Python float, the candidate t minimising mean((symmetric_fake_quantize(x, t, bits) - x)^2); the smallest such
      candidate on ties; 0.0 for an all-zero x.

    Raises:
    - ValueError on bad bits or num_candidates, or if x is empty, not real-valued or not finite.
    """
    raise NotImplementedError("Task 2: validate; try t = m * k / N for k = 1..N; keep the first t of least MSE.")


# %% tags=["raises-exception"]
grid = np.arange(-127, 128)
t = calibrate_mse(grid, bits=8)
assert t == 127.0, f"integers -127..127 sit exactly on the 8-bit grid of t = 127 (error 0), got {t}"
assert calibrate_mse(np.zeros(4)) == 0.0, f"an all-zero x must give 0.0, got {calibrate_mse(np.zeros(4))}"

rng = np.random.default_rng(1)
x = np.concatenate([rng.normal(size=5000), [60.0]])  # Gaussian values and one large outlier
for bits in (4, 8):
    t = calibrate_mse(x, bits, num_candidates=100)
    fine = calibrate_max(x) * np.arange(1, 1001) / 1000  # a 10x finer grid, searched directly
    fine_mse = [np.mean((symmetric_fake_quantize(x, c, bits).astype(np.float64) - x) ** 2) for c in fine]
    t_fine = fine[int(np.argmin(fine_mse))]
    print(f"{bits} bits: max {calibrate_max(x):.1f}, MSE threshold {t:.2f}, best on a 10x finer grid {t_fine:.3f}")
    assert abs(t - t_fine) <= calibrate_max(x) / 100 + 1e-12, (
        f"{bits} bits: your threshold {t} is more than one candidate step from the finer grid's best {t_fine}")
assert calibrate_mse(x, 4) < 12, f"4 bits: the MSE threshold should clip the outlier at 60, got {calibrate_mse(x, 4)}"
t_coarse = calibrate_mse(x, 4, num_candidates=10)
assert abs(t_coarse - 6.0) < 1e-12, (
    f"with 10 candidates (6, 12, ..., 60) at 4 bits the best threshold is 6.0, got {t_coarse}: t_k = max * k / N?")
check_raises(calibrate_mse, x, 1, names="bits")
check_raises(calibrate_mse, x, 8, 0, names="num_candidates")

# %% [markdown]
# ## Task 3: entropy (KL-divergence) calibration, as TensorRT does it
#
# TensorRT's entropy calibrator (Migacz 2017, "8-bit Inference with TensorRT", NVIDIA GTC S7310; the NumPy code is
# `_compute_amax_entropy` in NVIDIA's `pytorch_quantization/calib/histogram.py`) picks the threshold whose quantized
# distribution loses the least information. It works on a histogram of $|x|$: `counts` $c_0, \dots, c_{B-1}$ over
# $B$ equal bins with edges $e_0 = 0 < e_1 < \dots < e_B$. Let $L = 2^{b-1}$ be the number of levels (128 at 8 bits).
#
# 1. Copy the counts and set $c_0 \leftarrow c_1$: the zero bin (every ReLU zero lands there) would otherwise
#    dominate the distribution.
# 2. For every $i$ from $128$ (`START_BIN`) to $B$ inclusive, a threshold at edge $e_i$ keeps $i$ bins:
#    - $P$: the first $i$ counts, with the clipped mass added to the last kept bin,
#      $P_j = c_j$ for $j < i-1$ and $P_{i-1} = c_{i-1} + \sum_{j \ge i} c_j$;
#    - $Q$: the $i$ bins fall into $L$ groups, bin $j$ into group `np.digitize(range(i), np.linspace(0, i, L + 1)) - 1`
#      (its $j$-th entry). Each group's total count is spread evenly over the group's **non-empty** bins; empty bins
#      ($c_j = 0$) stay 0 in $Q$. This is what the data looks like after quantization with $L$ levels on $[0, e_i]$;
#    - $D_i = \mathrm{KL}(P \,\|\, Q) = \sum_j \hat P_j \log(\hat P_j / \hat Q_j)$ with $P$ and $Q$ normalised to sum
#      to 1: `scipy.stats.entropy(P, Q)`, which normalises for you. No smoothing: a $Q_j = 0$ under $P_j > 0$ gives
#      $+\infty$. If $Q$ is all zero (no data below $e_i$), take $D_i = +\infty$ as well.
#
#    Two shortcuts keep the ~1,900 iterations fast. `scipy.stats.entropy` spends about a millisecond per call on
#    argument handling; `scipy.special.rel_entr(P / P.sum(), Q / Q.sum()).sum()` is the same computation, bit for
#    bit. And because $L$ is a power of two, the points `np.linspace(0, i, L + 1)` are exactly $k i / L$, so the
#    `np.digitize` groups are the integers `np.arange(i) * L // i`.
# 3. Return $e_{i^\star}$, the right edge of the last kept bin, for the **last** $i^\star$ of least divergence (ties
#    go to the widest range).
#
# `calibrate_entropy(x, bits, num_bins)` builds the histogram with `np.histogram(|x|, bins=num_bins, range=(0, m))`,
# $m = \max|x|$, and calls `entropy_threshold`; an all-zero `x` gives 0.0 (there is no range to divide). NVIDIA's own
# reference run, 200,000 half-normal samples with 5 outliers at 12.0 in 2048 bins, gives exactly **4.271484375**
# (edge 729 of 2048); the check reproduces it (both `np.histogram` and `torch.histc` give this histogram's threshold).
#
# Errors: `counts` must be 1-D, non-negative, finite, with more than 128 bins and some data beyond bin 0 (name
# `counts`); `edges` must have shape `(B + 1,)` (name `edges`); `num_bins` must be an int > 128 (name `num_bins`);
# bad `bits` as in Lab 1.

# %%
def entropy_threshold(counts, edges, bits: int = 8) -> float:
    """NVIDIA's KL-divergence threshold of a histogram of |x| (the last minimum over i = 128..B).

    Inputs:
    - counts: array-like (B,) of non-negative finite counts of |x|, B > 128, some mass beyond bin 0.
    - edges: array-like (B + 1,) of increasing bin edges, edges[0] = 0, in the units of x.
    - bits: int in 2..16; the quantized distribution has 2^(bits-1) levels.

    Returns:
    - Python float edges[i*], where i* is the last i in 128..B that minimises KL(P_i || Q_i).

    Raises:
    - ValueError if counts or edges have the wrong shape or values, or bits is invalid.
    """
    raise NotImplementedError("Task 3: copy, bins[0] = bins[1]; for i in 128..B: P, Q, KL; the last argmin.")


def calibrate_entropy(x, bits: int = 8, num_bins: int = 2048) -> float:
    """TensorRT's entropy threshold of x: entropy_threshold of the num_bins-bin histogram of |x| on [0, max|x|].

    Inputs:
    - x: array-like of finite real numbers, any shape, at least one element.
    - bits: int in 2..16.
    - num_bins: int > 128, the number of histogram bins.

    Returns:
    - Python float, a bin edge of the histogram (max |x| when nothing is worth clipping; 0.0 for an all-zero x).

    Raises:
    - ValueError on bad bits or num_bins, or if x is empty, not real-valued or not finite.
    """
    raise NotImplementedError("Task 3: validate; 0.0 if max|x| = 0; np.histogram on [0, m]; entropy_threshold.")


# %% tags=["raises-exception"]
# NVIDIA's `_compute_amax_entropy` (NVIDIA/TensorRT, tools/pytorch-quantization/pytorch_quantization/calib/
# histogram.py) returns 4.271484375 on these data, as lecture 02 shows.
rng = np.random.default_rng(0)
reference = np.concatenate([np.abs(rng.standard_normal(200_000)), np.full(5, 12.0)])
t = calibrate_entropy(reference)
print(f"entropy threshold of the reference run: {t!r} (NVIDIA: 4.271484375), max {calibrate_max(reference)}")
assert t == 4.271484375, (
    f"expected 4.271484375 (edge 729 of 2048 on [0, 12]), got {t}: bins[0] = bins[1]? outliers folded into P[i-1]? "
    "empty bins left at 0 in Q? the LAST minimum?")
torch_counts = torch.histc(torch.from_numpy(reference).float(), bins=2048, min=0, max=12.0).numpy()
assert entropy_threshold(torch_counts, np.linspace(0, 12.0, 2049)) == t, "torch.histc's histogram gives the same edge"

# A toy histogram with 2 levels (bits=2), written out: of i kept bins, those with j < i/2 form level 0, the rest 1.
counts = np.random.default_rng(2).integers(0, 20, size=130).astype(np.float64)
counts[128], counts[129] = 0, 3  # an empty bin, then an outlier bin
edges = np.linspace(0.0, 1.3, 131)
bins = counts.copy()
bins[0] = bins[1]
divergences = []
for i in (128, 129, 130):
    p = bins[:i].copy()
    p[-1] += bins[i:].sum()
    q = np.zeros(i)
    for level in (np.arange(i) < i / 2, np.arange(i) >= i / 2):
        nonempty = level & (bins[:i] > 0)
        q[nonempty] = bins[:i][level].sum() / nonempty.sum()
    divergences.append(scipy.stats.entropy(p, q))
    same = scipy.special.rel_entr(p / p.sum(), q / q.sum()).sum()
    assert same == divergences[-1] or np.isinf(same) and np.isinf(divergences[-1]), "rel_entr differs from entropy"
    assert np.array_equal(np.digitize(range(i), np.linspace(0, i, 3)) - 1, np.arange(i) * 2 // i), "groups differ"
expected = edges[130 - int(np.argmin(divergences[::-1]))]
before = counts.copy()
got = entropy_threshold(counts, edges, bits=2)
print("KL at i = 128, 129, 130:", np.round(divergences, 6).tolist(), "-> threshold", expected)
assert got == expected, (
    f"toy histogram: expected edge {expected}, got {got}: is Q spread over the non-empty bins only, and does the "
    "KL of i = 129 (an empty last bin that receives the clipped mass) come out infinite?")
assert np.array_equal(counts, before), "entropy_threshold must not change the caller's counts: copy them first"

const = calibrate_entropy(np.full(10, -2.5))
assert const == 2.5, f"a constant |x| = 2.5 has nothing to clip: expected 2.5, got {const}"
assert calibrate_entropy(np.zeros(10)) == 0.0, "an all-zero x must give 0.0"
wide = calibrate_entropy(reference, bits=12)
assert wide == 12.0, f"at 12 bits (2048 levels) every bin is its own level, so no clipping: expected 12.0, got {wide}"
check_raises(calibrate_entropy, reference, 8, 128, names="num_bins")
check_raises(entropy_threshold, np.ones(100), np.linspace(0, 1, 101), names="counts")
check_raises(entropy_threshold, np.ones(200), np.linspace(0, 1, 200), names="edges")

# %% [markdown]
# ## Task 4: a histogram observer for many batches
#
# A model is calibrated on many batches, and keeping every activation would take too much memory, so the calibrator
# keeps a histogram of $|x|$ instead, as NVIDIA's `HistogramCalibrator` does:
#
# - The first batch with a non-zero value fixes the range and the bin width: `np.histogram(|x|, bins=num_bins,
#   range=(0, m))` with $m = \max|x|$ of that batch, so the width is $w = m / B$. All-zero batches before it are
#   counted and added to bin 0 once it exists.
# - A later batch whose $\max|x|$ exceeds the last edge $e_B$ **appends** bins of the same width: $k =
#   \lceil(\max|x| - e_B)/w\rceil$ new edges $e_B + w, \dots, e_B + k w$ (one more if rounding left the last one
#   short of $\max|x|$). The existing counts stay where they are; the batch is counted with `np.histogram(|x|,
#   bins=edges)` on the new edges and the old counts are added to the first bins. So the histogram grows but never
#   re-bins, and one batch followed by smaller ones gives exactly the histogram of their concatenation.
# - `threshold(method, **kwargs)`:
#   - `"max"`: the largest $|x|$ seen, exactly (not a bin edge);
#   - `"percentile"` (option `percentile=99.99`): NVIDIA's rule on the histogram, `edges[np.searchsorted(cdf, p /
#     100)]` with `cdf = np.cumsum(counts / counts.sum())`, the left edge of the bin where the cumulative share
#     reaches $p$ percent; where the data are dense, that is within one bin width of `calibrate_percentile`;
#   - `"mse"` (options `bits=8, num_candidates=100`): the candidates of Task 2 ($t_k = m k / N$, $m$ the largest
#     $|x|$ seen) scored by the count-weighted mean squared error of the **bin centres**, `np.average((Q_t(c) - c)**2,
#     weights=counts)` with $c = (e_j + e_{j+1})/2$; first minimum on ties;
#   - `"entropy"` (option `bits=8`): your `entropy_threshold(counts, edges, bits)`, so that one `update(x)` gives
#     exactly `calibrate_entropy(x, bits, num_bins)`.
#
#   When every value seen is 0, every method returns 0.0.
#
# Keep the state in four attributes, which the checks read: `counts` (int64 array of shape `(B,)`, or None before the
# first non-zero batch), `edges` (float64, `(B + 1,)`, or None), `max_abs` (float) and `num_values` (int, every value
# seen, zeros included).
#
# Errors: `num_bins` must be an int >= 1 (name `num_bins`; `"entropy"` needs more than 128 bins, which
# `entropy_threshold` checks); `update` checks `x` like `abs_values`; an unknown `method` raises `ValueError` naming
# `method` and the four allowed names; an option the method does not take raises `ValueError` naming the option; a
# bad option value raises as in Tasks 1 to 3; `threshold` before any `update` raises `RuntimeError` saying that no
# data was observed.

# %%
class HistogramObserver:
    """A histogram of |x| over every batch passed to update(); threshold() turns it into a clipping threshold."""

    METHODS = ("max", "percentile", "mse", "entropy")

    def __init__(self, num_bins: int = 2048) -> None:
        """Empty observer whose first non-zero batch will be binned into num_bins (int >= 1) bins."""
        raise NotImplementedError("Task 4: check num_bins; counts, edges None; max_abs 0.0; num_values 0.")

    def update(self, x) -> None:
        """Add |x| (array-like of finite reals, any shape, non-empty) to the histogram, growing its range if needed."""
        raise NotImplementedError("Task 4: first non-zero batch sets the bins; later, append same-width bins.")

    def threshold(self, method: str, **kwargs) -> float:
        """Threshold (Python float, x's units) by method: "max", "percentile", "mse" or "entropy" (see above)."""
        raise NotImplementedError("Task 4: check method and options, then dispatch; all-zero data gives 0.0.")

    def _percentile_threshold(self, percentile: float) -> float:
        """NVIDIA's histogram percentile: the left edge of the bin where the cumulative share reaches percentile %."""
        raise NotImplementedError("Task 4: check percentile; edges[searchsorted(cdf, p / 100)].")

    def _mse_threshold(self, bits: int, num_candidates: int) -> float:
        """Task 2's candidate of least count-weighted squared error of the bin centres."""
        raise NotImplementedError("Task 4: Task 2's candidates; count-weighted error of the bin centres.")


# %% tags=["raises-exception"]
observer = HistogramObserver(num_bins=4)
observer.update([0.0, -1.0, 2.0, 4.0])  # width 1: bins [0, 1), [1, 2), [2, 3), [3, 4]
assert observer.edges.tolist() == [0, 1, 2, 3, 4] and observer.counts.tolist() == [1, 1, 1, 1], (
    f"expected edges [0..4] and counts [1, 1, 1, 1], got {observer.edges}, {observer.counts}")
observer.update([5.5, -0.5])  # beyond 4: two bins of width 1 are appended, [4, 5) and [5, 6]
assert observer.edges.tolist() == [0, 1, 2, 3, 4, 5, 6] and observer.counts.tolist() == [2, 1, 1, 1, 0, 1], (
    f"after growth expected edges [0..6] and counts [2, 1, 1, 1, 0, 1], got {observer.edges}, {observer.counts}")
assert observer.threshold("max") == 5.5, f"max is the largest |x| seen (5.5), got {observer.threshold('max')}"
assert observer.threshold("percentile", percentile=50) == 1.0, (
    f"cdf = [2/6, 3/6, ...] reaches 0.5 in bin 1, whose left edge is 1.0; got "
    f"{observer.threshold('percentile', percentile=50)}")

rng = np.random.default_rng(3)
x = rng.standard_normal(size=(20, 2000))
single = HistogramObserver()
single.update(x)
assert single.threshold("entropy") == calibrate_entropy(x), "one update, then entropy, must equal calibrate_entropy(x)"
assert single.threshold("max") == calibrate_max(x), "the max must be exact, not a bin edge"
big = rng.standard_normal(1_000_000)  # dense enough that neighbouring sorted values are much closer than a bin
dense = HistogramObserver()
dense.update(big)
width = dense.edges[1]
for p in (99.0, 99.9):
    gap = abs(dense.threshold("percentile", percentile=p) - calibrate_percentile(big, p))
    assert gap <= width, f"percentile {p}: {gap:.4g} away from calibrate_percentile, more than one bin ({width:.4g})"
gap = abs(single.threshold("mse", bits=4) - calibrate_mse(x, bits=4))
assert gap <= 2 * calibrate_max(x) / 100, f"histogram MSE threshold is {gap:.3g} from calibrate_mse: over 2 steps"

first_holds_max = x[np.argsort(-np.abs(x).max(axis=1))]  # the batch with the largest |x| comes first
batched = HistogramObserver()
for batch in np.array_split(first_holds_max, 5):
    batched.update(batch)
assert np.array_equal(batched.counts, single.counts) and np.array_equal(batched.edges, single.edges), (
    "five batches, the first holding the max, must give exactly the histogram of one update on all of them")
for method in HistogramObserver.METHODS:
    assert batched.threshold(method) == single.threshold(method), f"{method}: batched and single updates differ"
print("thresholds of a Gaussian sample:",
      {method: round(single.threshold(method), 4) for method in HistogramObserver.METHODS})

zeros_first = HistogramObserver()
zeros_first.update(np.zeros(7))
assert zeros_first.threshold("entropy") == 0.0, "only zeros seen: every method returns 0.0"
zeros_first.update(x)
assert zeros_first.counts.sum() == x.size + 7 and zeros_first.counts[0] == single.counts[0] + 7, (
    "zeros seen before the range was fixed belong in bin 0")
check_raises(HistogramObserver().threshold, "max", names="no data", error=RuntimeError)
check_raises(single.threshold, "kl", names="method")
check_raises(single.threshold, "max", names="bits", bits=8)
check_raises(single.threshold, "percentile", names="percentile", percentile=0)
check_raises(HistogramObserver, 0, names="num_bins")

# %% [markdown]
# ## Task 5: a real multiplier as an integer and a shift
#
# An integer-only layer (Jacob et al. 2018, Sec. 2.2) computes $q_y = Z_y + M \sum_k (q_{x,k} - Z_x)\, q_{w,k}$ with
# the real multiplier $M = s_x s_w / s_y$, which is empirically in $(0, 1)$. It is stored as
#
# $$M = 2^{-n} M_0,\qquad M_0 \in [0.5, 1),\qquad m_0 = \operatorname{round}(2^{31} M_0) \in [2^{30}, 2^{31}),$$
#
# an int32 with at least 30 significant bits, and a right shift $n \ge 0$. So $M \approx m_0\, 2^{-31-n}$ with a
# relative error of at most $2^{-31}$ (half a unit in $2^{30}$).
#
# `math.frexp(m)` returns $(M_0, e)$ with $m = M_0 2^e$, $M_0 \in [0.5, 1)$: the shift is $n = -e$. Round
# $2^{31} M_0$ half away from zero, as TFLite's `QuantizeMultiplier` does (`math.floor(v + 0.5)`; $2^{31} M_0$ is
# exact in float64). If it rounds up to $2^{31}$, which no int32 holds, halve it to $2^{30}$ and decrement the shift;
# for $m > 1 - 2^{-32}$ that would make the shift $-1$, so return $(2^{31} - 1, 0)$ instead (still within $2^{-31}$).
# `m` must be a real number (not a bool), finite, with $0 < m < 1$: else `ValueError` naming `m`. Return Python ints.
#
# **Per channel.** With per-channel weights each output channel has its own $M_o = s_x s_{w,o} / s_y$ (Task 6). So
# `m` may also be a list, tuple or array of multipliers: return two int64 arrays of its shape, `m0` and `shift`,
# element by element as for a scalar (every element must be in $(0, 1)$, else `ValueError` naming `m`).

# %%
def quantize_multiplier(m):
    """The int32 multiplier and right shift of a real multiplier m in (0, 1): m ~= m0 * 2^(-31 - shift).

    Inputs:
    - m: real number with 0 < m < 1 (Python or NumPy scalar), or an array-like of them (per-channel multipliers,
      one per output channel).

    Returns:
    - (m0, shift): Python ints, 2^30 <= m0 < 2^31 and shift >= 0, with |m0 * 2^(-31 - shift) - m| <= 2^-31 * m;
      for an array-like m, two int64 arrays of m's shape, element by element the same.

    Raises:
    - ValueError if m (or any element) is not a finite real number in (0, 1).
    """
    raise NotImplementedError("Task 5: arrays elementwise; check m; frexp; m0 = floor(M0 * 2^31 + 0.5), -e; 2^31?")


# %% tags=["raises-exception"]
for m, expected in [(0.5, (2**30, 0)), (0.75, (3 * 2**29, 0)), (0.25, (2**30, 1)), (0.1, (1717986918, 3)),
                    (1 - 2**-40, (2**31 - 1, 0))]:
    got = quantize_multiplier(m)
    assert got == expected, f"quantize_multiplier({m}): expected {expected}, got {got}"
    assert all(type(v) is int for v in got), f"return Python ints, got {[type(v).__name__ for v in got]}"
print("0.1 ->", quantize_multiplier(0.1), "(0.1 = 0.8 * 2^-3, and 0.8 * 2^31 = 1717986918.4)")
assert quantize_multiplier(0.5 - 2**-40) == (2**30, 0), (
    f"0.5 - 2^-40 rounds up to 2^31 * 2^-1: expected (2^30, 0), got {quantize_multiplier(0.5 - 2**-40)}")
rng = np.random.default_rng(5)
worst = Fraction(0)
for m in np.concatenate([rng.uniform(0, 1, 500), 10.0 ** rng.uniform(-12, 0, 500), [1e-9, 2**-20, 0.999999]]):
    m0, shift = quantize_multiplier(float(m))
    assert 2**30 <= m0 < 2**31 and shift >= 0, f"m = {m}: m0 = {m0} must be in [2^30, 2^31) and shift = {shift} >= 0"
    worst = max(worst, abs(Fraction(m0, 2 ** (31 + shift)) - Fraction(float(m))) / Fraction(float(m)))
print(f"largest relative error over 1,003 multipliers: {float(worst):.3g} (bound 2^-31 = {2**-31:.3g})")
assert worst <= Fraction(1, 2**31), f"relative error {float(worst)} exceeds 2^-31"
for bad in (0, 1.0, -0.5, float("nan"), float("inf"), True, "0.5", np.array([0.5, 1.5])):
    check_raises(quantize_multiplier, bad, names="m")
m0s, shifts = quantize_multiplier(np.array([0.5, 0.1, 1 - 2**-40]))  # per channel: one multiplier per output
assert m0s.tolist() == [2**30, 1717986918, 2**31 - 1] and shifts.tolist() == [0, 3, 0], (
    f"an array of multipliers gives two int64 arrays, element by element: got {m0s.tolist()}, {shifts.tolist()}")

# %% [markdown]
# ## Task 6: requantization in integer arithmetic
#
# The int32 accumulator is scaled by $M = m_0\, 2^{-31-n}$ in two integer steps, exactly as gemmlowp's `fixedpoint.h`
# (used by TFLite; Jacob et al. 2018, Sec. 2.2 and Appendix B) does:
#
# 1. **SaturatingRoundingDoublingHighMul** $(a, m_0)$: the high 32 bits of $2 a m_0$, rounded,
#    $h = \operatorname{trunc}\!\big((a m_0 + \nu) / 2^{31}\big)$ with the nudge $\nu = 2^{30}$ when $a m_0 \ge 0$
#    and $\nu = 1 - 2^{30}$ when it is negative, and the division truncating toward zero. The only overflow,
#    $a = m_0 = -2^{31}$, saturates to $2^{31}-1$. (The tie rule is asymmetric: $+0.5 \to 1$, $-0.5 \to 0$.)
# 2. **RoundingDivideByPOT** $(h, n)$: $h / 2^n$ rounded half away from zero, with shifts and masks,
#    $(h \gg n) + [\,r > (\mu \gg 1) + [h < 0]\,]$ with $\mu = 2^n - 1$ and $r = h \mathbin{\&} \mu$.
#
# Then add the output zero point and clamp: $q = \operatorname{clip}(\text{step 2} + Z,\ q_{min},\ q_{max})$.
# Rounding twice can differ from rounding the exact product $a M$ once, by at most 1: with $M = 1/4$
# ($m_0 = 2^{30}$, $n = 1$), $a = 1$ gives $h = 1$ ($0.5$ rounded up), then $1/2$ rounded away from zero is 1, while
# $a M = 0.25$ rounds to 0.
#
# Use int64 NumPy arrays for every intermediate ($|a m_0| \le 2^{62}$ fits) and return int32. No floats anywhere.
#
# **Per channel.** The lecture requantizes with one multiplier per tensor. Per-channel weights (lab 01) have a scale
# $s_{w,o}$ per output channel, so each output channel has its own $M_o = s_x s_{w,o} / s_y$, and its own $m_{0,o}$
# and shift $n_o$. Accept `m0` and `shift` as ints **or** integer arrays that broadcast to `acc`'s shape (shape
# `(C_out,)` against accumulators `(N, C_out)`), and apply each element's own multiplier and shift: `np.int64(1) <<
# shift` and `>> shift` work element-wise on int64 arrays.
#
# Errors (`ValueError` naming the argument): `acc` must have an integer dtype (not bool) with values in int32;
# `m0` an int or integer array with values in int32 and `shift` in $[0, 31]$ (gemmlowp's range), each
# broadcasting to acc's shape; `qmin < qmax` ints; `zero_point` an int in $[q_{min}, q_{max}]$.

# %%
def requantize(acc, m0, shift, zero_point: int, qmin: int, qmax: int) -> np.ndarray:
    """gemmlowp requantization: clip(RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc, m0), shift) + zp).

    Inputs:
    - acc: array-like of an integer dtype, any shape S, values in int32 (the accumulators).
    - m0: int in [-2^31, 2^31 - 1], the fixed-point multiplier (from quantize_multiplier: in [2^30, 2^31)), or an
      integer array of such values that broadcasts to S (per channel: one per output channel, the last axis).
    - shift: int in [0, 31], the rounding right shift, or an integer array of them that broadcasts to S.
    - zero_point: int in [qmin, qmax], the output zero point.
    - qmin, qmax: ints, qmin < qmax, the output code range.

    Returns:
    - np.ndarray of dtype int32 and shape S, the output codes, computed with int64 integer arithmetic only.

    Raises:
    - ValueError if an argument has the wrong type or is out of range (the message names it).
    """
    raise NotImplementedError("Task 6: validate (arrays too); int64 high mul, nudge, saturate; shift; + zp, clip.")


# %% tags=["raises-exception"]
acc = np.array([2, 6, -2, -6, 1, -1, 5, 0])
got = requantize(acc, 2**30, 1, 0, -128, 127)  # M = 2^30 * 2^-32 = 1/4
print("acc * 1/4 =", (acc / 4).tolist(), "-> requantize:", got.tolist())
assert got.tolist() == [1, 2, -1, -2, 1, 0, 2, 0], (
    f"expected [1, 2, -1, -2, 1, 0, 2, 0], got {got.tolist()}: the nudge is 1 - 2^30 for negative products, the "
    "division by 2^31 truncates toward zero, and the shift rounds half away from zero")
assert got.dtype == np.int32 and got.shape == acc.shape, f"return int32 of acc's shape, got {got.dtype} {got.shape}"
assert requantize(np.array([1000, -1000]), 2**30, 0, 10, 0, 255).tolist() == [255, 0], "clip to [qmin, qmax]"
assert requantize(np.array([INT32_MIN]), INT32_MIN, 0, 0, INT32_MIN, INT32_MAX).tolist() == [INT32_MAX], (
    "(-2^31) * (-2^31) doubled overflows int32: gemmlowp saturates it to 2^31 - 1")

rng = np.random.default_rng(6)
acc = rng.integers(-(2**31), 2**31, size=2000)
for m in (0.3, 2.7e-4, 0.99):
    m0, shift = quantize_multiplier(m)
    ours = requantize(acc, m0, shift, 0, INT32_MIN, INT32_MAX)
    exact = []  # acc * m0 / 2^(31 + shift) rounded half away from zero, in exact fractions
    for a in acc.tolist():
        v = Fraction(a * m0, 2 ** (31 + shift))
        exact.append(math.floor(abs(v) + Fraction(1, 2)) * (1 if v >= 0 else -1))
    diff = np.abs(ours.astype(np.int64) - np.array(exact))
    print(f"M = {m}: m0 = {m0}, shift = {shift}: {np.mean(diff == 0):.2%} equal to the exact rounding, "
          f"max |diff| = {diff.max()}")
    assert diff.max() <= 1, f"M = {m}: off by {diff.max()} from the exact rounding; double rounding allows only 1"
check_raises(requantize, np.array([1.5]), 2**30, 0, 0, -128, 127, names="acc")
check_raises(requantize, np.array([2**31]), 2**30, 0, 0, -128, 127, names="acc")
check_raises(requantize, np.array([2**64 - 1], dtype=np.uint64), 2**30, 0, 0, -128, 127, names="acc")
check_raises(requantize, np.array([1]), 2**30, 32, 0, -128, 127, names="shift")
check_raises(requantize, np.array([1]), 2**31, 0, 0, -128, 127, names="m0")
check_raises(requantize, np.array([1]), 2**30, 0, 200, -128, 127, names="zero_point")
acc = np.array([[2, 6, -2, -6], [5, 5, -5, -5]])
m0s, shifts = np.array([2**30, 2**30, 2**30 + 2**29, 2**30]), np.array([1, 0, 1, 2])  # M = 1/4, 1/2, 3/8, 1/8
got = requantize(acc, m0s, shifts, 0, -128, 127)
expected = [[requantize(acc[i, o:o + 1], int(m0s[o]), int(shifts[o]), 0, -128, 127)[0] for o in range(4)]
            for i in range(2)]
assert got.tolist() == expected, (
    f"per channel, column o uses m0[o] and shift[o]: expected {expected}, got {got.tolist()}")
check_raises(requantize, acc, m0s[:3], 0, 0, -128, 127, names="m0")
check_raises(requantize, acc, 2**30, np.array([0, 1, 32, 0]), 0, -128, 127, names="shift")

# %% [markdown]
# ## Task 7: an int8 Linear layer in integer arithmetic only
#
# With inputs $x \approx s_x(q_x - Z_x)$ (any zero point), symmetric weights $w \approx s_w q_w$ ($Z_w = 0$, int8)
# and an int32 bias $q_b = \operatorname{round}(b / (s_x s_w))$ with zero point 0 (Jacob et al. 2018, Sec. 2.4), a
# Linear layer $y = x w^\top + b$ becomes
#
# $$q_{y,o} = Z_y + M\Big(\underbrace{\sum_k q_{x,k}\, q_{w,o,k} \;-\; Z_x \sum_k q_{w,o,k} \;+\; q_{b,o}}_{
# \text{int32 accumulator}}\Big),\qquad M = \frac{s_x s_w}{s_y}.$$
#
# The zero-point cross term $Z_x \sum_k q_{w,o,k}$ is one number per output channel, computed once (Sec. 2.3); the
# inner loop multiplies raw codes. Compute the accumulator as `x_q @ w_q.T - x_zp * w_q.sum(axis=1) + b_q` in int64,
# check that it fits in int32 (a real kernel would overflow silently; raise `ValueError` saying the int32 accumulator
# overflows), then `requantize(acc, m0, shift, y_zp, qmin, qmax)`. With per-channel weights `m0` and `shift` are
# arrays of shape `(C_out,)`, one multiplier per output channel, which your Task 6 applies along the last axis.
#
# The check compares your layer with the same layer in float fake quantization, which rounds $a M$ once. Task 6
# rounds twice, and the first rounding keeps only $n$ fractional bits, so about $2^{-(n+1)}$ of the outputs come out
# 1 above or below the float layer's, never more. The check's random layers have $n$ = 9 to 11, so at least 99.9% of
# their outputs must be equal.
#
# Errors (`ValueError` naming the argument): `x_q` must be a 2-D integer array (batch, C_in) with values in int32;
# `w_q` a 2-D integer array (C_out, C_in) with values in int8 $[-128, 127]$ and the same C_in; `b_q` a 1-D integer
# array (C_out,) with values in int32; `x_zp` an int; the rest are checked by `requantize`, whose messages name
# `m0`, `shift`, `zero_point` (here `y_zp`), `qmin` and `qmax`.

# %%
def int_linear(x_q, x_zp: int, w_q, b_q, m0, shift, y_zp: int, qmin: int, qmax: int) -> np.ndarray:
    """Integer-only Linear layer: requantize(x_q @ w_q.T - x_zp * w_q.sum(1) + b_q, m0, shift, y_zp, qmin, qmax).

    Inputs:
    - x_q: integer array (N, C_in), input codes with zero point x_zp (an int).
    - w_q: integer array (C_out, C_in), symmetric int8 weight codes (zero point 0), values in [-128, 127].
    - b_q: integer array (C_out,), int32 bias codes at scale s_x * s_w, zero point 0.
    - m0, shift: the multiplier M = s_x * s_w / s_y from quantize_multiplier: ints (per-tensor weights), or integer
      arrays of shape (C_out,) (per-channel weights: M_o = s_x * s_w,o / s_y for each output channel o).
    - y_zp, qmin, qmax: output zero point and code range, as in requantize.

    Returns:
    - np.ndarray of dtype int32 and shape (N, C_out), the output codes.

    Raises:
    - ValueError on a wrong shape, dtype or range (naming the argument), or if the int32 accumulator overflows.
    """
    raise NotImplementedError("Task 7: validate; int64 accumulator with the zero-point term; int32 check; requantize.")


# %% tags=["raises-exception"]
got = int_linear(np.array([[1, 2]]), 1, np.array([[3, -1], [0, 2]]), np.array([10, -4]), 2**30, 0, 3, 0, 255)
assert got.tolist() == [[8, 2]], (
    f"acc = [(1-1)*3 + (2-1)*(-1) + 10, (2-1)*2 - 4] = [9, -2]; times 1/2 -> [5, -1] (4.5 rounds up, -1 exact); "
    f"plus y_zp 3 -> [[8, 2]]; got {got.tolist()}: did you subtract x_zp * w_q.sum(axis=1)?")
got = int_linear(np.array([[1, 2]]), 1, np.array([[3, -1], [0, 2]]), np.array([10, -4]), np.array([2**30, 2**30]),
                 np.array([0, 1]), 3, 0, 255)  # per channel: M = 1/2 for output 0, 1/4 for output 1
assert got.tolist() == [[8, 2]], (
    f"acc [9, -2] times [1/2, 1/4] -> [5, -1] (-0.5 rounds away from zero), plus 3 -> [[8, 2]]; got {got.tolist()}")


def float_reference(x_q, x_zp, w_q, b_q, s_x, s_w, s_y, y_zp, qmin, qmax):
    """The same layer in float64 fake quantization: dequantize, Linear, quantize the output."""
    y = ((x_q - x_zp) * s_x) @ (w_q * s_w).T + b_q * (s_x * s_w)
    return np.clip(np.round(y / s_y) + y_zp, qmin, qmax).astype(np.int64)


rng = np.random.default_rng(7)
matches, total, worst = 0, 0, 0
for _ in range(20):
    c_in, c_out = rng.integers(16, 200), rng.integers(4, 64)
    x = rng.uniform(-0.5, 1, size=(64, c_in))  # asymmetric: uint8 codes with a zero point that is not 0
    w = rng.normal(size=(c_out, c_in)) / np.sqrt(c_in)
    b = rng.normal(size=c_out) * 0.1
    s_x, x_zp = affine_qparams(float(x.min()), float(x.max()), 8)
    s_w = symmetric_scale(float(np.abs(w).max()), 8)
    y = x @ w.T + b
    s_y, y_zp = affine_qparams(float(y.min()), float(y.max()), 8)
    x_q = quantize(x, s_x, x_zp, 0, 255)
    w_q = quantize(w, s_w, 0, -127, 127).astype(np.int8)
    b_q = np.round(b / (s_x * s_w)).astype(np.int32)
    m0, shift = quantize_multiplier(s_x * s_w / s_y)
    ours = int_linear(x_q, x_zp, w_q, b_q, m0, shift, y_zp, 0, 255)
    ref = float_reference(x_q, x_zp, w_q, b_q, s_x, s_w, s_y, y_zp, 0, 255)
    matches += int((ours == ref).sum())
    total += ours.size
    worst = max(worst, int(np.abs(ours - ref).max()))
print(f"int_linear vs float fake-quant on 20 random layers: {matches}/{total} outputs equal "
      f"({matches / total:.3%}), max difference {worst} LSB")
assert worst <= 1 and matches >= 0.999 * total, (
    f"expected every output within 1 LSB and at least 99.9% equal, got max {worst} LSB and {matches / total:.3%}")
check_raises(int_linear, np.array([[1.0, 2.0]]), 0, np.ones((2, 2), np.int8), np.zeros(2, np.int32),
             2**30, 0, 0, 0, 255, names="x_q")
check_raises(int_linear, np.ones((1, 3), np.int32), 0, np.ones((2, 2), np.int8), np.zeros(2, np.int32),
             2**30, 0, 0, 0, 255, names="w_q")
check_raises(int_linear, np.ones((1, 2), np.int32), 0, np.ones((2, 2), np.int8), np.zeros(3, np.int32),
             2**30, 0, 0, 0, 255, names="b_q")
check_raises(int_linear, np.full((1, 2), 2**30), 0, np.full((1, 2), 127), np.zeros(1, np.int32),
             2**30, 0, 0, 0, 255, names="int32")

# %% [markdown]
# ## Task 8: calibrating a PyTorch model with forward hooks
#
# Static quantization needs a threshold for the input and the output of every layer. A **forward hook**
# (`module.register_forward_hook(hook)`, called as `hook(module, inputs, output)` after each forward pass of
# `module`) sees both without changing the model. `calibrate_model`:
#
# - creates one `HistogramObserver()` (default bins) for the input and one for the output of every `nn.Linear` and
#   `nn.Conv2d`, in `model.named_modules()` order (the setup cell's `quant_layers(model)`), keyed
#   `f"{name}.input"` and `f"{name}.output"`;
# - runs the model on the `x` of every `(x, y)` batch of `loader`, in eval mode, under `torch.no_grad()`, on the
#   device of the model's parameters; each hook feeds `inputs[0]` and `output` (as NumPy arrays) to its observers;
# - removes every hook and restores each module's `training` flag **even when a forward pass raises** (`try` /
#   `finally`), so that the model is left exactly as it was;
# - returns `{key: observer.threshold(method, **kwargs)}` in the same key order; `kwargs` are those of
#   `HistogramObserver.threshold` (`percentile=...`, or `bits=...` for `"mse"` and `"entropy"`, whose best threshold
#   depends on the width you will quantize to).
#
# Errors: an unknown `method` raises `ValueError` naming `method` **before** any forward pass; a model without
# Linear or Conv2d layers raises `ValueError` naming `model`; a loader with no batch raises `ValueError` naming
# `loader`.

# %%
def calibrate_model(model: nn.Module, loader, method: str, **kwargs) -> dict[str, float]:
    """Thresholds of the input and output of every Linear/Conv2d of model, observed over every batch of loader.

    Inputs:
    - model: an nn.Module with at least one nn.Linear or nn.Conv2d; it is left unchanged.
    - loader: an iterable of (x, y) batches; x is a tensor the model accepts (N, ...).
    - method: "max", "percentile", "mse" or "entropy".
    - kwargs: passed on to HistogramObserver.threshold (e.g. percentile=99.9, or bits=4 for "mse" and "entropy").

    Returns:
    - dict {f"{name}.input": float, f"{name}.output": float, ...} for the layers in named_modules() order.

    Raises:
    - ValueError if method is unknown, model has no Linear/Conv2d layer, or loader yields no batch.
    """
    raise NotImplementedError("Task 8: validate; two observers per layer; hooks, removed in finally; eval, no_grad.")


# %% tags=["raises-exception"]
net = mlp([6, 5, 4, 3], seed=0)  # 0: Linear, 1: ReLU, 2: Linear, 3: ReLU, 4: Linear
data = torch.randn(40, 6, generator=torch.Generator().manual_seed(8)) * 2
loader = DataLoader(TensorDataset(data, torch.zeros(40, dtype=torch.long)), batch_size=16)
net.train()
before = copy.deepcopy(net.state_dict())
for method in ("max", "percentile", "mse"):  # "entropy" goes through the same observers, only slower
    thresholds = calibrate_model(net, loader, method)
    assert list(thresholds) == ["0.input", "0.output", "2.input", "2.output", "4.input", "4.output"], (
        f"keys must be name.input, name.output per layer in named_modules() order, got {list(thresholds)}")
    manual = {key: HistogramObserver() for key in thresholds}  # the same activations, captured by hand
    with torch.no_grad():
        for x, _ in loader:
            for index, layer in enumerate(net):
                if isinstance(layer, nn.Linear):
                    manual[f"{index}.input"].update(x.numpy())
                    x = layer(x)
                    manual[f"{index}.output"].update(x.numpy())
                else:
                    x = layer(x)
    for key, value in thresholds.items():
        expected = manual[key].threshold(method)
        assert value == expected, f"{method}, {key}: expected {expected} from hand-captured activations, got {value}"
print("max thresholds:", {k: round(v, 3) for k, v in calibrate_model(net, loader, "max").items()})
assert net.training and all(m.training for m in net.modules()), "restore each module's training flag"
assert all(not m._forward_hooks for m in net.modules()), "remove every hook after calibration"
assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items()), "calibration must not change the model"


def failing_loader():
    yield data[:4], None
    raise RuntimeError("a batch failed to load")


try:
    calibrate_model(net, failing_loader(), "max")
except RuntimeError:
    pass
assert all(not m._forward_hooks for m in net.modules()), "hooks must be removed even when a batch raises (finally)"
images = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(12))
cnn_keys = list(calibrate_model(digits_cnn(seed=0), [(images, None)], "max"))
assert cnn_keys == ["0.input", "0.output", "3.input", "3.output", "7.input", "7.output"], (
    f"Conv2d layers are calibrated too: expected keys of layers 0, 3, 7, got {cnn_keys}")
check_raises(calibrate_model, net, loader, "minmax", names="method")
check_raises(calibrate_model, nn.ReLU(), loader, "max", names="model")
check_raises(calibrate_model, net, [], "max", names="loader")

# %% [markdown]
# ## Task 9: static post-training quantization of a model
#
# With the thresholds frozen, `quantize_static` builds a **fake-quantized copy** of the model: it computes in float32
# but every weight and every activation it sees is a value the integer model could represent. In a deep copy (the
# original stays untouched), for every `nn.Linear` and `nn.Conv2d` named `name`:
#
# - the weight is fake-quantized with one symmetric scale per output channel, $\max|w_c| / (2^{b-1}-1)$: the setup
#   cell's `fake_quantize_weight_(module, bits)`; the bias stays float (in an int8 kernel it is int32, Task 7);
# - a forward **pre-hook** (`register_forward_pre_hook`, called as `hook(module, inputs)`; returning a tuple replaces
#   the inputs) fake-quantizes the input at `thresholds[f"{name}.input"]`;
# - a forward hook (returning a tensor replaces the output) fake-quantizes the output at
#   `thresholds[f"{name}.output"]`;
#
# both with `torch.fake_quantize_per_tensor_affine(t, scale, 0, qmin, qmax)`, `scale = symmetric_scale(threshold,
# bits)` and `(qmin, qmax) = qrange(bits, signed=True, narrow=True)`: the same quantizer as
# `symmetric_fake_quantize`, bit for bit. A closure made in a loop sees the loop variable's *last* value, so build each
# hook in a small function that takes its scale as an argument.
#
# Check everything before copying: bad `bits` raises as in Lab 1; a missing key raises `ValueError` naming the key;
# a threshold that is negative or not finite raises `ValueError` (`symmetric_scale` names `threshold`).

# %%
def quantize_static(model: nn.Module, thresholds: dict[str, float], bits: int) -> nn.Module:
    """A deep copy of model with per-channel fake-quantized weights and fake-quantized layer inputs and outputs.

    Inputs:
    - model: an nn.Module; it is not changed.
    - thresholds: dict with f"{name}.input" and f"{name}.output" for every Linear/Conv2d (calibrate_model's output).
    - bits: int in 2..16, for weights and activations alike.

    Returns:
    - a new nn.Module computing the fake-quantized model.

    Raises:
    - ValueError on bad bits, a missing key (named in the message) or a negative or non-finite threshold.
    """
    raise NotImplementedError("Task 9: check bits and keys; deepcopy; per layer: weight, input and output hooks.")


# %% tags=["raises-exception"]
net = mlp([6, 5, 4, 3], seed=0)
before = copy.deepcopy(net.state_dict())
thresholds = {"0.input": 4.0, "0.output": 3.0, "2.input": 2.0, "2.output": 1.5, "4.input": 1.0, "4.output": 2.5}
quantized = quantize_static(net, thresholds, bits=4)
assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items()), "the original model must not change"
assert not any(m._forward_hooks or m._forward_pre_hooks for m in net.modules()), "hook the copy, not the original"

x = torch.randn(32, 6, generator=torch.Generator().manual_seed(9)) * 2
expected = x  # the same computation written out with PyTorch's fake-quantize functions
for index, layer in enumerate(net):
    if isinstance(layer, nn.Linear):
        w = layer.weight.detach()
        amax = w.abs().amax(dim=1)  # one scale per output channel
        w_q = torch.fake_quantize_per_channel_affine(w, (amax / 7).float(), torch.zeros(len(w), dtype=torch.int32),
                                                     0, -7, 7)
        expected = torch.fake_quantize_per_tensor_affine(expected, thresholds[f"{index}.input"] / 7, 0, -7, 7)
        expected = nn.functional.linear(expected, w_q, layer.bias.detach())
        expected = torch.fake_quantize_per_tensor_affine(expected, thresholds[f"{index}.output"] / 7, 0, -7, 7)
    else:
        expected = layer(expected)
with torch.no_grad():
    got = quantized(x)
assert compare("quantize_static vs torch fake-quant by hand, 4 bits", got, expected) == 0, (
    "the copy must fake-quantize each layer's input, weight (per channel) and output exactly like PyTorch")

loader = DataLoader(TensorDataset(x, torch.zeros(32, dtype=torch.long)), batch_size=8)
wide = quantize_static(net, calibrate_model(net, loader, "max"), bits=16)
with torch.no_grad():
    gap = (wide(x) - net(x)).abs().max().item()
print(f"16-bit static quantization vs float: max |diff| of the logits = {gap:.3g}")
assert gap < 1e-3, f"at 16 bits with max thresholds the model should match float closely, got max |diff| {gap:.3g}"
check_raises(quantize_static, net, {k: v for k, v in thresholds.items() if k != "2.output"}, 8, names="2.output")
check_raises(quantize_static, net, {**thresholds, "0.input": -1.0}, 8, names="threshold")
check_raises(quantize_static, net, thresholds, 1, names="bits")

# %% [markdown]
# ## Task 10: per-layer sensitivity
#
# Layers do not suffer equally from quantization. A cheap measure of how much one layer matters: quantize **only its
# weights** (per channel, `fake_quantize_weight_`) in a deep copy of the model, keep everything else in float, and
# see how much the metric drops,
#
# $$\Delta_\ell = \text{eval}(\text{model}) - \text{eval}(\text{model with layer } \ell \text{ at } b \text{ bits}).$$
#
# `eval_fn(model)` returns a float, higher is better (for example the validation accuracy); call it once on the
# original model and once per layer. Return `{name: drop}` for every Linear/Conv2d in `named_modules()` order, as
# Python floats. The model must not change. Errors: bad `bits` as in Lab 1; an `eval_fn` that is not callable raises
# `ValueError` naming `eval_fn`; a model without Linear/Conv2d layers raises `ValueError` naming `model`.

# %%
def layer_sensitivity(model: nn.Module, eval_fn, bits: int) -> dict[str, float]:
    """Drop of eval_fn when only one layer's weights are fake-quantized per channel at bits, for each layer.

    Inputs:
    - model: an nn.Module with at least one nn.Linear or nn.Conv2d; it is not changed.
    - eval_fn: callable(model) -> float, higher is better (e.g. accuracy).
    - bits: int in 2..16.

    Returns:
    - dict {name: eval_fn(model) - eval_fn(copy with only that layer quantized)} in named_modules() order.

    Raises:
    - ValueError on bad bits, a non-callable eval_fn or a model without Linear/Conv2d layers.
    """
    raise NotImplementedError("Task 10: validate; baseline; per layer: deepcopy, quantize its weight, evaluate.")


# %% tags=["raises-exception"]
net = mlp([6, 5, 4, 3], seed=0)
before = copy.deepcopy(net.state_dict())
x = torch.randn(64, 6, generator=torch.Generator().manual_seed(10))
with torch.no_grad():
    reference_logits = net(x)


def closeness(model: nn.Module) -> float:
    """Minus the mean squared difference of the logits from the float model's: 0 is best."""
    with torch.no_grad():
        return -float(((model(x) - reference_logits) ** 2).mean())


drops = layer_sensitivity(net, closeness, bits=2)
print("sensitivity at 2 bits:", {k: f"{v:.3g}" for k, v in drops.items()})
assert list(drops) == ["0", "2", "4"], f"one key per Linear layer in order, ['0', '2', '4'], got {list(drops)}"
probe = copy.deepcopy(net)
fake_quantize_weight_(probe[2], 2)
assert drops["2"] == -closeness(probe), f"layer 2: expected {-closeness(probe)}, got {drops['2']}"
assert all(v > 0 for v in drops.values()), "2-bit weights must move every layer's logits"
assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items()), "the model must not change"
tiny = layer_sensitivity(net, closeness, bits=16)
assert all(abs(v) < 1e-8 for v in tiny.values()), f"16-bit weights should cost almost nothing, got {tiny}"
check_raises(layer_sensitivity, net, "accuracy", 8, names="eval_fn")

# %% [markdown]
# ## Task 11: mixed precision under a size budget
#
# Giving every layer the same width wastes bits on layers that do not need them. A simple model of the damage: the
# noise power of a quantizer grows 4x for every bit removed (6 dB per bit, Lab 1), so a layer whose measured
# sensitivity is $\Delta_\ell$ is predicted to lose $\max(\Delta_\ell, 0)\, 4^{-b_\ell}$ at $b_\ell$ bits. Choose
# one width per layer from `choices` to
#
# $$\min_{b}\ \sum_\ell \max(\Delta_\ell, 0)\, 4^{-b_\ell}
# \quad\text{subject to}\quad \sum_\ell \frac{n_\ell\, b_\ell}{8} \le \text{budget (bytes)},$$
#
# with $n_\ell$ = `sizes[name]`, the number of weights of the layer. Layers are few, so try every allocation
# (`itertools.product` over the choices, `len(choices) ** layers` of them). Ties: fewer bytes, then the allocation
# whose widths, listed in sorted layer-name order, come first lexicographically. `itertools.product` over the sorted
# choices, with the layers in sorted name order, visits allocations in exactly that lexicographic order, so keep the
# first best one. Every uniform allocation that fits is a candidate, so the result is never worse than uniform under
# this model. Return `{name: bits}` (Python ints) in the key order of `sensitivity`.
#
# Errors (`ValueError` naming the argument): `sensitivity` and `sizes` must have the same, non-empty set of keys
# (name `sizes`); sensitivities must be finite reals (name `sensitivity`); sizes ints >= 1 (name `sizes`); `choices`
# a non-empty collection of ints in 1..32 (name `choices`); `budget_bytes` a real number (not NaN) of at least the
# size at the smallest choice (name `budget_bytes`).

# %%
def allocate_bits(sensitivity: dict[str, float], sizes: dict[str, int], budget_bytes: float,
                  choices=(2, 4, 8)) -> dict[str, int]:
    """Bits per layer minimising sum(max(sensitivity, 0) * 4^-bits) with sum(sizes * bits) / 8 <= budget_bytes.

    Inputs:
    - sensitivity: dict {layer name: finite float}, e.g. layer_sensitivity's accuracy drops.
    - sizes: dict {layer name: int >= 1}, the number of weights of each layer; the same keys as sensitivity.
    - budget_bytes: real number, the most weight bytes allowed.
    - choices: non-empty collection of ints in 1..32, the allowed bit-widths.

    Returns:
    - dict {layer name: bits} in sensitivity's key order, the exact optimum (ties: fewer bytes, then lexicographic).

    Raises:
    - ValueError if the keys differ, a value is invalid, or budget_bytes is below the all-smallest-choice size.
    """
    raise NotImplementedError("Task 11: validate; over itertools.product, keep the first fitting least damage.")


# %% tags=["raises-exception"]
got = allocate_bits({"a": 1.0, "b": 0.01}, {"a": 100, "b": 100}, budget_bytes=125, choices=(2, 8))
assert got == {"a": 8, "b": 2}, (
    f"125 bytes fit one layer at 8 bits and one at 2: the sensitive layer a gets 8, expected {{'a': 8, 'b': 2}}, "
    f"got {got}")
got = allocate_bits({"a": 1.0, "b": 0.0}, {"a": 100, "b": 100}, budget_bytes=200, choices=(2, 4, 8))
assert got == {"a": 8, "b": 2}, f"an insensitive layer gets the fewest bits (ties go to fewer bytes), got {got}"
got = allocate_bits({"b": -0.5, "a": -0.1}, {"a": 10, "b": 10}, budget_bytes=1e9)
assert list(got) == ["b", "a"] and set(got.values()) == {2}, f"negative sensitivity counts as 0: all 2 bits, got {got}"



def predicted_damage(allocation: dict[str, int], sensitivity: dict[str, float]) -> float:
    """The noise model of Task 11: sum of max(sensitivity, 0) * 4^-bits."""
    return sum(max(sensitivity[n], 0) * 4.0 ** -bits for n, bits in allocation.items())


def weight_bytes(allocation: dict[str, int], sizes: dict[str, int]) -> float:
    return sum(sizes[n] * bits for n, bits in allocation.items()) / 8


rng = np.random.default_rng(11)
for trial in range(20):
    names = [f"layer{i}" for i in range(int(rng.integers(1, 5)))]
    sensitivity = {n: float(v) for n, v in zip(names, rng.uniform(-0.1, 1, len(names)))}
    sizes = {n: int(v) for n, v in zip(names, rng.integers(1, 1000, len(names)))}
    budget = float(rng.uniform(sum(sizes.values()) * 2 / 8, sum(sizes.values())))
    got = allocate_bits(sensitivity, sizes, budget, (2, 4, 8))
    damage = predicted_damage(got, sensitivity)
    assert weight_bytes(got, sizes) <= budget, f"trial {trial}: {weight_bytes(got, sizes)} bytes exceed {budget}"
    for bits in (2, 4, 8):
        uniform = dict.fromkeys(names, bits)
        assert weight_bytes(uniform, sizes) > budget or damage <= predicted_damage(uniform, sensitivity), (
            f"trial {trial}: worse than uniform {bits} bits under the noise model")
    candidates = [dict(zip(names, combo)) for combo in itertools.product((2, 4, 8), repeat=len(names))]
    best = min(predicted_damage(c, sensitivity) for c in candidates if weight_bytes(c, sizes) <= budget)
    assert damage == best, f"trial {trial}: predicted damage {damage}, brute force finds {best}"
check_raises(allocate_bits, {"a": 1.0}, {"a": 100}, 24, names="budget_bytes")
check_raises(allocate_bits, {"a": 1.0}, {"b": 100}, 100, names="sizes")
check_raises(allocate_bits, {"a": 1.0}, {"a": 100}, 100, choices=(), names="choices")

# %% [markdown]
# ## Experiments on a trained network
#
# The rest of the lab uses your functions on LeNet-300-100 (Linear 64→300, ReLU, Linear 300→100, ReLU, Linear
# 100→10) trained on scikit-learn's 8x8 digits, as in Lab 1. The calibration set is the 1,221 training images, fed
# as one batch: the histograms then never grow, and every method sees the same data. These cells are tagged `slow`;
# the first one trains the network (a few seconds) and calls none of your functions.

# %% tags=["slow"]
seed_everything(0)
digits = load_digits_dataset(seed=0)
loaders = make_loaders(digits, batch_size=64, seed=0)
model = lenet_300_100(in_features=64, num_classes=10, seed=0)
fit(model, loaders["train"], epochs=20, lr=1e-3, val_loader=loaders["val"], seed=0)
model.eval()
float_accuracy = evaluate(model, loaders["test"])["accuracy"]
print(f"float32 LeNet-300-100: test accuracy {100 * float_accuracy:.2f}%")


def one_batch(x: np.ndarray, y: np.ndarray) -> DataLoader:
    """A loader that yields the whole split as a single (x, y) batch."""
    return DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=len(y))


# %% [markdown]
# ### Experiment 1: an input with outliers, calibrated four ways
#
# Outliers are rare, large values. To get some without changing what the network computes, suppose one input feature
# were recorded in other units: pixel 8 (row 1, column 0), which is blank in all but 6 of the 1,221 training images,
# arrives multiplied by $\alpha = 128$. A network trained on such data would learn weights $\alpha$ times smaller for
# it, and we can build that network exactly: divide column 8 of the first weight matrix by $\alpha$. Since
# $W x = (W D^{-1})(D x)$ for $D = \operatorname{diag}(1, \dots, \alpha, \dots, 1)$, the logits are the same (a power
# of two, so even the float32 rounding is; the cell asserts it). Only the first layer's input changes: 6 values out of
# 78,144 are now 8 or 16, while all the others stay in $[0, 1]$.
#
# Both models are then quantized statically (weights per channel, activations per tensor) with thresholds from each
# calibration method, at 4 and 8 bits; MSE and entropy are told the bit-width (`bits=...`).

# %% tags=["slow"]
alpha, pixel = 128.0, 8
outlier_model = copy.deepcopy(model)
with torch.no_grad():
    outlier_model[0].weight[:, pixel] /= alpha


def with_outlier_pixel(x: np.ndarray) -> np.ndarray:
    """A copy of x (N, 64) whose pixel 8 is recorded in units alpha times smaller."""
    x = x.copy()
    x[:, pixel] *= alpha
    return x


setups = {  # name -> (model, calibration loader, test loader)
    "original": (model, one_batch(digits.train.x, digits.train.y), one_batch(digits.test.x, digits.test.y)),
    "outlier pixel": (outlier_model, one_batch(with_outlier_pixel(digits.train.x), digits.train.y),
                      one_batch(with_outlier_pixel(digits.test.x), digits.test.y)),
}
with torch.no_grad():
    same = torch.equal(model(torch.from_numpy(digits.test.x)),
                       outlier_model(torch.from_numpy(with_outlier_pixel(digits.test.x))))
assert same, "scaling pixel 8 by alpha and its weights by 1/alpha must leave the logits unchanged"
nonzero = np.count_nonzero(digits.train.x[:, pixel])
print(f"pixel {pixel} is non-zero in {nonzero} training images; the outlier model computes the same logits")

# %% tags=["slow", "raises-exception"]
ptq_accuracy = {}  # (setup, bits, method) -> test accuracy (%)
input_threshold = {}  # (setup, bits, method) -> threshold of the first layer's input
for (name, (net, calibration, test)), bits in progress(list(itertools.product(setups.items(), (4, 8))), desc="PTQ"):
    for method in HistogramObserver.METHODS:
        options = {"bits": bits} if method in ("mse", "entropy") else {}
        thresholds = calibrate_model(net, calibration, method, **options)
        quantized = quantize_static(net, thresholds, bits)
        ptq_accuracy[name, bits, method] = 100 * evaluate(quantized, test)["accuracy"]
        input_threshold[name, bits, method] = thresholds["0.input"]

print(f"float32: {100 * float_accuracy:.2f}%. Test accuracy (%) of static PTQ, weights and activations at b bits;")
print("in brackets, the threshold of the first layer's input (pixels lie in [0, 1]):")
print(f"{'model':<14} {'bits':>4}" + "".join(f"{method:>17}" for method in HistogramObserver.METHODS))
for name, bits in itertools.product(setups, (4, 8)):
    cells = [f"{ptq_accuracy[name, bits, m]:>7.2f} [{input_threshold[name, bits, m]:>6.2f}]"
             for m in HistogramObserver.METHODS]
    print(f"{name:<14} {bits:>4}" + "".join(f"{c:>17}" for c in cells))

# %% [markdown]
# **Question 1.** In your table, which calibration methods keep the outlier model's 4-bit accuracy near the original
# model's, and which collapse? Explain the collapse from the step size at the first layer's input, and explain
# why the 99.99th percentile lands exactly where it does. Entropy calibration can only return the right edge of bin
# 128 or above of a 2048-bin histogram: how large could the outlier grow before entropy could no longer clip it?

# %% [markdown] tags=["answer"]
# **Your answer:** replace this line with your answer, quoting numbers from your own plot.

# %% [markdown]
# **Question 2.** Entropy calibration of the *original* model at 4 bits gives the first layer's input a threshold of
# about 0.06, far below the pixels' range, and the accuracy collapses; at 8 bits it gives 1.00. The pixels take only
# 17 values, $k/16$. With the definitions of $P$ and $Q$ from Task 3, explain why the divergence is exactly 0 at
# $i = 129$ and why that wins at 4 bits but not at 8. What does this say about where KL calibration is safe to use?

# %% [markdown] tags=["answer"]
# **Your answer:** replace this line with your answer, quoting numbers from your own plot.

# %% [markdown]
# ### Experiment 2: one layer in integer arithmetic only
#
# Now run the middle layer of the original model (Linear 300→100) the way an int8 kernel does, with your
# `int_linear`. Its input, a ReLU output, gets an asymmetric uint8 code (Lab 1's `affine_qparams` on the calibrated
# range, so $Z_x = 0$ here); its weight a symmetric per-tensor int8 code; its bias an int32 code at scale
# $s_x s_w$; its output, which has both signs, an asymmetric uint8 code with a zero point near 128. The reference is
# the same layer in float32 fake quantization: dequantize the codes, apply the layer, quantize the output with
# PyTorch. Both are compared code by code on the 360 test images, and the dequantized outputs with the float layer.

# %% tags=["slow", "raises-exception"]
layer = model[2]
with torch.no_grad():
    x_float = torch.relu(model[0](torch.from_numpy(digits.test.x)))  # (360, 300), the layer's input
    y_float = layer(x_float)  # (360, 100)
ranges = calibrate_model(model, one_batch(digits.train.x, digits.train.y), "max")
s_x, x_zp = affine_qparams(0.0, ranges["2.input"], bits=8)
s_y, y_zp = affine_qparams(-ranges["2.output"], ranges["2.output"], bits=8)
w = layer.weight.detach().numpy()
s_w = symmetric_scale(float(np.abs(w).max()), bits=8)
x_q = quantize(x_float.numpy(), s_x, x_zp, 0, 255)  # (360, 300) int32 codes
w_q = quantize(w, s_w, 0, -127, 127).astype(np.int8)  # (100, 300)
b_q = np.round(layer.bias.detach().numpy().astype(np.float64) / (s_x * s_w)).astype(np.int32)  # (100,)
m0, shift = quantize_multiplier(s_x * s_w / s_y)
print(f"s_x = {s_x:.5f} (Z_x = {x_zp}), s_w = {s_w:.5f}, s_y = {s_y:.5f} (Z_y = {y_zp}); "
      f"M = {s_x * s_w / s_y:.6f} = {m0} * 2^-{31 + shift}")
y_q = int_linear(x_q, x_zp, w_q, b_q, m0, shift, y_zp, 0, 255)  # (360, 100) int32 codes

x_fq = torch.fake_quantize_per_tensor_affine(x_float, s_x, x_zp, 0, 255)
w_fq = torch.fake_quantize_per_tensor_affine(layer.weight.detach(), s_w, 0, -127, 127)
b_fq = torch.from_numpy((b_q * (s_x * s_w)).astype(np.float32))
y_ref = torch.nn.functional.linear(x_fq, w_fq, b_fq)  # float32
y_ref_q = torch.clamp(torch.round(y_ref / s_y) + y_zp, 0, 255).numpy().astype(np.int64)
lsb = np.abs(y_q - y_ref_q)
print(f"integer-only vs float fake-quant: {np.mean(lsb == 0):.2%} of {lsb.size} outputs equal, "
      f"{np.sum(lsb == 1)} differ by 1 LSB, max {lsb.max()} LSB")
y_int = (y_q.astype(np.float64) - y_zp) * s_y  # dequantized integer output
error = np.abs(y_int - y_float.numpy())
print(f"integer-only vs float layer: max |error| = {error.max():.4f} = {error.max() / s_y:.2f} steps of s_y, "
      f"mean {error.mean():.4f}")

with torch.no_grad():
    logits = model[4](torch.relu(torch.from_numpy(y_int.astype(np.float32))))
int_accuracy = (logits.argmax(1).numpy() == digits.test.y).mean()
print(f"test accuracy with this layer in integers: {100 * int_accuracy:.2f}% (float {100 * float_accuracy:.2f}%)")

# %% [markdown]
# **Question 3.** How many of the layer's outputs differ from the float fake-quant reference, and by how much? Name
# the two roundings that can disagree, and estimate from the shift $n$ of your multiplier how often they should.
# Is the difference between integer-only and fake-quant inference something to worry about, compared with the
# quantization error itself (the last two lines)?

# %% [markdown] tags=["answer"]
# **Your answer:** replace this line with your answer, quoting numbers from your own plot.

# %% [markdown]
# ### Experiment 3: mixed precision from per-layer sensitivity
#
# Uniform weight-only quantization (per channel, activations in float) gives every layer the same width. Your
# `layer_sensitivity` measures how much each layer alone loses at 2 bits; your `allocate_bits` then spends a byte
# budget where the noise model says it helps most, choosing from 2, 3, 4, 6 and 8 bits. The plot compares the test
# accuracy of these mixed allocations with uniform widths at the same size (weights only; the float32 biases and the
# scales are not counted).
#
# The metric: accuracy on 216 validation images moves in steps of 0.46 points, too coarse to rank layers (in the
# reference run the first layer loses exactly 0 points at 2 bits). Minus the validation cross-entropy is a smooth
# "higher is better" score of the same predictions, so `layer_sensitivity` gets that.

# %% tags=["slow", "raises-exception"]
def minus_validation_loss(net: nn.Module) -> float:
    """Minus the mean cross-entropy on the validation split: higher is better, and smooth in the weights."""
    return -evaluate(net, loaders["val"])["loss"]


def with_weight_bits(net: nn.Module, allocation: dict[str, int]) -> nn.Module:
    """A copy of net whose layers are weight-only fake-quantized per channel at allocation[name] bits."""
    quantized = copy.deepcopy(net)
    for name, bits in allocation.items():
        fake_quantize_weight_(quantized.get_submodule(name), bits)
    return quantized


sensitivity = layer_sensitivity(model, minus_validation_loss, bits=2)
sizes = {name: module.weight.numel() for name, module in quant_layers(model)}
print("layer: weights, validation loss added by its 2-bit weights")
for name in sizes:
    print(f"{name:>5}: {sizes[name]:>6}, {sensitivity[name]:.4f}")

choices = (2, 3, 4, 6, 8)
weight_kib = lambda allocation: sum(sizes[n] * b for n, b in allocation.items()) / 8 / 1024
uniform = {bits: dict.fromkeys(sizes, bits) for bits in range(2, 9)}
uniform_points = [(weight_kib(a), 100 * evaluate(with_weight_bits(model, a), loaders["test"])["accuracy"])
                  for a in uniform.values()]
mixed = {}  # budget (KiB) -> (allocation, test accuracy %)
for budget_kib in progress(np.linspace(weight_kib(uniform[2]), weight_kib(uniform[4]), 9), desc="budgets"):
    allocation = allocate_bits(sensitivity, sizes, budget_kib * 1024, choices)
    mixed[budget_kib] = (allocation, 100 * evaluate(with_weight_bits(model, allocation), loaders["test"])["accuracy"])

print(f"{'budget KiB':>10} {'used KiB':>9} {'bits per layer':>16} {'test %':>7}")
for budget_kib, (allocation, acc) in mixed.items():
    print(f"{budget_kib:>10.1f} {weight_kib(allocation):>9.1f} {str(list(allocation.values())):>16} {acc:>7.2f}")
print("uniform:", ", ".join(f"{b} bits {kib:.1f} KiB {acc:.2f}%" for b, (kib, acc) in zip(uniform, uniform_points)))

fig, ax = new_axes("Weight-only PTQ of LeNet-300-100: mixed vs uniform bits", "weight size (KiB)",
                   "test accuracy (%)")
ax.axhline(100 * float_accuracy, color="gray", linestyle="--", label="float32")
ax.plot(*zip(*uniform_points), "o-", label="uniform 2..8 bits")
ax.plot([weight_kib(a) for a, _ in mixed.values()], [acc for _, acc in mixed.values()], "s", label="mixed precision")
for (kib, acc), bits in zip(uniform_points, uniform):
    ax.annotate(f"{bits}b", (kib, acc), textcoords="offset points", xytext=(4, -10), fontsize=8)
ax.legend()
fig.tight_layout()

# %% [markdown]
# **Question 4.** Which layer does the planner give the most bits at small budgets, and does that match its
# sensitivity and its size? At the size of uniform 3-bit weights, how much accuracy does mixed precision gain or
# lose? The noise model predicts the damage of layer $\ell$ as $\Delta_\ell 4^{-b}$, with $\Delta_\ell$ measured at
# 2 bits only: where in your plot does that model look wrong?

# %% [markdown] tags=["answer"]
# **Your answer:** replace this line with your answer, quoting numbers from your own plot.
