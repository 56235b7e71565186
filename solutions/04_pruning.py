# %% [markdown]
# # Lab 4: magnitude and structured pruning
#
# The lecture pruned LeNet-300-100 one layer at a time with a magnitude threshold, timed dense against CSR matrix
# products, removed hidden neurons from one pair of Linear layers and fine-tuned with a cubic schedule. In this lab
# you write the general tools behind those experiments:
#
# | task | you write | checked against |
# |---|---|---|
# | 1 | `magnitude_mask`: exactly round(s n) zeros, any shape | `torch.nn.utils.prune.l1_unstructured` |
# | 2 | `global_magnitude_masks`: one threshold over all layers | `prune.global_unstructured` |
# | 3 | `neuron_l1_importance`, `apoz`: which neurons or filters matter | `prune.ln_structured`, a loop |
# | 4 | `remove_neurons`, `remove_channels`, `shrink_mlp`: a physically smaller model | the masked model's outputs |
# | 5 | `cubic_sparsity`: the gradual schedule of Zhu and Gupta (2017) | its end points |
# | 6 | `csr_nbytes`: the bytes of a CSR matrix | `scipy.sparse.csr_matrix` |
# | 7 | `apply_masks_`, `prune_finetune`: masks that survive optimizer steps | the weights after training |
#
# **How to check your work.** Every task ends in a check cell; the autograder runs hidden tests with other inputs and
# edge cases, so follow each docstring exactly: a `ValueError` message must name the bad argument. Cells tagged
# `slow` (training) are skipped when grading, but run them: that is where your code prunes a real model.

# %%
import copy
import warnings

import numpy as np
import scipy.sparse
import torch
from torch import nn
from torch.nn.utils import prune

from compresslab import check_raises, seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.models import lenet_300_100
from compresslab.train import evaluate, fit

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
seed_everything(0)


def check_fraction(name: str, value) -> float:
    """float(value), or ValueError naming `name` unless value is a real number in [0, 1]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every nn.Linear and nn.Conv2d of model, in named_modules() order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def torch_mask(w: np.ndarray, amount) -> np.ndarray:
    """The mask torch.nn.utils.prune.l1_unstructured computes for weight w and amount (a fraction or a count)."""
    layer = nn.Linear(1, 1, bias=False)
    layer.weight = nn.Parameter(torch.from_numpy(np.asarray(w, dtype=np.float64).reshape(w.shape)))
    prune.l1_unstructured(layer, "weight", amount=amount)
    return layer.weight_mask.numpy().astype(bool)


# %% [markdown]
# ## Task 1: a magnitude mask with an exact count
#
# Unstructured magnitude pruning (Han et al. 2015) zeroes the weights of smallest $|w|$. `torch.nn.utils.prune`
# converts a fraction $s$ of $n$ weights into a count with Python's `round(s * n)`, which rounds half to even
# (0.5 x 5 gives 2, 0.5 x 7 gives 4). Zero exactly that many: sort $|w|$ with a **stable** sort
# (`np.argsort(..., kind="stable")`, so equal magnitudes are pruned in index order) and mark the first `k` False.
# The mask is a bool array of w's shape, True for a weight that is kept.

# %%
def magnitude_mask(w, sparsity: float) -> np.ndarray:
    """Bool mask of w's shape with exactly round(sparsity * w.size) False entries at the smallest |w|.

    Equal magnitudes are pruned in flat index order. sparsity: a number in [0, 1], else ValueError naming sparsity.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 1: k = round(sparsity * w.size); stable argsort of |w|; first k positions False.
    sparsity = check_fraction("sparsity", sparsity)
    w = np.asarray(w)
    k = round(sparsity * w.size)
    mask = np.ones(w.shape, dtype=bool)
    order = np.argsort(np.abs(w).ravel(), kind="stable")
    mask.ravel()[order[:k]] = False
    return mask
    ### END SOLUTION


