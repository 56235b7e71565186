"""Cross-checks of the graded functions of solutions/01_quantization_basics.py.

Each function is compared with PyTorch (fake-quantize kernels, observers, bfloat16 casts) or with an exact identity,
on seeded random inputs and on edge cases (ties, constants, zeros, extremes, NaN/inf, bad shapes and dtypes), and every
documented ValueError is checked to name its argument. The last section checks that the functions the lecture exports
agree with the solution's where they share a name.
"""

from __future__ import annotations

import copy
import importlib
import math
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver

from compresslab.models import digits_cnn, mlp
from tools.nbload import load_module  # tests/conftest.py puts the repository root on sys.path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_quantization_basics.py"
FP32_EPS = float(torch.finfo(torch.float32).eps)
FP32_MAX = float(np.finfo(np.float32).max)
SEEDS = [0, 1, 2]


@pytest.fixture(scope="module")
def sol() -> types.ModuleType:
    return load_module(SOLUTION)


def int_range(bits: int, signed: bool, narrow: bool = False) -> tuple[int, int]:
    """The integer range written out independently of the solution."""
    if signed:
        return -(2 ** (bits - 1)) + int(narrow), 2 ** (bits - 1) - 1
    return int(narrow), 2**bits - 1


def observer_dtype(bits: int, signed: bool) -> torch.dtype:
    """A quantized dtype whose range holds a custom [quant_min, quant_max] of this width."""
    if bits > 8:
        return torch.qint32
    return torch.qint8 if signed else torch.quint8


def bits_of(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def assert_same_float32(ours: np.ndarray, ref: np.ndarray) -> None:
    """Bit-for-bit equality of two float32 arrays (so 0.0 and -0.0 differ)."""
    assert ours.dtype == np.float32, f"expected float32, got {ours.dtype}"
    assert ours.shape == ref.shape, f"shape {ours.shape} differs from {ref.shape}"
    mismatch = np.flatnonzero(bits_of(ours) != bits_of(ref))
    assert mismatch.size == 0, (
        f"{mismatch.size} of {ours.size} values differ, first at flat index {mismatch[0]}: "
        f"ours {ours.ravel()[mismatch[0]]!r}, reference {ref.ravel()[mismatch[0]]!r}")


# ---------------------------------------------------------------------------------------------------------------
# qrange


@pytest.mark.parametrize("narrow", [False, True])
@pytest.mark.parametrize("signed", [False, True])
def test_qrange_all_widths(sol, signed, narrow):
    for bits in range(2, 17):
        qmin, qmax = sol.qrange(bits, signed, narrow)
        assert type(qmin) is int and type(qmax) is int
        assert (qmin, qmax) == int_range(bits, signed, narrow), bits
        assert qmax - qmin + 1 == 2**bits - int(narrow)  # number of codes
        if signed and narrow:
            assert qmin == -qmax


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.uint16])
def test_qrange_matches_torch_iinfo(sol, dtype):
    info = torch.iinfo(dtype)
    signed = info.min < 0
    assert sol.qrange(info.bits, signed) == (info.min, info.max)
    assert sol.qrange(np.int64(info.bits), np.bool_(signed)) == (info.min, info.max)
    assert sol.qrange(info.bits, signed, narrow=True) == (info.min + 1, info.max)


@pytest.mark.parametrize("bits", [0, 1, 17, 32, -8, 8.0, True, np.bool_(True), "8", None])
def test_qrange_rejects_bad_bits(sol, bits):
    with pytest.raises(ValueError, match="bits"):
        sol.qrange(bits, True)


