# %% [markdown]
# # Lab 7: weight sharing, Huffman coding and the Deep Compression pipeline
#
# The lecture clustered one layer's weights with linearly initialized k-means, fine-tuned the centroids, measured
# Huffman code lengths with a heap and counted the bits of a pruned, shared and coded LeNet-300-100. In this lab you
# write the general tools behind that table:
#
# | task | you write | checked against |
# |---|---|---|
# | 1 | `kmeans_1d`: Lloyd's k-means in 1-D, linear, random and density initialization | `sklearn.cluster.KMeans` |
# | 2 | `cluster_weights`, `reconstruct`: a codebook of $2^b$ shared weights and the indices | `kmeans_1d` |
# | 3 | `centroid_grad`: the gradient of the shared weights | a loop over clusters |
# | 4 | `huffman_code`, `entropy_bits`: a canonical, deterministic Huffman code | a heap-based code, $H \le L < H+1$ |
# | 5 | `huffman_encode`, `huffman_decode`: packing the bits into bytes and back | a round trip |
# | 6 | `relative_indices`: the sparse index stream with filler entries | decoding the positions back |
# | 7 | `compression_rate`: Deep Compression's Eq. 1 | the paper's worked example |
# | 8 | `share_weights_`, `deep_compress`: the PyTorch pipeline and its size report | the stage-by-stage counts |
#
# **How to check your work.** Every task ends in a check cell; the autograder runs hidden tests with other inputs and
# edge cases, so follow each docstring exactly: a `ValueError` message must name the bad argument. Cells tagged
# `slow` (training and plots) are skipped when grading, but run them: that is where your code compresses a real model.

# %%
import heapq
import math

import numpy as np
import torch
from sklearn.cluster import KMeans
from torch import nn

from compresslab import check_raises, seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.models import lenet_300_100
from compresslab.train import evaluate, fit

seed_everything(0)


def check_int(name: str, value, low: int, high: int) -> int:
    """int(value), or ValueError naming `name` unless value is an int (not bool) in [low, high]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"{name} must be an int in [{low}, {high}], got {value!r}")
    return int(value)


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every nn.Linear and nn.Conv2d of model, in named_modules() order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def magnitude_prune_(model: nn.Module, sparsity) -> dict[str, torch.Tensor]:
    """Zero the smallest |w| of each layer's weight in place (sparsity a float or {name: float}); return the masks."""
    masks = {}
    for name, m in weight_layers(model):
        s = sparsity[name] if isinstance(sparsity, dict) else sparsity
        w = m.weight.data
        n_prune = int(round(s * w.numel()))
        mask = torch.ones_like(w, dtype=torch.bool)
        if n_prune > 0:
            order = torch.argsort(w.abs().flatten(), stable=True)
            mask.view(-1)[order[:n_prune]] = False
        w.mul_(mask)
        masks[name] = mask
    return masks


def fit_masked(model: nn.Module, masks: dict[str, torch.Tensor], loader, epochs: int, lr: float) -> None:
    """Retrain model with Adam for `epochs`, keeping pruned weights at zero (their gradient is masked)."""
    layers = dict(weight_layers(model))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    torch.manual_seed(0)
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            for name, mask in masks.items():
                layers[name].weight.grad.mul_(mask)
            opt.step()
            for name, mask in masks.items():
                layers[name].weight.data.mul_(mask)
    model.eval()


# %% [markdown]
# ## Task 1: one-dimensional k-means
#
# Lloyd's algorithm alternates two steps until the centroids stop moving: assign each value to its nearest centroid
# (ties to the lower index, which is what `np.argmin` does), then move each centroid to the mean of its values. A
# centroid that gets no value keeps its place (it must not become NaN). In 1-D, sorted initial centroids stay
# sorted, so the codebook comes out in ascending order. The initialization (Han et al. 2016, Section 3.2):
#
# - `"linear"`: $k$ points evenly spaced on $[\min x, \max x]$ (`np.linspace`);
# - `"random"` (Forgy): $k$ distinct values of $x$ drawn with `np.random.default_rng(seed).choice(x, k,
#   replace=False)`, then sorted;
# - `"density"`: the quantiles of $x$ at levels $(i + 1/2)/k$, $i = 0..k-1$ (`np.quantile`);
# - an array of $k$ initial centroids, used after sorting.
#
# Stop after `iters` updates, or as soon as no centroid moved by more than `tol`; then label every value with its
# nearest final centroid.