# %%
w = np.random.default_rng(0).normal(size=(7, 5))
for s in (0.0, 0.1, 0.5, 0.9, 1.0):
    assert np.array_equal(magnitude_mask(w, s), torch_mask(w, s)), f"sparsity {s}: differs from prune"
assert (~magnitude_mask(np.arange(1.0, 6.0), 0.5)).sum() == 2, "round(0.5 * 5) = 2: half to even"
assert (~magnitude_mask(np.arange(1.0, 8.0), 0.5)).sum() == 4, "round(0.5 * 7) = 4"
check_raises(magnitude_mask, w, 1.5, names="sparsity")
print("magnitude_mask equals prune.l1_unstructured's mask at every sparsity")

# %% [markdown]
# ## Task 2: global magnitude pruning
#
# Layer-wise pruning removes the same fraction of every layer. Global pruning ranks the weights of **all** layers
# together and removes the round(s N) smallest of the N weights, so a layer with many small weights loses more.
# Concatenate the flattened $|w|$ of the layers in order, take a stable argsort, and split the mask back.

# %%
def global_magnitude_masks(weights: list, sparsity: float) -> list:
    """Bool masks (one per array, of its shape) removing round(sparsity * N) smallest |w| of all N weights together.

    Ties are pruned in the order of the concatenated flat arrays. ValueError naming sparsity or weights (an empty list).
    """
    ### BEGIN SOLUTION
    ### HINT: Task 2: one magnitude_mask of the concatenated |w|, split back at the layers' sizes.
    sparsity = check_fraction("sparsity", sparsity)
    weights = [np.asarray(w) for w in weights]
    if not weights:
        raise ValueError("weights must hold at least one array")
    flat = np.concatenate([np.abs(w).ravel() for w in weights])
    mask = magnitude_mask(flat, sparsity)
    splits = np.cumsum([w.size for w in weights])[:-1]
    return [m.reshape(w.shape) for m, w in zip(np.split(mask, splits), weights)]
    ### END SOLUTION


# %%
rng = np.random.default_rng(1)
ws = [rng.normal(0, 1.0, (6, 4)), rng.normal(0, 0.1, (3, 6)), rng.normal(0, 0.5, 5)]
layers = [nn.Linear(1, 1, bias=False) for _ in ws]
for layer, w in zip(layers, ws):
    layer.weight = nn.Parameter(torch.from_numpy(w))
prune.global_unstructured([(m, "weight") for m in layers], pruning_method=prune.L1Unstructured, amount=0.6)
for ours, layer in zip(global_magnitude_masks(ws, 0.6), layers):
    assert np.array_equal(ours, layer.weight_mask.numpy().astype(bool))
print("kept per layer:", [int(m.sum()) for m in global_magnitude_masks(ws, 0.6)], "of", [w.size for w in ws])

# %% [markdown]
# ## Task 3: the importance of a neuron or a filter
#
# A neuron is a row of a Linear weight (out, in); a filter is a slice of a Conv2d weight (out, in, kH, kW) along
# axis 0. Its **L1 importance** (Li et al. 2017) is the sum of $|w|$ over every axis except `axis`; axis 1 ranks the
# inputs instead. The **average percentage of zeros** (APoZ, Hu et al. 2016) of a unit is the fraction of its outputs
# that are zero after the ReLU, over a batch of activations (N, C) or (N, C, H, W): the mean over every axis except
# axis 1. Count a value as zero when it is <= 0, so pre-activations give the same answer as the ReLU's outputs.

# %%
def neuron_l1_importance(w, axis: int) -> np.ndarray:
    """float64 (w.shape[axis],): the sum of |w| over every other axis. ValueError naming axis if out of range."""
    ### BEGIN SOLUTION
    ### HINT: Task 3: np.abs(w).sum over the tuple of all axes except axis (negative axis allowed).
    w = np.asarray(w, dtype=np.float64)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -w.ndim <= axis < w.ndim:
        raise ValueError(f"axis must be an int in [{-w.ndim}, {w.ndim}), got {axis!r}")
    axis = int(axis) % w.ndim
    return np.abs(w).sum(axis=tuple(a for a in range(w.ndim) if a != axis))
    ### END SOLUTION


