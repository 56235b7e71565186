"""Cross-checks of the graded functions of solutions/02_calibration_ptq.py.

Each function is compared with a library (np.percentile, torch.quantile, torch.ao's MinMaxObserver, torch's
fake-quantize kernels, scipy.stats.entropy), with an independent implementation written here from its published
description (NVIDIA's entropy calibration, REFERENCE_FACTS B2; gemmlowp's fixed-point requantization, Jacob et al.
2018 Sec. 2.2 and Appendix B), or with exact rational arithmetic, on seeded random inputs and edge cases.

NaN handling (a decision of the lab, checked here): every calibration function and HistogramObserver.update refuse
NaN and inf with a ValueError naming ``x``, rather than skipping them; a NaN activation is a bug upstream. The
torch.ao observers used below do not warn in torch 2.13 (only prepare/convert and the quantized dtypes do, B1), so no
warning filter is needed.
"""

from __future__ import annotations

import copy
import itertools
import math
import types
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch
from torch import nn
from torch.ao.quantization import MinMaxObserver
from torch.utils.data import DataLoader, TensorDataset

from compresslab.models import digits_cnn, mlp
from tools.nbload import load_module  # tests/conftest.py puts the repository root on sys.path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "02_calibration_ptq.py"
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
NVIDIA_REFERENCE_AMAX = 4.271484375  # REFERENCE_FACTS B2: NVIDIA's _compute_amax_entropy on the run built below


@pytest.fixture(scope="module")
def sol() -> types.ModuleType:
    return load_module(SOLUTION)


def distribution(name: str, seed: int, size: int = 50_000) -> np.ndarray:
    """Seeded samples of the shapes calibration meets: bell, flat, heavy-tailed, ReLU-like, and with outliers."""
    rng = np.random.default_rng(seed)
    if name == "half-normal":
        return np.abs(rng.standard_normal(size))
    if name == "uniform":
        return rng.uniform(-3, 3, size)
    if name == "student-t":
        return rng.standard_t(df=3, size=size)
    if name == "relu":
        return np.maximum(rng.standard_normal(size) * 2 + 0.5, 0.0)  # about 40% exact zeros
    if name == "outliers":
        x = rng.standard_normal(size)
        x[rng.choice(size, 5, replace=False)] = rng.choice([-1, 1], 5) * rng.uniform(10, 20, 5)
        return x
    raise ValueError(name)


DISTRIBUTIONS = ["half-normal", "uniform", "student-t", "relu", "outliers"]


def nvidia_reference_run() -> np.ndarray:
    """REFERENCE_FACTS B2: 200,000 half-normal samples from default_rng(0) and 5 outliers at 12.0."""
    rng = np.random.default_rng(0)
    return np.concatenate([np.abs(rng.standard_normal(200_000)), np.full(5, 12.0)])


def symmetric_fake_quant_torch(x: np.ndarray, threshold: float, bits: int) -> np.ndarray:
    """PyTorch's fake quantization on the narrow signed grid of scale threshold / (2^(b-1) - 1) (eps floor)."""
    qmax = 2 ** (bits - 1) - 1
    scale = max(threshold / qmax, float(np.finfo(np.float32).eps))
    t = torch.from_numpy(np.asarray(x, dtype=np.float32))
    return torch.fake_quantize_per_tensor_affine(t, scale, 0, -qmax, qmax).numpy()


# ---------------------------------------------------------------------------------------------------------------
# An independent implementation of NVIDIA's entropy calibration, written from the description in REFERENCE_FACTS B2
# (histogram.py `_compute_amax_entropy`): np.digitize groups, np.add.at sums, the KL divergence spelled out as
# scipy.stats.entropy computes it (checked equal below). It shares no code with the solution.


def kl_as_scipy(p: np.ndarray, q: np.ndarray) -> float:
    """scipy.stats.entropy(p, q): normalise both, then sum rel_entr (the same operations, without the overhead)."""
    return float(scipy.special.rel_entr(p / np.sum(p), q / np.sum(q)).sum())


def nvidia_entropy_amax(hist: np.ndarray, edges: np.ndarray, num_bits: int = 8, start_bin: int = 128) -> float:
    bins = np.array(hist, dtype=np.float64)
    bins[0] = bins[1]
    nbins = 1 << (num_bits - 1)
    divergences = []
    for i in range(start_bin, len(bins) + 1):
        reference = np.array(bins[:i])
        reference[-1] += np.sum(bins[i:])
        digitized = np.digitize(range(i), np.linspace(0, i, num=nbins + 1)) - 1
        digitized[bins[:i] == 0] = -1
        kept = digitized >= 0
        totals = np.zeros(nbins)
        members = np.zeros(nbins)
        np.add.at(totals, digitized[kept], bins[:i][kept])
        np.add.at(members, digitized[kept], 1)
        candidate = np.zeros(i)
        candidate[kept] = totals[digitized[kept]] / members[digitized[kept]]
        divergences.append(kl_as_scipy(reference, candidate) if candidate.any() else np.inf)
    divergences = np.array(divergences)
    last_argmin = len(divergences) - 1 - int(np.argmin(divergences[::-1]))
    return float(edges[last_argmin + start_bin])


def nvidia_entropy_of(x: np.ndarray, num_bits: int = 8, num_bins: int = 2048) -> float:
    a = np.abs(np.asarray(x, dtype=np.float64)).ravel()
    hist, edges = np.histogram(a, bins=num_bins, range=(0.0, a.max()))
    return nvidia_entropy_amax(hist, edges, num_bits)


def test_kl_as_scipy_equals_scipy_stats_entropy():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = rng.integers(0, 50, size=300).astype(np.float64)
        q = np.where(rng.random(300) < 0.9, rng.uniform(0, 30, size=300), 0.0)
        assert kl_as_scipy(p, q) == scipy.stats.entropy(p, q)


# ---------------------------------------------------------------------------------------------------------------
# calibrate_max, calibrate_percentile


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_calibrate_max_matches_minmax_observer(sol, name, seed):
    x = distribution(name, seed).astype(np.float32)
    observer = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric, quant_min=-127, quant_max=127)
    observer(torch.from_numpy(x))
    expected = max(-observer.min_val.item(), observer.max_val.item())
    got = sol.calibrate_max(x)
    assert type(got) is float and got == expected


@pytest.mark.parametrize("percentile", [0.001, 1.0, 50.0, 99.0, 99.9, 99.99, 99.999, 100.0])
@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_calibrate_percentile_matches_numpy_and_torch(sol, name, percentile):
    x = distribution(name, 3).reshape(100, -1)
    got = sol.calibrate_percentile(x, percentile)
    assert type(got) is float
    assert got == float(np.percentile(np.abs(x), percentile))
    ref = torch.quantile(torch.from_numpy(np.abs(x).ravel()), percentile / 100).item()
    assert got == pytest.approx(ref, rel=1e-12, abs=1e-300)


def test_calibrate_percentile_numpy_scalars_and_ints(sol):
    x = np.arange(-50, 51)
    assert sol.calibrate_percentile(x, np.float32(50.0)) == sol.calibrate_percentile(x.astype(float), 50) == 25.0
    assert sol.calibrate_percentile(x, np.int64(100)) == 50.0
    assert sol.calibrate_percentile(x, 1) == 1.0  # h = 100 * 0.01 = 1: the second smallest |x|


# ---------------------------------------------------------------------------------------------------------------
# Edge cases shared by the calibration functions


CALIBRATORS = ["calibrate_max", "calibrate_percentile", "calibrate_mse", "calibrate_entropy"]


