# %% [markdown]
# # Pruning: zeroing weights, and removing neurons so that the model really shrinks
#
# A trained network has many more weights than it needs: LeCun, Denker and Solla's *Optimal Brain Damage* (1990)
# and Han, Pool, Tran and Dally's *Learning both Weights and Connections* (2015) remove most of them with little loss
# of accuracy. This lecture prunes LeNet-300-100 on the 8x8 digits two ways and measures what each buys on this CPU:
#
# - **unstructured** pruning zeroes single weights: a high sparsity, but the matrices keep their shape;
# - **structured** pruning removes whole neurons or filters: a lower sparsity, but a physically smaller dense model.
#
# ## Motivation: how much of a trained MLP can go?

# %%
import copy
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune

from compresslab import compare, seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.measure import latency_ms
from compresslab.models import lenet_300_100, mlp
from compresslab.plot import new_axes
from compresslab.train import evaluate, fit

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
seed_everything(0)
torch.set_num_threads(1)  # every timing on this page is single-threaded

# %%
digits = load_digits_dataset()
loaders = make_loaders(digits, batch_size=64)
model = lenet_300_100()
fit(model, loaders["train"], epochs=20, lr=1e-3, seed=0)
base_accuracy = evaluate(model, loaders["test"])["accuracy"]
layers = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
n_weights = sum(m.weight.numel() for _, m in layers)
print(f"LeNet-300-100 (64-300-100-10): {n_weights:,} weights, test accuracy {base_accuracy:.2%}")

# %% [markdown]
# ## The math
#
# **Importance.** Magnitude pruning ranks single weights by $|w|$. Structured pruning ranks a neuron $j$ of a layer
# with weight $W$ (out, in) by the L1 norm of its row, $\lVert W_{j,:}\rVert_1$, or a filter of a Conv2d by the L1 norm
# of its whole kernel (Li et al., *Pruning Filters for Efficient ConvNets*, 2017); or by the **average percentage of
# zeros** of its ReLU output over a data set, $\text{APoZ}_j = \frac{1}{N}\sum_{k} \mathbb{1}(\text{ReLU}(z_{kj}) = 0)$
# (Hu et al., *Network Trimming*, 2016): a unit that is almost always zero carries little information.
#
# **Masks.** Pruning multiplies the weight by a binary mask $M$: the layer computes $(W \odot M)x$. To keep a pruned
# weight at zero while the rest fine-tune, its gradient is masked too: $\nabla_W \leftarrow \nabla_W \odot M$.
# **Layer-wise** pruning removes the fraction $s$ of each layer; **global** pruning ranks all weights together and
# removes the fraction $s$ of all of them. `torch.nn.utils.prune` turns a fraction $s$ of $n$ weights into the count
# `round(s * n)`, Python's round-half-to-even.
#
# **Storage.** A matrix with $r$ rows and nnz nonzeros stored in **CSR** keeps nnz values, nnz column indices and
# $r + 1$ row pointers; a **bitmask** format keeps one bit per position and the nnz values. With 32-bit values and
# indices CSR is smaller than dense only below 50% density.
#
# **Structured removal.** If hidden unit $j$ of $y = W_2\,\text{ReLU}(W_1 x + b_1) + b_2$ is pruned (row $j$ of
# $W_1$ and $b_{1,j}$ zero), its output is ReLU(0) = 0 and column $j$ of $W_2$ multiplies zero. Deleting row $j$,
# $b_{1,j}$ and column $j$ gives the same $y$ exactly, with a smaller dense matrix product.
#
# **The gradual schedule** (Zhu and Gupta, *To prune, or not to prune*, 2017, Eq. 1): from step $t_0$, every
# $\Delta t$ steps, for $n$ pruning steps,
# $$s_t = s_f + (s_i - s_f)\left(1 - \frac{t - t_0}{n\Delta t}\right)^3,$$
# fast at first, when many redundant weights remain, and slowly near the target.

# %% [markdown]
# ## From scratch (NumPy)
#
# ### Zero the k smallest weights
#
# The lecture prunes by an absolute count with a stable sort; the lab handles fractions, rounding and validation.

# %%
def prune_smallest(w: np.ndarray, k: int) -> np.ndarray:
    """Keep-mask of w with its k smallest |w| set False (ties in flat index order)."""
    mask = np.ones(w.size, dtype=bool)
    mask[np.argsort(np.abs(w).ravel(), kind="stable")[:k]] = False
    return mask.reshape(w.shape)


