"""Cross-checks of the graded functions of solutions/08_efficient_layers.py.

conv2d and its depthwise/pointwise/separable forms are compared with F.conv2d on seeded random shapes, strides,
paddings and groups; conv_params and conv_macs with nn.Conv2d's parameter count and compresslab.measure.count_macs;
low_rank_factors with the Eckart-Young bound and torch.linalg.svd; rank_for_energy with a direct count; the
PyTorch modules by their outputs. The last section checks that the lecture's exports agree with the solution.
"""

from __future__ import annotations

import itertools
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from compresslab.measure import count_macs
from tools.nbload import load_module  # tests/conftest.py puts the repository root on sys.path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "08_efficient_layers.py"


@pytest.fixture(scope="module")
def sol() -> types.ModuleType:
    return load_module(SOLUTION)


def torch_conv(x, w, b=None, **kwargs) -> np.ndarray:
    t = [torch.from_numpy(a) if a is not None else None for a in (x, w, b)]
    return F.conv2d(*t, **kwargs).numpy()


@pytest.mark.parametrize("seed", range(12))
def test_conv2d_matches_torch_on_random_shapes(sol, seed):
    rng = np.random.default_rng(seed)
    g = int(rng.choice([1, 2, 3]))
    c_in, c_out = g * int(rng.integers(1, 4)), g * int(rng.integers(1, 4))
    kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    x = rng.standard_normal((int(rng.integers(1, 3)), c_in, int(rng.integers(kh, 11)), int(rng.integers(kw, 11))))
    w, b = rng.standard_normal((c_out, c_in // g, kh, kw)), rng.standard_normal(c_out)
    bias = b if seed % 2 else None
    got = sol.conv2d(x, w, bias, stride=stride, padding=padding, groups=g)
    ref = torch_conv(x, w, bias, stride=stride, padding=padding, groups=g)
    assert got.dtype == np.float64 and got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)


def test_conv2d_rejects_bad_arguments(sol):
    x = np.zeros((1, 6, 5, 5))
    for kwargs, name in (({"groups": 4}, "groups"), ({"stride": 0}, "stride"), ({"padding": -1}, "padding")):
        with pytest.raises(ValueError, match=name):
            sol.conv2d(x, np.zeros((4, 6 // kwargs.get("groups", 1) or 1, 3, 3)), **kwargs)
    with pytest.raises(ValueError, match="w"):
        sol.conv2d(x, np.zeros((6, 6, 3, 3)), groups=3)


def test_depthwise_pointwise_separable_match_torch(sol):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 6, 9, 8))
    w_dw, b_dw = rng.standard_normal((6, 1, 3, 3)), rng.standard_normal(6)
    w_pw, b_pw = rng.standard_normal((4, 6, 1, 1)), rng.standard_normal(4)
    dw = torch_conv(x, w_dw, b_dw, stride=2, padding=1, groups=6)
    np.testing.assert_allclose(sol.depthwise_conv2d(x, w_dw, b_dw, 2, 1), dw, atol=1e-10)
    np.testing.assert_allclose(sol.pointwise_conv2d(x, w_pw, b_pw), torch_conv(x, w_pw, b_pw), atol=1e-10)
    np.testing.assert_allclose(sol.separable_conv2d(x, w_dw, w_pw, b_dw, b_pw, 2, 1), torch_conv(dw, w_pw, b_pw),
                               atol=1e-10)


@pytest.mark.parametrize("c_in,c_out,k,g",
                         [(32, 64, 3, 1), (32, 32, 3, 32), (12, 18, 5, 3), (3, 8, 7, 1), (4, 4, 1, 2)])
def test_conv_params_and_macs_match_torch(sol, c_in, c_out, k, g):
    for bias in (False, True):
        layer = nn.Conv2d(c_in, c_out, k, groups=g, bias=bias, padding=k // 2)
        assert sol.conv_params(c_in, c_out, k, g, bias) == sum(p.numel() for p in layer.parameters())
    assert sol.conv_macs(c_in, c_out, k, 9, 9, g) == count_macs(layer, (c_in, 9, 9))
    with pytest.raises(ValueError, match="groups"):
        sol.conv_params(c_in, c_out + 1 if g > 1 else c_out, k, groups=g if g > 1 else 0)


def test_separable_ratio_is_one_over_cout_plus_one_over_k_squared(sol):
    for c_in, c_out, k in itertools.product((8, 32), (16, 64), (3, 5)):
        sep = sol.conv_params(c_in, c_in, k, c_in, False) + sol.conv_params(c_in, c_out, 1, 1, False)
        assert sep / sol.conv_params(c_in, c_out, k, 1, False) == pytest.approx(1 / c_out + 1 / k**2, rel=1e-12)


@pytest.mark.parametrize("shape", [(12, 8), (8, 12), (30, 30)])
def test_low_rank_factors_meet_eckart_young(sol, shape):
    W = np.random.default_rng(1).standard_normal(shape)
    S = torch.linalg.svdvals(torch.from_numpy(W)).numpy()
    for r in range(1, min(shape) + 1):
        A, B = sol.low_rank_factors(W, r)
        assert A.shape == (shape[0], r) and B.shape == (r, shape[1])
        assert np.linalg.norm(W - A @ B) ** 2 == pytest.approx(np.sum(S[r:] ** 2), abs=1e-9)
        np.testing.assert_allclose(np.linalg.norm(A, axis=0), np.linalg.norm(B, axis=1), rtol=1e-9)
    with pytest.raises(ValueError, match="rank"):
        sol.low_rank_factors(W, min(shape) + 1)


def test_rank_for_energy_counts_squared_singular_values(sol):
    S = np.sort(np.random.default_rng(2).uniform(0.1, 5, 40))[::-1]
    for energy in np.linspace(0.01, 1.0, 50):
        kept = np.cumsum(S**2) / np.sum(S**2)
        expected = next(i + 1 for i, k in enumerate(kept) if k >= energy - 1e-12)
        assert sol.rank_for_energy(S, float(energy)) == expected
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="energy"):
            sol.rank_for_energy(S, bad)


def test_modules_match_their_definitions(sol):
    torch.manual_seed(0)
    block = sol.DepthwiseSeparableConv2d(4, 6, 3, stride=2, padding=1)
    assert block.depthwise.groups == 4 and block.pointwise.kernel_size == (1, 1)
    x = torch.randn(2, 4, 9, 9)
    ref = F.conv2d(F.conv2d(x, block.depthwise.weight, block.depthwise.bias, 2, 1, groups=4),
                   block.pointwise.weight, block.pointwise.bias)
    torch.testing.assert_close(block(x), ref)
    dense = nn.Linear(20, 12).double()
    full = sol.LowRankLinear.from_linear(dense, 12)
    xin = torch.randn(3, 20, dtype=torch.float64)
    torch.testing.assert_close(full(xin), dense(xin))
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Sequential(nn.Linear(64, 64)), nn.Linear(64, 10))
    small = sol.factorize_mlp(model, 0.5)
    assert isinstance(model[0], nn.Linear) and isinstance(small[0], sol.LowRankLinear)
    assert isinstance(small[2][0], sol.LowRankLinear)
    wide = sol.factorize_mlp(nn.Sequential(nn.Linear(64, 2)), 1.0)
    assert isinstance(wide[0], nn.Linear)  # rank 2 * (64 + 2) >= 64 * 2: no saving


def test_lecture_exports_agree_with_solution(sol):
    from compresslab import efficient_layers as ex

    for c_in, c_out, k, g in [(32, 64, 3, 1), (32, 32, 3, 32), (12, 18, 5, 3)]:
        assert ex.conv_params(c_in, c_out, k, g) == sol.conv_params(c_in, c_out, k, g)
        assert ex.conv_macs(c_in, c_out, k, 7, 5, g) == sol.conv_macs(c_in, c_out, k, 7, 5, g)
    torch.manual_seed(0)
    a = ex.DepthwiseSeparableConv2d(4, 6, 3, padding=1)
    torch.manual_seed(0)
    b = sol.DepthwiseSeparableConv2d(4, 6, 3, padding=1)
    x = torch.randn(1, 4, 6, 6)
    torch.testing.assert_close(a(x), b(x))