def apoz(activations) -> np.ndarray:
    """float64 (C,): the fraction of entries <= 0 of each unit (axis 1) of activations (N, C) or (N, C, H, W).

    ValueError naming activations if it has fewer than 2 dimensions or no entry.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 3: mean of (activations <= 0) over every axis except 1.
    a = activations.detach().cpu().numpy() if isinstance(activations, torch.Tensor) else np.asarray(activations)
    if a.ndim < 2 or a.size == 0:
        raise ValueError(f"activations must be (N, C, ...) with entries, got shape {a.shape}")
    return (a <= 0).mean(axis=tuple(i for i in range(a.ndim) if i != 1)).astype(np.float64)
    ### END SOLUTION


# %%
conv_w = torch.arange(1.0, 5.0).reshape(4, 1, 1, 1).expand(4, 3, 3, 3).contiguous()
conv = nn.Conv2d(3, 4, 3)
conv.weight = nn.Parameter(conv_w.clone())
prune.ln_structured(conv, "weight", amount=0.5, n=1, dim=0)
kept = conv.weight_mask.flatten(1).all(1).numpy()
imp = neuron_l1_importance(conv_w.numpy(), 0)
assert np.array_equal(kept, imp >= np.sort(imp)[2]), (kept, imp)
acts = torch.relu(torch.randn(50, 6, 3, 3, generator=torch.Generator().manual_seed(0)) - 0.5)
assert np.allclose(apoz(acts), [(acts[:, c] == 0).float().mean().item() for c in range(6)])
check_raises(neuron_l1_importance, np.ones((2, 3)), 2, names="axis")
print("L1 importance of the filters:", imp, "APoZ:", apoz(acts).round(2))

# %% [markdown]
# ## Task 4: removing neurons and filters
#
# Pruning hidden unit $j$ of a pair of layers removes row $j$ of the first weight, entry $j$ of its bias **and column
# $j$ of the next layer's weight**. The smaller model computes exactly what the masked one does, because a zeroed
# unit outputs ReLU(0) = 0 and contributes nothing downstream. `keep` is a bool mask over the units or an array of
# distinct unit indices; the kept units stay in ascending order.
#
# `remove_channels` does the same for two nn.Conv2d (groups 1): new layers with the first one's filters `keep`
# (weights and bias) and the second one's input channels `keep`, and every other setting (kernel size, stride,
# padding, dilation, bias or not, padding mode) copied. `shrink_mlp` applies it to every hidden Linear of an
# nn.Sequential of Linear layers and parameter-free activations: keep the max(1, round(keep_ratio * out)) units of
# largest L1 importance (ties to the lower index), and return a new model without touching the input.

# %%
def keep_indices(keep, n: int) -> np.ndarray:
    """Sorted int64 indices of the kept units from a bool mask of length n or distinct indices in [0, n)."""
    keep = keep.detach().cpu().numpy() if isinstance(keep, torch.Tensor) else np.asarray(keep)
    if keep.dtype == bool:
        if keep.shape != (n,):
            raise ValueError(f"keep as a mask must have shape ({n},), got {keep.shape}")
        idx = np.flatnonzero(keep)
    elif keep.dtype.kind in "iu" and keep.ndim == 1:
        idx = np.sort(keep.astype(np.int64))
        if idx.size and (idx[0] < 0 or idx[-1] >= n or np.any(np.diff(idx) == 0)):
            raise ValueError(f"keep must hold distinct indices in [0, {n}), got {keep}")
    else:
        raise ValueError(f"keep must be a bool mask or an int index array, got dtype {keep.dtype}")
    if idx.size == 0:
        raise ValueError("keep must keep at least one unit")
    return idx


def remove_neurons(w1, b1, w2, keep) -> tuple:
    """(w1[kept], b1[kept] or None, w2[:, kept]) for w1 (h, in), b1 (h,) or None, w2 (out, h).

    ValueError naming w2 (or b1) when the shapes disagree, keep when it is not a valid mask or index array.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 4: rows of w1 and entries of b1, and the COLUMNS of w2, at the kept indices.
    w1, w2 = np.asarray(w1), np.asarray(w2)
    if w1.ndim != 2 or w2.ndim != 2 or w2.shape[1] != w1.shape[0]:
        raise ValueError(f"w2 must be (out, {w1.shape[0]}) for w1 {w1.shape}, got {w2.shape}")
    if b1 is not None and np.shape(b1) != (w1.shape[0],):
        raise ValueError(f"b1 must have shape ({w1.shape[0]},), got {np.shape(b1)}")
    idx = keep_indices(keep, w1.shape[0])
    return w1[idx], None if b1 is None else np.asarray(b1)[idx], w2[:, idx]
    ### END SOLUTION