w1 = layers[0][1].weight.detach().numpy()
for frac in (0.5, 0.9):
    k = round(frac * w1.size)
    ours = prune_smallest(w1, k)
    print(f"{frac:.0%} of layer 0: threshold |w| = {np.abs(w1)[~ours].max():.4f}, {int((~ours).sum()):,} zeros")

# %% [markdown]
# ### Importance of neurons: L1 norm and APoZ
#
# The L1 norm of each hidden neuron's weight row, and the fraction of test images on which its ReLU outputs zero.

# %%
x_test = torch.cat([x for x, _ in loaders["test"]])
with torch.no_grad():
    hidden1 = torch.relu(model[0](x_test)).numpy()
l1_rows = np.abs(w1).sum(axis=1)
zeros_frac = (hidden1 == 0).mean(axis=0)
corr = np.corrcoef(l1_rows, zeros_frac)[0, 1]
print(f"layer 0: {int((zeros_frac == 1).sum())} of 300 neurons never fire on the test set, "
      f"{int((zeros_frac > 0.9).sum())} are zero on more than 90% of it; "
      f"correlation of L1 norm with APoZ {corr:+.2f}")

# %% [markdown]
# ## Check against the library
#
# `prune.l1_unstructured` with an integer amount zeroes the same weights (the weights here have no ties); with a
# fraction, its count is `round(s * n)`. `prune.ln_structured(n=1, dim=0)` keeps the rows of largest L1 norm.

# %%
for amount in (1000, 9600, 0.37):
    lin = copy.deepcopy(model[0])
    prune.l1_unstructured(lin, "weight", amount=amount)
    k = amount if isinstance(amount, int) else round(amount * w1.size)
    err = compare(f"prune_smallest vs l1_unstructured, amount {amount}", prune_smallest(w1, k),
                  lin.weight_mask.numpy().astype(bool))
    assert err == 0
lin = copy.deepcopy(model[0])
prune.ln_structured(lin, "weight", amount=150, n=1, dim=0)
kept_rows = lin.weight_mask.numpy().all(axis=1)
assert np.array_equal(kept_rows, l1_rows >= np.sort(l1_rows)[150]), "ln_structured keeps the largest L1 rows"
print("ln_structured(n=1) keeps the 150 rows of largest L1 norm")

# %% [markdown]
# ## Why zeros alone do not speed up a dense kernel
#
# A dense matrix product multiplies every zero. A sparse kernel skips them but reads an index per value and loses the
# dense kernel's vectorized blocking. Time $Y = W X$ for a 1024x1024 $W$ and a batch of 256 columns, dense against
# `torch.sparse` CSR, and count the bytes of each storage format.

# %%
rng = np.random.default_rng(0)
w_big = rng.normal(size=(1024, 1024)).astype(np.float32)
x_big = torch.randn(1024, 256)
dense_ms = latency_ms(lambda: torch.from_numpy(w_big) @ x_big, repeats=15)
speed_rows = []
for s in (0.5, 0.8, 0.9, 0.95, 0.99):
    w_s = torch.from_numpy(w_big * prune_smallest(w_big, round(s * w_big.size)))
    w_csr = w_s.to_sparse_csr()
    assert torch.allclose(w_csr @ x_big, w_s @ x_big, atol=1e-3)
    nnz = int(w_csr.values().numel())
    csr_bytes, bitmask_bytes = 8 * nnz + 4 * 1025, w_big.size // 8 + 4 * nnz  # int32 indices, 32-bit values
    speed_rows.append((s, latency_ms(lambda w_csr=w_csr: w_csr @ x_big, repeats=15), csr_bytes, bitmask_bytes))
print(f"{'sparsity':>8} {'dense ms':>9} {'CSR ms':>8} {'speed-up':>9} {'dense KB':>9} {'CSR KB':>7} {'bitmask KB':>11}")
for s, ms, cb, bb in speed_rows:
    print(f"{s:>8.0%} {dense_ms:>9.2f} {ms:>8.2f} {dense_ms / ms:>8.2f}x {w_big.nbytes / 1024:>9.0f} "
          f"{cb / 1024:>7.0f} {bb / 1024:>11.0f}")
paying = [s for s, ms, _, _ in speed_rows if ms < dense_ms]
csr_pays_at = f"{paying[0]:.0%}" if paying else "none"
print(f"on this CPU, one thread, CSR beats the dense product from sparsity: {csr_pays_at}")

