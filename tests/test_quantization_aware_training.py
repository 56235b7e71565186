"""Cross-checks of the graded functions of solutions/03_quantization_aware_training.py.

The clipped STE and FakeQuantSTE are compared with the gradients of torch.fake_quantize_per_tensor_affine and
torch.fake_quantize_per_channel_affine; the activation range with torch.ao's MovingAverageMinMaxObserver; LSQ with
torch._fake_quantize_learnable_per_tensor_affine; PACT's gradient with autograd of its Eq. 1; the binarizer with its
definition and BinaryConnect's probability.
"""

from __future__ import annotations

import math
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.ao.quantization import MovingAverageMinMaxObserver

from tools.nbload import load_module  # tests/conftest.py puts the repository root on sys.path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "03_quantization_aware_training.py"


@pytest.fixture(scope="module")
def sol() -> types.ModuleType:
    return load_module(SOLUTION)


@pytest.mark.parametrize("scale,zp,qmin,qmax", [(0.1, 0, -8, 7), (0.02, 128, 0, 255), (0.5, -3, -4, 3),
                                                (0.013, 0, -127, 127)])
def test_ste_grad_matches_torch_per_tensor(sol, scale, zp, qmin, qmax):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 3, 2000), np.arange(-300, 300) * scale / 2]).astype(np.float32)  # ties
    up = rng.normal(size=x.shape).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    torch.fake_quantize_per_tensor_affine(xt, scale, zp, qmin, qmax).backward(torch.tensor(up))
    assert np.array_equal(sol.ste_grad(x, scale, zp, qmin, qmax, up), xt.grad.numpy())


def test_ste_grad_matches_torch_per_channel(sol):
    rng = np.random.default_rng(1)
    w = rng.normal(0, 1, (6, 5, 3)).astype(np.float32)
    scales = rng.uniform(0.05, 0.4, 5).astype(np.float32)
    zps = rng.integers(-3, 4, 5)
    wt = torch.tensor(w, requires_grad=True)
    torch.fake_quantize_per_channel_affine(wt, torch.tensor(scales), torch.tensor(zps, dtype=torch.int32), 1, -8,
                                           7).sum().backward()
    ours = sol.ste_grad(w, scales[:, None], zps[:, None], -8, 7, np.ones_like(w))
    assert np.array_equal(ours, wt.grad.numpy())


def test_ste_grad_errors(sol):
    x = np.zeros(3, dtype=np.float32)
    for args, name in [((x, 0.0, 0, -8, 7, x), "scale"), ((x, 1.0, 0, 3, 3, x), "qmin"),
                       ((x, 1.0, 0.5, -8, 7, x), "zero_point"), ((x, 1.0, 0, -8, 7, x[:2]), "upstream"),
                       ((x, np.ones(4), 0, -8, 7, x), "scale")]:
        with pytest.raises(ValueError, match=name):
            sol.ste_grad(*args)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fake_quant_ste_matches_torch(sol, dtype):
    g = torch.Generator().manual_seed(2)
    for scale, zp, qmin, qmax in ((0.1, 0, -8, 7), (0.03, 100, 0, 255), (0.25, -1, -2, 1)):
        x = (torch.randn(3000, generator=g, dtype=dtype) * 2).requires_grad_(True)
        up = torch.randn(3000, generator=g, dtype=dtype)
        ours = sol.FakeQuantSTE.apply(x, scale, zp, qmin, qmax)
        (gx,) = torch.autograd.grad(ours, x, up)
        x32 = x.detach().float().requires_grad_(True)
        ref = torch.fake_quantize_per_tensor_affine(x32, scale, zp, qmin, qmax)
        (gr,) = torch.autograd.grad(ref, x32, up.float())
        assert torch.equal(ours.float(), ref) if dtype == torch.float32 else torch.allclose(ours.float(), ref)
        assert torch.equal(gx.float(), gr) if dtype == torch.float32 else (gx != 0).sum() == (gr != 0).sum()