def remove_channels(conv1: nn.Conv2d, conv2: nn.Conv2d, keep) -> tuple[nn.Conv2d, nn.Conv2d]:
    """New (conv1', conv2'): conv1's filters `keep` and conv2's input channels `keep`, other settings unchanged.

    ValueError naming conv1 or conv2 for grouped convolutions or mismatched channels, keep for a bad keep.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 4: two nn.Conv2d with the same settings (and bias!); copy the kept slices.
    if conv1.groups != 1 or conv2.groups != 1:
        raise ValueError("conv1 and conv2 must have groups=1")
    if conv2.in_channels != conv1.out_channels:
        raise ValueError(f"conv2 takes {conv2.in_channels} channels, conv1 gives {conv1.out_channels}")
    idx = torch.from_numpy(keep_indices(keep, conv1.out_channels))

    def like(conv: nn.Conv2d, c_in: int, c_out: int) -> nn.Conv2d:
        return nn.Conv2d(c_in, c_out, conv.kernel_size, stride=conv.stride, padding=conv.padding,
                         dilation=conv.dilation, bias=conv.bias is not None, padding_mode=conv.padding_mode,
                         dtype=conv.weight.dtype)

    new1 = like(conv1, conv1.in_channels, len(idx))
    new2 = like(conv2, len(idx), conv2.out_channels)
    with torch.no_grad():
        new1.weight.copy_(conv1.weight[idx])
        if conv1.bias is not None:
            new1.bias.copy_(conv1.bias[idx])
        new2.weight.copy_(conv2.weight[:, idx])
        if conv2.bias is not None:
            new2.bias.copy_(conv2.bias)
    return new1, new2
    ### END SOLUTION


def shrink_mlp(model: nn.Sequential, keep_ratio: float) -> nn.Sequential:
    """A new, smaller copy of model: every hidden Linear keeps its max(1, round(keep_ratio * out)) most important
    units (L1 of their weight rows, ties to the lower index), the next Linear the matching inputs.

    keep_ratio in (0, 1], else ValueError naming keep_ratio; ValueError naming model if it has a module with
    parameters that is not an nn.Linear.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 4: deepcopy; per hidden Linear keep the top L1 rows and the next Linear's columns.
    keep_ratio = check_fraction("keep_ratio", keep_ratio)
    if keep_ratio == 0.0:
        raise ValueError("keep_ratio must be in (0, 1], got 0")
    new = copy.deepcopy(model)
    positions = [i for i, m in enumerate(new) if isinstance(m, nn.Linear)]
    if any(not isinstance(m, nn.Linear) and any(True for _ in m.parameters()) for m in new):
        raise ValueError("model must hold only nn.Linear layers and parameter-free modules")
    for i, j in zip(positions[:-1], positions[1:]):
        a, b = new[i], new[j]
        w1 = a.weight.detach().numpy()
        n_keep = max(1, round(keep_ratio * w1.shape[0]))
        order = np.argsort(-neuron_l1_importance(w1, 0), kind="stable")[:n_keep]
        bias = None if a.bias is None else a.bias.detach().numpy()
        w1k, b1k, w2k = remove_neurons(w1, bias, b.weight.detach().numpy(), np.sort(order))
        new_a = nn.Linear(a.in_features, n_keep, bias=a.bias is not None)
        new_b = nn.Linear(n_keep, b.out_features, bias=b.bias is not None)
        with torch.no_grad():
            new_a.weight.copy_(torch.from_numpy(w1k))
            if b1k is not None:
                new_a.bias.copy_(torch.from_numpy(b1k))
            new_b.weight.copy_(torch.from_numpy(w2k))
            if b.bias is not None:
                new_b.bias.copy_(b.bias)
        new[i], new[j] = new_a, new_b
    return new
    ### END SOLUTION