# %%
def kmeans_1d(x, k: int, init="linear", iters: int = 100, tol: float = 1e-6,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """1-D k-means. Returns (centroids float64 (k,) ascending, labels int64 of x's shape, in 0..k-1).

    The labels are the nearest of the returned centroids (recomputed after the last update).

    x: real values, at least one, all finite. k: int >= 1. init: "linear", "random", "density" or an array of k
    values. iters: int >= 1. tol: float >= 0. Raises ValueError naming x, k, init or iters.
    """
    raise NotImplementedError("Task 1: validate, initialize (sorted), then alternate argmin labels and cluster means.")


# %% tags=["raises-exception"]
rng = np.random.default_rng(0)
x = np.concatenate([rng.normal(-1, 0.2, 300), rng.normal(0.5, 0.1, 200), rng.normal(2, 0.3, 50)])
init0 = np.linspace(x.min(), x.max(), 8)
centroids, labels = kmeans_1d(x, 8, init0, iters=300, tol=0.0)
ref = KMeans(8, init=init0.reshape(-1, 1), n_init=1, max_iter=300, tol=0.0, algorithm="lloyd").fit(x.reshape(-1, 1))
order = np.argsort(ref.cluster_centers_.ravel())
assert np.allclose(centroids, ref.cluster_centers_.ravel()[order], atol=1e-6), (centroids, ref.cluster_centers_)
assert centroids.shape == (8,) and labels.shape == x.shape and labels.dtype == np.int64
for init in ("linear", "random", "density"):
    c, lab = kmeans_1d(x, 4, init)
    assert np.all(np.diff(c) >= 0), f"init={init}: centroids should be ascending, got {c}"
c, lab = kmeans_1d(np.array([0.0, 0.0, 1.0]), 4)
assert np.isfinite(c).all(), f"an empty cluster must keep its centroid, got {c}"
check_raises(kmeans_1d, x, 0, names="k")
check_raises(kmeans_1d, x, 4, "uniform", names="init")
print("kmeans_1d matches sklearn's KMeans:", centroids.round(3))

# %% [markdown]
# ## Task 2: a codebook and its indices
#
# `cluster_weights` clusters all values of `w` into $k = 2^b$ shared weights with `kmeans_1d` and returns the
# codebook as float32 and the index of each weight as `np.uint8` (`np.uint16` above 8 bits), of w's shape.
# `reconstruct` is the lookup `codebook[indices]`.

# %%
def cluster_weights(w, bits: int, init: str = "linear") -> tuple[np.ndarray, np.ndarray]:
    """(codebook float32 (2^bits,), indices uint8 (uint16 if bits > 8) of w's shape). bits: int in 1..16."""
    raise NotImplementedError("Task 2: k = 2**bits clusters with kmeans_1d; cast the codebook and the labels.")


def reconstruct(codebook, indices) -> np.ndarray:
    """codebook[indices] as float32, of indices' shape; ValueError naming indices if one is out of range."""
    raise NotImplementedError("Task 2: check 0 <= indices < len(codebook), then index the codebook.")


# %% tags=["raises-exception"]
w = np.random.default_rng(1).normal(0, 0.05, (30, 20)).astype(np.float32)
codebook, idx = cluster_weights(w, 3)
assert codebook.shape == (8,) and codebook.dtype == np.float32, (codebook.shape, codebook.dtype)
assert idx.shape == w.shape and idx.dtype == np.uint8, (idx.shape, idx.dtype)
w_hat = reconstruct(codebook, idx)
assert np.allclose(w_hat, kmeans_1d(w, 8)[0][kmeans_1d(w, 8)[1]], atol=1e-6)
check_raises(reconstruct, codebook, np.array([0, 8]), names="indices")
print(f"3-bit sharing: 8 values, mean squared error {np.mean((w - w_hat) ** 2):.2e}")

# %% [markdown]
# ## Task 3: the gradient of a shared weight
#
# Every weight of cluster $c$ equals $C_c$, so by the chain rule
# $\partial L/\partial C_c = \sum_{ij} \partial L/\partial W_{ij}\,\mathbb{1}(I_{ij} = c)$ (Han et al. 2016, Eq. 3):
# a **sum**, not a mean.

# %%
def centroid_grad(grad_w, indices, k: int) -> np.ndarray:
    """float64 (k,): the sum of grad_w over the weights of each cluster; 0.0 for a cluster without weights.

    grad_w and indices share a shape, indices are ints in [0, k), k an int >= 1; else ValueError naming k, grad_w or
    indices.
    """
    raise NotImplementedError("Task 3: np.bincount of the indices weighted by the gradients, minlength k.")


# %% tags=["raises-exception"]
idx = np.random.default_rng(2).integers(0, 8, (30, 20)).astype(np.uint8)
g = np.random.default_rng(2).normal(size=idx.shape)
cg = centroid_grad(g, idx, 8)
loop = np.array([g[idx == c].sum() for c in range(8)])
assert np.allclose(cg, loop), (cg, loop)
codebook_t = torch.tensor(codebook, dtype=torch.float64, requires_grad=True)
(codebook_t[torch.from_numpy(idx.astype(np.int64))] * torch.from_numpy(g)).sum().backward()
assert np.allclose(cg, codebook_t.grad.numpy()), "autograd through the lookup gives the same sums"
print("centroid gradients:", cg.round(2))

# %% [markdown]
# ## Task 4: a canonical Huffman code
#
# `freqs` is either a 1-D array of counts (symbol $s$ has count `freqs[s]`) or a dict {symbol: count}; symbols with
# count 0 get no code. Build the code lengths with a heap of (count, order, node): leaves first, in increasing symbol
# order with orders $0, 1, \dots$, and each merged node the next order, so ties break the same way everywhere. Pop the
# two lightest nodes, merge them, repeat. A single symbol gets length 1. Then the **canonical** code: sort symbols by
# (length, symbol); the first gets all zeros, each next one the previous code plus one, shifted left when the length
# grows. `entropy_bits` is $H = -\sum_s p_s \log_2 p_s$ over symbols with $p_s > 0$.

# %%
def _counts(freqs) -> dict[int, float]:
    """{symbol: count > 0} from a dict or a 1-D array of counts; ValueError naming freqs."""
    items = freqs.items() if isinstance(freqs, dict) else enumerate(np.asarray(freqs).ravel().tolist())
    out = {}
    for s, c in items:
        if not np.isfinite(c) or c < 0:
            raise ValueError(f"freqs must be finite and >= 0, got {c!r} for symbol {s!r}")
        if c > 0:
            out[int(s)] = float(c)
    if not out:
        raise ValueError("freqs must give at least one symbol a positive count")
    return out


def huffman_code(freqs) -> dict[int, str]:
    """{symbol: code of '0'/'1'}: canonical Huffman code, deterministic tie-breaking (see above).

    ValueError naming freqs if a count is negative or not finite, or no count is positive.
    """
    raise NotImplementedError("Task 4: heap of (count, order, symbols) -> lengths; canonical codes by (length, sym).")


def entropy_bits(freqs) -> float:
    """Shannon entropy in bits per symbol of the distribution freqs / sum(freqs)."""
    raise NotImplementedError("Task 4: normalize the positive counts and sum -p log2 p.")


# %% tags=["raises-exception"]
def heap_lengths(counts: dict[int, int]) -> dict[int, int]:
    """Huffman code lengths from an independent heap of (count, tiebreak, {symbol: depth})."""
    if len(counts) == 1:
        return dict.fromkeys(counts, 1)
    heap = [(c, i, {s: 0}) for i, (s, c) in enumerate(counts.items())]
    heapq.heapify(heap)
    i = len(heap)
    while len(heap) > 1:
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        heapq.heappush(heap, (a[0] + b[0], i, {s: d + 1 for s, d in {**a[2], **b[2]}.items()}))
        i += 1
    return heap[0][2]


freqs = np.bincount(np.random.default_rng(3).geometric(0.3, 2000), minlength=20)
code = huffman_code(freqs)
counts = {s: int(c) for s, c in enumerate(freqs) if c > 0}
avg = sum(counts[s] * len(code[s]) for s in code) / sum(counts.values())
ref_avg = sum(counts[s] * d for s, d in heap_lengths(counts).items()) / sum(counts.values())
H = entropy_bits(freqs)
assert math.isclose(avg, ref_avg), (avg, ref_avg)
assert H <= avg < H + 1, (H, avg)
words = sorted(code.values())
assert all(not b.startswith(a) for a, b in zip(words, words[1:])), "the code must be prefix-free"
assert huffman_code({7: 5}) == {7: "0"} and huffman_code([3, 0, 1]) == {0: "0", 2: "1"}
print(f"H = {H:.4f} <= L = {avg:.4f} < H + 1 bits per symbol")

# %% [markdown]
# ## Task 5: packing to bytes and decoding
#
# `huffman_encode` concatenates the codes, most significant bit first, pads the last byte with zero bits and
# returns (bytes, number of meaningful bits). `huffman_decode` reads exactly `nbits` bits back, so the padding is
# never decoded. A symbol without a code raises ValueError naming `symbols`; a bit string that does not end on a
# code raises ValueError naming `data`.

# %%
def huffman_encode(symbols, code: dict[int, str]) -> tuple[bytes, int]:
    """(packed bytes, nbits) of the concatenated codes of symbols, MSB first, zero-padded to whole bytes."""
    raise NotImplementedError("Task 5: join the codes, pad to a multiple of 8 with '0', int(chunk, 2) per byte.")


def huffman_decode(data: bytes, nbits: int, code: dict[int, str]) -> np.ndarray:
    """The int64 symbols whose codes are the first nbits bits of data (MSB first)."""
    raise NotImplementedError("Task 5: unpack to bits, keep nbits, grow a prefix until it is a code word.")


# %% tags=["raises-exception"]
for stream in (np.random.default_rng(4).integers(0, 16, 1000), np.random.default_rng(5).geometric(0.5, 1000),
               np.full(13, 3), np.array([0, 1, 1, 0, 1])):
    c = huffman_code(np.bincount(stream))
    data, nbits = huffman_encode(stream, c)
    assert len(data) == (nbits + 7) // 8
    back = huffman_decode(data, nbits, c)
    assert np.array_equal(back, stream), f"round trip failed: {stream[:10]} -> {back[:10]}"
check_raises(huffman_encode, [0, 9], {0: "0", 1: "1"}, names="symbols")
print(f"round trips pass; the last stream takes {nbits} bits in {len(data)} byte(s)")

# %% [markdown]
# ## Task 6: relative sparse indices with filler entries
#
# A pruned layer stores only its kept weights and, for each, its distance to the previous kept one. With $b$ index
# bits and $F = 2^b - 1$, walk the kept positions $p$ in order starting from `prev = -1`, with gap $d = p - prev$.
# While $d > F$, emit a **filler** entry $F$ (it stands for a zero weight $F$ places further on, stored like a kept
# one) and move `prev` forward by $F$; then emit $d \in [1, F]$. Decoding is a cumulative sum:
# `positions = np.cumsum(stream) - 1`; a position that the mask does not keep is a filler.
# Return (stream as int64, number of fillers).

# %%
def relative_indices(mask_flat, index_bits: int) -> tuple[np.ndarray, int]:
    """(int64 gap stream with fillers, filler count) of the True positions of a 1-D boolean mask.

    index_bits: int in 1..16. Raises ValueError naming index_bits, or mask_flat unless it is a 1-D bool array.
    """
    raise NotImplementedError("Task 6: gaps of the kept positions from -1; a gap d > F gives fillers F, then the rest.")


# %% tags=["raises-exception"]
mask = np.zeros(40, dtype=bool)
mask[[0, 3, 4, 20, 39]] = True
stream, fillers = relative_indices(mask, 3)
assert stream.tolist() == [1, 3, 1, 7, 7, 2, 7, 7, 5] and fillers == 4, (stream, fillers)
positions = np.cumsum(stream) - 1
assert set(np.flatnonzero(mask)) <= set(positions.tolist()) and stream.max() <= 7
print("gap stream:", stream.tolist(), "fillers:", fillers)

# %% [markdown]
# ## Task 7: the compression rate of weight sharing
#
# $n$ weights of $b$ bits each become $n$ indices of `bits` bits plus a codebook of $k$ values of $b$ bits (Han et
# al. 2016, Eq. 1): $r = \frac{n b}{n \cdot \mathrm{bits} + k b}$, with bits $= \log_2 k$ when $k$ is a power of 2.

# %%
def compression_rate(n: int, bits: int, k: int, b: int = 32) -> float:
    """n*b / (n*bits + k*b) as a float; every argument an int >= 1, else ValueError naming it."""
    raise NotImplementedError("Task 7: count the codebook's k*b bits in the denominator.")


# %% tags=["raises-exception"]
assert math.isclose(compression_rate(16, 2, 4), 3.2), compression_rate(16, 2, 4)
check_raises(compression_rate, 0, 2, 4, names="n")
print(f"the paper's example 16 weights, 4 clusters: {compression_rate(16, 2, 4):.1f}x")

# %% [markdown]
# ## Task 8: weight sharing on a model, and the whole pipeline
#
# `share_weights_(model, bits, loader=None, epochs=0, lr=1e-3)` clusters the **non-zero** weights of every
# `nn.Linear`/`nn.Conv2d` with `cluster_weights` (linear init), writes `codebook[indices]` back in place (zeros stay
# zero), and, with a loader, fine-tunes only the centroids for `epochs` with Adam at `lr`: each step the weight
# gradient is summed per cluster (Task 3) and the weights are rewritten from the codebook. It returns
# {layer name: (codebook float32, indices of the non-zero weights in row-major order, bool mask)}.
#
# `deep_compress(model, sparsity, bits, index_bits=5, loader=None, prune_epochs=0, share_epochs=0, lr=1e-3)` prunes
# each layer by magnitude (`magnitude_prune_` in the setup cell; with a loader it retrains `prune_epochs` with
# `fit_masked`), calls `share_weights_`, and returns {"layers": {name: row}, "total": row} where a row holds
# `weights` (n), `kept`, `fillers`, and the bits of each stage, weights only like the paper's Table 2:
#
# - `dense_bits` $= 32n$; `pruned_bits` $= 32\,(\text{kept} + \text{fillers}) + \text{index\_bits} \cdot
#   \text{len(stream)}$;
# - `quantized_bits` $= \text{bits}\,(\text{kept} + \text{fillers}) + \text{index\_bits} \cdot \text{len(stream)} +
#   32 \cdot 2^{\text{bits}}$;
# - `huffman_bits`: the Huffman-coded weight indices (fillers as extra symbol $2^{\text{bits}}$) plus the
#   Huffman-coded gap stream plus the codebook's $32 \cdot 2^{\text{bits}}$ (code tables not counted). In the
#   fixed-length stages a filler's weight slot costs as much as a kept weight's.
#
# The total row sums the layers.

# %%
def share_weights_(model: nn.Module, bits: int, loader=None, epochs: int = 0, lr: float = 1e-3) -> dict:
    """Cluster each layer's non-zero weights into 2^bits shared values in place; fine-tune centroids on loader."""
    raise NotImplementedError("Task 8: cluster w[mask] per layer; per batch sum grads per cluster, step the codebooks.")


def deep_compress(model: nn.Module, sparsity, bits: int, index_bits: int = 5, loader=None, prune_epochs: int = 0,
                  share_epochs: int = 0, lr: float = 1e-3) -> dict:
    """Prune, share and Huffman-code model in place; return the per-layer and total size report in bits."""
    raise NotImplementedError("Task 8: prune, retrain masked, share_weights_, then count each stage's bits per layer.")


# %% tags=["raises-exception"]
torch.manual_seed(0)
small = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
with torch.no_grad():
    small[0].weight[:, :2] = 0.0
shared = share_weights_(small, 1)
codebook, idx, mask = shared["0"]
assert codebook.shape == (2,) and idx.shape == (int(mask.sum()),) and mask.sum() == 20, (codebook, idx.shape)
w_now = small[0].weight.detach().numpy()
assert np.all(w_now[:, :2] == 0) and np.allclose(w_now[mask], codebook[idx]), "zeros stay zero, the rest shared"
batches = [(torch.randn(8, 6), torch.randint(0, 2, (8,))) for _ in range(3)]
tuned = share_weights_(small, 1, batches, epochs=2, lr=0.05)
assert not np.allclose(tuned["0"][0], codebook), "fine-tuning should move the centroids"
print("centroids before and after fine-tuning:", codebook.round(4), tuned["0"][0].round(4))

# %% tags=["raises-exception"]
tiny = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4))
torch.manual_seed(0)
for p in tiny.parameters():
    nn.init.normal_(p, 0, 0.5)