@pytest.mark.parametrize("name", ["signed", "narrow"])
@pytest.mark.parametrize("value", ["yes", None, 1])
def test_qrange_rejects_non_bool_flags(sol, name, value):
    kwargs = {"signed": True, "narrow": False, name: value}
    with pytest.raises(ValueError, match=name):
        sol.qrange(8, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# affine_qparams


def observer_affine(x_min: float, x_max: float, bits: int, signed: bool) -> tuple[float, int]:
    qmin, qmax = int_range(bits, signed)
    observer = MinMaxObserver(dtype=observer_dtype(bits, signed), qscheme=torch.per_tensor_affine,
                              quant_min=qmin, quant_max=qmax)
    observer(torch.tensor([x_min, x_max], dtype=torch.float32))
    scale, zero_point = observer.calculate_qparams()
    return scale.item(), int(zero_point.item())


def random_bounds(rng: np.random.Generator) -> list[tuple[float, float]]:
    """Float32-representable bounds: straddling 0, positive only, negative only, and wide spans."""
    pairs = []
    for lo, hi in (rng.normal(size=2) * 3, rng.uniform(0.1, 5, size=2), -rng.uniform(0.1, 5, size=2),
                   rng.normal(size=2) * 1e4, rng.normal(size=2) * 1e-3):
        lo, hi = sorted(float(np.float32(v)) for v in (lo, hi))
        pairs.append((lo, hi))
    return pairs


@pytest.mark.parametrize("bits", [2, 3, 4, 6, 8, 12, 16])
def test_affine_qparams_matches_minmax_observer(sol, bits):
    cases = [(signed, bounds) for seed in SEEDS for bounds in random_bounds(np.random.default_rng(seed))
             for signed in (False, True)]
    for signed, (x_min, x_max) in cases:
        scale, zero_point = sol.affine_qparams(x_min, x_max, bits, signed)
        ref_scale, ref_zp = observer_affine(x_min, x_max, bits, signed)
        assert isinstance(scale, float) and type(zero_point) is int
        assert scale == pytest.approx(ref_scale, rel=1e-6), (x_min, x_max)
        if bits <= 8:
            assert zero_point == ref_zp, (x_min, x_max)
        else:
            # PyTorch divides in float32, which at 12-16 bits can move x-/s across a .5 boundary: it may be one
            # code away, and the exact float64 formula decides.
            assert abs(zero_point - ref_zp) <= 1, (x_min, x_max)
            qmin, qmax = int_range(bits, signed)
            min_neg, max_pos = min(x_min, 0.0), max(x_max, 0.0)
            exact_scale = max((max_pos - min_neg) / (qmax - qmin), FP32_EPS)
            assert scale == exact_scale
            assert zero_point == min(max(qmin - round(min_neg / exact_scale), qmin), qmax)


@pytest.mark.parametrize("bounds", [(0.0, 0.0), (2.5, 2.5), (-2.5, -2.5), (-1e-45, 1e-45), (-3.0, 3.0), (-1.0, 5.0),
                                    (-1.0, 3.0), (2.0, 5.0), (-7.0, -2.0)])
def test_affine_qparams_edge_cases_match_observer(sol, bounds):
    # constant, all-zero and subnormal ranges (scale floored at eps), ranges that exclude 0 (widened) and exact ties
    # (-3/2 = -1.5 and -1/2 = -0.5 at 2 bits) all agree with the observer exactly.
    for bits in (2, 8):
        for signed in (False, True):
            scale, zero_point = sol.affine_qparams(*bounds, bits=bits, signed=signed)
            ref_scale, ref_zp = observer_affine(*bounds, bits, signed)
            assert scale == pytest.approx(ref_scale, rel=1e-6), (bits, signed)
            assert zero_point == ref_zp, (bits, signed)


def test_affine_qparams_float32_extremes_stay_finite(sol):
    scale, zero_point = sol.affine_qparams(-FP32_MAX, FP32_MAX, 8)
    assert scale == 2 * FP32_MAX / 255 and zero_point == 128  # -FP32_MAX / s = -127.5 rounds half to even to -128


def test_affine_qparams_accepts_numpy_scalars(sol):
    assert sol.affine_qparams(np.float32(-1.0), np.float64(3.0), np.int32(8)) == sol.affine_qparams(-1.0, 3.0, 8)


@pytest.mark.parametrize("x_min, x_max, kwargs, name", [
    (1.0, -1.0, {}, "x_min"),
    (float("nan"), 1.0, {}, "x_min"),
    (-float("inf"), 1.0, {}, "x_min"),
    (0.0, float("nan"), {}, "x_max"),
    (0.0, float("inf"), {}, "x_max"),
    (1j, 2.0, {}, "x_min"),
    ("0", 2.0, {}, "x_min"),
    (-1.0, 1.0, {"bits": 1}, "bits"),
    (-1.0, 1.0, {"bits": 17}, "bits"),
    (-1.0, 1.0, {"signed": "no"}, "signed"),
])
def test_affine_qparams_errors(sol, x_min, x_max, kwargs, name):
    with pytest.raises(ValueError, match=name):
        sol.affine_qparams(x_min, x_max, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# symmetric_scale


@pytest.mark.parametrize("bits", [2, 3, 4, 8, 12, 16])
def test_symmetric_scale_matches_symmetric_observer(sol, bits):
    # With quant_min = -(2^(b-1) - 1) PyTorch's amax / ((qmax - qmin) / 2) is exactly amax / (2^(b-1) - 1).
    qmin, qmax = int_range(bits, signed=True, narrow=True)
    rng = np.random.default_rng(bits)
    thresholds = np.concatenate([rng.uniform(0.01, 10, size=3), 10 ** rng.uniform(-5, 5, size=3)]).astype(np.float32)
    for threshold in map(float, thresholds):
        observer = MinMaxObserver(dtype=observer_dtype(bits, True), qscheme=torch.per_tensor_symmetric,
                                  quant_min=qmin, quant_max=qmax)
        observer(torch.tensor([-threshold, 0.3 * threshold], dtype=torch.float32))
        scale = sol.symmetric_scale(threshold, bits)
        assert isinstance(scale, float)
        assert scale == pytest.approx(observer.calculate_qparams()[0].item(), rel=1e-6)
        assert observer.calculate_qparams()[1].item() == 0


@pytest.mark.parametrize("threshold", [0.0, 1e-10, 1e-45])
def test_symmetric_scale_floor_is_float32_eps(sol, threshold):
    observer = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric, quant_min=-127, quant_max=127)
    observer(torch.tensor([threshold], dtype=torch.float32))
    assert sol.symmetric_scale(threshold, 8) == FP32_EPS == observer.calculate_qparams()[0].item()


@pytest.mark.parametrize("threshold, kwargs, name", [
    (-1.0, {}, "threshold"),
    (float("nan"), {}, "threshold"),
    (float("inf"), {}, "threshold"),
    (1j, {}, "threshold"),
    (1.0, {"bits": 1}, "bits"),
    (1.0, {"bits": 17}, "bits"),
    (1.0, {"bits": 4.0}, "bits"),
])
def test_symmetric_scale_errors(sol, threshold, kwargs, name):
    with pytest.raises(ValueError, match=name):
        sol.symmetric_scale(threshold, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# quantize, dequantize, fake_quantize

RANGES = [(0, 255), (-128, 127), (-127, 127), (0, 15), (-8, 7), (1, 3), (-32768, 32767)]


def random_case(rng: np.random.Generator, qmin: int, qmax: int, shape=(257,)):
    """x spread over about twice the representable range (so some values clamp), an arbitrary scale and zero point."""
    scale = float(rng.uniform(1e-3, 3.0))
    zero_point = int(rng.integers(qmin, qmax + 1))
    x = (rng.normal(size=shape) * scale * (qmax - qmin) / 2).astype(np.float32)
    return x, scale, zero_point


@pytest.mark.parametrize("qmin, qmax", RANGES)
def test_fake_quantize_matches_torch_per_tensor(sol, qmin, qmax):
    for seed in SEEDS:
        x, scale, zero_point = random_case(np.random.default_rng(seed), qmin, qmax)
        ref = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), scale, zero_point, qmin, qmax).numpy()
        assert_same_float32(sol.fake_quantize(x, scale, zero_point, qmin, qmax), ref)


@pytest.mark.parametrize("exponent", [-7, -2, 0, 3])
@pytest.mark.parametrize("zero_point", [0, 5])
def test_quantize_ties_round_half_to_even(sol, exponent, zero_point):
    # With a power-of-two scale x / scale is exact, so every x below sits exactly on a .5 tie.
    scale = 2.0**exponent
    halves = np.arange(-40, 40) + 0.5
    x = (halves * scale).astype(np.float32)
    q = sol.quantize(x, scale, zero_point, -128, 127)
    expected = [min(max(round(h) + zero_point, -128), 127) for h in halves]  # Python's round is half to even
    assert q.tolist() == expected
    ref = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), scale, zero_point, -128, 127).numpy()
    assert_same_float32(sol.fake_quantize(x, scale, zero_point, -128, 127), ref)