@pytest.mark.parametrize("function", CALIBRATORS)
def test_calibrators_constant_zero_single(sol, function):
    fn = getattr(sol, function)
    assert fn(np.zeros(10)) == 0.0
    assert fn(np.zeros((3, 4), np.int32)) == 0.0
    assert fn(np.full(7, -2.5)) == 2.5
    assert fn([3.0]) == 3.0
    assert fn(np.float32(-1.5)) == 1.5  # a 0-d input is one value


@pytest.mark.parametrize("function", ["calibrate_max", "calibrate_percentile", "calibrate_entropy"])
def test_calibrators_integer_inputs_equal_float_inputs(sol, function):
    x = np.random.default_rng(4).integers(-128, 128, size=5000)
    fn = getattr(sol, function)
    expected = fn(x.astype(np.float64))
    for dtype in (np.int8, np.int64):
        assert fn(x.astype(dtype)) == expected
    assert sol.calibrate_max(np.array([-128], np.int8)) == 128.0  # np.abs would overflow int8


def test_calibrate_mse_integer_inputs_equal_float_inputs(sol):
    x = np.random.default_rng(4).integers(-128, 128, size=2000)
    assert sol.calibrate_mse(x.astype(np.int8), 4) == sol.calibrate_mse(x.astype(np.float64), 4)


@pytest.mark.filterwarnings("ignore:overflow encountered in multiply:RuntimeWarning")  # float32 max * 127/127
@pytest.mark.parametrize("function", CALIBRATORS)
def test_calibrators_extreme_magnitudes(sol, function):
    fn = getattr(sol, function)
    base = distribution("student-t", 5, 5000)
    big = float(np.finfo(np.float32).max)
    for scale in (1e-30, 1e30):
        got = fn(base * scale)
        assert np.isfinite(got) and 0 < got <= calibrate_max_reference(base * scale) * (1 + 1e-12)
    x = np.array([big, -big / 3, 1.0, 0.0])
    assert 0 < fn(x) <= big


def calibrate_max_reference(x: np.ndarray) -> float:
    return float(np.max(np.abs(x)))


@pytest.mark.parametrize("function", CALIBRATORS)
@pytest.mark.parametrize("bad", [
    np.array([1.0, np.nan]), np.array([np.inf, 1.0]), np.array([]), np.array([True, False]),
    np.array([1 + 1j]), np.array(["a"]),
])
def test_calibrators_reject_bad_x(sol, function, bad):
    with pytest.raises(ValueError, match="x"):
        getattr(sol, function)(bad)


@pytest.mark.parametrize("percentile", [0, -1, 100.0001, float("nan"), True, "99", None])
def test_calibrate_percentile_rejects_bad_percentile(sol, percentile):
    with pytest.raises(ValueError, match="percentile"):
        sol.calibrate_percentile(np.ones(3), percentile)


@pytest.mark.parametrize("kwargs, name", [
    ({"bits": 1}, "bits"), ({"bits": 17}, "bits"), ({"bits": 4.0}, "bits"),
    ({"num_candidates": 0}, "num_candidates"), ({"num_candidates": 2.0}, "num_candidates"),
    ({"num_candidates": True}, "num_candidates"),
])
def test_calibrate_mse_rejects_bad_arguments(sol, kwargs, name):
    with pytest.raises(ValueError, match=name):
        sol.calibrate_mse(np.ones(3), **kwargs)