# %%
rng = np.random.default_rng(2)
w1, b1, w2 = rng.normal(size=(6, 4)), rng.normal(size=6), rng.normal(size=(3, 6))
keep = np.array([True, False, True, True, False, True])
s1, sb, s2 = remove_neurons(w1, b1, w2, keep)
x = rng.normal(size=(5, 4))
masked = np.maximum(x @ (w1 * keep[:, None]).T + b1 * keep, 0) @ w2.T
assert np.allclose(np.maximum(x @ s1.T + sb, 0) @ s2.T, masked), "the small layers compute the masked ones"
torch.manual_seed(0)
c1, c2 = nn.Conv2d(2, 6, 3, padding=1), nn.Conv2d(6, 4, 3, padding=1)
keep_c = torch.tensor([True, True, False, True, False, False])
n1, n2 = remove_channels(c1, c2, keep_c)
xi = torch.randn(2, 2, 8, 8)
with torch.no_grad():
    small_out = n2(torch.relu(n1(xi)))
    masked_out = c2(torch.relu(c1(xi)) * keep_c.view(1, -1, 1, 1))
assert torch.allclose(small_out, masked_out, atol=1e-6) and n1.weight.shape == (3, 2, 3, 3)
net = nn.Sequential(nn.Linear(8, 10), nn.ReLU(), nn.Linear(10, 6), nn.ReLU(), nn.Linear(6, 3))
small = shrink_mlp(net, 0.5)
assert [m.weight.shape for m in small if isinstance(m, nn.Linear)] == [(5, 8), (3, 5), (3, 3)]
check_raises(remove_neurons, w1, b1, w2[:, :5], keep, names="w2")
print("shrink_mlp:", net, "->", small)

# %% [markdown]
# ## Task 5: the gradual cubic schedule
#
# Zhu and Gupta (2017, Eq. 1) raise the sparsity from $s_i$ to $s_f$ over $n$ pruning steps taken every $\Delta t$
# training steps from step $t_0$:
# $$s_t = s_f + (s_i - s_f)\left(1 - \frac{t - t_0}{n \Delta t}\right)^3, \quad t \in \{t_0, t_0 + \Delta t, \dots,
# t_0 + n \Delta t\}.$$
# Between pruning steps the sparsity stays at the last pruning step's value; before $t_0$ it is $s_i$, after
# $t_0 + n\Delta t$ it is $s_f$.