@pytest.mark.parametrize("seed", SEEDS)
def test_fake_quantize_matches_torch_near_ties_at_arbitrary_scales(sol, seed):
    # float32((k + 1/2) * s) lands within an ulp of a tie; whether it rounds up depends on computing x * (1/s) with
    # a float32 reciprocal, as PyTorch does. x / s or a float64 reciprocal disagree with PyTorch on about 1 in 10.
    rng = np.random.default_rng(seed)
    for scale in rng.uniform(1e-3, 2.0, size=20):
        x = ((np.arange(-130, 130) + 0.5) * scale).astype(np.float32)
        for zero_point, qmin, qmax in ((0, -128, 127), (77, 0, 255)):
            ref = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), float(scale), zero_point, qmin, qmax)
            assert_same_float32(sol.fake_quantize(x, float(scale), zero_point, qmin, qmax), ref.numpy())


@pytest.mark.parametrize("qmin, qmax", RANGES)
def test_quantize_codes_match_torch(sol, qmin, qmax):
    # With a power-of-two scale, (q - z) * s is exact, so torch's fake-quantized value gives back torch's code.
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        x, _, zero_point = random_case(rng, qmin, qmax)
        scale = 2.0 ** int(rng.integers(-6, 3))
        ref = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), scale, zero_point, qmin, qmax).numpy()
        q = sol.quantize(x, scale, zero_point, qmin, qmax)
        assert q.dtype == np.int32 and q.shape == x.shape
        assert np.array_equal(q, (ref.astype(np.float64) / scale).astype(np.int64) + zero_point)
        assert q.min() >= qmin and q.max() <= qmax


def test_quantize_extremes_saturate_like_torch(sol):
    tiny = float(np.float32(1e-45))  # the smallest float32 subnormal
    x = np.array([np.inf, -np.inf, FP32_MAX, -FP32_MAX, 1e30, -1e30, tiny, -tiny, 0.0, -0.0, 1e6, -1e6], np.float32)
    for scale, zero_point, qmin, qmax in [(0.1, 3, 0, 255), (1e-4, 0, -128, 127), (1e3, -5, -8, 7)]:
        q = sol.quantize(x, scale, zero_point, qmin, qmax)
        assert q[[0, 2, 4, 10]].tolist() == [qmax] * 4 and q[[1, 3, 5, 11]].tolist() == [qmin] * 4
        assert q[6:10].tolist() == [zero_point] * 4
        ref = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), scale, zero_point, qmin, qmax).numpy()
        assert_same_float32(sol.fake_quantize(x, scale, zero_point, qmin, qmax), ref)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape, axis", [((7,), 0), ((5, 6), 1), ((3, 4, 5), 0), ((3, 4, 5), 2), ((2, 3, 4, 5), 1)])
def test_fake_quantize_matches_torch_per_channel(sol, seed, shape, axis):
    rng = np.random.default_rng(seed)
    channels = shape[axis]
    scales = rng.uniform(1e-3, 2.0, size=channels).astype(np.float32)
    scales[0] = 2.0**-5  # one power-of-two channel, so ties happen there
    zero_points = rng.integers(0, 256, size=channels).astype(np.int32)
    broadcast = [1] * len(shape)
    broadcast[axis] = channels
    x = (rng.normal(size=shape) * 150 * scales.reshape(broadcast)).astype(np.float32)  # some beyond the range
    first = [slice(None)] * len(shape)
    first[axis] = 0
    x[tuple(first)] = ((rng.integers(-100, 100, size=x[tuple(first)].shape) + 0.5) * 2.0**-5).astype(np.float32)
    # torch.fake_quantize_per_channel_affine casts x * inv_scale to int64 before clamping, so values with
    # |x / scale| >= 2^63 (and inf) come back as qmin there; the values here stay far below that.
    ref = torch.fake_quantize_per_channel_affine(torch.from_numpy(x), torch.from_numpy(scales),
                                                 torch.from_numpy(zero_points), axis, 0, 255).numpy()
    ours = sol.fake_quantize(x, scales.reshape(broadcast), zero_points.reshape(broadcast), 0, 255)
    assert_same_float32(ours, ref)


@pytest.mark.parametrize("seed", SEEDS)
def test_dequantize_is_one_float32_multiply(sol, seed):
    # (q - z) is exact in float32 and the float64 product of two float32 numbers is exact, so rounding it once to
    # float32 is the correctly rounded float32 product the function must return.
    rng = np.random.default_rng(seed)
    q = rng.integers(-32768, 32768, size=(40, 3)).astype(np.int32)
    scale = rng.uniform(1e-4, 10, size=(1, 3))
    zero_point = rng.integers(-100, 100, size=(40, 1))
    expected = ((q.astype(np.float64) - zero_point) * scale.astype(np.float32).astype(np.float64)).astype(np.float32)
    assert_same_float32(sol.dequantize(q, scale, zero_point), expected)
    assert_same_float32(sol.dequantize(q.astype(np.int64), float(scale[0, 0]), 7),
                        ((q.astype(np.float64) - 7) * float(np.float32(scale[0, 0]))).astype(np.float32))


def test_quantize_shapes_and_input_dtypes(sol):
    assert sol.quantize(np.float32(0.26), 0.1, 0, -128, 127).shape == ()
    assert sol.dequantize(np.int32(3), 0.5, 1).shape == ()
    x64 = np.random.default_rng(0).normal(size=(3, 4)) * 30
    assert np.array_equal(sol.quantize(x64, 0.3, 2, -128, 127), sol.quantize(x64.astype(np.float32), 0.3, 2, -128, 127))
    ints = np.arange(-300, 300, 7)
    assert np.array_equal(sol.quantize(ints, 2.0, 0, -8, 7), sol.quantize(ints.astype(np.float32), 2.0, 0, -8, 7))
    halfs = x64.astype(np.float16)
    assert np.array_equal(sol.fake_quantize(halfs, 0.25, 0, -128, 127),
                          sol.fake_quantize(halfs.astype(np.float32), 0.25, 0, -128, 127))
    assert sol.quantize([[1.0, 2.0]], 1.0, 0, 0, 255).shape == (1, 2)