@pytest.mark.parametrize("kwargs, name", [
    ({"bits": 1}, "bits"), ({"num_bins": 128}, "num_bins"), ({"num_bins": 64}, "num_bins"),
    ({"num_bins": 2048.0}, "num_bins"),
])
def test_calibrate_entropy_rejects_bad_arguments(sol, kwargs, name):
    with pytest.raises(ValueError, match=name):
        sol.calibrate_entropy(np.ones(3), **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# calibrate_mse


def mse_of(x: np.ndarray, threshold: float, bits: int) -> float:
    return float(np.mean((symmetric_fake_quant_torch(x, threshold, bits).astype(np.float64) - x) ** 2))


@pytest.mark.parametrize("bits", [3, 4, 8])
@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_calibrate_mse_within_one_step_of_a_10x_finer_search(sol, name, bits):
    x = distribution(name, 6, size=8000)
    amax = float(np.max(np.abs(x)))
    got = sol.calibrate_mse(x, bits, num_candidates=50)
    fine = amax * np.arange(1, 501) / 500
    best_fine = fine[int(np.argmin([mse_of(x, t, bits) for t in fine]))]
    assert abs(got - best_fine) <= amax / 50 * (1 + 1e-9), (got, best_fine)


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_calibrate_mse_is_the_first_best_candidate(sol, bits):
    x = distribution("outliers", 7, size=5000)
    amax = float(np.max(np.abs(x)))
    candidates = [amax * k / 40 for k in range(1, 41)]
    errors = [mse_of(x, t, bits) for t in candidates]
    assert sol.calibrate_mse(x, bits, num_candidates=40) == candidates[int(np.argmin(errors))]


def test_calibrate_mse_hand_cases_and_ties(sol):
    # 2 bits: codes -1, 0, 1. t = 2 keeps 2 and clips 4 to 2; t = 4 keeps 4 and rounds 2/4 = 0.5 to 0 (half to
    # even). Both errors are 4, so the mean squared errors tie at 2.0 and the smaller candidate wins.
    assert sol.calibrate_mse([2.0, -4.0], bits=2, num_candidates=2) == 2.0
    assert sol.calibrate_mse([1.0], bits=8, num_candidates=4) == 1.0  # only t = 1 represents 1 exactly
    grid = np.arange(-7, 8, dtype=np.float64)  # exactly the 4-bit grid of t = 7
    assert sol.calibrate_mse(grid, bits=4, num_candidates=7) == 7.0


# ---------------------------------------------------------------------------------------------------------------
# calibrate_entropy, entropy_threshold


def test_entropy_reproduces_nvidia_reference_run(sol):
    x = nvidia_reference_run()
    assert sol.calibrate_entropy(x) == NVIDIA_REFERENCE_AMAX
    assert nvidia_entropy_of(x) == NVIDIA_REFERENCE_AMAX  # the independent implementation agrees with NVIDIA
    # NVIDIA's default torch.histc path bins the same data into the same threshold.
    counts = torch.histc(torch.from_numpy(x).float(), bins=2048, min=0, max=12.0).numpy()
    assert sol.entropy_threshold(counts, np.linspace(0.0, 12.0, 2049)) == NVIDIA_REFERENCE_AMAX


@pytest.mark.parametrize("bits, num_bins", [(8, 2048), (4, 512)])
@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_calibrate_entropy_equals_independent_implementation(sol, name, bits, num_bins):
    x = distribution(name, 8)
    assert sol.calibrate_entropy(x, bits, num_bins) == nvidia_entropy_of(x, bits, num_bins)


def test_entropy_threshold_on_random_histograms(sol):
    rng = np.random.default_rng(9)
    for _ in range(6):
        b = int(rng.integers(129, 400))
        counts = rng.integers(0, 30, size=b) * (rng.random(b) < 0.7)  # many empty bins
        counts[-1] = 1
        edges = np.sort(rng.uniform(0, 5, size=b + 1))
        edges[0] = 0.0
        before = counts.copy()
        for bits in (2, 5, 8):
            assert sol.entropy_threshold(counts, edges, bits) == nvidia_entropy_amax(counts, edges, bits)
        assert np.array_equal(counts, before), "the caller's histogram must not change"


def test_entropy_clips_less_with_more_levels(sol):
    x = nvidia_reference_run()
    assert sol.calibrate_entropy(x, bits=12) == 12.0  # 2048 levels: every bin its own level, nothing to clip
    assert sol.calibrate_entropy(x, bits=4) < sol.calibrate_entropy(x, bits=8) < 12.0


@pytest.mark.parametrize("counts, edges, name", [
    (np.ones(128), np.linspace(0, 1, 129), "counts"),
    (np.ones((2, 200)), np.linspace(0, 1, 201), "counts"),
    (np.full(200, -1.0), np.linspace(0, 1, 201), "counts"),
    (np.r_[np.ones(199), np.nan], np.linspace(0, 1, 201), "counts"),
    (np.r_[5.0, np.zeros(199)], np.linspace(0, 1, 201), "counts"),  # nothing beyond bin 0
    (np.ones(200, bool), np.linspace(0, 1, 201), "counts"),
    (np.ones(200), np.linspace(0, 1, 200), "edges"),
])
def test_entropy_threshold_rejects_bad_histograms(sol, counts, edges, name):
    with pytest.raises(ValueError, match=name):
        sol.entropy_threshold(counts, edges)


# ---------------------------------------------------------------------------------------------------------------
# HistogramObserver


def observer_of(sol, *batches, num_bins: int = 2048):
    observer = sol.HistogramObserver(num_bins)
    for batch in batches:
        observer.update(batch)
    return observer


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_observer_single_update_equals_calibrate_functions(sol, name):
    x = distribution(name, 10, size=20_000)
    observer = observer_of(sol, x)
    assert observer.threshold("entropy") == sol.calibrate_entropy(x)
    assert observer.threshold("max") == sol.calibrate_max(x)
    amax = float(np.max(np.abs(x)))
    steps = abs(observer.threshold("mse", bits=4) - sol.calibrate_mse(x, bits=4)) / (amax / 100)
    assert steps <= 3, f"the histogram MSE threshold is {steps:.1f} candidate steps from calibrate_mse"


@pytest.mark.parametrize("percentile", [90.0, 99.0, 99.9])
def test_observer_percentile_within_one_bin_of_numpy(sol, percentile):
    # Where the sample is dense (10^6 values, up to the 99.9th percentile) neighbouring sorted values are closer than
    # a bin, so NVIDIA's left-edge rule lands within one bin width of NumPy's interpolated percentile. Further out
    # (the 99.99th: 100 values over some 500 bins) the rule can land on the next value, several bins away.
    x = np.random.default_rng(11).standard_normal(1_000_000)
    observer = observer_of(sol, x)
    width = observer.edges[1]
    assert abs(observer.threshold("percentile", percentile=percentile) - np.percentile(np.abs(x), percentile)) <= width


@pytest.mark.parametrize("percentile", [50.0, 99.0, 99.99, 100.0])
def test_observer_percentile_is_nvidia_rule(sol, percentile):
    x = distribution("student-t", 12)
    hist, edges = np.histogram(np.abs(x), bins=2048, range=(0.0, np.max(np.abs(x))))
    expected = edges[np.searchsorted(np.cumsum(hist / hist.sum()), percentile / 100)]
    assert observer_of(sol, x).threshold("percentile", percentile=percentile) == expected


@pytest.mark.parametrize("bits, num_candidates", [(8, 100), (4, 100), (3, 17)])
def test_observer_mse_scores_bin_centres(sol, bits, num_candidates):
    x = distribution("outliers", 13)
    observer = observer_of(sol, x)
    centres = (observer.edges[:-1] + observer.edges[1:]) / 2
    amax = float(np.max(np.abs(x)))
    candidates = [amax * k / num_candidates for k in range(1, num_candidates + 1)]
    errors = [np.average((symmetric_fake_quant_torch(centres, t, bits) - centres) ** 2, weights=observer.counts)
              for t in candidates]
    expected = candidates[int(np.argmin(errors))]
    assert observer.threshold("mse", bits=bits, num_candidates=num_candidates) == expected


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_observer_batches_with_max_first_equal_one_update(sol, name):
    x = distribution(name, 14).reshape(50, -1)
    order = np.argsort(-np.abs(x).max(axis=1))  # the batch with the largest |x| first
    batched = observer_of(sol, *np.array_split(x[order], 7))
    single = observer_of(sol, x)
    assert np.array_equal(batched.counts, single.counts) and np.array_equal(batched.edges, single.edges)
    assert batched.threshold("max") == single.threshold("max")
    for method in ("percentile", "mse", "entropy") if name == "outliers" else ("percentile", "mse"):
        assert batched.threshold(method) == single.threshold(method), method


def test_observer_growth_appends_same_width_bins_and_conserves_counts(sol):
    rng = np.random.default_rng(15)
    first = rng.uniform(-1, 1, 1000)
    first[0] = 1.0
    observer = observer_of(sol, first, num_bins=64)
    edges0, counts0 = observer.edges.copy(), observer.counts.copy()
    width = edges0[1]
    assert width == 1.0 / 64 and len(counts0) == 64 and counts0.sum() == 1000
    seen = 1000
    for top in (1.3, 1.3, 3.37, 2.0, 10.0 + 1e-9):
        batch = rng.uniform(-top, top, 500)
        batch[0] = top
        observer.update(batch)
        seen += 500
        assert observer.counts.sum() == seen, "counts are conserved"
        assert np.array_equal(observer.edges[:65], edges0), "existing edges never move"
        assert np.allclose(np.diff(observer.edges), width, rtol=1e-9, atol=0), "appended bins have the same width"
        assert observer.edges[-1] >= observer.max_abs > observer.edges[-2] - width, "at most one spare bin"
        assert np.all(observer.counts[:64] >= counts0), "old counts stay in their bins"
    assert observer.threshold("max") == 10.0 + 1e-9


def test_observer_growth_matches_nvidia_numpy_collection(sol):
    # NVIDIA's np.histogram path: append edges of the same width, rebin the batch, add the old counts.
    rng = np.random.default_rng(16)
    batches = [rng.standard_normal(2000) * s for s in (1.0, 1.5, 0.5, 3.0)]
    observer = observer_of(sol, *batches, num_bins=256)
    hist, edges = np.histogram(np.abs(batches[0]), bins=256, range=(0.0, np.max(np.abs(batches[0]))))
    for batch in batches[1:]:
        top = np.max(np.abs(batch))
        if top > edges[-1]:
            width = edges[1] - edges[0]
            edges = np.concatenate([edges, edges[-1] + width * np.arange(1, math.ceil((top - edges[-1]) / width) + 1)])
        new, _ = np.histogram(np.abs(batch), bins=edges)
        new[: len(hist)] += hist
        hist = new
    assert np.array_equal(observer.edges, edges) and np.array_equal(observer.counts, hist)


def test_observer_zero_batches(sol):
    observer = observer_of(sol, np.zeros(5), np.zeros((2, 3)))
    for method in ("max", "percentile", "mse", "entropy"):
        assert observer.threshold(method) == 0.0
    x = distribution("half-normal", 17)
    observer.update(x)
    single = observer_of(sol, x)
    assert observer.counts[0] == single.counts[0] + 11 and observer.counts.sum() == x.size + 11
    assert observer.threshold("max") == single.threshold("max")


def test_observer_accepts_tensors_and_any_shape(sol):
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(18))
    assert observer_of(sol, x).threshold("max") == observer_of(sol, x.numpy().ravel()).threshold("max")