def test_quant_linear_matches_torch_fake_quantizers_and_observer(sol):
    torch.manual_seed(3)
    layer = sol.QuantLinear(9, 4, bits_w=4, bits_a=5)
    observer = MovingAverageMinMaxObserver(averaging_constant=0.1, dtype=torch.quint8, quant_min=0, quant_max=31)
    for k in range(4):
        x = torch.rand(16, 9) * (k + 1) - 0.3 * k
        observer(x)
        out = layer(x)
        scale, zp = observer.calculate_qparams()
        w_scale = layer.weight.detach().abs().max().item() / 7
        ref = nn.functional.linear(torch.fake_quantize_per_tensor_affine(x, scale.item(), int(zp), 0, 31),
                                   torch.fake_quantize_per_tensor_affine(layer.weight, w_scale, 0, -7, 7), layer.bias)
        assert math.isclose(layer.act_min.item(), observer.min_val.item(), rel_tol=1e-6, abs_tol=1e-7)
        assert math.isclose(layer.act_max.item(), observer.max_val.item(), rel_tol=1e-6)
        assert torch.allclose(out, ref, atol=1e-5), k


def test_quant_conv2d_matches_torch(sol):
    torch.manual_seed(4)
    conv = sol.QuantConv2d(3, 4, 3, stride=2, padding=1, bits_w=3, bits_a=6)
    x = torch.rand(2, 3, 9, 9)
    out = conv(x)
    observer = torch.ao.quantization.MinMaxObserver(dtype=torch.quint8, quant_min=0, quant_max=63)
    observer(x)
    a_scale, a_zp = (v.item() for v in observer.calculate_qparams())
    ref = nn.functional.conv2d(torch.fake_quantize_per_tensor_affine(x, a_scale, int(a_zp), 0, 63),
                               torch.fake_quantize_per_tensor_affine(conv.weight, conv.weight.abs().max().item() / 3,
                                                                     0, -3, 3), conv.bias, stride=2, padding=1)
    assert torch.allclose(out, ref, atol=1e-5)


