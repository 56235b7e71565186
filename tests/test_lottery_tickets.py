"""Cross-checks of the graded functions of solutions/05_lottery_tickets.py.

imp_round is compared with torch.nn.utils.prune (its pruning container prunes a fraction of the surviving weights,
with Python's round for the count); random_reinit's draws with a Kolmogorov-Smirnov test against PyTorch's default
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (scipy); random masks by their per-layer counts and the uniformity of the kept
positions; the supermask's straight-through gradient with autograd through an explicit real-valued mask; and
find_ticket by the records of a fake trainer and one short real run on the digits.
"""

from __future__ import annotations

import copy
import types
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn
from torch.nn.utils import prune

from tools.nbload import load_module  # tests/conftest.py puts the repository root on sys.path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "05_lottery_tickets.py"


@pytest.fixture(scope="module")
def sol() -> types.ModuleType:
    return load_module(SOLUTION)


# ---------------------------------------------------------------- imp_round


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.37])
@pytest.mark.parametrize("shape", [(30, 17), (8, 3, 3, 3)])
def test_imp_round_matches_torch_prune_over_rounds(sol, rate, shape):
    torch.manual_seed(0)
    module = nn.Linear(shape[1], shape[0]) if len(shape) == 2 else nn.Conv2d(shape[1], shape[0], shape[2])
    masks = [torch.ones(shape, dtype=torch.bool)]
    for _ in range(4):
        prune.l1_unstructured(module, "weight", amount=rate)
        masks = sol.imp_round([module.weight_orig.detach()], masks, rate, rate)
        assert torch.equal(masks[0], module.weight_mask.bool())


def test_imp_round_output_layer_at_half_rate_matches_torch_prune(sol):
    torch.manual_seed(1)
    layers = [nn.Linear(20, 16), nn.Linear(16, 12), nn.Linear(12, 5)]
    masks = [torch.ones_like(m.weight, dtype=torch.bool) for m in layers]
    for _ in range(3):
        for i, m in enumerate(layers):
            prune.l1_unstructured(m, "weight", amount=0.2 if i < 2 else 0.1)
        masks = sol.imp_round([m.weight_orig.detach() for m in layers], masks, 0.2)
        for m, mask in zip(layers, masks):
            assert torch.equal(mask, m.weight_mask.bool())


def test_imp_round_kept_fraction_is_geometric(sol):
    w = [torch.randn(100, 100, generator=torch.Generator().manual_seed(2))]
    masks = [torch.ones(100, 100, dtype=torch.bool)]
    for n in range(1, 6):
        masks = sol.imp_round(w, masks, 0.2, 0.2)
        assert abs(masks[0].float().mean().item() - 0.8**n) < 1e-3


def test_imp_round_accepts_numpy_and_leaves_inputs(sol):
    w = np.random.default_rng(3).normal(size=(5, 4))
    m = np.ones((5, 4), dtype=bool)
    out = sol.imp_round([w], [m], 0.5, 0.5)
    assert m.all() and out[0].dtype == torch.bool and int(out[0].sum()) == 10
    np.testing.assert_array_equal(out[0].numpy(), np.abs(w) >= np.sort(np.abs(w).ravel())[10])


# ---------------------------------------------------------------- rewind and the controls