def test_observer_errors(sol):
    with pytest.raises(RuntimeError, match="no data"):
        sol.HistogramObserver().threshold("max")
    for bad in (0, -3, 2.0, True):
        with pytest.raises(ValueError, match="num_bins"):
            sol.HistogramObserver(bad)
    observer = observer_of(sol, distribution("uniform", 19))
    with pytest.raises(ValueError, match="method") as info:
        observer.threshold("kl")
    assert all(name in str(info.value) for name in ("max", "percentile", "mse", "entropy"))
    for method, options, name in [("max", {"bits": 8}, "bits"), ("percentile", {"bits": 8}, "bits"),
                                  ("entropy", {"percentile": 9}, "percentile"), ("percentile", {"percentile": 0},
                                                                                  "percentile"),
                                  ("mse", {"bits": 1}, "bits"), ("mse", {"num_candidates": 0}, "num_candidates"),
                                  ("entropy", {"bits": 20}, "bits")]:
        with pytest.raises(ValueError, match=name):
            observer.threshold(method, **options)
    with pytest.raises(ValueError, match="x"):
        observer.update(np.array([np.nan]))
    with pytest.raises(ValueError, match="counts"):
        observer_of(sol, np.ones(10), num_bins=100).threshold("entropy")  # entropy needs more than 128 bins


# ---------------------------------------------------------------------------------------------------------------
# quantize_multiplier


def relative_error(m: float, m0: int, shift: int) -> Fraction:
    exact = Fraction(m)
    return abs(Fraction(m0, 2 ** (31 + shift)) - exact) / exact


def multipliers() -> list[float]:
    rng = np.random.default_rng(20)
    values = list(rng.uniform(0, 1, 3000)) + list(10.0 ** rng.uniform(-15, 0, 1000))
    values += [1 - 2.0**-k for k in range(1, 54)] + [0.5 + s * 2.0**-k for k in range(2, 54) for s in (-1, 1)]
    values += [2.0**-k for k in range(1, 80)] + [1e-9, 1e-300, 5e-324, np.nextafter(1.0, 0), 0.1, 1 / 3]
    return [float(v) for v in values if 0 < v < 1]


def test_quantize_multiplier_relative_error_at_most_2_pow_minus_31(sol):
    worst = Fraction(0)
    for m in multipliers():
        m0, shift = sol.quantize_multiplier(m)
        assert type(m0) is int and type(shift) is int
        assert 2**30 <= m0 < 2**31 and shift >= 0, (m, m0, shift)
        worst = max(worst, relative_error(m, m0, shift))
    assert worst <= Fraction(1, 2**31)


def test_quantize_multiplier_exact_cases(sol):
    for k in range(1, 80):
        assert sol.quantize_multiplier(2.0**-k) == (2**30, k - 1)  # powers of two are exact
    assert sol.quantize_multiplier(0.75) == (3 * 2**29, 0)
    assert sol.quantize_multiplier(0.1) == (1717986918, 3)  # 0.8 * 2^31 = 1717986918.4
    # A tie in 2^31 M0 rounds half away from zero, as TFLite's QuantizeMultiplier (std::round) does.
    assert sol.quantize_multiplier((2**31 + 1) / 2**32) == (2**30 + 1, 0)
    assert sol.quantize_multiplier(0.5 - 2.0**-40) == (2**30, 0)  # rounds up to 2^31 * 2^-1: halved, shift - 1
    assert sol.quantize_multiplier(np.nextafter(1.0, 0)) == (2**31 - 1, 0)  # no int32 for 2^31 and no shift -1
    assert sol.quantize_multiplier(np.float32(0.25)) == sol.quantize_multiplier(0.25) == (2**30, 1)


def test_quantize_multiplier_matches_frexp_recipe(sol):
    # Jacob et al. 2018 Sec. 2.2, with exact integers: M0 = m * 2^n in [1/2, 1), m0 the int nearest 2^31 M0.
    for m in multipliers()[:500]:
        exact = Fraction(m)
        n = 0
        while exact * 2 ** (n + 1) < 1:
            n += 1
        m0 = math.floor(exact * 2 ** (31 + n) + Fraction(1, 2))
        expected = (m0, n) if m0 < 2**31 else (2**30, n - 1) if n > 0 else (2**31 - 1, 0)
        assert sol.quantize_multiplier(m) == expected, m


@pytest.mark.parametrize("m", [0, 0.0, 1, 1.0, -0.5, 1.5, float("nan"), float("inf"), True, "0.5", None, 0.5j])
def test_quantize_multiplier_rejects_bad_m(sol, m):
    with pytest.raises(ValueError, match="m"):
        sol.quantize_multiplier(m)


# ---------------------------------------------------------------------------------------------------------------
# requantize


def gemmlowp_requantize(acc: int, m0: int, shift: int, zero_point: int, qmin: int, qmax: int) -> int:
    """gemmlowp fixedpoint.h in Python ints: SaturatingRoundingDoublingHighMul, RoundingDivideByPOT, offset, clamp."""
    overflow = acc == m0 == INT32_MIN
    ab = acc * m0
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    high = abs(ab + nudge) // 2**31 * (1 if ab + nudge >= 0 else -1)  # C++ division truncates toward zero
    high = INT32_MAX if overflow else high
    mask = (1 << shift) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (1 if high < 0 else 0)
    out = (high >> shift) + (1 if remainder > threshold else 0)
    return min(max(out + zero_point, qmin), qmax)


def exact_rounding(acc: int, m0: int, shift: int) -> int:
    value = Fraction(acc * m0, 2 ** (31 + shift))
    return math.floor(abs(value) + Fraction(1, 2)) * (1 if value >= 0 else -1)


@pytest.mark.parametrize("seed", range(4))
def test_requantize_equals_pure_python_gemmlowp(sol, seed):
    rng = np.random.default_rng(seed)
    acc = np.concatenate([rng.integers(INT32_MIN, INT32_MAX, 300, endpoint=True),
                          rng.integers(-5000, 5000, 300), [INT32_MIN, INT32_MAX, 0, -1, 1]])
    for m0 in [int(v) for v in rng.integers(2**30, 2**31, 3)] + [2**30, INT32_MAX, INT32_MIN, -12345, 0]:
        for shift in (0, 1, 5, int(rng.integers(0, 32)), 31):
            zero_point, qmin, qmax = int(rng.integers(-300, 301)), -300, 300
            got = sol.requantize(acc, m0, shift, zero_point, qmin, qmax)
            expected = [gemmlowp_requantize(int(a), m0, shift, zero_point, qmin, qmax) for a in acc]
            assert got.dtype == np.int32 and got.tolist() == expected, (m0, shift)


@pytest.mark.parametrize("seed", range(3))
def test_requantize_within_one_of_exact_rounding(sol, seed):
    rng = np.random.default_rng(10 + seed)
    acc = rng.integers(INT32_MIN, INT32_MAX, 3000, endpoint=True)
    for m in (0.9, 0.31, 1.7e-3, 2.2e-4, 3e-7):
        m0, shift = sol.quantize_multiplier(m)
        got = sol.requantize(acc, m0, shift, 0, INT32_MIN, INT32_MAX)
        exact = np.array([exact_rounding(int(a), m0, shift) for a in acc])
        diff = np.abs(got.astype(np.int64) - exact)
        assert diff.max() <= 1
        assert np.mean(diff == 0) >= 1 - 2.0 ** -(shift + 1) - 0.05  # double rounding: about 2^-(n+1) disagree


def test_requantize_hand_cases(sol):
    acc = np.array([2, 6, -2, -6, 1, -1, 5, 0])
    assert sol.requantize(acc, 2**30, 1, 0, -128, 127).tolist() == [1, 2, -1, -2, 1, 0, 2, 0]
    assert sol.requantize(np.array([1, -1, 3, -3]), 2**30, 0, 0, -128, 127).tolist() == [1, 0, 2, -1]  # +-0.5, 1.5
    assert sol.requantize(np.array([INT32_MIN]), INT32_MIN, 0, 0, INT32_MIN, INT32_MAX).tolist() == [INT32_MAX]
    assert sol.requantize(np.array([10**9, -(10**9)]), 2**30, 0, 7, 0, 255).tolist() == [255, 0]


