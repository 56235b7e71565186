# %% [markdown]
# # Weight sharing, Huffman coding and the Deep Compression pipeline
#
# Quantization to $b$ bits puts every weight on an evenly spaced grid. **Weight sharing** lets the data choose the
# grid: the weights of a layer are clustered into $k = 2^b$ groups, every weight is replaced by its group's centroid,
# and the layer stores a small codebook plus a $b$-bit index per weight. Han, Mao and Dally's *Deep Compression*
# (ICLR 2016) chains three steps: prune the small weights, share the survivors, and Huffman-code the indices and the
# positions. This lecture builds each step from scratch, checks it against scikit-learn and an independent Huffman
# coder, and runs the whole pipeline on LeNet-300-100 trained on the 8x8 digits.
#
# ## Motivation: where the bits of a small MLP go
#
# LeNet-300-100 (64 -> 300 -> 100 -> 10 here, since the digits have 64 pixels) stores every weight as a 32-bit float.

# %%
import copy
import heapq

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.cluster import KMeans
from torch import nn

from compresslab import compare, seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.models import lenet_300_100
from compresslab.plot import new_axes
from compresslab.train import evaluate, fit

seed_everything(0)

# %%
digits = load_digits_dataset()
loaders = make_loaders(digits, batch_size=64)
model = lenet_300_100()
fit(model, loaders["train"], epochs=20, lr=1e-3, seed=0)
base_accuracy = evaluate(model, loaders["test"])["accuracy"]
layers = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
n_weights = sum(m.weight.numel() for _, m in layers)
print(f"test accuracy {base_accuracy:.2%}; {n_weights:,} weights = {32 * n_weights:,} bits at fp32")

# %% [markdown]
# ## The math
#
# **Weight sharing.** For a layer with weights $w_1, \dots, w_n$, choose centroids $C_1, \dots, C_k$ and an index
# $I_i \in \{1..k\}$ per weight that minimize the within-cluster sum of squares
# $\sum_{c=1}^{k} \sum_{i: I_i = c} (w_i - C_c)^2$ (Han et al. 2016, Eq. 2). Lloyd's algorithm alternates
# $I_i = \arg\min_c |w_i - C_c|$ and $C_c = \operatorname{mean}\{w_i : I_i = c\}$.
#
# **Storage.** $n$ weights of $b$ bits become $n$ indices of $\log_2 k$ bits and a codebook of $k$ values of $b$ bits,
# a compression rate (Eq. 1)
# $$r = \frac{n b}{n \log_2 k + k b}.$$
#
# **Fine-tuning the centroids.** Every weight of cluster $c$ equals $C_c$, so the loss gradient of a centroid is the
# **sum** of the gradients of its weights (Eq. 3):
# $$\frac{\partial L}{\partial C_c} = \sum_{i} \frac{\partial L}{\partial w_i}\, \mathbb{1}(I_i = c).$$
#
# **Huffman coding.** A symbol stream with probabilities $p_s$ has entropy $H = -\sum_s p_s \log_2 p_s$ bits per
# symbol. Huffman's code, built by merging the two least frequent nodes until one tree is left, is an optimal prefix
# code, and its average length $L = \sum_s p_s \ell_s$ satisfies $H \le L < H + 1$ (Cover and Thomas, *Elements of
# Information Theory*, Theorems 5.4.1 and 5.8.1).
#
# **Sparse positions.** A pruned layer stores, for each kept weight, the distance $d$ to the previous kept one in
# $b_{idx}$ bits. A gap larger than $F = 2^{b_{idx}} - 1$ is bridged by **filler** entries: a zero weight stored $F$
# places further on, which costs a weight slot and an index slot.

# %% [markdown]
# ## From scratch (NumPy)
#
# ### 1-D k-means from given initial centroids
#
# The lecture's k-means takes the initial centroids as an array; the three initializations are one line each. The lab
# builds the full `kmeans_1d` with named initializations and its edge cases.