def test_rewind_restores_state_dict_and_zeroes_pruned(sol):
    net = sol.mlp([64, 5, 10], seed=0)
    init = copy.deepcopy(net.state_dict())
    sol.train_masked(net, [torch.ones_like(p, dtype=torch.bool) for _, p in sol.prunable(net)], steps=5)
    masks = [torch.rand(5, 64) > 0.5, torch.rand(10, 5) > 0.5]
    sol.rewind(net, init, masks)
    for key, value in net.state_dict().items():
        expected = init[key] * masks[int(key[0]) // 2] if key.endswith("weight") else init[key]
        torch.testing.assert_close(value, expected, rtol=0, atol=0)


def test_random_reinit_matches_pytorch_default_distribution(sol):
    net = nn.Sequential(nn.Linear(400, 300))
    masks = [torch.ones(300, 400, dtype=torch.bool)]
    sol.random_reinit(net, masks, torch.Generator().manual_seed(4))
    bound = 1 / np.sqrt(400)
    w = net[0].weight.detach().numpy().ravel()
    assert scipy.stats.kstest(w, scipy.stats.uniform(-bound, 2 * bound).cdf).pvalue > 1e-3
    ref = nn.Linear(400, 300)  # PyTorch's own init: the same distribution
    assert scipy.stats.ks_2samp(w, ref.weight.detach().numpy().ravel()).pvalue > 1e-3


def test_random_masks_like_counts_and_uniform_positions(sol):
    masks = [torch.zeros(4, 5, dtype=torch.bool), torch.ones(3, 3, dtype=torch.bool)]
    masks[0][0, :2] = True
    masks[0][1, :3] = True
    gen = torch.Generator().manual_seed(5)
    hits = torch.zeros(4, 5)
    for _ in range(2000):
        out = sol.random_masks_like(masks, gen)
        assert [int(m.sum()) for m in out] == [5, 9]
        hits += out[0].float()
    # each position kept with probability 5/20: a chi-square test of the counts
    assert scipy.stats.chisquare(hits.numpy().ravel()).pvalue > 1e-3


def test_signs_only_signs_and_magnitudes(sol):
    init = sol.mlp([10, 8, 3], seed=6).state_dict()
    masks = [torch.rand(8, 10) > 0.3, torch.rand(3, 8) > 0.3]
    out = sol.signs_only(init, masks)
    for key, m in zip(["0.weight", "2.weight"], masks):
        expected = torch.sign(init[key]) * float(np.std(init[key].numpy(), ddof=1)) * m
        torch.testing.assert_close(out[key], expected)
    torch.testing.assert_close(out["2.bias"], init["2.bias"])


# ---------------------------------------------------------------- SupermaskLinear


def test_supermask_gradient_is_autograd_of_a_real_mask(sol):
    layer = sol.SupermaskLinear(7, 5, keep=0.4, generator=torch.Generator().manual_seed(7))
    x, target = torch.randn(9, 7), torch.randn(9, 5)
    ((layer(x) - target) ** 2).sum().backward()
    # the same loss with the mask as a real-valued leaf tensor at the hard mask's values
    m = layer.mask().float().requires_grad_(True)
    ((nn.functional.linear(x, layer.weight * m) - target) ** 2).sum().backward()
    torch.testing.assert_close(layer.scores.grad, m.grad)
    assert layer.weight.grad is None and int(layer.mask().sum()) == round(0.4 * 35)


def test_supermask_keeps_top_scores_like_topk(sol):
    layer = sol.SupermaskLinear(12, 6, keep=0.25, generator=torch.Generator().manual_seed(8))
    threshold = torch.sort(layer.scores.detach().flatten(), descending=True).values[18]  # 18 = 0.25 * 72 kept
    assert torch.equal(layer.mask(), layer.scores.detach() > threshold)


# ---------------------------------------------------------------- find_ticket


def test_find_ticket_with_a_fake_trainer(sol):
    calls = []

    def fake_train(model, masks, steps=None):
        calls.append((steps, sol.kept_fraction(masks)))
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.cos(5 * p))
        return {"test_acc": 0.5, "early_stop_iter": 3}

    records = sol.find_ticket(lambda: sol.mlp([10, 20, 20, 4], seed=9), fake_train, rounds=3, rate=0.2,
                              rewind_step=7)
    assert calls[0] == (7, 1.0) and [c[0] for c in calls[1:]] == [None] * 4
    kept = [[int(m.sum()) for m in r["masks"]] for r in records]
    assert kept == [[200, 400, 80], [160, 320, 72], [128, 256, 65], [102, 205, 59]]
    assert [r["fraction_left"] for r in records] == [sum(k) / 680 for k in kept]


def test_find_ticket_on_the_digits_keeps_accuracy(sol):
    records = sol.find_ticket(lambda: sol.mlp([64, 32, 10], seed=0),
                              lambda model, masks, steps=None: sol.train_masked(model, masks, steps, epochs=8),
                              rounds=2, rate=0.5)
    assert records[0]["test_acc"] > 0.85 and records[2]["test_acc"] > records[0]["test_acc"] - 0.05, records
    assert 0 < records[2]["early_stop_iter"] <= 8 * 20


# ---------------------------------------------------------------- argument checks


def test_bad_arguments_raise_value_errors_naming_them(sol):
    net = sol.mlp([4, 3, 2], seed=10)
    init = copy.deepcopy(net.state_dict())
    weights = [p.detach() for _, p in sol.prunable(net)]
    masks = [torch.ones_like(w, dtype=torch.bool) for w in weights]
    broadcastable = [masks[0][:1], masks[1]]  # (1, 4) would broadcast silently against a (3, 4) weight
    cases = [
        (sol.imp_round, (weights, masks, 1.0), "rate"), (sol.imp_round, (weights, masks, 0.2, -0.5), "output_rate"),
        (sol.imp_round, (weights, masks[:1], 0.2), "masks"), (sol.imp_round, (weights, broadcastable, 0.2), "masks"),
        (sol.rewind, (net, init, broadcastable), "masks"), (sol.rewind, (net, init, masks[:1]), "masks"),
        (sol.random_reinit, (net, broadcastable, torch.Generator()), "masks"),
        (sol.random_reinit, (net, masks + masks[:1], torch.Generator()), "masks"),
        (sol.signs_only, (init, broadcastable), "masks"),
        (sol.SupermaskLinear, (0, 3), "in_features"), (sol.SupermaskLinear, (3, 2, 0.0), "keep"),
        (sol.SupermaskLinear, (3, 2.0), "out_features"),
        (sol.find_ticket, (lambda: net, None, -1, 0.2), "rounds"),
        (sol.find_ticket, (lambda: net, None, 1, 0.0), "rate"),
        (sol.find_ticket, (lambda: net, None, 1, 0.2, 1.5), "rewind_step"),
    ]
    for fn, args, name in cases:
        with pytest.raises(ValueError, match=name):
            fn(*args)
    assert all(torch.equal(v, init[k]) for k, v in net.state_dict().items()), "a rejected call leaves the model as is"