def test_requantize_shapes_and_integer_dtypes(sol):
    acc = np.arange(-12, 12).reshape(2, 3, 4)
    expected = sol.requantize(acc, 2**30, 2, 3, -128, 127)
    assert expected.shape == (2, 3, 4) and expected.dtype == np.int32
    for dtype in (np.int8, np.int16, np.int32, np.uint8):
        a = np.abs(acc).astype(dtype) if dtype == np.uint8 else acc.astype(dtype)
        assert np.array_equal(sol.requantize(a, 2**30, 2, 3, -128, 127), sol.requantize(a.astype(np.int64), 2**30,
                                                                                          2, 3, -128, 127))
    assert sol.requantize(5, 2**30, 0, 0, -128, 127).shape == ()
    assert sol.requantize([5, 7], np.int64(2**30), np.int32(0), np.int8(0), -128, 127).tolist() == [3, 4]
    assert sol.requantize(np.zeros((0, 3), np.int32), 2**30, 0, 0, -128, 127).shape == (0, 3)


@pytest.mark.parametrize("args, name", [
    ((np.array([1.0]), 2**30, 0, 0, -128, 127), "acc"),
    ((np.array([True]), 2**30, 0, 0, -128, 127), "acc"),
    ((np.array([2**31]), 2**30, 0, 0, -128, 127), "acc"),
    ((np.array([INT32_MIN - 1]), 2**30, 0, 0, -128, 127), "acc"),
    ((np.array([1]), 2**31, 0, 0, -128, 127), "m0"),
    ((np.array([1]), 0.5, 0, 0, -128, 127), "m0"),
    ((np.array([1]), 2**30, -1, 0, -128, 127), "shift"),
    ((np.array([1]), 2**30, 32, 0, -128, 127), "shift"),
    ((np.array([1]), 2**30, 1.0, 0, -128, 127), "shift"),
    ((np.array([1]), 2**30, 0, 200, -128, 127), "zero_point"),
    ((np.array([1]), 2**30, 0, 0.0, -128, 127), "zero_point"),
    ((np.array([1]), 2**30, 0, 0, 127, 127), "qmin"),
    ((np.array([1]), 2**30, 0, 0, -128.0, 127), "qmin"),
    ((np.array([1]), 2**30, 0, 0, -128, 2**31), "qmax"),
])
def test_requantize_errors(sol, args, name):
    with pytest.raises(ValueError, match=name):
        sol.requantize(*args)


# ---------------------------------------------------------------------------------------------------------------
# int_linear


def random_int8_layer(rng: np.random.Generator, inputs: str):
    """Codes and scales of a random Linear layer quantized as Jacob et al. 2018 Sec. 2.4 prescribes."""
    c_in, c_out, batch = int(rng.integers(8, 512)), int(rng.integers(2, 80)), int(rng.integers(1, 65))
    if inputs == "signed":
        x = rng.standard_normal((batch, c_in))
    elif inputs == "relu":
        x = np.maximum(rng.standard_normal((batch, c_in)), 0.0)
    else:
        x = rng.uniform(0, 1, (batch, c_in))
    w = rng.standard_normal((c_out, c_in)) / np.sqrt(c_in) * rng.uniform(0.2, 3)
    b = rng.standard_normal(c_out) * 0.1
    s_x = (x.max() - min(x.min(), 0)) / 255
    x_zp = int(np.clip(-round(min(x.min(), 0) / s_x), 0, 255))
    s_w = np.abs(w).max() / 127
    y = x @ w.T + b
    s_y = (max(y.max(), 0) - min(y.min(), 0)) / 255
    y_zp = int(np.clip(-round(min(y.min(), 0) / s_y), 0, 255))
    x_q = np.clip(np.round(x / s_x) + x_zp, 0, 255).astype(np.uint8)
    w_q = np.clip(np.round(w / s_w), -127, 127).astype(np.int8)
    b_q = np.round(b / (s_x * s_w)).astype(np.int32)
    return x_q, x_zp, w_q, b_q, s_x, s_w, s_y, y_zp


def float_fake_quant_layer(x_q, x_zp, w_q, b_q, s_x, s_w, s_y, y_zp) -> np.ndarray:
    """The same layer in float64: dequantize input, weight and bias, apply it, quantize the output."""
    y = ((x_q.astype(np.float64) - x_zp) * s_x) @ (w_q.astype(np.float64) * s_w).T + b_q * (s_x * s_w)
    return np.clip(np.round(y / s_y) + y_zp, 0, 255).astype(np.int64)


def test_int_linear_agrees_with_float_fake_quant(sol):
    # gemmlowp rounds twice: to an integer after the high multiply, which keeps n = shift fractional bits, and again
    # after the shift. The two disagree with one rounding of acc * M when the exact value lies within 2^-(n+1) of a
    # step below a half-way point, so about 2^-(n+1) of the outputs are 1 LSB off. That is at most 0.05% for n >= 10
    # (M < 2^-10, as in the lab's trained layer, n = 12); layers with larger M differ more often, never by 2.
    rng = np.random.default_rng(21)
    counts = {}  # shift n -> [outputs that differ, outputs]
    for trial in range(240):
        x_q, x_zp, w_q, b_q, s_x, s_w, s_y, y_zp = random_int8_layer(rng, ("signed", "relu", "uniform")[trial % 3])
        m0, shift = sol.quantize_multiplier(s_x * s_w / s_y)
        got = sol.int_linear(x_q, x_zp, w_q, b_q, m0, shift, y_zp, 0, 255)
        ref = float_fake_quant_layer(x_q, x_zp, w_q, b_q, s_x, s_w, s_y, y_zp)
        assert got.dtype == np.int32 and got.shape == ref.shape
        assert np.abs(got - ref).max() <= 1, f"layer {trial}: more than 1 LSB from the float reference"
        tally = counts.setdefault(shift, [0, 0])
        tally[0] += int((got != ref).sum())
        tally[1] += got.size
    for shift, (differ, total) in sorted(counts.items()):
        expected = total * 2.0 ** -(shift + 1)
        assert differ <= 2 * expected + 10, f"n = {shift}: {differ} of {total} differ, about {expected:.0f} expected"
    differ = sum(d for n, (d, t) in counts.items() if n >= 10)
    total = sum(t for n, (d, t) in counts.items() if n >= 10)
    assert total >= 50_000 and differ <= 0.001 * total, f"n >= 10: {differ} of {total} outputs differ"


def test_int_linear_is_requantize_of_the_zero_point_corrected_accumulator(sol):
    # Jacob et al. 2018 Sec. 2.3: x_q @ w_q.T - Z_x * rowsum(w_q) equals (x_q - Z_x) @ w_q.T exactly.
    rng = np.random.default_rng(22)
    for _ in range(30):
        x_q, x_zp, w_q, b_q, *_ = random_int8_layer(rng, "signed")
        m0, shift = int(rng.integers(2**30, 2**31)), int(rng.integers(0, 20))
        acc = (x_q.astype(np.int64) - x_zp) @ w_q.astype(np.int64).T + b_q
        expected = sol.requantize(acc, m0, shift, 128, 0, 255)
        assert np.array_equal(sol.int_linear(x_q, x_zp, w_q, b_q, m0, shift, 128, 0, 255), expected)


def test_int_linear_signed_int8_inputs_and_empty_batch(sol):
    rng = np.random.default_rng(23)
    x_q = rng.integers(-127, 128, (5, 7)).astype(np.int8)
    w_q = rng.integers(-127, 128, (3, 7)).astype(np.int8)
    b_q = rng.integers(-1000, 1000, 3).astype(np.int32)
    acc = x_q.astype(np.int64) @ w_q.astype(np.int64).T + b_q
    assert np.array_equal(sol.int_linear(x_q, 0, w_q, b_q, 2**30, 4, 0, -127, 127),
                          sol.requantize(acc, 2**30, 4, 0, -127, 127))
    empty = sol.int_linear(np.zeros((0, 7), np.int8), 0, w_q, b_q, 2**30, 4, 0, -127, 127)
    assert empty.shape == (0, 3) and empty.dtype == np.int32


