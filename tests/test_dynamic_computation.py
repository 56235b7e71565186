"""Cross-checks of the graded functions of solutions/09_dynamic_computation.py.

Entropy is compared with scipy.stats.entropy; the exit rules with a per-sample loop written from the definition;
compute accounting with a hand count and compresslab.measure.count_macs; the loss with PyTorch's cross-entropy and
autograd; early_exit_predict with exit_decisions on the full forward and by the samples each block sees; the
slimmable layers with a separately built narrow MLP (compresslab.models.mlp) and nn.functional.linear; and the bench
module by its invariants on a tiny run.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

from compresslab.measure import count_macs
from compresslab.models import mlp
from tools.nbload import load_module  # tests/conftest.py puts the repository root on sys.path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "09_dynamic_computation.py"


@pytest.fixture(scope="module")
def sol() -> types.ModuleType:
    return load_module(SOLUTION)


def random_probs(seed: int, exits: int = 3, n: int = 200, classes: int = 6) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.dirichlet(np.full(classes, a), size=n) for a in np.geomspace(1.0, 0.1, exits)]


def loop_decisions(probs: list[np.ndarray], threshold: float, rule: str) -> tuple[list[int], list[int]]:
    """The exit rule written sample by sample from its definition."""
    preds, exits = [], []
    for n in range(len(probs[0])):
        for i, p in enumerate(probs):
            q = p[n]
            h = -sum(v * np.log(v) for v in q if v > 0)
            if i == len(probs) - 1 or (q.max() >= threshold if rule == "maxprob" else h <= threshold):
                preds.append(int(np.argmax(q)))
                exits.append(i)
                break
    return preds, exits


# ---------------------------------------------------------------- NumPy


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_entropy_matches_scipy_with_zeros(sol, axis):
    p = np.random.default_rng(axis + 5).dirichlet(np.full(7, 0.2), size=(5, 6))
    p[0, 0] = np.eye(7)[3]  # exact zeros
    p = np.moveaxis(p, -1, axis)
    ours = sol.entropy(p, axis=axis)
    np.testing.assert_allclose(ours, scipy.stats.entropy(p, axis=axis), rtol=1e-12, atol=1e-15)
    assert np.isfinite(ours).all()


@pytest.mark.parametrize("rule,thresholds", [("maxprob", [0.3, 0.6, 0.9, 1.1]), ("entropy", [0.0, 0.5, 1.0, 2.0])])
def test_exit_decisions_match_per_sample_loop(sol, rule, thresholds):
    probs = random_probs(1)
    for t in thresholds:
        pred, ex = sol.exit_decisions(probs, t, rule)
        ref_pred, ref_ex = loop_decisions(probs, t, rule)
        assert pred.dtype == np.int64 and ex.dtype == np.int64
        assert pred.tolist() == ref_pred and ex.tolist() == ref_ex, (rule, t)


def test_exit_decisions_monotone_in_threshold(sol):
    """Raising a max-prob threshold (or lowering an entropy one) never moves a sample to an earlier exit."""
    probs = random_probs(2, exits=4)
    previous = np.zeros(200, dtype=np.int64)
    for t in np.linspace(0.2, 1.0, 9):
        _, ex = sol.exit_decisions(probs, t)
        assert (ex >= previous).all()
        previous = ex
    previous = np.full(200, 3)
    for t in np.linspace(0.0, 2.0, 9):
        _, ex = sol.exit_decisions(probs, t, "entropy")
        assert (ex <= previous).all()
        previous = ex


def test_average_macs_and_sweep(sol):
    probs, labels = random_probs(3), np.random.default_rng(3).integers(0, 6, 200)
    stages = [1000, 300, 300]
    for t, acc, macs in sol.threshold_sweep(probs, labels, [0.3, 0.7, 0.99], stages):
        pred, ex = loop_decisions(probs, t, "maxprob")
        assert acc == pytest.approx(np.mean(np.array(pred) == labels))
        assert macs == pytest.approx(np.mean([sum(stages[: e + 1]) for e in ex]))
    with pytest.raises(ValueError, match="exit_index"):
        sol.average_macs(np.array([3]), stages)


# ---------------------------------------------------------------- PyTorch


def test_multi_exit_mlp_macs_match_count_macs(sol):
    net = sol.MultiExitMLP(20, (16, 12, 8), 5)
    stages = net.macs_per_exit()
    for i in range(3):
        prefix = nn.Sequential(*net.blocks[: i + 1])
        heads = count_macs(nn.Sequential(*net.blocks[: i + 1], net.exits[i]), (20,)) - count_macs(prefix, (20,))
        assert sum(stages[: i + 1]) == count_macs(prefix, (20,)) + sum(
            e.in_features * e.out_features for e in net.exits[:i]) + heads
    backbone = nn.Sequential(*net.blocks, net.exits[-1])
    assert sum(stages) - sum(e.in_features * e.out_features for e in net.exits[:-1]) == count_macs(backbone, (20,))


def test_multi_exit_loss_matches_autograd(sol):
    torch.manual_seed(0)
    net = sol.MultiExitMLP(8, (10, 10), 3)
    x, y = torch.randn(16, 8), torch.randint(0, 3, (16,))
    weights = [0.4, 1.5]
    sol.multi_exit_loss(net(x), y, weights).backward()
    ours = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    outs = net(x)
    (0.4 * nn.CrossEntropyLoss()(outs[0], y) + 1.5 * nn.CrossEntropyLoss()(outs[1], y)).backward()
    for a, p in zip(ours, net.parameters()):
        torch.testing.assert_close(a, p.grad)


@pytest.mark.parametrize("rule,threshold", [("maxprob", 0.5), ("maxprob", 0.7), ("entropy", 1.0)])
def test_early_exit_predict_skips_and_agrees(sol, rule, threshold):
    torch.manual_seed(1)
    net = sol.MultiExitMLP(12, (32, 32, 32), 4)
    x = torch.randn(300, 12) * 6
    seen = [0, 0, 0]
    hooks = [b[0].register_forward_hook(lambda m, i, o, k=k: seen.__setitem__(k, seen[k] + o.shape[0]))
             for k, b in enumerate(net.blocks)]
    pred, ex = sol.early_exit_predict(net, x, threshold, rule)
    for h in hooks:
        h.remove()
    with torch.no_grad():
        probs = [torch.softmax(z, 1).double().numpy() for z in net(x)]
    ref_pred, ref_ex = sol.exit_decisions(probs, threshold, rule)
    assert pred.tolist() == ref_pred.tolist() and ex.tolist() == ref_ex.tolist()
    assert seen == [300, int((ref_ex >= 1).sum()), int((ref_ex >= 2).sum())]
    assert seen[2] < 300, "this input must let some samples leave early"


@pytest.mark.parametrize("width_mult", [0.25, 0.5, 0.75, 1.0, 0.01])
def test_slimmable_mlp_equals_narrow_mlp(sol, width_mult):
    torch.manual_seed(2)
    slim = sol.SlimmableMLP((16, 12, 8, 4))
    slim.set_width(width_mult)
    kept = [max(1, int(np.floor(width_mult * n + 0.5))) for n in (12, 8)]
    narrow = mlp([16, *kept, 4], seed=None)
    with torch.no_grad():
        for small, big in zip([m for m in narrow if isinstance(m, nn.Linear)], slim.layers):
            small.weight.copy_(big.weight[: small.out_features, : small.in_features])
            small.bias.copy_(big.bias[: small.out_features])
    x = torch.randn(5, 16)
    torch.testing.assert_close(slim(x), narrow(x))
    assert slim.macs(width_mult) == count_macs(narrow, (16,))


def test_slimmable_linear_is_functional_linear_on_slices(sol):
    torch.manual_seed(3)
    layer = sol.SlimmableLinear(9, 7)
    assert isinstance(layer, nn.Linear)
    layer.width_mult = 0.6
    x = torch.randn(3, 5)
    torch.testing.assert_close(layer(x), nn.functional.linear(x, layer.weight[:4, :5], layer.bias[:4]))
    with pytest.raises(ValueError, match="width_mult"):
        layer.width_mult = 0.0
        layer(x)


# ---------------------------------------------------------------- make bench


def test_bench_rows_and_table(monkeypatch):
    from tools import bench_dynamic_computation as bench

    monkeypatch.setattr(bench, "EPOCHS", 1)
    monkeypatch.setattr(bench, "REPEATS", 1)
    monkeypatch.setattr(bench, "HIDDEN", 32)
    rows = bench.rows()
    assert [r["batch"] for r in rows] == list(bench.BATCHES)
    assert all(r["threshold"] in bench.THRESHOLDS for r in rows)
    everything = (64 * 32 + 3 * 32 * 10 + 2 * 32 * 32) / (64 * 32 + 2 * 32 * 32 + 32 * 10)  # all blocks and heads
    assert all(0 < r["macs_ratio"] <= round(everything, 3) and r["speedup"] > 0 for r in rows), rows
    assert "dynamic computation (module 09)" in bench.format_table(rows)


# ---------------------------------------------------------------- argument checks


def test_bad_arguments_raise_value_errors_naming_them(sol):
    p = np.full((3, 2), 0.5)
    logits = [torch.zeros(2, 3), torch.zeros(2, 3)]
    layer = sol.SlimmableLinear(4, 3)
    cases = [
        (sol.entropy, (np.array([0.5, -0.1, 0.6]),), "p"), (sol.entropy, (np.array([np.inf, 1.0]),), "p"),
        (sol.exit_decisions, ([p], 0.5, "margin"), "rule"), (sol.exit_decisions, ([], 0.5), "probs_per_exit"),
        (sol.exit_decisions, ([p, p[:2]], 0.5), "probs_per_exit"),
        (sol.average_macs, (np.array([-1]), [1, 2]), "exit_index"),
        (sol.average_macs, (np.array([], dtype=np.int64), [1, 2]), "exit_index"),
        (sol.threshold_sweep, ([p, p], np.zeros(2, dtype=np.int64), [0.5], [1, 2]), "labels"),
        (sol.threshold_sweep, ([p, p], np.zeros((3, 1), dtype=np.int64), [0.5], [1, 2]), "labels"),
        (sol.MultiExitMLP, (4, ()), "hidden"),
        (sol.multi_exit_loss, (logits, torch.tensor([0, 1]), [1.0]), "weights"),
        (sol.early_exit_predict, (sol.MultiExitMLP(4, (5,), 3), torch.zeros(2, 4), 0.5, "margin"), "rule"),
        (layer, (torch.zeros(2, 5),), "x"), (sol.SlimmableMLP((4, 3, 2)).set_width, (1.5,), "width_mult"),
    ]
    for fn, args, name in cases:
        with pytest.raises(ValueError, match=name):
            fn(*args)
