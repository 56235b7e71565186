"""Cross-checks of the graded functions of solutions/07_clustering_huffman.py.

k-means is compared with scikit-learn's KMeans from the same explicit initial centroids; Huffman codes with an
independent heapq construction and Shannon's bound H <= L < H + 1 (entropy from scipy); centroid gradients with
PyTorch autograd; relative indices by decoding them back; and the PyTorch pipeline by its invariants.
"""

from __future__ import annotations

import heapq
import types
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch
from sklearn.cluster import KMeans
from torch import nn

from tools.nbload import load_module  # tests/conftest.py puts the repository root on sys.path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "07_clustering_huffman.py"


@pytest.fixture(scope="module")
def sol() -> types.ModuleType:
    return load_module(SOLUTION)


def heap_average_length(counts: np.ndarray) -> float:
    """Average Huffman code length: the sum of all merged weights over the total (a lone symbol costs 1 bit)."""
    heap = [float(c) for c in counts if c > 0]
    if len(heap) == 1:
        return 1.0
    heapq.heapify(heap)
    cost = 0.0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        cost += merged
        heapq.heappush(heap, merged)
    return cost / float(np.sum(counts))


# ---------------------------------------------------------------- k-means


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [2, 5, 16])
def test_kmeans_matches_sklearn_from_explicit_init(sol, seed, k):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(-1, 0.3, 300), rng.normal(0.2, 0.05, 200), rng.laplace(1.0, 0.4, 100)])
    init = np.sort(rng.choice(x, k, replace=False))  # data points: no cluster starts empty (sklearn relocates those)
    ours, labels = sol.kmeans_1d(x, k, init, iters=500, tol=0.0)
    ref = KMeans(k, init=init.reshape(-1, 1), n_init=1, max_iter=500, tol=0.0, algorithm="lloyd").fit(x.reshape(-1, 1))
    np.testing.assert_allclose(ours, np.sort(ref.cluster_centers_.ravel()), atol=1e-6)
    # the same partition: the labels agree up to the sorting of the clusters
    order = np.argsort(np.argsort(ref.cluster_centers_.ravel()))
    assert np.mean(order[ref.labels_] == labels) > 0.999


@pytest.mark.parametrize("init", ["linear", "random", "density"])
def test_kmeans_named_inits_are_sorted_finite_and_converged(sol, init):
    x = np.random.default_rng(3).normal(0, 0.1, 1000)
    c, labels = sol.kmeans_1d(x, 8, init, iters=500, tol=0.0)
    assert np.all(np.diff(c) > 0) and np.isfinite(c).all()
    np.testing.assert_allclose(c, [x[labels == i].mean() for i in range(8)], atol=1e-12)  # a Lloyd fixed point


def test_kmeans_linear_init_matches_sklearn_linspace(sol):
    x = np.random.default_rng(4).normal(0, 0.1, 800)
    ours, _ = sol.kmeans_1d(x, 8, iters=500, tol=0.0)
    init = np.linspace(x.min(), x.max(), 8).reshape(-1, 1)
    ref = KMeans(8, init=init, n_init=1, max_iter=500, tol=0.0, algorithm="lloyd").fit(x.reshape(-1, 1))
    np.testing.assert_allclose(ours, np.sort(ref.cluster_centers_.ravel()), atol=1e-6)


def test_kmeans_empty_clusters_keep_their_centroid(sol):
    c, labels = sol.kmeans_1d(np.array([1.0, 1.0, 2.0]), 5)
    assert np.isfinite(c).all() and set(labels.tolist()) <= set(range(5))


def test_cluster_weights_and_reconstruct(sol):
    w = np.random.default_rng(5).normal(0, 0.05, (40, 30)).astype(np.float32)
    for bits in (1, 2, 5):
        cb, idx = sol.cluster_weights(w, bits)
        assert cb.shape == (2**bits,) and cb.dtype == np.float32 and idx.dtype == np.uint8 and idx.shape == w.shape
        w_hat = sol.reconstruct(cb, idx)
        assert w_hat.dtype == np.float32 and len(np.unique(w_hat)) <= 2**bits
    with pytest.raises(ValueError, match="indices"):
        sol.reconstruct(cb, np.array([2**bits]))