report = deep_compress(tiny, 0.8, 2, index_bits=3)
total = report["total"]
assert total["weights"] == 12 * 16 + 16 * 4 and total["dense_bits"] == 32 * total["weights"]
assert total["dense_bits"] > total["pruned_bits"] > total["quantized_bits"], total
assert len(np.unique(tiny[0].weight.detach().numpy())) <= 2**2 + 1, "at most 4 shared values and zero"
print({key: total[key] for key in ("kept", "fillers", "pruned_bits", "quantized_bits", "huffman_bits")})

# %% [markdown]
# ## Experiments on the digits
#
# Train LeNet-300-100 on the 8x8 digits, then run your pipeline: keep about 8% of the weights, 5 bits, 5-bit indices.

# %% tags=["slow", "raises-exception"]
digits = load_digits_dataset()
loaders = make_loaders(digits, batch_size=64)
net = lenet_300_100()
fit(net, loaders["train"], epochs=20, lr=1e-3, seed=0)
base_acc = evaluate(net, loaders["test"])["accuracy"]
report = deep_compress(net, {"0": 0.92, "2": 0.92, "4": 0.75}, 5, index_bits=5, loader=loaders["train"],
                       prune_epochs=8, share_epochs=3)
acc = evaluate(net, loaders["test"])["accuracy"]
t = report["total"]
for stage in ("dense_bits", "pruned_bits", "quantized_bits", "huffman_bits"):
    print(f"{stage:>15}: {t[stage]:>9,} bits  {t['dense_bits'] / t[stage]:5.1f}x")
print(f"test accuracy {base_acc:.2%} -> {acc:.2%}")

# %% [markdown]
# **Question.** Which stage gives most of the compression on your run, and how much does Huffman coding add on top
# of pruning and weight sharing? Compare with the paper's LeNet-300-100 (12x after pruning, 32x after sharing, 40x
# after Huffman coding).

# %% [markdown] tags=["answer"]
# **Your answer:** replace this line with your answer, quoting numbers from your own plot.