# %%
def cubic_sparsity(step, s_init, s_final, start, n_steps, freq) -> float:
    """The sparsity at training step `step` (an int >= 0) of the cubic schedule above.

    s_init <= s_final in [0, 1]; start >= 0, n_steps >= 1, freq >= 1 ints; else ValueError naming the argument.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 5: k = (step - start) // freq clipped to [0, n_steps]; the cubic of k / n_steps.
    s_init, s_final = check_fraction("s_init", s_init), check_fraction("s_final", s_final)
    if s_init > s_final:
        raise ValueError(f"s_init must be <= s_final, got {s_init} > {s_final}")
    for name, value, low in (("step", step, 0), ("start", start, 0), ("n_steps", n_steps, 1), ("freq", freq, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if step < start:
        return s_init
    t = min((step - start) // freq, n_steps)
    return float(s_final + (s_init - s_final) * (1.0 - t / n_steps) ** 3)
    ### END SOLUTION


# %%
sched = [cubic_sparsity(t, 0.0, 0.9, 10, 4, 5) for t in range(40)]
assert sched[9] == 0.0 and sched[10] == 0.0 and sched[30] == 0.9 and sched[39] == 0.9
assert sched[15] == sched[19] == 0.9 + (0.0 - 0.9) * 0.75**3 and all(np.diff(sched) >= 0)
print("schedule:", [round(s, 3) for s in sched[8:32:2]])

# %% [markdown]
# ## Task 6: the bytes of a CSR matrix
#
# Compressed sparse row storage keeps, for a 2-D matrix with nnz nonzeros and $r$ rows, the nnz values (in w's
# dtype), the nnz column indices and the $r + 1$ row pointers (both in `index_dtype`).

# %%
def csr_nbytes(w, index_dtype=np.int32) -> int:
    """Bytes of w (2-D) in CSR: nnz values of w.dtype, nnz column indices and rows + 1 row pointers of index_dtype.

    ValueError naming w if it is not 2-D, index_dtype if it is not an integer dtype.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 6: nnz * (value bytes + index bytes) + (rows + 1) * index bytes.
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError(f"w must be 2-D, got shape {w.shape}")
    index = np.dtype(index_dtype)
    if index.kind not in "iu":
        raise ValueError(f"index_dtype must be an integer dtype, got {index}")
    nnz = int(np.count_nonzero(w))
    return nnz * (w.dtype.itemsize + index.itemsize) + (w.shape[0] + 1) * index.itemsize
    ### END SOLUTION


# %%
w = np.random.default_rng(3).normal(size=(20, 30)).astype(np.float32)
w[magnitude_mask(w, 0.8) == 0] = 0
csr = scipy.sparse.csr_matrix(w)
assert csr_nbytes(w) == csr.data.nbytes + csr.indices.nbytes + csr.indptr.nbytes
t_csr = torch.from_numpy(w).to_sparse_csr()
assert csr_nbytes(w, np.int64) == sum(t.numel() * t.element_size()
                                      for t in (t_csr.values(), t_csr.col_indices(), t_csr.crow_indices()))
print(f"dense {w.nbytes} bytes, CSR int32 {csr_nbytes(w)} bytes, bitmask + values {w.size // 8 + 4 * csr.nnz}")

# %% [markdown]
# ## Task 7: masks that survive training
#
# `apply_masks_(model, masks)` takes {module name: bool mask of its weight}; it zeroes the pruned weights in place and
# registers a hook on each masked weight (`Tensor.register_hook`) that multiplies its gradient by the mask, so that an
# optimizer created afterwards never moves a pruned weight (SGD, momentum, weight decay and Adam all keep a weight
# with zero gradient and zero state at zero). Calling it again replaces the previous hooks (keep their handles in a
# dict attribute `model._mask_hooks`).
#
# `prune_finetune(model, schedule, train_loader, lr, seed)` runs one epoch per entry $s$ of `schedule` (a
# non-decreasing list of sparsities): prune every Linear and Conv2d weight layer-wise to $s$ with `magnitude_mask`,
# `apply_masks_`, seed with `torch.manual_seed(seed + epoch)`, create a **new** Adam and train one epoch with
# cross-entropy. It returns the last masks and leaves the model in eval mode.