# %% [markdown]
# The table above is the measurement, and its last line says from which sparsity, if any, the CSR product pays on
# this CPU with one thread; the speed-up column shows how far below the dense time it falls at 50%. Storage follows
# the formula: CSR costs 8 bytes per kept value plus the row pointers, so it pays only below 50% density; the bitmask
# costs 1/32 of the dense size plus the values.
#
# ## Structured pruning: a smaller dense model
#
# Remove hidden units from a pair of Linear layers: rows of the first, columns of the second. The lecture codes the
# Linear pair; the lab writes the general version with masks, convolutions and a whole MLP.

# %%
def drop_hidden_units(first: nn.Linear, second: nn.Linear, idx: np.ndarray) -> tuple[nn.Linear, nn.Linear]:
    """New Linear layers keeping hidden units idx (sorted ints): rows of first, columns of second."""
    a, b = nn.Linear(first.in_features, len(idx)), nn.Linear(len(idx), second.out_features)
    with torch.no_grad():
        a.weight.copy_(first.weight[idx]), a.bias.copy_(first.bias[idx])
        b.weight.copy_(second.weight[:, idx]), b.bias.copy_(second.bias)
    return a, b


def halve(net: nn.Sequential) -> nn.Sequential:
    """Keep the half of each hidden layer's neurons with the largest L1 row norm."""
    net = copy.deepcopy(net)
    for i, j in ((0, 2), (2, 4)):
        rows = net[i].weight.detach().abs().sum(1).numpy()
        idx = np.sort(np.argsort(-rows, kind="stable")[: len(rows) // 2])
        net[i], net[j] = drop_hidden_units(net[i], net[j], idx)
    return net


halved = halve(model)
masked = copy.deepcopy(model)
with torch.no_grad():
    for i, j in ((0, 2), (2, 4)):
        rows = masked[i].weight.abs().sum(1)
        keep = torch.zeros(len(rows), dtype=torch.bool)
        keep[np.argsort(-rows.numpy(), kind="stable")[: len(rows) // 2]] = True
        masked[i].weight[~keep], masked[i].bias[~keep] = 0.0, 0.0
        masked[j].weight[:, ~keep] = 0.0  # multiplies zeros anyway; keeps the next layer's row norms comparable
    same = torch.equal(halved(x_test).argmax(1), masked(x_test).argmax(1))
    gap = (halved(x_test) - masked(x_test)).abs().max().item()
assert same and gap < 1e-5, gap
print(f"halved model: {[tuple(m.weight.shape) for m in halved if isinstance(m, nn.Linear)]}, largest difference "
      f"from the masked model {gap:.1e}")

# %% [markdown]
# The same holds for convolutions: zeroing filter $j$ of one Conv2d (weights and bias) equals deleting it and input
# channel $j$ of the next.

# %%
torch.manual_seed(0)
conv1, conv2 = nn.Conv2d(1, 8, 3, padding=1), nn.Conv2d(8, 16, 3, padding=1)
keep_f = torch.arange(8) % 2 == 0
small1, small2 = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 16, 3, padding=1)
with torch.no_grad():
    small1.weight.copy_(conv1.weight[keep_f]), small1.bias.copy_(conv1.bias[keep_f])
    small2.weight.copy_(conv2.weight[:, keep_f]), small2.bias.copy_(conv2.bias)
    images = x_test[:32].reshape(-1, 1, 8, 8)
    conv_gap = (small2(torch.relu(small1(images))) - conv2(torch.relu(conv1(images)) * keep_f.view(1, -1, 1, 1)))
assert conv_gap.abs().max() < 1e-5
print(f"4 of 8 filters removed: largest difference {conv_gap.abs().max().item():.1e}")

# %% [markdown]
# ### When does removing half the neurons pay?
#
# Time a 64-h-h-10 MLP against its half-width version at batch 256, for growing $h$. Halving both hidden layers
# divides the middle layer's multiply-adds by 4, but a small layer is dominated by fixed per-call costs; the printed
# line says from which width the speed-up reaches 1.5x here.

# %%
xb = torch.randn(256, 64)
width_rows = []
for h in (100, 300, 1000, 2000):
    full = mlp([64, h, h, 10], seed=0).eval()
    half = halve(full).eval()
    t_full = latency_ms(lambda full=full: full(xb), repeats=20)
    t_half = latency_ms(lambda half=half: half(xb), repeats=20)
    width_rows.append((h, t_full, t_half, t_full / t_half))
for h, tf, th, r in width_rows:
    print(f"h = {h:>4}: full {tf:.3f} ms, half {th:.3f} ms, speed-up {r:.2f}x")
pays_from = next((h for h, *_, r in width_rows if r >= 1.5), None)
lenet_speedup = latency_ms(lambda: model(xb), repeats=20) / latency_ms(lambda: halved(xb), repeats=20)
print(f"LeNet-300-100 halved runs {lenet_speedup:.2f}x faster at batch 256; the speed-up reaches 1.5x from width "
      f"{pays_from if pays_from else 'none of those measured'}")

# %% [markdown]
# ## With PyTorch: prune, fine-tune, and the gradual schedule
#
# Masked fine-tuning: a gradient hook multiplies each weight's gradient by its mask, and a fresh Adam after each
# pruning step holds no momentum for the newly pruned weights, so they stay at zero.

# %%
def global_masks(net: nn.Module, s: float) -> dict[str, torch.Tensor]:
    """Keep-masks removing the fraction s of all Linear weights together, smallest |w| first."""
    named = [(n, m.weight.detach()) for n, m in net.named_modules() if isinstance(m, nn.Linear)]
    flat = torch.cat([w.abs().flatten() for _, w in named]).numpy()
    keep = torch.from_numpy(prune_smallest(flat, round(s * flat.size)))
    return dict(zip([n for n, _ in named], keep.split([w.numel() for _, w in named])))


def train_masked(net: nn.Module, schedule: list[float], epochs_after: int = 0, lr: float = 5e-4) -> None:
    """One epoch per sparsity of schedule (global masks, fresh Adam), then epochs_after more at the last one."""
    mods = dict(net.named_modules())
    for epoch, s in enumerate(schedule + schedule[-1:] * epochs_after):
        masks = {n: m.reshape(mods[n].weight.shape) for n, m in global_masks(net, s).items()}
        hooks = []
        for n, m in masks.items():
            mods[n].weight.data.mul_(m)
            hooks.append(mods[n].weight.register_hook(lambda g, m=m: g * m))
        fit(net, loaders["train"], epochs=1, lr=lr, seed=epoch, desc="prune")
        for h in hooks:
            h.remove()
    net.eval()


def sparsity(net: nn.Module) -> float:
    ws = [m.weight for m in net.modules() if isinstance(m, nn.Linear)]
    return sum(int((w == 0).sum()) for w in ws) / sum(w.numel() for w in ws)


def cubic(t: int, n: int, s_final: float) -> float:
    """Zhu and Gupta's schedule from 0 with t0 = 0 and one pruning step per epoch."""
    return s_final * (1 - (1 - min(t, n) / n) ** 3)


TARGET, RAMP, EXTRA = 0.9, 10, 20
gradual = [cubic(t, RAMP, TARGET) for t in range(1, RAMP + 1)]
iterative = copy.deepcopy(model)
train_masked(iterative, gradual, EXTRA)
one_shot = copy.deepcopy(model)
train_masked(one_shot, [TARGET] * RAMP, EXTRA)
iter_acc, shot_acc = (evaluate(n, loaders["test"])["accuracy"] for n in (iterative, one_shot))
print("cubic schedule:", [round(s, 3) for s in gradual])
print(f"{sparsity(iterative):.1%} sparse: gradual {iter_acc:.2%}, one-shot then fine-tune {shot_acc:.2%} "
      f"(dense {base_accuracy:.2%}), {RAMP + EXTRA} epochs each")
kept_per_layer = {n: f"{int((m.weight != 0).sum())}/{m.weight.numel()}" for n, m in iterative.named_modules()
                  if isinstance(m, nn.Linear)}
print("kept weights per layer after global pruning:", kept_per_layer)

# %% [markdown]
# ### Prune-then-fine-tune against training the small model from scratch
#
# Liu et al. (*Rethinking the Value of Network Pruning*, ICLR 2019) found that a structurally pruned architecture
# trained from scratch often matches the pruned-and-fine-tuned one. Compare: the halved LeNet fine-tuned for 5 epochs,
# and a 64-150-50-10 MLP trained from a fresh initialization for the 25 epochs the dense model plus fine-tuning used.

# %%
tuned_half = copy.deepcopy(halved)
fit(tuned_half, loaders["train"], epochs=5, lr=1e-3, seed=0)
half_acc_before = evaluate(halved, loaders["test"])["accuracy"]
half_acc = evaluate(tuned_half, loaders["test"])["accuracy"]
scratch = mlp([64, 150, 50, 10], seed=1)
fit(scratch, loaders["train"], epochs=25, lr=1e-3, seed=1)
scratch_acc = evaluate(scratch, loaders["test"])["accuracy"]
better = "pruning and fine-tuning" if half_acc > scratch_acc else "training from scratch"
print(f"halved: {half_acc_before:.2%} right after removal, {half_acc:.2%} after 5 epochs of fine-tuning; "
      f"same shape from scratch: {scratch_acc:.2%}; {better} is ahead by "
      f"{100 * abs(half_acc - scratch_acc):.2f} points on this {len(x_test)}-image test set")

# %% tags=["headline"]
loss_unstructured = 100 * (base_accuracy - iter_acc)
loss_structured = 100 * (base_accuracy - half_acc)
print(f"LeNet-300-100 on the digits: {sparsity(iterative):.0%} of weights pruned (gradual, global) at "
      f"{iter_acc:.2%} vs dense {base_accuracy:.2%} ({loss_unstructured:+.2f} points lost)")
print(f"half the hidden neurons removed: {half_acc:.2%} ({loss_structured:+.2f} points), {lenet_speedup:.2f}x faster "
      f"at batch 256 (1 thread); CSR beats dense from sparsity {csr_pays_at}")
assert sparsity(iterative) >= 0.9 and loss_unstructured <= 1.0, (sparsity(iterative), loss_unstructured)
assert loss_structured <= 2.0, loss_structured

# %% [markdown]
# ## Experiments
#
# ### Accuracy against sparsity, one shot without fine-tuning, layer-wise and global
#
# A per-layer sensitivity scan is the same sweep applied to one layer at a time.

# %%
levels = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98]


def pruned_copy(masks: dict[str, np.ndarray]) -> nn.Module:
    net = copy.deepcopy(model)
    for n, m in net.named_modules():
        if n in masks:
            m.weight.data.mul_(torch.from_numpy(masks[n]).reshape(m.weight.shape))
    return net


curves = {"layer-wise": [], "global": []}
sensitivity = {n: [] for n, _ in layers}
for s in levels:
    lw = {n: prune_smallest(m.weight.detach().numpy(), round(s * m.weight.numel())) for n, m in layers}
    curves["layer-wise"].append(evaluate(pruned_copy(lw), loaders["test"])["accuracy"])
    gm = {n: m.numpy() for n, m in global_masks(model, s).items()}
    curves["global"].append(evaluate(pruned_copy(gm), loaders["test"])["accuracy"])
    for n, _ in layers:
        sensitivity[n].append(evaluate(pruned_copy({n: lw[n]}), loaders["test"])["accuracy"])
print(f"{'sparsity':>8} " + " ".join(f"{k:>11}" for k in curves) + " " + " ".join(f"{'only ' + n:>8}" for n in
                                                                                     sensitivity))
for i, s in enumerate(levels):
    print(f"{s:>8.0%} " + " ".join(f"{c[i]:>11.2%}" for c in curves.values()) + " " +
          " ".join(f"{v[i]:>8.2%}" for v in sensitivity.values()))
most = min(sensitivity, key=lambda n: sensitivity[n][-1])
print(f"at {levels[-1]:.0%} the most sensitive layer is {most} ({sensitivity[most][-1]:.2%} when pruned alone)")

# %% tags=["slow"]
fig, ax = new_axes("One-shot magnitude pruning without fine-tuning", "sparsity", "test accuracy")
for name, accs in curves.items():
    ax.plot(levels, accs, marker="o", label=name)
for n, accs in sensitivity.items():
    ax.plot(levels, accs, ls="--", label=f"only layer {n}")
ax.axhline(base_accuracy, color="0.5", ls=":", label="dense")
ax.legend()
plt.show()

# %% [markdown]
# ## Pitfalls
#
# - Count the pruned weights with `round`, as `torch.nn.utils.prune` does; `int(s * n)` is off by one half the time.
# - Zeroing weights once is not enough: without a masked gradient (or a fresh optimizer), fine-tuning regrows them.
# - Removing a neuron means its row, its bias and the **next layer's column**; forgetting the column breaks shapes,
#   forgetting the bias changes outputs.
# - Sparsity alone does not make a dense kernel faster; the timing table shows what it takes on this CPU.
# - Global pruning can empty a small layer; check the kept weights per layer.
#
# ## Summary
#
# - Magnitude pruning with a gradual schedule and masked fine-tuning removes most of LeNet-300-100's weights at the
#   accuracy the headline prints, but the model keeps its dense shape.
# - Removing neurons gives a smaller dense model that computes exactly what the masked one does and runs faster once
#   its layers are wide enough, as measured above.
#
# ## Exercises
#
# 1. Rank neurons by APoZ instead of L1 norm before halving. Which loses less accuracy before fine-tuning?
# 2. Repeat the timing table at batch 1. Where does CSR start to pay now?
# 3. Prune to 95% and 98% with the gradual schedule. Where does the accuracy break?