@pytest.mark.parametrize("args, name", [
    (([1.0], 1.0, 0, 5, 5), "qmin"),
    (([1.0], 1.0, 0, 6, 5), "qmin"),
    (([1.0], 1.0, 0, 0.0, 255), "qmin"),
    (([1.0], 1.0, 0, 0, 255.0), "qmax"),
    (([1.0], 0.0, 0, 0, 255), "scale"),
    (([1.0], -0.5, 0, 0, 255), "scale"),
    (([1.0], float("nan"), 0, 0, 255), "scale"),
    (([1.0], float("inf"), 0, 0, 255), "scale"),
    (([1.0, 2.0], np.array([0.1, -0.1]), 0, 0, 255), "scale"),
    (([1.0], 0.1, 256, 0, 255), "zero_point"),
    (([1.0], 0.1, -1, 0, 255), "zero_point"),
    (([1.0, 2.0], 0.1, np.array([0, 300]), 0, 255), "zero_point"),
    (([1.0], 0.1, 3.0, 0, 255), "zero_point"),
    (([1.0], 0.1, np.array([3.5]), 0, 255), "zero_point"),
    ((np.array([1 + 2j]), 0.1, 0, 0, 255), "x"),
    ((np.array([True, False]), 0.1, 0, 0, 255), "x"),
    ((np.array(["a"]), 0.1, 0, 0, 255), "x"),
    ((np.array([1.0, np.nan]), 0.1, 0, 0, 255), "x"),
    ((np.ones(4), np.ones(3), 0, 0, 255), "scale"),
    ((np.ones(3), np.ones((2, 3)), 0, 0, 255), "scale"),
    ((np.ones(3), 0.1, np.zeros((2, 3), np.int64), 0, 255), "zero_point"),
])
@pytest.mark.parametrize("function", ["quantize", "fake_quantize"])
def test_quantize_errors(sol, function, args, name):
    with pytest.raises(ValueError, match=name):
        getattr(sol, function)(*args)


@pytest.mark.parametrize("args, name", [
    ((np.array([1.5]), 0.1, 0), "q"),
    ((np.array([True]), 0.1, 0), "q"),
    ((np.array([1]), 0.0, 0), "scale"),
    ((np.array([1]), -2.0, 0), "scale"),
    ((np.array([1]), float("nan"), 0), "scale"),
    ((np.array([1]), 0.1, 0.5), "zero_point"),
    ((np.ones(4, np.int32), np.ones(3), 0), "scale"),
])
def test_dequantize_errors(sol, args, name):
    with pytest.raises(ValueError, match=name):
        sol.dequantize(*args)


# ---------------------------------------------------------------------------------------------------------------
# per_channel_qparams

SHAPES_AXES = [((7,), 0), ((4, 5), 0), ((4, 5), 1), ((4, 5), -1), ((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), 2),
               ((3, 4, 5), -2), ((2, 3, 4, 5), 1), ((2, 3, 4, 5), -1)]


@pytest.mark.parametrize("shape, axis", SHAPES_AXES)
def test_per_channel_asymmetric_matches_observer(sol, shape, axis):
    for bits, seed in [(bits, seed) for bits in (2, 4, 8, 12) for seed in SEEDS]:
        w = (np.random.default_rng(seed).normal(size=shape) + 0.3).astype(np.float32)
        observer = PerChannelMinMaxObserver(ch_axis=axis, dtype=observer_dtype(bits, False),
                                            qscheme=torch.per_channel_affine, quant_min=0, quant_max=2**bits - 1)
        observer(torch.from_numpy(w if w.ndim > 1 else w[:, None]))  # the observer needs a second dimension
        ref_scales, ref_zps = observer.calculate_qparams()
        scales, zero_points = sol.per_channel_qparams(w, axis=axis, bits=bits, symmetric=False)
        assert scales.dtype == np.float64 and zero_points.dtype == np.int64
        assert scales.shape == zero_points.shape == (shape[axis],)
        np.testing.assert_allclose(scales, ref_scales.double().numpy(), rtol=1e-6, atol=0)
        if bits <= 8:
            assert zero_points.tolist() == ref_zps.tolist()
        else:  # float32 division in PyTorch may move a zero point by one code at 12 bits (see the per-tensor test)
            assert np.abs(zero_points - ref_zps.numpy()).max() <= 1


@pytest.mark.parametrize("shape, axis", SHAPES_AXES)
def test_per_channel_symmetric_matches_observer(sol, shape, axis):
    for bits, seed in [(bits, seed) for bits in (2, 4, 8, 16) for seed in SEEDS]:
        w = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
        qmin, qmax = int_range(bits, signed=True, narrow=True)
        observer = PerChannelMinMaxObserver(ch_axis=axis, dtype=observer_dtype(bits, True),
                                            qscheme=torch.per_channel_symmetric, quant_min=qmin, quant_max=qmax)
        observer(torch.from_numpy(w if w.ndim > 1 else w[:, None]))
        scales, zero_points = sol.per_channel_qparams(w, axis=axis, bits=bits, symmetric=True)
        np.testing.assert_allclose(scales, observer.calculate_qparams()[0].double().numpy(), rtol=1e-6, atol=0)
        assert zero_points.dtype == np.int64 and not zero_points.any()


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("shape, axis", SHAPES_AXES)
def test_per_channel_any_axis_equals_axis_zero_of_moved_array(sol, shape, axis, symmetric):
    w = np.random.default_rng(7).normal(size=shape)
    moved = sol.per_channel_qparams(np.moveaxis(w, axis, 0), axis=0, bits=6, symmetric=symmetric)
    direct = sol.per_channel_qparams(w, axis=axis, bits=6, symmetric=symmetric)
    assert np.array_equal(direct[0], moved[0]) and np.array_equal(direct[1], moved[1])
    positive = sol.per_channel_qparams(w, axis=axis % len(shape), bits=6, symmetric=symmetric)
    assert np.array_equal(direct[0], positive[0]) and np.array_equal(direct[1], positive[1])


def test_per_channel_constant_and_zero_channels(sol):
    w = np.array([[0.0, 0.0, 0.0], [2.5, 2.5, 2.5], [-2.5, -2.5, -2.5], [-1.0, 0.0, 3.0]], np.float32)
    for symmetric, dtype, qscheme, qmin, qmax in [(True, torch.qint8, torch.per_channel_symmetric, -127, 127),
                                                  (False, torch.quint8, torch.per_channel_affine, 0, 255)]:
        observer = PerChannelMinMaxObserver(ch_axis=0, dtype=dtype, qscheme=qscheme, quant_min=qmin, quant_max=qmax)
        observer(torch.from_numpy(w))
        ref_scales, ref_zps = observer.calculate_qparams()
        scales, zero_points = sol.per_channel_qparams(w, 0, 8, symmetric)
        assert scales[0] == FP32_EPS and zero_points[0] == 0
        np.testing.assert_allclose(scales, ref_scales.double().numpy(), rtol=1e-6, atol=0)
        assert zero_points.tolist() == ref_zps.tolist()