# %%
def apply_masks_(model: nn.Module, masks: dict) -> nn.Module:
    """Zero model's pruned weights and keep them at zero through optimizer steps (gradient hooks); return model.

    masks: {module name: bool tensor or array of that module's weight shape}; ValueError naming masks otherwise.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 7: zero the weights, weight.register_hook(lambda g: g * mask); drop old hooks.
    modules = dict(model.named_modules())
    tensors = {}
    for name, mask in masks.items():
        if name not in modules or getattr(modules[name], "weight", None) is None:
            raise ValueError(f"masks names {name!r}, which is not a module with a weight")
        mask = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask)
        if mask.shape != modules[name].weight.shape:
            raise ValueError(f"masks[{name!r}] has shape {tuple(mask.shape)}, the weight "
                             f"{tuple(modules[name].weight.shape)}")
        tensors[name] = mask.to(torch.bool)
    for handle in getattr(model, "_mask_hooks", {}).values():
        handle.remove()
    model._mask_hooks = {}
    for name, mask in tensors.items():
        weight = modules[name].weight
        keep = mask.to(weight.dtype)
        with torch.no_grad():
            weight.mul_(keep)
        model._mask_hooks[name] = weight.register_hook(lambda g, keep=keep: g * keep)
    return model
    ### END SOLUTION


def prune_finetune(model: nn.Module, schedule, train_loader, lr: float = 1e-3, seed: int = 0) -> dict:
    """Iterative layer-wise magnitude pruning: one epoch of Adam per sparsity of schedule; return the last masks.

    The masks are {module name: bool tensor} for every nn.Linear and nn.Conv2d. ValueError naming schedule if it is
    empty, decreasing or leaves [0, 1].
    """
    ### BEGIN SOLUTION
    ### HINT: Task 7: per s: magnitude masks, apply_masks_, seed, a NEW Adam, one epoch.
    schedule = [check_fraction("schedule", s) for s in schedule]
    if not schedule or any(b < a for a, b in zip(schedule, schedule[1:])):
        raise ValueError(f"schedule must be a non-empty non-decreasing list, got {schedule}")
    loss_fn = nn.CrossEntropyLoss()
    masks = {}
    for epoch, s in enumerate(schedule):
        masks = {name: torch.from_numpy(magnitude_mask(m.weight.detach().cpu().numpy(), s))
                 for name, m in weight_layers(model)}
        apply_masks_(model, masks)
        torch.manual_seed(seed + epoch)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        model.train()
        for x, y in train_loader:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
    model.eval()
    return masks
    ### END SOLUTION


# %%
torch.manual_seed(0)
net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
batches = [(torch.randn(16, 8), torch.randint(0, 3, (16,))) for _ in range(4)]
masks = {"0": torch.rand(16, 8) > 0.5}
apply_masks_(net, masks)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
for x, y in batches:
    opt.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
assert torch.all(net[0].weight[~masks["0"]] == 0), "pruned weights must stay at zero"
final = prune_finetune(net, [0.3, 0.6, 0.8], batches, lr=1e-2)
for name, m in weight_layers(net):
    assert (m.weight == 0).sum().item() == round(0.8 * m.weight.numel()), name
print("sparsity after prune_finetune:", {n: round(1 - m.float().mean().item(), 3) for n, m in final.items()})

# %% [markdown]
# ## Experiments on the digits
#
# Train LeNet-300-100, then prune it to 90% with your cubic schedule over 8 epochs, and shrink it to half its hidden
# neurons and fine-tune.

# %% tags=["slow"]
digits = load_digits_dataset()
loaders = make_loaders(digits, batch_size=64)
net = lenet_300_100()
fit(net, loaders["train"], epochs=20, lr=1e-3, seed=0)
base_acc = evaluate(net, loaders["test"])["accuracy"]
pruned = copy.deepcopy(net)
schedule = [cubic_sparsity(e, 0.0, 0.9, 0, 6, 1) for e in range(8)]
prune_finetune(pruned, schedule, loaders["train"])
small = shrink_mlp(net, 0.5)
fit(small, loaders["train"], epochs=5, lr=1e-3, seed=0)
print(f"dense {base_acc:.2%}; 90% sparse {evaluate(pruned, loaders['test'])['accuracy']:.2%}; "
      f"half the neurons {evaluate(small, loaders['test'])['accuracy']:.2%}")

# %% [markdown]
# **Question.** How many of LeNet-300-100's weights does the 90% sparse model store in CSR, in bytes, against the
# dense model and the half-width model? Which of the two would you ship to a CPU, and why?

# %% [markdown] tags=["answer"]
# The 90% sparse model stores about a tenth of the values but pays an index per value; the half-width model is a
# dense model with about a quarter of the hidden weights and runs on ordinary dense kernels, so it is the faster one.