def test_prepare_qat_nested_and_copies(sol):
    torch.manual_seed(5)
    inner = nn.ModuleDict({"a": nn.Linear(4, 4), "b": nn.Sequential(nn.Linear(4, 4), nn.ReLU())})
    net = nn.Sequential(nn.Conv2d(1, 1, 1), nn.Flatten(), nn.Sequential(inner["a"], inner["b"]), nn.Linear(4, 2))
    q = sol.prepare_qat(net, 8, 8)
    layers = [(n, type(m).__name__) for n, m in q.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    assert layers == [("0", "QuantConv2d"), ("2.0", "QuantLinear"), ("2.1.0", "QuantLinear"), ("3", "QuantLinear")]
    assert all(type(m) in (nn.Linear, nn.Conv2d) for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    x = torch.rand(3, 1, 2, 2)
    with torch.no_grad():  # at 8 bits the fake-quantized model stays close to the float one
        assert torch.allclose(q(x), net(x), atol=0.05)
    kept = sol.prepare_qat(net, 8, 8, keep_first_last=True)
    assert type(kept[0]) is nn.Conv2d and type(kept[3]) is nn.Linear and type(kept[2][0]).__name__ == "QuantLinear"


@pytest.mark.parametrize("bits,signed,shape", [(2, True, (50,)), (3, True, (8, 16)), (4, False, (3, 5, 7)),
                                               (8, True, (400,))])
def test_lsq_matches_torch_learnable_kernel(sol, bits, signed, shape):
    g = torch.Generator().manual_seed(6 + bits)
    x = torch.randn(shape, generator=g)
    x = x.abs() if not signed else x
    q = sol.LsqQuantizer(bits, signed)
    xa = x.clone().requires_grad_(True)
    up = torch.randn(shape, generator=g)
    q(xa).backward(up)
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    assert math.isclose(q.step.item(), 2 * x.abs().mean().item() / math.sqrt(qmax), rel_tol=1e-6)
    xb, sb = x.clone().requires_grad_(True), q.step.detach().clone().requires_grad_(True)
    ref = torch._fake_quantize_learnable_per_tensor_affine(xb, sb, torch.zeros(1), qmin, qmax,
                                                           1 / math.sqrt(x.numel() * qmax))
    ref.backward(up)
    assert torch.allclose(q(x), ref, atol=1e-6)
    assert torch.equal(xa.grad, xb.grad)
    assert torch.allclose(q.step.grad, sb.grad, rtol=1e-4, atol=1e-7)


def test_pact_gradients_match_eq1_autograd(sol):
    x = torch.randn(500, generator=torch.Generator().manual_seed(7)) * 3
    up = torch.randn(500, generator=torch.Generator().manual_seed(8))
    p = sol.PACT(4, 2.0)
    xa = x.clone().requires_grad_(True)
    y = p(xa)
    y.backward(up)
    alpha = torch.tensor(2.0, requires_grad=True)
    xb = x.clone().requires_grad_(True)
    (0.5 * (xb.abs() - (xb - alpha).abs() + alpha)).backward(up)  # Eq. 1, no rounding: the STE's gradient
    assert torch.allclose(p.alpha.grad, alpha.grad, atol=1e-4)
    inside = (x >= 0) & (x < 2)
    assert torch.equal(xa.grad, up * inside)
    levels = torch.unique(y.detach())
    assert len(levels) <= 16 and levels.min() >= 0 and levels.max() <= 2.0


def test_binarize_and_binary_linear(sol):
    w = torch.tensor([-1.5, -0.2, 0.0, 0.3, 2.0], requires_grad=True)
    b = sol.binarize(w)
    assert b.tolist() == [-1.0, -1.0, 1.0, 1.0, 1.0]
    b.backward(torch.arange(5.0))
    assert w.grad.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    ws = torch.tensor([-1.5, -0.5, 0.0, 0.5, 1.5]).repeat(20000, 1)
    share = (sol.binarize(ws, True, torch.Generator().manual_seed(9)) == 1).float().mean(0)
    assert torch.allclose(share, torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]), atol=0.015)
    torch.manual_seed(10)
    layer = sol.BinaryLinear(6, 3, scaled=True)
    x = torch.randn(4, 6)
    alpha = layer.weight.abs().mean()
    assert torch.allclose(layer(x), nn.functional.linear(x, alpha * torch.where(layer.weight >= 0, 1.0, -1.0),
                                                         layer.bias))
    with torch.no_grad():
        layer.weight.mul_(5)
    layer.clip_weights_()
    assert layer.weight.abs().max() <= 1.0


@pytest.mark.parametrize("build,message", [
    (lambda sol: sol.QuantLinear(3, 2, bits_w=1), r"bits_w must be an int in \[2, 16\]"),
    (lambda sol: sol.QuantConv2d(1, 2, 3, bits_a=17), r"bits_a must be an int in \[2, 16\]"),
    (lambda sol: sol.QuantLinear(3, 2, bits_a=4.0), r"bits_a must be an int in \[2, 16\]"),
    (lambda sol: sol.prepare_qat(nn.Linear(2, 2), 4, True), r"bits_a must be an int in \[2, 16\]"),
    (lambda sol: sol.LsqQuantizer(1), r"bits must be an int in \[2, 16\]"),
    (lambda sol: sol.PACT(17), r"bits must be an int in \[2, 16\]"),
    (lambda sol: sol.PACT(4, alpha=0.0), "alpha must be positive"),
    (lambda sol: sol.PACT(4, alpha=True), "alpha must be positive"),
])
def test_constructors_reject_bad_bits_and_alpha(sol, build, message):
    with pytest.raises(ValueError, match=message):
        build(sol)


def test_lab_is_current_and_lab_does_not_import_its_own_export():
    from tools.labgen import generate_lab

    lab = ROOT / "labs" / SOLUTION.name
    assert lab.read_text() == generate_lab(SOLUTION)
    assert "compresslab.quantization_aware_training" not in SOLUTION.read_text()