def test_per_channel_accepts_integer_and_half_weights(sol):
    w = np.arange(-6, 6).reshape(3, 4)
    scales, _ = sol.per_channel_qparams(w, 0, 8)
    assert np.array_equal(scales, np.array([6, 2, 5]) / 127)
    half = sol.per_channel_qparams(w.astype(np.float16), 0, 8)[0]
    assert np.array_equal(half, scales)


@pytest.mark.parametrize("w, kwargs, pattern", [
    (np.ones((2, 3)), {"axis": 2}, r"axis.*\[-2, 1\]"),
    (np.ones((2, 3)), {"axis": -3}, r"axis.*\[-2, 1\]"),
    (np.ones((2, 3)), {"axis": 1.0}, "axis"),
    (np.ones((2, 3)), {"axis": True}, "axis"),
    (np.float32(1.0), {}, "w"),
    (np.ones((0, 3)), {}, "w"),
    (np.ones((2, 3), np.complex64), {}, "w"),
    (np.ones((2, 3), bool), {}, "w"),
    (np.array([[1.0, np.nan]]), {}, "w"),
    (np.array([[1.0, np.inf]]), {"symmetric": False}, "w"),
    (np.ones((2, 3)), {"bits": 1}, "bits"),
    (np.ones((2, 3)), {"bits": 17, "symmetric": False}, "bits"),
    (np.ones((2, 3)), {"symmetric": "yes"}, "symmetric"),
])
def test_per_channel_errors(sol, w, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        sol.per_channel_qparams(w, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# stochastic_quantize (stochastic rounding on the affine grid)

INT32_RANGE = (-(2**31), 2**31 - 1)


@pytest.mark.parametrize("seed", SEEDS)
def test_stochastic_quantize_is_unbiased(sol, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-10, 10, size=8).astype(np.float32)
    n = 40_000
    codes = sol.stochastic_quantize(np.broadcast_to(x, (n, 8)), 1.0, 0, *INT32_RANGE, np.random.default_rng(seed + 100))
    frac = x - np.floor(x)
    standard_error = np.sqrt(frac * (1 - frac) / n)
    assert np.all(np.abs(codes.mean(axis=0) - x) <= 5 * standard_error + 1e-6), (codes.mean(axis=0), x)


@pytest.mark.parametrize("seed", SEEDS)
def test_stochastic_quantize_floor_or_ceil_and_reproducible(sol, seed):
    x = np.random.default_rng(seed).normal(size=(50, 40)) * 100
    out = sol.stochastic_quantize(x, 0.5, 7, *INT32_RANGE, np.random.default_rng(seed))
    y = (x.astype(np.float32) * (np.float32(1) / np.float32(0.5))).astype(np.float64)
    assert out.dtype == np.int32 and out.shape == x.shape
    assert np.all((out == np.floor(y) + 7) | (out == np.ceil(y) + 7))
    assert np.array_equal(out, sol.stochastic_quantize(x, 0.5, 7, *INT32_RANGE, np.random.default_rng(seed)))
    assert not np.array_equal(out, sol.stochastic_quantize(x, 0.5, 7, *INT32_RANGE, np.random.default_rng(seed + 1)))


@pytest.mark.parametrize("seed", SEEDS)
def test_stochastic_quantize_uses_one_uniform_draw_per_element(sol, seed):
    x = np.random.default_rng(seed).normal(size=(6, 7)).astype(np.float32)
    scales = np.random.default_rng(seed + 1).uniform(0.01, 0.2, size=(6, 1)).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = sol.stochastic_quantize(x, scales, 0, -127, 127, rng)
    reference_rng = np.random.default_rng(seed)
    u = reference_rng.random(x.shape)
    y = (x * (np.float32(1) / scales)).astype(np.float64)
    expected = np.clip(np.floor(y) + (u < y - np.floor(y)), -127, 127)
    assert out.dtype == np.int32 and np.array_equal(out, expected)
    assert rng.random() == reference_rng.random(), "the generator must advance by exactly one rng.random(x.shape)"


def test_stochastic_quantize_saturates_and_keeps_grid_values(sol):
    rng = np.random.default_rng(0)
    k = np.arange(-50, 50)
    assert np.array_equal(sol.stochastic_quantize(k * 0.25, 0.25, 3, -128, 127, rng), k + 3)
    assert sol.stochastic_quantize([1e30, -1e30, 3e38], 1e-3, 0, -8, 7, rng).tolist() == [7, -8, 7]


@pytest.mark.parametrize("x, scale, rng, name", [
    ([1.5], 1.0, None, "rng"),
    ([1.5], 1.0, 0, "rng"),
    ([1.5], 1.0, np.random.RandomState(0), "rng"),
    ([np.nan], 1.0, np.random.default_rng(0), "x"),
    ([np.inf, 1.0], 1.0, np.random.default_rng(0), "x"),
    (np.array([1 + 1j]), 1.0, np.random.default_rng(0), "x"),
    ([1.0], 0.0, np.random.default_rng(0), "scale"),
])
def test_stochastic_quantize_errors(sol, x, scale, rng, name):
    with pytest.raises(ValueError, match=name):
        sol.stochastic_quantize(x, scale, 0, -8, 7, rng)


# ---------------------------------------------------------------------------------------------------------------
# round_mantissa (m = 7 is bfloat16)


@pytest.fixture(scope="module")
def float32_patterns() -> np.ndarray:
    """Every bfloat16 pattern combined with the low halves that decide rounding (exact, just below, at and just
    above a tie, and the largest), plus random float32 patterns, NaN payloads of both signs included."""
    upper = np.arange(2**16, dtype=np.uint32) << np.uint32(16)
    lower = np.array([0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF], dtype=np.uint32)
    random = np.random.default_rng(0).integers(0, 2**32, size=400_000, dtype=np.uint64).astype(np.uint32)
    return np.concatenate([(upper[:, None] | lower[None, :]).ravel(), random]).view(np.float32)


def test_round_mantissa_bf16_matches_torch_on_bit_patterns(sol, float32_patterns):
    x = float32_patterns
    ours = sol.round_mantissa(x, 7)
    ref = torch.from_numpy(x).to(torch.bfloat16).float().numpy()
    nan = np.isnan(ref)
    assert nan.sum() > 1000, "the sample must hold many NaN patterns"
    assert np.array_equal(np.isnan(ours), nan), "NaN must map to NaN, and nothing else"
    assert_same_float32(ours[~nan], ref[~nan])


def test_round_mantissa_bf16_outputs_are_bfloat16_values(sol, float32_patterns):
    ours = sol.round_mantissa(float32_patterns, 7)
    finite = ~np.isnan(ours)
    assert not (bits_of(ours[finite]) & np.uint32(0xFFFF)).any(), "the low 16 bits must be zero"
    assert_same_float32(sol.round_mantissa(ours, 7)[finite], ours[finite])  # idempotent


def test_round_mantissa_bf16_relative_error_at_most_half_a_step(sol):
    x = np.random.default_rng(0).normal(size=100_000).astype(np.float32) * np.float32(10.0) ** np.random.default_rng(
        1).integers(-30, 30, size=100_000).astype(np.float32)
    ours = sol.round_mantissa(x, 7).astype(np.float64)
    assert np.all(np.abs(ours - x) <= 2.0**-8 * np.abs(x.astype(np.float64)))


def test_round_mantissa_bf16_shapes_and_input_dtypes(sol):
    assert sol.round_mantissa(np.float32(np.pi), 7).shape == ()
    x64 = np.random.default_rng(0).normal(size=(2, 3, 4))
    out = sol.round_mantissa(x64, 7)
    assert out.dtype == np.float32 and out.shape == (2, 3, 4)
    assert_same_float32(out, sol.round_mantissa(x64.astype(np.float32), 7))
    assert_same_float32(sol.round_mantissa(np.arange(300), 7), torch.arange(300).to(torch.bfloat16).float().numpy())
    strided = np.arange(20, dtype=np.float32)[::3] * np.float32(1.01)
    assert_same_float32(sol.round_mantissa(strided, 7),
                        torch.from_numpy(strided.copy()).to(torch.bfloat16).float().numpy())


@pytest.mark.parametrize("x", [np.array([1 + 1j]), np.array([True]), np.array(["1.0"])])
def test_round_mantissa_bf16_errors(sol, x):
    with pytest.raises(ValueError, match="x"):
        sol.round_mantissa(x, 7)


@pytest.mark.parametrize("m", [0, 1, 4, 10, 16, 22, 23])
def test_round_mantissa_matches_exact_rounding_of_normals(sol, m):
    """Against round-half-even of the significand in float64 (exact for float32 inputs), on normal values."""
    rng = np.random.default_rng(m)
    x = (rng.normal(size=20_000) * 10.0 ** rng.uniform(-30, 30, 20_000)).astype(np.float32)
    significand, exponent = np.frexp(x.astype(np.float64))  # |significand| in [0.5, 1): 24 bits for a float32
    ref = np.ldexp(np.rint(np.ldexp(significand, m + 1)), exponent - m - 1).astype(np.float32)
    assert_same_float32(sol.round_mantissa(x, m), ref)


def test_round_mantissa_float16_precision(sol):
    x = np.random.default_rng(3).uniform(-60_000, 60_000, 50_000).astype(np.float32)
    x = x[np.abs(x) >= 2**-14]
    assert_same_float32(sol.round_mantissa(x, 10), x.astype(np.float16).astype(np.float32))


@pytest.mark.parametrize("m", [-1, 24, 7.0, True])
def test_round_mantissa_rejects_bad_width(sol, m):
    with pytest.raises(ValueError, match="mantissa_bits"):
        sol.round_mantissa([1.0], m)


# ---------------------------------------------------------------------------------------------------------------
# log2_quantize


def log2_reference(x, bits: int) -> np.ndarray:
    """Element by element with math.log2 and Python's round (half to even)."""
    x = np.asarray(x, dtype=np.float32).astype(np.float64)
    levels = 2 ** (bits - 1) - 1
    out = np.zeros(x.shape)
    amax = float(np.abs(x).max()) if x.size else 0.0
    if amax == 0.0:
        return out.astype(np.float32)
    e_max = min(round(math.log2(amax)), 127)
    for index, value in np.ndenumerate(x):
        if value != 0.0:
            e = min(round(math.log2(abs(value))), e_max)
            if e >= e_max - levels + 1:
                out[index] = math.copysign(math.ldexp(1.0, e), value)
    return out.astype(np.float32)


def log2_inputs(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    normal = rng.normal(size=300).astype(np.float32)
    normal[::17] = 0.0
    spread = (rng.choice([-1.0, 1.0], size=300) * np.exp(rng.uniform(-40, 40, size=300))).astype(np.float32)
    return [normal, rng.laplace(size=(10, 20)).astype(np.float32) * 1e-3, spread]


@pytest.mark.parametrize("bits", [2, 3, 4, 5, 8, 16])
def test_log2_quantize_matches_reference_and_properties(sol, bits):
    for x in [x for seed in SEEDS for x in log2_inputs(seed)]:
        out = sol.log2_quantize(x, bits, None)
        assert out.dtype == np.float32 and out.shape == x.shape
        assert_same_float32(out, log2_reference(x, bits))
        nonzero = out != 0
        mantissa, _ = np.frexp(out[nonzero])
        assert np.all(np.abs(mantissa) == 0.5), "every non-zero output must be a signed power of two"
        assert np.unique(np.abs(out[nonzero])).size <= 2 ** (bits - 1) - 1
        assert np.all(np.sign(out[nonzero]) == np.sign(x[nonzero])) and not out[x == 0].any()
        top = np.argmax(np.abs(x))
        assert out.flat[top] == np.sign(x.flat[top]) * 2.0 ** np.rint(np.log2(np.abs(x.flat[top])))
        assert np.abs(out).max() == np.abs(out.flat[top])
        order = np.argsort(np.abs(x), axis=None)
        assert np.all(np.diff(np.abs(out).ravel()[order]) >= 0), "|output| must not decrease as |x| grows"


@pytest.mark.parametrize("x", [np.zeros(5), np.zeros((2, 0)), np.array(-0.0)])
def test_log2_quantize_zeros(sol, x):
    out = sol.log2_quantize(x, 4, None)
    assert out.shape == x.shape and out.dtype == np.float32 and not out.any()


def test_log2_quantize_top_level_capped_at_float32(sol):
    out = sol.log2_quantize(np.array([3e38, -1e38, 1.0], np.float32), 8, None)
    assert out.tolist() == [2.0**127, -(2.0**126), 0.0]


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_log2_quantize_per_channel_is_per_tensor_on_each_slice(sol, axis):
    x = np.random.default_rng(5).laplace(size=(5, 7)).astype(np.float32) * np.float32(10.0) ** np.arange(5)[:, None]
    x[2] = 0.0
    out = sol.log2_quantize(x, 4, axis)
    for i in range(x.shape[axis]):
        piece = np.take(x, i, axis=axis)
        assert_same_float32(np.take(out, i, axis=axis), log2_reference(piece, 4))


@pytest.mark.parametrize("axis", [2, -3, 1.0, True])
def test_log2_quantize_rejects_bad_axis(sol, axis):
    with pytest.raises(ValueError, match="axis"):
        sol.log2_quantize(np.ones((2, 3)), 4, axis)


@pytest.mark.parametrize("x, bits, name", [
    ([1.0, np.nan], 4, "x"),
    ([1.0, -np.inf], 4, "x"),
    (np.array([1 + 1j]), 4, "x"),
    ([1.0], 1, "bits"),
    ([1.0], 17, "bits"),
    ([1.0], True, "bits"),
])
def test_log2_quantize_errors(sol, x, bits, name):
    with pytest.raises(ValueError, match=name):
        sol.log2_quantize(x, bits, None)


# ---------------------------------------------------------------------------------------------------------------
# sqnr_db


@pytest.mark.parametrize("seed", SEEDS)
def test_sqnr_db_matches_torch_float64(sol, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(30, 20)).astype(np.float32)
    x_hat = x + rng.normal(size=x.shape).astype(np.float32) * 0.01
    tx, th = torch.from_numpy(x).double(), torch.from_numpy(x_hat).double()
    ref = (10 * torch.log10(tx.pow(2).sum() / (tx - th).pow(2).sum())).item()
    value = sol.sqnr_db(x, x_hat)
    assert isinstance(value, float) and value == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("db", [0.0, 3.7, 20.0, 61.5])
def test_sqnr_db_of_a_known_noise_level(sol, db):
    x = np.random.default_rng(1).normal(size=1000)
    x_hat = x * (1 + 10 ** (-db / 20))  # noise power is exactly 10^(-db/10) of the signal's
    assert sol.sqnr_db(x, x_hat) == pytest.approx(db, abs=1e-9)
    assert sol.sqnr_db(3 * x, 3 * x_hat) == pytest.approx(db, abs=1e-9)


def test_sqnr_db_known_values(sol):
    assert sol.sqnr_db(np.ones(4), np.full(4, 1.1)) == pytest.approx(20.0, abs=1e-9)
    assert sol.sqnr_db([1, -2, 3], [1, -2, 3]) == float("inf")
    assert sol.sqnr_db(np.float32(2.0), np.float32(1.0)) == pytest.approx(10 * math.log10(4.0), abs=1e-12)


@pytest.mark.parametrize("x, x_hat, name", [
    (np.ones(3), np.ones(4), "shape"),
    (np.ones((2, 3)), np.ones((3, 2)), "shape"),
    (np.zeros(3), np.ones(3), "x"),
    (np.zeros(0), np.zeros(0), "x"),
    (np.array([1.0, np.nan]), np.ones(2), "x"),
    (np.ones(2), np.array([1.0, np.inf]), "x_hat"),
    (np.array([1 + 1j]), np.ones(1), "x"),
])
def test_sqnr_db_errors(sol, x, x_hat, name):
    with pytest.raises(ValueError, match=name):
        sol.sqnr_db(x, x_hat)


# ---------------------------------------------------------------------------------------------------------------
# fake_quantize_weights_


def mixed_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Unflatten(1, (4, 36)),
                         nn.Conv1d(4, 2, 3), nn.Flatten(), nn.Linear(68, 3, bias=False))


MODELS = {"mlp": lambda: mlp([8, 6, 4], seed=0), "digits_cnn": lambda: digits_cnn(seed=0), "mixed": mixed_model}


def expected_weight(w: torch.Tensor, bits: int, per_channel: bool) -> torch.Tensor:
    """PyTorch's fake quantization with scales computed here: max |w| / (2^(b-1) - 1), at least eps."""
    qmax = 2 ** (bits - 1) - 1
    if per_channel:
        amax = w.detach().abs().reshape(len(w), -1).amax(dim=1).double()
        scales = torch.clamp(amax / qmax, min=FP32_EPS).float()
        return torch.fake_quantize_per_channel_affine(w.detach(), scales, torch.zeros(len(w), dtype=torch.int32), 0,
                                                      -qmax, qmax)
    scale = max(w.detach().abs().max().item() / qmax, FP32_EPS)
    return torch.fake_quantize_per_tensor_affine(w.detach(), scale, 0, -qmax, qmax)


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
@pytest.mark.parametrize("model_name", list(MODELS))
def test_fake_quantize_weights_matches_torch(sol, model_name, bits, per_channel):
    original = MODELS[model_name]()
    model = copy.deepcopy(original)
    params_before = dict(model.named_parameters())
    assert sol.fake_quantize_weights_(model, bits, per_channel) is model
    params_after = dict(model.named_parameters())
    assert all(params_after[name] is params_before[name] for name in params_before), "weights must change in place"
    before_modules = dict(original.named_modules())
    quantized_layers = 0
    for name, module in model.named_modules():
        reference = before_modules[name]
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            quantized_layers += 1
            expected = expected_weight(reference.weight, bits, per_channel)
            assert_same_float32(module.weight.detach().numpy(), expected.numpy())
            assert module.weight.requires_grad
            codes = module.weight.detach().reshape(len(module.weight), -1)
            if per_channel:
                assert max(len(torch.unique(row)) for row in codes) <= 2**bits - 1
            else:
                assert len(torch.unique(codes)) <= 2**bits - 1
            if module.bias is not None:
                assert torch.equal(module.bias, reference.bias), f"{name}: the bias must not change"
        elif not any(True for _ in module.children()):
            # every other leaf layer (BatchNorm, Conv1d, ...) keeps its parameters and buffers
            for (key, value), (_, ref_value) in zip(module.state_dict().items(), reference.state_dict().items()):
                assert torch.equal(value, ref_value), f"{name}.{key} must not change"
    assert quantized_layers >= 2


def test_fake_quantize_weights_all_zero_layer(sol):
    model = mlp([3, 2], seed=0)
    with torch.no_grad():
        model[0].weight.zero_()
    sol.fake_quantize_weights_(model, 4, True)
    sol.fake_quantize_weights_(model, 4, False)
    assert not model[0].weight.any()


@pytest.mark.parametrize("args, name", [
    ((1, True), "bits"),
    ((17, False), "bits"),
    ((8.0, True), "bits"),
    ((True, True), "bits"),
    ((8, "yes"), "per_channel"),
])
def test_fake_quantize_weights_errors_leave_model_unchanged(sol, args, name):
    model = digits_cnn(seed=0)
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(ValueError, match=name):
        sol.fake_quantize_weights_(model, *args)
    after = model.state_dict()
    assert all(torch.equal(after[key], before[key]) for key in before), "nothing may change before the error"


def test_fake_quantize_weights_rejects_non_module(sol):
    with pytest.raises(ValueError, match="model"):
        sol.fake_quantize_weights_({"weight": torch.ones(2, 2)}, 8, True)


# ---------------------------------------------------------------------------------------------------------------
# The lecture's exported functions agree with the solution's where they share a name


@pytest.fixture(scope="module")
def lec() -> types.ModuleType:
    """What the lecture exports: the generated compresslab module (tests/test_exports.py keeps it current)."""
    return importlib.import_module("compresslab.quantization_basics")


SHARED = ["qrange", "affine_qparams", "symmetric_scale", "quantize", "dequantize", "fake_quantize", "log2_quantize",
          "sqnr_db"]


@pytest.mark.parametrize("name", SHARED + ["stochastic_round", "to_bfloat16"])
def test_lecture_exports_the_shared_function(lec, name):
    assert callable(getattr(lec, name, None)), f"the lecture's export cells should define {name}"


def test_lecture_exports_are_not_weaker_than_the_lab(lec):
    """The cases lab 01's hidden tests check in a student's code hold for the lecture's exported copies too."""
    assert lec.qrange(np.uint8(8), True) == (-128, 127) and lec.qrange(np.int8(8), False) == (0, 255)
    assert lec.affine_qparams(-1, 3, np.uint8(8), True) == lec.affine_qparams(-1, 3, 8, True)
    assert_same_float32(lec.log2_quantize(np.array([3.3e38, 2.0**127], np.float32), 8),
                        np.array([2.0**127, 2.0**127], np.float32))
    with pytest.raises(ValueError, match="scale"):
        lec.quantize(np.zeros(5), np.ones((3, 1)), 0, -128, 127)


def test_lecture_agrees_on_ranges_and_qparams(sol, lec):
    for bits in range(2, 17):
        for signed in (False, True):
            for narrow in (False, True):
                assert lec.qrange(bits, signed, narrow) == sol.qrange(bits, signed, narrow)
    rng = np.random.default_rng(0)
    for bits in (2, 4, 8, 16):
        for signed in (False, True):
            for x_min, x_max in random_bounds(rng) + [(0.0, 0.0), (-3.0, 3.0)]:
                assert lec.affine_qparams(x_min, x_max, bits, signed) == sol.affine_qparams(x_min, x_max, bits, signed)
        for threshold in (0.0, 1e-12, 0.37, 5.0, 1e6):
            assert lec.symmetric_scale(threshold, bits) == sol.symmetric_scale(threshold, bits)


@pytest.mark.filterwarnings("ignore:overflow encountered in multiply:RuntimeWarning")  # x * (1/scale) -> inf
@pytest.mark.parametrize("seed", SEEDS)
def test_lecture_agrees_on_quantize_dequantize_fake_quantize(sol, lec, seed):
    rng = np.random.default_rng(seed)
    for qmin, qmax in RANGES:
        x, scale, zero_point = random_case(rng, qmin, qmax, shape=(6, 50))
        x[0, :4] = [np.inf, -np.inf, FP32_MAX, -FP32_MAX]
        assert np.array_equal(lec.quantize(x, scale, zero_point, qmin, qmax),
                              sol.quantize(x, scale, zero_point, qmin, qmax))
        scales = rng.uniform(0.01, 1, size=(6, 1))
        zero_points = rng.integers(qmin, qmax + 1, size=(6, 1))
        assert_same_float32(lec.fake_quantize(x, scales, zero_points, qmin, qmax),
                            sol.fake_quantize(x, scales, zero_points, qmin, qmax))
        q = rng.integers(qmin, qmax + 1, size=(6, 50))
        assert_same_float32(lec.dequantize(q, scales, zero_points), sol.dequantize(q, scales, zero_points))


@pytest.mark.parametrize("seed", SEEDS)
def test_lecture_agrees_on_rounding_formats_and_metrics(sol, lec, seed, float32_patterns):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(20, 30)) * 7
    x32 = x.astype(np.float32)
    assert np.array_equal(lec.stochastic_round(x32, np.random.default_rng(seed)),  # the lab's scale-1 case
                          sol.stochastic_quantize(x32, 1.0, 0, -128, 127, np.random.default_rng(seed)))
    ours, theirs = sol.round_mantissa(float32_patterns, 7), lec.to_bfloat16(float32_patterns)
    nan = np.isnan(ours)
    assert np.array_equal(np.isnan(theirs), nan)
    assert_same_float32(theirs[~nan], ours[~nan])
    for values in log2_inputs(seed):
        for bits in (2, 3, 5, 8, 16):
            assert_same_float32(lec.log2_quantize(values, bits), sol.log2_quantize(values, bits, None))
    x_hat = sol.fake_quantize(x32, 0.05, 0, -128, 127)
    assert lec.sqnr_db(x32, x_hat) == sol.sqnr_db(x32, x_hat)
    assert lec.sqnr_db(x32, x32) == sol.sqnr_db(x32, x32) == float("inf")


@pytest.mark.parametrize("name, args", [
    ("qrange", (1, True)),
    ("qrange", (8.0, True)),
    ("affine_qparams", (1.0, -1.0)),
    ("affine_qparams", (0.0, float("nan"))),
    ("symmetric_scale", (-1.0,)),
    ("quantize", ([1.0], 1.0, 0, 5, 5)),
    ("quantize", ([1.0], -0.1, 0, 0, 255)),
    ("quantize", ([1.0], 0.1, 300, 0, 255)),
    ("quantize", (np.array([1 + 2j]), 0.1, 0, 0, 255)),
    ("dequantize", (np.array([1.5]), 0.1, 0)),
    ("sqnr_db", (np.ones(3), np.ones(4))),
    ("sqnr_db", (np.zeros(3), np.ones(3))),
])
def test_lecture_and_solution_reject_the_same_bad_calls(sol, lec, name, args):
    for module in (sol, lec):
        with pytest.raises(ValueError):
            getattr(module, name)(*args)
