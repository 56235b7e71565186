"""Cross-checks of the graded functions of solutions/04_pruning.py.

Masks are compared with torch.nn.utils.prune (l1_unstructured, global_unstructured, ln_structured, its round-half-to-
even count); CSR sizes with scipy.sparse and torch's sparse CSR tensors; structured removal with the masked model's
outputs; the cubic schedule with its end points and Zhu and Gupta's formula; masked training by the weights it leaves.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import torch
from torch import nn
from torch.nn.utils import prune

from tools.nbload import load_module  # tests/conftest.py puts the repository root on sys.path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "04_pruning.py"


@pytest.fixture(scope="module")
def sol() -> types.ModuleType:
    return load_module(SOLUTION)


def linear_with(w: np.ndarray) -> nn.Linear:
    layer = nn.Linear(1, 1, bias=False)
    layer.weight = nn.Parameter(torch.from_numpy(np.array(w, dtype=np.float64)))
    return layer


# ---------------------------------------------------------------- unstructured masks


@pytest.mark.parametrize("shape", [(9, 7), (4, 3, 3, 3), (50,)])
@pytest.mark.parametrize("sparsity", [0.0, 0.13, 0.5, 0.77, 0.99, 1.0])
def test_magnitude_mask_equals_l1_unstructured(sol, shape, sparsity):
    w = np.random.default_rng(0).normal(size=shape)
    layer = linear_with(w)
    prune.l1_unstructured(layer, "weight", amount=sparsity)
    np.testing.assert_array_equal(sol.magnitude_mask(w, sparsity), layer.weight_mask.numpy().astype(bool))


@pytest.mark.parametrize(("n", "sparsity", "zeros"), [(5, 0.5, 2), (7, 0.5, 4), (10, 0.25, 2), (9, 0.5, 4)])
def test_magnitude_mask_counts_like_prune(sol, n, sparsity, zeros):
    w = np.random.default_rng(n).normal(size=n)
    layer = linear_with(w)
    prune.l1_unstructured(layer, "weight", amount=sparsity)
    assert (~sol.magnitude_mask(w, sparsity)).sum() == zeros == (layer.weight_mask == 0).sum().item()


@pytest.mark.parametrize("bad", [-0.01, 1.01, float("nan"), True, "0.5"])
def test_magnitude_mask_rejects_bad_sparsity(sol, bad):
    with pytest.raises(ValueError, match="sparsity"):
        sol.magnitude_mask(np.ones(4), bad)


@pytest.mark.parametrize("sparsity", [0.1, 0.5, 0.9])
def test_global_masks_equal_global_unstructured(sol, sparsity):
    rng = np.random.default_rng(1)
    ws = [rng.normal(0, 1, (8, 6)), rng.normal(0, 0.05, (5, 8)), rng.normal(0, 0.3, (2, 3, 2, 2))]
    layers = [linear_with(w) for w in ws]
    prune.global_unstructured([(m, "weight") for m in layers], pruning_method=prune.L1Unstructured, amount=sparsity)
    for ours, layer in zip(sol.global_magnitude_masks(ws, sparsity), layers):
        np.testing.assert_array_equal(ours, layer.weight_mask.numpy().astype(bool))


def test_global_example_from_the_docs(sol):
    masks = sol.global_magnitude_masks([np.array([0.1, 0.2, 0.3, 0.4]), np.array([1, 2, 3, 0.05])], 0.5)
    assert [m.tolist() for m in masks] == [[False, False, False, True], [True, True, True, False]]


# ---------------------------------------------------------------- importance


def test_l1_importance_ranks_like_ln_structured(sol):
    conv = nn.Conv2d(3, 8, 3)
    prune.ln_structured(conv, "weight", amount=0.5, n=1, dim=0)
    kept = conv.weight_mask.flatten(1).all(1).numpy()
    imp = sol.neuron_l1_importance(conv.weight_orig.detach().numpy(), 0)
    np.testing.assert_array_equal(kept, imp >= np.sort(imp)[4])
    np.testing.assert_allclose(imp, torch.linalg.vector_norm(conv.weight_orig, ord=1, dim=(1, 2, 3)).detach(),
                               rtol=1e-6)


def test_apoz_counts_relu_zeros_per_channel(sol):
    z = torch.randn(64, 5, 3, 3, generator=torch.Generator().manual_seed(0))
    a = torch.relu(z)
    expected = (a == 0).float().mean(dim=(0, 2, 3)).double().numpy()
    np.testing.assert_allclose(sol.apoz(a), expected, atol=1e-12)
    np.testing.assert_allclose(sol.apoz(z), expected, atol=1e-12)  # pre-activations give the same count


# ---------------------------------------------------------------- structured removal


def test_remove_neurons_equals_the_masked_layers(sol):
    rng = np.random.default_rng(2)
    w1, b1, w2 = rng.normal(size=(9, 4)), rng.normal(size=9), rng.normal(size=(3, 9))
    keep = rng.random(9) < 0.5
    s1, sb, s2 = sol.remove_neurons(w1, b1, w2, keep)
    x = rng.normal(size=(6, 4))
    np.testing.assert_allclose(np.maximum(x @ s1.T + sb, 0) @ s2.T,
                               np.maximum(x @ (w1 * keep[:, None]).T + b1 * keep, 0) @ w2.T, atol=1e-12)
    same = sol.remove_neurons(w1, b1, w2, np.flatnonzero(keep)[::-1].copy())
    assert all(np.array_equal(a, b) for a, b in zip(same, (s1, sb, s2)))


def test_remove_channels_equals_the_masked_convs(sol):
    torch.manual_seed(0)
    c1, c2 = nn.Conv2d(3, 10, 3, padding=1, stride=2), nn.Conv2d(10, 4, 3)
    keep = torch.rand(10) > 0.5
    n1, n2 = sol.remove_channels(c1, c2, keep)
    x = torch.randn(2, 3, 11, 11)
    with torch.no_grad():
        torch.testing.assert_close(n2(torch.relu(n1(x))), c2(torch.relu(c1(x)) * keep.view(1, -1, 1, 1)))
    assert n1.out_channels == n2.in_channels == int(keep.sum()) and n1.stride == (2, 2)


def test_shrink_mlp_matches_ln_structured_choice(sol):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 20), nn.ReLU(), nn.Linear(20, 3))
    small = sol.shrink_mlp(net, 0.4)
    ref = nn.Linear(6, 20)
    ref.load_state_dict(net[0].state_dict())
    prune.ln_structured(ref, "weight", amount=12, n=1, dim=0)
    kept_rows = ref.weight_mask.all(1)
    torch.testing.assert_close(small[0].weight, net[0].weight[kept_rows])
    x = torch.randn(5, 6)
    with torch.no_grad():
        masked = net[2](torch.relu(net[0](x)) * kept_rows)
        torch.testing.assert_close(small(x), masked)


# ---------------------------------------------------------------- schedule and storage


def test_cubic_sparsity_follows_zhu_and_gupta(sol):
    s_i, s_f, t0, n, dt = 0.1, 0.85, 5, 4, 3
    assert sol.cubic_sparsity(0, s_i, s_f, t0, n, dt) == s_i
    assert sol.cubic_sparsity(t0 + n * dt + 7, s_i, s_f, t0, n, dt) == s_f
    for k in range(n + 1):
        expected = s_f + (s_i - s_f) * (1 - k / n) ** 3
        for offset in range(dt if k < n else 1):
            assert sol.cubic_sparsity(t0 + k * dt + offset, s_i, s_f, t0, n, dt) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_csr_nbytes_matches_scipy_and_torch(sol, dtype):
    rng = np.random.default_rng(3)
    w = (rng.normal(size=(17, 23)) * (rng.random((17, 23)) < 0.2)).astype(dtype)
    csr = scipy.sparse.csr_matrix(w)
    assert sol.csr_nbytes(w) == csr.data.nbytes + csr.indices.astype(np.int32).nbytes + csr.indptr.astype(
        np.int32).nbytes
    t = torch.from_numpy(w).to_sparse_csr()
    assert sol.csr_nbytes(w, np.int64) == sum(x.numel() * x.element_size()
                                              for x in (t.values(), t.col_indices(), t.crow_indices()))


# ---------------------------------------------------------------- training with masks


def test_apply_masks_keeps_zeros_through_adam_and_sgd(sol):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
    masks = {"0": torch.rand(8, 5) > 0.5}
    sol.apply_masks_(net, masks)
    sol.apply_masks_(net, masks)  # a second call replaces the hooks instead of stacking them
    assert len(net._mask_hooks) == 1
    for opt in (torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01),
                torch.optim.AdamW(net.parameters(), lr=0.01)):
        for _ in range(3):
            opt.zero_grad()
            nn.functional.cross_entropy(net(torch.randn(4, 5)), torch.randint(0, 2, (4,))).backward()
            opt.step()
    assert torch.all(net[0].weight[~masks["0"]] == 0) and torch.all(net[0].weight[masks["0"]] != 0)


def test_prune_finetune_reaches_exact_layerwise_sparsity(sol):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 12), nn.ReLU(), nn.Linear(12, 4))
    batches = [(torch.randn(10, 8), torch.randint(0, 4, (10,))) for _ in range(3)]
    masks = sol.prune_finetune(net, [0.2, 0.5, 0.7], batches, lr=0.02)
    for name, m in (("0", net[0]), ("2", net[2])):
        assert (m.weight == 0).sum().item() == round(0.7 * m.weight.numel())
        torch.testing.assert_close(masks[name], m.weight != 0)
    with pytest.raises(ValueError, match="schedule"):
        sol.prune_finetune(net, [0.5, 0.2], batches)


# ---------------------------------------------------------------- make bench rows


def test_bench_pruning_times_the_solutions_shrink_mlp_and_formats(monkeypatch):
    from tools import bench_pruning

    monkeypatch.setattr(bench_pruning, "WIDTHS", (16,))
    monkeypatch.setattr(bench_pruning, "REPEATS", 1)
    threads = torch.get_num_threads()
    rows = bench_pruning.rows()
    assert torch.get_num_threads() == threads and len(rows) == 2 and all(r["speedup"] > 0 for r in rows)
    assert rows[0]["model"] == "64-16-16-10 -> 64-8-8-10"
    assert "pruning (module 04)" in bench_pruning.format_table(rows)