# %%
def lloyd_1d(x: np.ndarray, centroids: np.ndarray, iters: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means on 1-D x from the given initial centroids; returns (centroids, labels)."""
    x, centroids = x.astype(np.float64).ravel(), np.sort(np.asarray(centroids, dtype=np.float64))
    for _ in range(iters):
        labels = np.argmin(np.abs(x[:, None] - centroids[None, :]), axis=1)
        counts = np.bincount(labels, minlength=len(centroids))
        new = np.where(counts > 0, np.bincount(labels, x, len(centroids)) / np.maximum(counts, 1), centroids)
        if np.array_equal(new, centroids):
            break
        centroids = new
    return centroids, np.argmin(np.abs(x[:, None] - centroids[None, :]), axis=1)


def linear_init(x: np.ndarray, k: int) -> np.ndarray:
    return np.linspace(x.min(), x.max(), k)


def random_init(x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).choice(x.ravel(), k, replace=False)  # Forgy: k of the weights


def density_init(x: np.ndarray, k: int) -> np.ndarray:
    return np.quantile(x, (np.arange(k) + 0.5) / k)  # evenly spaced on the CDF


w1 = layers[0][1].weight.detach().numpy().ravel()
for init in (linear_init, random_init, density_init):
    start = np.sort(init(w1, 8))
    c, labels = lloyd_1d(w1, start)
    print(f"{init.__name__:>12}: starts at {np.round(start, 3)}, ends with mse {np.mean((w1 - c[labels]) ** 2):.3e}")

# %% [markdown]
# Random and density initialization start most centroids where most weights are, near zero. Linear initialization
# spaces them over the whole range, so the few large weights, which matter most to the output, keep centroids of
# their own (Han et al. 2016, Section 3.2). The experiment below measures what that does to accuracy.
#
# ### Huffman code lengths with a heap
#
# Each heap entry is (count, tiebreak, {symbol: depth}); merging two entries adds one bit to every symbol below them.
# The lab turns lengths into a canonical code and packs real bits.

# %%
def huffman_lengths(counts: np.ndarray) -> dict[int, int]:
    """{symbol: code length} of a Huffman code for the positive counts (a lone symbol gets 1 bit)."""
    heap = [(int(c), s, {s: 0}) for s, c in enumerate(counts) if c > 0]
    if len(heap) == 1:
        return {heap[0][1]: 1}
    heapq.heapify(heap)
    tiebreak = len(counts)
    while len(heap) > 1:
        (c1, _, a), (c2, _, b) = heapq.heappop(heap), heapq.heappop(heap)
        heapq.heappush(heap, (c1 + c2, tiebreak, {s: d + 1 for s, d in {**a, **b}.items()}))
        tiebreak += 1
    return heap[0][2]


def coded_bits(counts: np.ndarray) -> int:
    """Total Huffman-coded bits of a stream with these symbol counts."""
    return sum(int(counts[s]) * ell for s, ell in huffman_lengths(counts).items())


def entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


# %% [markdown]
# ### Relative indices with fillers
#
# The gaps between kept positions, each split into fillers of $F$ and a remainder in $[1, F]$.

# %%
def gap_stream(mask: np.ndarray, index_bits: int) -> tuple[np.ndarray, int]:
    """(gaps with fillers, number of fillers) of the True positions of a flat mask."""
    top = 2**index_bits - 1
    gaps = np.diff(np.flatnonzero(mask), prepend=-1)
    n_fill = (gaps - 1) // top
    stream = np.concatenate([np.r_[np.full(f, top), g - f * top] for g, f in zip(gaps, n_fill)]).astype(np.int64)
    return stream, int(n_fill.sum())


mask = np.zeros(40, dtype=bool)
mask[[0, 3, 4, 20, 39]] = True
stream, fillers = gap_stream(mask, 3)
assert np.array_equal(np.flatnonzero(mask), np.intersect1d(np.cumsum(stream) - 1, np.flatnonzero(mask)))
print("positions", np.flatnonzero(mask).tolist(), "-> 3-bit gaps", stream.tolist(), f"({fillers} fillers)")

# %% [markdown]
# ## Check against the library
#
# scikit-learn's `KMeans` with the same explicit initial centroids and one run must land on the same centroids
# (sorted, since cluster order is arbitrary). Our Huffman lengths are checked against the bound $H \le L < H + 1$
# and against a second, independent construction: the sum of the merged weights equals the total coded length.

# %%
init8 = linear_init(w1, 8)
ours, _ = lloyd_1d(w1, init8, iters=300)
ref = KMeans(8, init=init8.reshape(-1, 1), n_init=1, max_iter=300, tol=0.0, algorithm="lloyd").fit(w1.reshape(-1, 1))
err = compare("lloyd_1d vs sklearn KMeans", ours, np.sort(ref.cluster_centers_.ravel()))
assert err <= 1e-6, err

rng = np.random.default_rng(0)
for counts in (rng.integers(1, 50, 12), np.bincount(rng.geometric(0.4, 5000)), np.array([9, 1]), np.array([4])):
    ell = huffman_lengths(counts)
    L = coded_bits(counts) / counts.sum()
    merged = [int(c) for c in counts if c > 0]
    heapq.heapify(merged)
    cost = 0
    while len(merged) > 1:
        pair = heapq.heappop(merged) + heapq.heappop(merged)
        cost += pair
        heapq.heappush(merged, pair)
    assert coded_bits(counts) == max(cost, int(counts.sum())), (coded_bits(counts), cost)
    if len(ell) > 1:  # a lone symbol has H = 0 but still needs 1 bit per occurrence
        assert entropy(counts) <= L < entropy(counts) + 1, (entropy(counts), L)
    assert sum(2.0 ** -d for d in ell.values()) <= 1, "Kraft inequality: a prefix code exists"
print("k-means matches sklearn; Huffman lengths meet H <= L < H + 1 and the merge-cost identity")

# %% [markdown]
# ## With PyTorch
#
# Prune by magnitude and retrain with the mask, then share each layer's kept weights with linear initialization and
# fine-tune only the centroids: `index_add_` sums the weight gradients per cluster, which is Eq. 3.

# %%
def prune_(model: nn.Module, sparsity: dict[str, float]) -> dict[str, torch.Tensor]:
    """Zero the smallest |w| of each layer in place; return the keep masks."""
    masks = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear):
            w = m.weight.data
            threshold = w.abs().flatten().kthvalue(int(sparsity[name] * w.numel())).values
            masks[name] = w.abs() > threshold
            w.mul_(masks[name])
    return masks


def train_masked(model: nn.Module, masks: dict, epochs: int, step_fn=None) -> None:
    """Adam on the weights (pruned ones held at zero), or `step_fn(model)` after each backward if given."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    mods = dict(model.named_modules())
    torch.manual_seed(0)
    for _ in range(epochs):
        model.train()
        for x, y in loaders["train"]:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            if step_fn is not None:
                step_fn(model)
                continue
            for name, mask in masks.items():
                mods[name].weight.grad.mul_(mask)
            opt.step()
            for name, mask in masks.items():
                mods[name].weight.data.mul_(mask)
    model.eval()


SPARSITY = {"0": 0.92, "2": 0.92, "4": 0.75}  # the paper keeps 8%, 9% and 26% of LeNet-300-100's layers
BITS, INDEX_BITS = 5, 5
pruned = copy.deepcopy(model)
masks = prune_(pruned, SPARSITY)
train_masked(pruned, masks, epochs=8)
pruned_accuracy = evaluate(pruned, loaders["test"])["accuracy"]
print(f"pruned: {sum(int(m.sum()) for m in masks.values()):,} weights kept, test accuracy {pruned_accuracy:.2%}")

# %%
def share(model: nn.Module, masks: dict, bits: int, init=linear_init) -> dict:
    """Cluster each layer's kept weights in place; return {name: (centroid tensor, labels tensor)}."""
    books = {}
    for name, m in model.named_modules():
        if name in masks:
            w = m.weight.detach().numpy()[masks[name].numpy()]
            c, labels = lloyd_1d(w, init(w, 2**bits))
            books[name] = (torch.tensor(c, dtype=torch.float32, requires_grad=True), torch.from_numpy(labels))
            m.weight.data[masks[name]] = books[name][0].detach()[books[name][1]]
    return books


shared = copy.deepcopy(pruned)
books = share(shared, masks, BITS)
shared_accuracy = evaluate(shared, loaders["test"])["accuracy"]
centroid_opt = torch.optim.Adam([c for c, _ in books.values()], lr=1e-3)


def centroid_step(model: nn.Module) -> None:
    mods = dict(model.named_modules())
    for name, (c, labels) in books.items():
        c.grad = torch.zeros_like(c).index_add_(0, labels, mods[name].weight.grad[masks[name]])  # Eq. 3: a sum
    centroid_opt.step()
    for name, (c, labels) in books.items():
        mods[name].weight.data[masks[name]] = c.detach()[labels]


train_masked(shared, masks, epochs=3, step_fn=centroid_step)
tuned_accuracy = evaluate(shared, loaders["test"])["accuracy"]
distinct = max(len(torch.unique(m.weight[masks[n]])) for n, m in shared.named_modules() if n in masks)
assert distinct <= 2**BITS, distinct
print(f"shared at {BITS} bits: {shared_accuracy:.2%}; after centroid fine-tuning: {tuned_accuracy:.2%}")

# %% [markdown]
# ## Experiments
#
# ### The size of every stage, laid out like the paper's Table 2
#
# Per layer: the kept fraction, the bits per stored weight and per stored index before and after Huffman coding
# (fillers included), and the size relative to fp32 after sharing (P+Q) and after Huffman coding (P+Q+H), with the
# codebooks counted. Huffman code tables are not counted, and, like the paper's table, biases are left out.

# %%
rows, stages = [], {"dense": 0, "pruned": 0, "P+Q": 0, "P+Q+H": 0}
for name, m in shared.named_modules():
    if name not in masks:
        continue
    c, labels = books[name]
    stream, n_fill = gap_stream(masks[name].numpy().ravel(), INDEX_BITS)
    kept, slots, k = int(masks[name].sum()), len(stream), 2**BITS
    symbols = np.full(slots, k)  # a filler's weight slot gets the extra symbol k
    symbols[masks[name].numpy().ravel()[np.cumsum(stream) - 1]] = labels.numpy()
    w_bits, i_bits = coded_bits(np.bincount(symbols)), coded_bits(np.bincount(stream))
    sizes = {"dense": 32 * m.weight.numel(), "pruned": 32 * slots + INDEX_BITS * slots,
             "P+Q": (BITS + INDEX_BITS) * slots + 32 * k, "P+Q+H": w_bits + i_bits + 32 * k}
    for key in stages:
        stages[key] += sizes[key]
    rows.append([f"ip{len(rows) + 1}", m.weight.numel(), kept / m.weight.numel(), n_fill, BITS, w_bits / slots,
                 INDEX_BITS, i_bits / slots, sizes["P+Q"] / sizes["dense"], sizes["P+Q+H"] / sizes["dense"]])
header = ["layer", "#W", "kept", "fillers", "W P+Q", "W P+Q+H", "idx P+Q", "idx P+Q+H", "rate P+Q", "rate P+Q+H"]
print(("{:>7}" + "{:>10}" * 8 + "{:>11}").format(*header))
for r in rows:
    print(f"{r[0]:>7}{r[1]:>10,}{r[2]:>10.1%}{r[3]:>10}{r[4]:>10}{r[5]:>10.2f}{r[6]:>10}{r[7]:>10.2f}{r[8]:>10.2%}"
          f"{r[9]:>11.2%}")
print(f"{'total':>7}{n_weights:>10,}{sum(int(m.sum()) for m in masks.values()) / n_weights:>10.1%}"
      f"{sum(r[3] for r in rows):>10}{'':>40}{stages['P+Q'] / stages['dense']:>10.2%}"
      f"{stages['P+Q+H'] / stages['dense']:>11.2%}")
print(f"{'paper':>7}{'266K':>10}{'8%':>10}{'':>10}{6:>10}{5.1:>10}{5:>10}{3.7:>10}{'3.1%':>10}{'2.49%':>11}")

# %% [markdown]
# The last row is the paper's LeNet-300-100 on 28x28 MNIST (Han et al. 2016, Table 2): 1070 KB to 27 KB, 40x, with
# 6-bit weights. Our network has fewer weights (8x8 inputs), so its codebooks weigh relatively more.

# %% tags=["headline"]
rate = stages["dense"] / stages["P+Q+H"]
loss_points = 100 * (base_accuracy - tuned_accuracy)
print(f"LeNet-300-100 on the digits: {stages['dense'] // 8:,} bytes -> {stages['P+Q+H'] // 8:,} bytes, {rate:.1f}x "
      f"smaller (paper on MNIST: 1070 KB -> 27 KB, 40x)")
print(f"test accuracy {base_accuracy:.2%} -> {tuned_accuracy:.2%} ({loss_points:+.2f} points lost)")
print(f"compression per stage: pruning {stages['dense'] / stages['pruned']:.1f}x, + sharing "
      f"{stages['dense'] / stages['P+Q']:.1f}x, + Huffman {rate:.1f}x")
assert rate >= 30 and loss_points <= 1.0, (rate, loss_points)

# %% tags=["slow"]
fig, ax = new_axes("Size of LeNet-300-100 after each Deep Compression stage", "stage", "bits (log scale)")
ax.bar(list(stages), list(stages.values()), color=["0.6", "C0", "C1", "C2"])
ax.set_yscale("log")
for i, v in enumerate(stages.values()):
    ax.text(i, v, f"{stages['dense'] / v:.1f}x", ha="center", va="bottom")
plt.show()

# %% [markdown]
# ### Linear, random and density initialization at 2 to 5 bits
#
# The pruned network (before any fine-tuning of centroids) shared with each initialization.

# %% tags=["slow"]
results = {init.__name__: [] for init in (linear_init, random_init, density_init)}
bit_range = [2, 3, 4, 5]
for bits in bit_range:
    for init in (linear_init, random_init, density_init):
        trial = copy.deepcopy(pruned)
        share(trial, masks, bits, init)
        results[init.__name__].append(evaluate(trial, loaders["test"])["accuracy"])
fig, ax = new_axes("Accuracy after weight sharing by centroid initialization", "bits per weight", "test accuracy")
for name, accs in results.items():
    ax.plot(bit_range, accs, marker="o", label=name.replace("_init", ""))
ax.axhline(pruned_accuracy, color="0.5", ls="--", label="pruned, unshared")
ax.legend()
plt.show()
for name, accs in results.items():
    print(f"{name:>12}: " + "  ".join(f"{b} bits {a:.2%}" for b, a in zip(bit_range, accs)))
spread = {b: max(r[i] for r in results.values()) - min(r[i] for r in results.values()) for i, b in enumerate(bit_range)}
widest = max(spread, key=spread.get)
print(f"the initializations differ most at {widest} bits ({100 * spread[widest]:.2f} points between best and worst)"
      f" and by {100 * spread[bit_range[-1]]:.2f} points at {bit_range[-1]} bits")

# %% [markdown]
#
# ## Pitfalls
#
# - An empty cluster gives a centroid of 0/0 = NaN; keep the old centroid instead.
# - The centroid gradient is a **sum** over the cluster. A mean divides the step of large clusters by their size.
# - A Huffman code built with ties broken inconsistently is still optimal, but two machines may build different codes;
#   fix the tie-breaking and use the canonical form so that only the lengths need storing.
# - The last byte of a packed stream has padding bits; decode exactly the number of bits written.
# - Relative indices without fillers cannot store a gap wider than $2^{b} - 1$.
# - Compression rates that forget the codebook, the index stream or the fillers overstate the gain.
#
# ## Summary
#
# - Weight sharing clusters a layer's weights into $2^b$ centroids; linear initialization keeps the rare large
#   weights, and fine-tuning sums the gradients of each cluster into its centroid.
# - Huffman coding spends fewer bits on frequent indices and gaps; its average length lies in $[H, H + 1)$.
# - Pruning, sharing and Huffman coding together, measured above, shrink this MLP by the factor the headline prints.
#
# ## Exercises
#
# 1. Share weights across all three layers with one codebook. How much accuracy and how many bits change?
# 2. Replace the fixed 5-bit gaps by 3 and 8 bits. Where are the fillers, and which width is smallest after Huffman?
# 3. Count the Huffman code tables as well (a canonical code needs only the lengths). How much does the rate drop?
