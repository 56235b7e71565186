"""Cross-checks of the graded functions of solutions/06_knowledge_distillation.py.

softmax and log_softmax are compared with torch.softmax and torch.log_softmax (and scipy.special.log_softmax); the
NumPy loss with F.cross_entropy and F.kl_div(..., reduction="batchmean"); its gradient with autograd; KDLoss with
the same library expression; distill, mutual_learning and HintLoss by their invariants on tiny models.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
import scipy.special
import torch
import torch.nn.functional as F
from torch import nn

from tools.nbload import load_module  # tests/conftest.py puts the repository root on sys.path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "06_knowledge_distillation.py"


@pytest.fixture(scope="module")
def sol() -> types.ModuleType:
    return load_module(SOLUTION)


def torch_kd(zs, zt, y, T, alpha, reduction="batchmean"):
    s = torch.tensor(zs, requires_grad=True)
    loss = (alpha * F.cross_entropy(s, torch.tensor(y)) + (1 - alpha) * T**2
            * F.kl_div(F.log_softmax(s / T, -1), F.softmax(torch.tensor(zt) / T, -1), reduction=reduction))
    loss.backward()
    return loss.item(), s.grad.numpy()


@pytest.mark.parametrize("T", [0.25, 1.0, 3.0, 50.0])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_matches_torch_and_scipy(sol, T, axis):
    z = np.random.default_rng(1).normal(0, 5, (4, 6, 3))
    assert np.allclose(sol.softmax(z, T, axis), torch.softmax(torch.tensor(z) / T, dim=axis).numpy(), atol=1e-14)
    assert np.allclose(sol.log_softmax(z, T, axis), scipy.special.log_softmax(z / T, axis=axis), atol=1e-12)
    assert np.allclose(sol.log_softmax(z, T, axis), torch.log_softmax(torch.tensor(z) / T, dim=axis).numpy(),
                       atol=1e-12)


def test_softmax_is_finite_at_huge_logits(sol):
    z = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]])
    p, logp = sol.softmax(z), sol.log_softmax(z)
    assert np.isfinite(p).all() and np.isfinite(logp).all()
    assert np.allclose(p.sum(1), 1.0) and np.allclose(logp[0], [0.0, -1e4, -2e4])
    assert np.allclose(logp, torch.log_softmax(torch.tensor(z), 1).numpy())


def test_softmax_rejects_bad_temperature(sol):
    for T in (0.0, -2.0, np.inf):
        with pytest.raises(ValueError, match="T"):
            sol.softmax(np.ones((2, 2)), T)


@pytest.mark.parametrize("T, alpha", [(1.0, 0.5), (4.0, 0.1), (10.0, 0.0), (2.0, 1.0), (0.5, 0.3)])
def test_kd_loss_and_grad_match_pytorch(sol, T, alpha):
    rng = np.random.default_rng(2)
    zs, zt, y = rng.normal(0, 2, (9, 7)), rng.normal(0, 3, (9, 7)), rng.integers(0, 7, 9)
    value, grad = torch_kd(zs, zt, y, T, alpha)
    assert abs(sol.kd_loss(zs, zt, y, T, alpha) - value) < 1e-10
    assert np.allclose(sol.kd_loss_grad(zs, zt, y, T, alpha), grad, atol=1e-13)


def test_kd_loss_finite_at_huge_logits_and_matches_torch(sol):
    rng = np.random.default_rng(3)
    zs, zt, y = 1e4 * rng.normal(size=(5, 4)), 1e4 * rng.normal(size=(5, 4)), rng.integers(0, 4, 5)
    value, grad = torch_kd(zs, zt, y, 2.0, 0.4)
    assert np.isfinite(sol.kd_loss(zs, zt, y, 2.0, 0.4))
    assert abs(sol.kd_loss(zs, zt, y, 2.0, 0.4) - value) <= 1e-9 * abs(value)
    assert np.allclose(sol.kd_loss_grad(zs, zt, y, 2.0, 0.4), grad, atol=1e-12)


def test_soft_gradient_tends_to_logit_matching(sol):
    """Hinton et al. 2015, Section 2.1: at high T the T^2-scaled gradient is (z_s - z_t) / (C N), zero-mean logits."""
    rng = np.random.default_rng(4)
    zs, zt = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    zs, zt = zs - zs.mean(1, keepdims=True), zt - zt.mean(1, keepdims=True)
    grad = sol.kd_loss_grad(zs, zt, np.zeros(3, dtype=int), 1000.0, 0.0)
    assert np.allclose(grad, (zs - zt) / 5 / 3, atol=1e-3)


def test_kd_loss_rejects_bad_arguments(sol):
    z, y = np.zeros((2, 3)), np.array([0, 1])
    for args, name in [((0.0, 0.5), "T"), ((2.0, 1.1), "alpha"), ((2.0, -0.1), "alpha")]:
        with pytest.raises(ValueError, match=name):
            sol.kd_loss(z, z, y, *args)
    with pytest.raises(ValueError, match="labels"):
        sol.kd_loss_grad(z, z, np.array([0, 3]), 2.0, 0.5)


def test_kdloss_module_equals_library_expression(sol):
    torch.manual_seed(5)
    s, t, y = torch.randn(6, 10, requires_grad=True), torch.randn(6, 10, requires_grad=True), torch.randint(0, 10, (6,))
    out = sol.KDLoss(3.0, 0.25)(s, t, y)
    ref = 0.25 * F.cross_entropy(s, y) + 0.75 * 9.0 * F.kl_div(F.log_softmax(s / 3, -1), F.softmax(t / 3, -1),
                                                               reduction="batchmean")
    assert torch.allclose(out, ref, atol=1e-6)
    out.backward()
    assert t.grad is None
    value, grad = torch_kd(s.detach().double().numpy(), t.detach().double().numpy(), y.numpy(), 3.0, 0.25)
    assert np.allclose(s.grad.numpy(), grad, atol=1e-6)


def tiny_setup():
    torch.manual_seed(6)
    xs = torch.randn(48, 4)
    ys = (xs[:, 0] > 0).long()
    batches = [(xs[i:i + 16], ys[i:i + 16]) for i in range(0, 48, 16)]
    teacher = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2))
    return batches, teacher


def test_distill_freezes_teacher_and_learns(sol):
    batches, teacher = tiny_setup()
    state = {k: v.clone() for k, v in teacher.state_dict().items()}
    student = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    losses = sol.distill(teacher, student, batches, T=2.0, alpha=0.5, epochs=20, lr=1e-2)
    assert len(losses) == 20 and losses[-1] < losses[0]
    assert all(torch.equal(v, teacher.state_dict()[k]) for k, v in state.items())
    assert all(p.grad is None for p in teacher.parameters())
    assert not teacher.training and not student.training
    again = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    again.load_state_dict(student.state_dict())
    with pytest.raises(ValueError, match="epochs"):
        sol.distill(teacher, again, batches, 2.0, 0.5, 0)


def test_mutual_learning_first_step_losses(sol):
    """Deep mutual learning (Zhang et al. 2018, K networks): L_k = CE + KL(p_other || p_k), from the initial models."""
    batches, _ = tiny_setup()
    torch.manual_seed(7)
    pair = [nn.Linear(4, 2) for _ in range(2)]
    x, y = batches[0]
    with torch.no_grad():
        z = [m(x) for m in pair]
        expected = [(F.cross_entropy(z[k], y) + F.kl_div(F.log_softmax(z[k], -1), F.softmax(z[1 - k], -1),
                                                         reduction="batchmean")).item() for k in range(2)]
    before = [m.weight.detach().clone() for m in pair]
    hist = sol.mutual_learning(pair, batches[:1], epochs=1, lr=0.1)
    assert np.allclose(hist[0], expected, atol=1e-6)
    assert all(not torch.equal(w, m.weight) for w, m in zip(before, pair))
    assert not any(m.training for m in pair)
    with pytest.raises(ValueError, match="students"):
        sol.mutual_learning(pair[:1], batches, 1)


def test_hint_loss_is_mse_of_regressor(sol):
    torch.manual_seed(8)
    hint = sol.HintLoss(4, 9)
    fs, ft = torch.randn(3, 4, requires_grad=True), torch.randn(3, 9, requires_grad=True)
    out = hint(fs, ft)
    ref = ((fs @ hint.regressor.weight.T + hint.regressor.bias - ft) ** 2).mean()
    assert torch.allclose(out, ref)
    out.backward()
    assert ft.grad is None and fs.grad is not None and hint.regressor.weight.grad is not None
    with pytest.raises(ValueError, match="teacher_dim"):
        sol.HintLoss(4, 0)