def test_int_linear_detects_int32_overflow(sol):
    x_q = np.full((1, 3000), 255, np.int64)
    w_q = np.full((1, 3000), 127, np.int8)
    with pytest.raises(ValueError, match="int32"):
        sol.int_linear(x_q * 100, 0, w_q, np.zeros(1, np.int32), 2**30, 0, 0, 0, 255)
    sol.int_linear(x_q, 0, w_q, np.zeros(1, np.int32), 2**30, 31, 0, 0, 255)  # 97 million fits


@pytest.mark.parametrize("change, name", [
    ({"x_q": np.ones((2, 3))}, "x_q"),
    ({"x_q": np.ones(3, np.int32)}, "x_q"),
    ({"x_q": np.ones((2, 3), bool)}, "x_q"),
    ({"x_q": np.full((2, 3), 2**40)}, "x_q"),
    ({"w_q": np.ones((4, 2), np.int8)}, "w_q"),
    ({"w_q": np.ones((4, 3))}, "w_q"),
    ({"w_q": np.full((4, 3), 128)}, "w_q"),
    ({"w_q": np.ones((4, 3, 1), np.int8)}, "w_q"),
    ({"b_q": np.zeros(3, np.int32)}, "b_q"),
    ({"b_q": np.zeros(4)}, "b_q"),
    ({"b_q": np.zeros((4, 1), np.int32)}, "b_q"),
    ({"b_q": np.full(4, 2**31)}, "b_q"),
    ({"x_zp": 0.5}, "x_zp"),
    ({"x_zp": True}, "x_zp"),
    ({"m0": 2**31}, "m0"),
    ({"shift": 40}, "shift"),
    ({"y_zp": 300}, "zero_point"),
    ({"qmin": 255}, "qmin"),
])
def test_int_linear_errors(sol, change, name):
    args = {"x_q": np.ones((2, 3), np.uint8), "x_zp": 0, "w_q": np.ones((4, 3), np.int8), "b_q": np.zeros(4, np.int32),
            "m0": 2**30, "shift": 0, "y_zp": 0, "qmin": 0, "qmax": 255}
    args.update(change)
    with pytest.raises(ValueError, match=name):
        sol.int_linear(**args)


# ---------------------------------------------------------------------------------------------------------------
# calibrate_model


def loader_of(x: torch.Tensor, batch_size: int) -> DataLoader:
    return DataLoader(TensorDataset(x, torch.zeros(len(x), dtype=torch.long)), batch_size=batch_size)


def activations_by_hand(sol, net: nn.Sequential, loader) -> dict:
    """Observers fed the inputs and outputs of each Linear/Conv2d, computed by running the layers one by one."""
    observers = {}
    with torch.no_grad():
        for x, _ in loader:
            for index, layer in enumerate(net):
                if isinstance(layer, (nn.Linear, nn.Conv2d)):
                    observers.setdefault(f"{index}.input", sol.HistogramObserver()).update(x.numpy())
                    x = layer(x)
                    observers.setdefault(f"{index}.output", sol.HistogramObserver()).update(x.numpy())
                else:
                    x = layer(x)
    return observers


@pytest.mark.parametrize("method, options", [("max", {}), ("percentile", {}), ("percentile", {"percentile": 90.0}),
                                             ("mse", {}), ("mse", {"bits": 4}), ("entropy", {})])
def test_calibrate_model_equals_hand_captured_activations(sol, method, options):
    g = torch.Generator().manual_seed(24)
    cases = [(mlp([12, 9, 7, 5], seed=1), torch.randn(90, 12, generator=g) * 3),
             (digits_cnn(seed=1), torch.rand(50, 1, 8, 8, generator=g))]
    if method == "entropy":  # about 0.2 s per observer: one Linear layer is enough to check the plumbing
        cases = [(mlp([12, 5], seed=1), torch.randn(90, 12, generator=g) * 3)]
    for net, x in cases:
        loader = loader_of(x, 16)
        thresholds = sol.calibrate_model(net, loader, method, **options)
        manual = activations_by_hand(sol, net, loader)
        assert list(thresholds) == list(manual)
        for key, observer in manual.items():
            assert thresholds[key] == observer.threshold(method, **options), key
            assert type(thresholds[key]) is float


def test_calibrate_model_max_is_the_activation_range(sol):
    net = mlp([4, 6, 3], seed=2)
    x = torch.randn(33, 4, generator=torch.Generator().manual_seed(25))
    thresholds = sol.calibrate_model(net, loader_of(x, 10), "max")
    with torch.no_grad():
        hidden = net[0](x)
        out = net[2](torch.relu(hidden))
    expected = {"0.input": x.abs().max().item(), "0.output": hidden.abs().max().item(),
                "2.input": torch.relu(hidden).abs().max().item(), "2.output": out.abs().max().item()}
    # batches of 10 and one batch of 33 go through different BLAS blockings: equal to float32 rounding, not bitwise
    assert thresholds == pytest.approx(expected, rel=1e-6)


def test_calibrate_model_leaves_the_model_unchanged(sol):
    net = mlp([5, 4, 3], dropout=0.5, seed=3)
    net.train()
    net[0].eval()  # mixed flags must come back exactly
    state = copy.deepcopy(net.state_dict())
    flags = [m.training for m in net.modules()]
    x = torch.randn(20, 5, generator=torch.Generator().manual_seed(26))
    first = sol.calibrate_model(net, loader_of(x, 8), "max")
    assert sol.calibrate_model(net, loader_of(x, 8), "max") == first  # eval mode: dropout is off, so repeatable
    assert [m.training for m in net.modules()] == flags
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())
    assert all(p.grad is None for p in net.parameters())


def test_calibrate_model_removes_hooks_when_a_batch_fails(sol):
    net = mlp([3, 2], seed=4)

    def failing():
        yield torch.ones(2, 3), None
        raise RuntimeError("broken batch")

    with pytest.raises(RuntimeError, match="broken batch"):
        sol.calibrate_model(net, failing(), "max")
    assert all(not m._forward_hooks for m in net.modules()) and net.training


def test_calibrate_model_checks_method_before_running(sol):
    def untouchable():
        raise AssertionError("the loader must not be read when the method is unknown")
        yield

    with pytest.raises(ValueError, match="method"):
        sol.calibrate_model(mlp([3, 2], seed=0), untouchable(), "minmax")


def test_calibrate_model_errors(sol):
    x = torch.ones(4, 3)
    with pytest.raises(ValueError, match="model"):
        sol.calibrate_model(nn.Sequential(nn.ReLU()), loader_of(x, 2), "max")
    with pytest.raises(ValueError, match="loader"):
        sol.calibrate_model(mlp([3, 2], seed=0), [], "max")


# ---------------------------------------------------------------------------------------------------------------
# quantize_static