def test_centroid_grad_matches_autograd(sol):
    rng = np.random.default_rng(6)
    idx = rng.integers(0, 8, (20, 10))
    g = rng.normal(size=(20, 10))
    codebook = torch.zeros(8, dtype=torch.float64, requires_grad=True)
    (codebook[torch.from_numpy(idx)] * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(sol.centroid_grad(g, idx, 8), codebook.grad.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- Huffman


def streams() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.integers(0, 32, 3000), rng.geometric(0.3, 3000), np.full(17, 5), rng.integers(0, 2, 99),
            np.array([3, 3, 3, 9]), rng.zipf(1.6, 2000) % 50]


@pytest.mark.parametrize("stream", streams(), ids=["uniform", "geometric", "one", "two", "skewed-two", "zipf"])
def test_huffman_matches_heap_bound_and_round_trips(sol, stream):
    counts = np.bincount(stream)
    code = sol.huffman_code(counts)
    assert set(code) == set(np.flatnonzero(counts).tolist())
    words = sorted(code.values())
    assert all(not b.startswith(a) for a, b in zip(words, words[1:])), "prefix-free"
    avg = sum(counts[s] * len(c) for s, c in code.items()) / counts.sum()
    assert avg == pytest.approx(heap_average_length(counts), rel=1e-12)
    H = sol.entropy_bits(counts)
    assert H == pytest.approx(scipy.stats.entropy(counts, base=2), rel=1e-12, abs=1e-15)
    if len(code) > 1:
        assert H <= avg + 1e-12 < H + 1
    data, nbits = sol.huffman_encode(stream, code)
    assert len(data) == (nbits + 7) // 8 and nbits == sum(len(code[s]) for s in stream.tolist())
    np.testing.assert_array_equal(sol.huffman_decode(data, nbits, code), stream)


def test_huffman_code_is_canonical(sol):
    code = sol.huffman_code(np.bincount(np.random.default_rng(8).geometric(0.2, 5000)))
    ordered = sorted(code.items(), key=lambda item: (len(item[1]), item[0]))
    values = [int(c, 2) << (64 - len(c)) for _, c in ordered]  # left-aligned codes increase in canonical order
    assert values == sorted(values) and len(set(values)) == len(values)
    assert ordered[0][1] == "0" * len(ordered[0][1])


def test_huffman_errors(sol):
    with pytest.raises(ValueError, match="freqs"):
        sol.huffman_code([0, 0])
    with pytest.raises(ValueError, match="symbols"):
        sol.huffman_encode([7], {0: "0", 1: "1"})
    with pytest.raises(ValueError, match="data"):
        sol.huffman_decode(bytes([0b11000000]), 1, {0: "0", 1: "10", 2: "11"})


# ---------------------------------------------------------------- sparse indices and rates


@pytest.mark.parametrize("bits,keep", [(1, 0.5), (2, 0.2), (3, 0.1), (5, 0.03), (8, 0.01)])
def test_relative_indices_decode_back(sol, bits, keep):
    mask = np.random.default_rng(bits).random(3000) < keep
    stream, fillers = sol.relative_indices(mask, bits)
    top = 2**bits - 1
    assert stream.dtype == np.int64 and stream.min(initial=1) >= 1 and stream.max(initial=1) <= top
    positions = np.cumsum(stream) - 1
    np.testing.assert_array_equal(positions[mask[positions]], np.flatnonzero(mask))
    assert fillers == len(stream) - mask.sum() == int(((np.diff(np.flatnonzero(mask), prepend=-1) - 1) // top).sum())


def test_compression_rate_paper_example(sol):
    assert sol.compression_rate(16, 2, 4) == pytest.approx(3.2)
    with pytest.raises(ValueError, match="k"):
        sol.compression_rate(16, 2, 0)


# ---------------------------------------------------------------- PyTorch


def tiny_model() -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 5))
    for p in model.parameters():
        nn.init.normal_(p, 0, 0.3)
    return model


def test_share_weights_shares_and_fine_tunes(sol):
    model = tiny_model()
    with torch.no_grad():
        model[0].weight[:, ::2] = 0
    g = torch.Generator().manual_seed(1)
    batches = [(torch.randn(32, 20, generator=g), torch.randint(0, 5, (32,), generator=g)) for _ in range(4)]
    before = sol.share_weights_(model, 3)
    after = sol.share_weights_(model, 3, batches, epochs=3, lr=0.01)
    w = model[0].weight.detach().numpy()
    assert np.all(w[:, ::2] == 0)
    assert len(np.unique(w[w != 0])) <= 8
    np.testing.assert_allclose(w[after["0"][2]], after["0"][0][after["0"][1]], atol=1e-7)
    assert not np.allclose(before["0"][0], after["0"][0])


def test_deep_compress_report_is_consistent(sol):
    model = tiny_model()
    report = sol.deep_compress(model, 0.8, 3, index_bits=3)
    total = report["total"]
    for key in total:
        assert total[key] == sum(row[key] for row in report["layers"].values())
    assert total["dense_bits"] == 32 * (20 * 30 + 30 * 5)
    assert total["dense_bits"] > total["pruned_bits"] > total["quantized_bits"] >= total["huffman_bits"] * 0.9
    nonzero = sum(int((m.weight != 0).sum()) for m in model if isinstance(m, nn.Linear))
    assert nonzero == total["kept"]