def fake_quant_forward_by_hand(net: nn.Sequential, x: torch.Tensor, thresholds: dict, bits: int) -> torch.Tensor:
    """The statically quantized model written out with PyTorch's fake-quantize kernels."""
    qmax = 2 ** (bits - 1) - 1
    eps = float(torch.finfo(torch.float32).eps)
    for index, layer in enumerate(net):
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            w = layer.weight.detach()
            amax = w.abs().reshape(len(w), -1).amax(dim=1)
            scales = torch.clamp(amax.double() / qmax, min=eps).float()
            w_q = torch.fake_quantize_per_channel_affine(w, scales, torch.zeros(len(w), dtype=torch.int32), 0,
                                                         -qmax, qmax)
            in_scale = max(thresholds[f"{index}.input"] / qmax, eps)
            out_scale = max(thresholds[f"{index}.output"] / qmax, eps)
            x = torch.fake_quantize_per_tensor_affine(x, in_scale, 0, -qmax, qmax)
            if isinstance(layer, nn.Linear):
                x = nn.functional.linear(x, w_q, layer.bias)
            else:
                x = nn.functional.conv2d(x, w_q, layer.bias, layer.stride, layer.padding)
            x = torch.fake_quantize_per_tensor_affine(x, out_scale, 0, -qmax, qmax)
        else:
            x = layer(x)
    return x


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_quantize_static_equals_torch_fake_quant_by_hand(sol, bits):
    g = torch.Generator().manual_seed(27)
    for net, x in ((mlp([10, 8, 6, 4], seed=5), torch.randn(40, 10, generator=g) * 2),
                   (digits_cnn(seed=5), torch.rand(20, 1, 8, 8, generator=g))):
        thresholds = sol.calibrate_model(net, loader_of(x, 40), "percentile", percentile=95.0)
        quantized = sol.quantize_static(net, thresholds, bits)
        with torch.no_grad():
            got = quantized(x)
            expected = fake_quant_forward_by_hand(net, x, thresholds, bits)
        assert torch.equal(got, expected)


def test_quantize_static_leaves_the_original_untouched(sol):
    net = mlp([6, 5, 3], seed=6)
    state = copy.deepcopy(net.state_dict())
    x = torch.randn(16, 6, generator=torch.Generator().manual_seed(28))
    thresholds = sol.calibrate_model(net, loader_of(x, 16), "max")
    quantized = sol.quantize_static(net, thresholds, 4)
    assert quantized is not net
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())
    with torch.no_grad():
        quantized[0].weight.add_(1.0)
    assert torch.equal(net[0].weight, state["0.weight"]), "the copy must not share parameters with the original"


def test_quantize_static_16_bits_with_max_thresholds_matches_float(sol):
    g = torch.Generator().manual_seed(29)
    for net, x in ((mlp([20, 16, 10], seed=7), torch.randn(64, 20, generator=g)),
                   (digits_cnn(seed=7), torch.rand(32, 1, 8, 8, generator=g))):
        quantized = sol.quantize_static(net, sol.calibrate_model(net, loader_of(x, 32), "max"), 16)
        with torch.no_grad():
            reference = net(x)
            gap = (quantized(x) - reference).abs().max().item()
        assert gap <= 2e-4 * reference.abs().max().item(), gap


def test_quantize_static_errors(sol):
    net = mlp([4, 3, 2], seed=8)
    thresholds = {"0.input": 1.0, "0.output": 1.0, "2.input": 1.0, "2.output": 1.0}
    for missing in thresholds:
        with pytest.raises(ValueError, match=missing.replace(".", r"\.")):
            sol.quantize_static(net, {k: v for k, v in thresholds.items() if k != missing}, 8)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="threshold"):
            sol.quantize_static(net, {**thresholds, "2.input": bad}, 8)
    for bits in (1, 17, 8.0):
        with pytest.raises(ValueError, match="bits"):
            sol.quantize_static(net, thresholds, bits)
    assert isinstance(sol.quantize_static(net, {**thresholds, "extra": 3.0}, 8), nn.Module)


# ---------------------------------------------------------------------------------------------------------------
# layer_sensitivity


def logit_closeness(net: nn.Module, x: torch.Tensor):
    with torch.no_grad():
        reference = net(x)

    def score(model: nn.Module) -> float:
        with torch.no_grad():
            return -float(((model(x) - reference) ** 2).mean())

    return score


def test_layer_sensitivity_keys_values_and_model_untouched(sol):
    g = torch.Generator().manual_seed(30)
    for net, x in ((mlp([8, 7, 6, 5], seed=9), torch.randn(30, 8, generator=g)),
                   (digits_cnn(seed=9), torch.rand(20, 1, 8, 8, generator=g))):
        state = copy.deepcopy(net.state_dict())
        score = logit_closeness(net, x)
        drops = sol.layer_sensitivity(net, score, bits=2)
        names = [n for n, m in net.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        assert list(drops) == names
        for name in names:
            probe = copy.deepcopy(net)
            sol.fake_quantize_weight_(probe.get_submodule(name), 2)
            assert drops[name] == score(net) - score(probe)
            assert type(drops[name]) is float and drops[name] > 0
        assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())


def test_layer_sensitivity_at_16_bits_is_about_zero(sol):
    net = mlp([8, 7, 6, 5], seed=10)
    x = torch.randn(30, 8, generator=torch.Generator().manual_seed(31))
    drops = sol.layer_sensitivity(net, logit_closeness(net, x), bits=16)
    assert len(drops) == 3 and all(abs(v) < 1e-8 for v in drops.values())
    accuracy = lambda model: float((model(x).argmax(1) == net(x).argmax(1)).float().mean())
    assert sol.layer_sensitivity(net, accuracy, bits=16) == dict.fromkeys(["0", "2", "4"], 0.0)


def test_layer_sensitivity_errors(sol):
    net = mlp([3, 2], seed=0)
    with pytest.raises(ValueError, match="eval_fn"):
        sol.layer_sensitivity(net, 0.5, 8)
    with pytest.raises(ValueError, match="bits"):
        sol.layer_sensitivity(net, lambda m: 1.0, 1)
    with pytest.raises(ValueError, match="model"):
        sol.layer_sensitivity(nn.Sequential(nn.ReLU()), lambda m: 1.0, 8)


# ---------------------------------------------------------------------------------------------------------------
# allocate_bits


def damage(allocation: dict, sensitivity: dict) -> Fraction:
    """The noise model in exact arithmetic: sum of max(s, 0) * 4^-bits."""
    return sum((max(Fraction(sensitivity[n]), Fraction(0)) / 4 ** b for n, b in allocation.items()), Fraction(0))


def size_in_bytes(allocation: dict, sizes: dict) -> Fraction:
    return Fraction(sum(sizes[n] * b for n, b in allocation.items()), 8)


def brute_force(sensitivity: dict, sizes: dict, budget: float, choices) -> dict:
    """Every allocation; least damage, then fewer bytes, then the smallest widths in sorted-name order."""
    names = sorted(sensitivity)
    feasible = [dict(zip(names, combo)) for combo in itertools.product(sorted(set(choices)), repeat=len(names))
                if size_in_bytes(dict(zip(names, combo)), sizes) <= Fraction(budget)]
    return min(feasible, key=lambda a: (damage(a, sensitivity), size_in_bytes(a, sizes), [a[n] for n in names]))


def random_problem(rng: np.random.Generator):
    names = [f"layer{i}" for i in rng.permutation(int(rng.integers(1, 6)))]
    sensitivity = {n: float(v) for n, v in zip(names, rng.uniform(-0.2, 1.0, len(names)))}
    sizes = {n: int(v) for n, v in zip(names, rng.integers(1, 5000, len(names)))}
    choices = tuple(int(c) for c in rng.choice([1, 2, 3, 4, 6, 8, 16], size=int(rng.integers(1, 5)), replace=False))
    low = sum(sizes.values()) * min(choices) / 8
    budget = float(rng.uniform(low, sum(sizes.values()) * max(choices) / 8 * 1.1))
    return sensitivity, sizes, budget, choices


def test_allocate_bits_equals_brute_force_and_respects_the_budget(sol):
    rng = np.random.default_rng(32)
    for _ in range(60):
        sensitivity, sizes, budget, choices = random_problem(rng)
        got = sol.allocate_bits(sensitivity, sizes, budget, choices)
        assert list(got) == list(sensitivity) and all(type(b) is int and b in choices for b in got.values())
        assert size_in_bytes(got, sizes) <= Fraction(budget)
        assert got == brute_force(sensitivity, sizes, budget, choices)
        for bits in choices:
            uniform = dict.fromkeys(sensitivity, bits)
            if size_in_bytes(uniform, sizes) <= Fraction(budget):
                assert damage(got, sensitivity) <= damage(uniform, sensitivity)


def test_allocate_bits_tie_breaks(sol):
    zero = {"b": 0.0, "a": -1.0}
    assert sol.allocate_bits(zero, {"a": 8, "b": 8}, 100) == {"b": 2, "a": 2}  # no damage anywhere: fewest bytes
    # Equal damage and bytes: a gets the smaller width (lexicographic in sorted-name order).
    assert sol.allocate_bits({"a": 1.0, "b": 1.0}, {"a": 8, "b": 8}, 10, (2, 8)) == {"a": 2, "b": 8}
    exact = sol.allocate_bits({"x": 1.0}, {"x": 10}, 10.0, (2, 8))
    assert exact == {"x": 8}  # a budget met exactly fits


def test_allocate_bits_errors(sol):
    with pytest.raises(ValueError, match="budget_bytes"):
        sol.allocate_bits({"a": 1.0, "b": 0.5}, {"a": 100, "b": 100}, 49.99)
    for bad in (float("nan"), "100", None, True):
        with pytest.raises(ValueError, match="budget_bytes"):
            sol.allocate_bits({"a": 1.0}, {"a": 100}, bad)
    for sensitivity, sizes in (({"a": 1.0}, {"b": 1}), ({"a": 1.0}, {"a": 1, "b": 1}), ({}, {})):
        with pytest.raises(ValueError, match="sizes"):
            sol.allocate_bits(sensitivity, sizes, 100)
    for sizes in ({"a": 0}, {"a": 2.5}, {"a": True}):
        with pytest.raises(ValueError, match="sizes"):
            sol.allocate_bits({"a": 1.0}, sizes, 100)
    for value in (float("nan"), float("inf"), "1", None):
        with pytest.raises(ValueError, match="sensitivity"):
            sol.allocate_bits({"a": value}, {"a": 10}, 100)
    for choices in ((), (0, 8), (2, 33), (2.0, 4), (True,)):
        with pytest.raises(ValueError, match="choices"):
            sol.allocate_bits({"a": 1.0}, {"a": 10}, 100, choices)


# ---------------------------------------------------------------------------------------------------------------------
# The lecture's exported functions agree with the solution's where they share a name


@pytest.fixture(scope="module")
def lec() -> types.ModuleType:
    """What the lecture exports: the generated compresslab module (tests/test_exports.py keeps it current)."""
    import compresslab.calibration_ptq

    return compresslab.calibration_ptq


SHARED = ("calibrate_max", "calibrate_percentile", "calibrate_mse", "calibrate_entropy", "entropy_threshold",
          "quantize_multiplier", "requantize", "int_linear", "calibrate_model", "quantize_static")


@pytest.mark.parametrize("name", SHARED)
def test_lecture_exports_the_shared_function(lec, name):
    assert callable(getattr(lec, name, None)), f"the lecture's export cells should define {name}"


@pytest.mark.parametrize("name", ["half-normal", "student-t", "relu", "outliers"])
def test_lecture_and_solution_calibrate_alike(sol, lec, name):
    x = distribution(name, seed=7, size=20_000)
    for fn, kwargs in (("calibrate_max", {}), ("calibrate_percentile", {"percentile": 99.9}),
                       ("calibrate_mse", {"bits": 4}), ("calibrate_entropy", {})):
        assert getattr(lec, fn)(x, **kwargs) == getattr(sol, fn)(x, **kwargs), fn
    ours, theirs = lec.HistogramObserver(), sol.HistogramObserver()
    for batch in np.array_split(x, 4):
        ours.update(batch)
        theirs.update(batch)
    for method in ("max", "percentile", "mse", "entropy"):
        assert ours.threshold(method) == theirs.threshold(method), method


def test_lecture_and_solution_agree_on_integer_inference(sol, lec):
    rng = np.random.default_rng(11)
    for m in rng.uniform(1e-6, 1, 200):
        assert lec.quantize_multiplier(float(m)) == sol.quantize_multiplier(float(m))
    acc = rng.integers(-(2**31), 2**31, 5_000)
    for shift in (0, 5, 13):
        np.testing.assert_array_equal(lec.requantize(acc, 1_518_500_250, shift, 3, -128, 127),
                                      sol.requantize(acc, 1_518_500_250, shift, 3, -128, 127))
    x_q = rng.integers(-128, 128, (16, 40))
    w_q = rng.integers(-127, 128, (24, 40))
    b_q = rng.integers(-5_000, 5_000, 24)
    args = (x_q, 5, w_q, b_q, 1_300_000_000, 9, -2, -128, 127)
    np.testing.assert_array_equal(lec.int_linear(*args), sol.int_linear(*args))


def test_lecture_and_solution_agree_on_a_calibrated_static_model(sol, lec):
    torch.manual_seed(3)
    model = mlp([12, 20, 5])
    data = [(torch.randn(8, 12), torch.zeros(8, dtype=torch.long)) for _ in range(3)]
    thresholds = lec.calibrate_model(model, data, "percentile")
    assert thresholds == sol.calibrate_model(model, data, "percentile")
    x = torch.randn(6, 12)
    ours, theirs = lec.quantize_static(model, thresholds, 6), sol.quantize_static(model, thresholds, 6)
    torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------------------------
# Per-channel requantization (the lab's step beyond the lecture's per-tensor multiplier)


def test_quantize_multiplier_arrays_match_scalar_calls(sol):
    ms = np.concatenate([np.random.default_rng(0).uniform(0, 1, 50), [0.5, 1 - 2**-40, 5e-324]])
    m0s, shifts = sol.quantize_multiplier(ms.reshape(-1, 1))
    assert m0s.shape == shifts.shape == (ms.size, 1) and m0s.dtype == np.int64
    assert [(int(a), int(b)) for a, b in zip(m0s.ravel(), shifts.ravel())] == [sol.quantize_multiplier(float(m))
                                                                                 for m in ms]


def test_requantize_per_channel_equals_per_column_calls(sol):
    rng = np.random.default_rng(1)
    acc = rng.integers(-(2**31), 2**31, size=(7, 5))
    m0s, shifts = rng.integers(-(2**31), 2**31, 5), rng.integers(0, 32, 5)
    got = sol.requantize(acc, m0s, shifts, 3, -128, 127)
    for o in range(5):
        assert np.array_equal(got[:, o], sol.requantize(acc[:, o], int(m0s[o]), int(shifts[o]), 3, -128, 127))


def test_int_linear_per_channel_equals_per_row_layers(sol):
    rng = np.random.default_rng(2)
    x_q, w_q = rng.integers(0, 256, (4, 9)), rng.integers(-127, 128, (3, 9))
    b_q, m0s, shifts = rng.integers(-999, 999, 3), rng.integers(2**30, 2**31, 3), rng.integers(4, 12, 3)
    got = sol.int_linear(x_q, 128, w_q, b_q, m0s, shifts, 0, -128, 127)
    for o in range(3):
        row = sol.int_linear(x_q, 128, w_q[o:o + 1], b_q[o:o + 1], int(m0s[o]), int(shifts[o]), 0, -128, 127)
        assert np.array_equal(got[:, o:o + 1], row)
