# %% [markdown]
# # Lab 9: early exits and dynamic width
#
# The lecture trained a multi-exit MLP, simulated maximum-probability exits from outputs it had already computed for
# every sample, and sliced one MLP's weights to run it narrower. In this lab you write the general tools, and an
# early-exit predictor that really stops computing for the samples that have left:
#
# | task | you write | checked against |
# |---|---|---|
# | 1 | `entropy`: the entropy of probability vectors, safe at $p = 0$ | `scipy.stats.entropy` |
# | 2 | `exit_decisions`: maximum-probability and entropy exit rules | a loop over samples |
# | 3 | `average_macs`: per-sample compute up to the exit taken | a hand count |
# | 4 | `threshold_sweep`: accuracy and average MACs per threshold | Tasks 2 and 3 |
# | 5 | `MultiExitMLP`: blocks with an exit head after each, and its MACs per stage | `compresslab.measure.count_macs` |
# | 6 | `multi_exit_loss`: the weighted sum of exit losses | `nn.functional.cross_entropy` |
# | 7 | `early_exit_predict`: exits that skip the remaining blocks | Task 2 on the full outputs |
# | 8 | `SlimmableLinear`, `SlimmableMLP`: one set of weights, any width | a separately built narrow MLP |
#
# **How to check your work.** Every task ends in a check cell; the autograder runs hidden tests with other inputs and
# edge cases, so follow each docstring exactly: a `ValueError` message must name the bad argument. Cells tagged
# `slow` (training and plots) are skipped when grading, but run them: that is where your code saves real compute.

# %%
import math

import numpy as np
import scipy.stats
import torch
from torch import nn

from compresslab import check_raises, seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.measure import count_macs, latency_ms
from compresslab.models import mlp

seed_everything(0)
RULES = ("maxprob", "entropy")


# %% [markdown]
# ## Task 1: entropy
#
# The entropy of a probability vector, in nats: $H(p) = -\sum_c p_c \ln p_c$, with $0 \ln 0 = 0$ (the limit of
# $p \ln p$ as $p \to 0$). A softmax in float32 does return exact zeros for very confident outputs, and `np.log(0)`
# is $-\infty$, so the naive formula gives $0 \cdot (-\infty) = $ NaN, and NaN fails every threshold test. (The
# BranchyNet paper prints the formula without its minus sign; the entropy is never negative.)

# %%
def entropy(p, axis: int = -1) -> np.ndarray:
    """Entropy in nats of the probability vectors of p along `axis`: float64, p's shape without that axis.

    Entries equal to 0 contribute 0. Raises ValueError naming p if an entry is negative or not finite.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 1: check p; sum -p * log(p), zero entries contributing 0 (take log(1) there).
    p = np.asarray(p, dtype=np.float64)
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("p must hold finite, non-negative probabilities")
    safe = np.where(p > 0, p, 1.0)
    return 0.0 - (p * np.log(safe)).sum(axis=axis)  # 0.0 - x: no -0.0 for one-hot rows
    ### END SOLUTION


# %%
rng = np.random.default_rng(0)
probs = rng.dirichlet(np.ones(10) * 0.3, size=50)
probs[:5] = np.eye(10)[:5]  # one-hot rows: exact zeros
ours = entropy(probs)
ref = scipy.stats.entropy(probs, axis=1)
assert np.isfinite(ours).all(), f"entropy must be finite at p = 0, got {ours[:5]}"
assert np.allclose(ours, ref, atol=1e-12), (ours[:3], ref[:3])
assert np.allclose(entropy(probs.T, axis=0), ref), "axis=0 sums down the columns"
check_raises(entropy, np.array([0.5, -0.1, 0.6]), names="p")
print("entropy matches scipy.stats.entropy; one-hot rows:", ours[:5])

# %% [markdown]
# ## Task 2: exit rules
#
# `probs_per_exit` holds one (N, C) array of softmax probabilities per exit, shallowest first. A sample leaves at the
# **first** exit whose rule fires:
#
# - `"maxprob"`: the largest probability is at least the threshold, $\max_c p_c \ge T$;
# - `"entropy"`: the entropy (Task 1) is at most the threshold, $H(p) \le T$ (BranchyNet, Section III-C, writes
#   $H(p) < T$; here a sample exactly at the threshold leaves under both rules).
#
# The last exit takes every sample still left, whatever its confidence. The prediction is the argmax (ties to the
# lower class, as `np.argmax`) of the exit the sample took.

# %%
def exit_decisions(probs_per_exit: list, threshold: float, rule: str = "maxprob") -> tuple[np.ndarray, np.ndarray]:
    """(predictions int64 (N,), exit index int64 (N,) in 0..E-1) for E arrays of probabilities of shape (N, C).

    Raises ValueError naming rule (not "maxprob" or "entropy") or probs_per_exit (empty, or shapes that differ).
    """
    ### BEGIN SOLUTION
    ### HINT: Task 2: everyone at the last exit; from the shallowest exit, assign the unassigned.
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if len(probs_per_exit) == 0:
        raise ValueError("probs_per_exit must hold at least one exit")
    probs = [np.asarray(p, dtype=np.float64) for p in probs_per_exit]
    if any(p.ndim != 2 or p.shape != probs[0].shape for p in probs):
        raise ValueError(f"probs_per_exit must be arrays of one shape (N, C), got {[p.shape for p in probs]}")
    n = probs[0].shape[0]
    exit_index = np.full(n, len(probs) - 1, dtype=np.int64)
    predictions = probs[-1].argmax(axis=1).astype(np.int64)
    left = np.ones(n, dtype=bool)
    for i, p in enumerate(probs[:-1]):
        confident = p.max(axis=1) >= threshold if rule == "maxprob" else entropy(p, axis=1) <= threshold
        leave = left & confident
        exit_index[leave] = i
        predictions[leave] = p[leave].argmax(axis=1)
        left &= ~leave
    return predictions, exit_index
    ### END SOLUTION


# %%
p0 = np.array([[0.9, 0.1], [0.6, 0.4], [0.5, 0.5]])
p1 = np.array([[0.2, 0.8], [0.95, 0.05], [0.3, 0.7]])
p2 = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
pred, ex = exit_decisions([p0, p1, p2], 0.9)
assert ex.tolist() == [0, 1, 2] and pred.tolist() == [0, 0, 0], (pred, ex)
pred, ex = exit_decisions([p0, p1, p2], 0.5, rule="entropy")
assert ex.tolist() == [0, 1, 2], f"entropies {entropy(p0).round(3)}, {entropy(p1).round(3)}: expected exits [0, 1, 2]"
pred, ex = exit_decisions([p0, p1, p2], 2.0)
assert ex.tolist() == [2, 2, 2], "no sample is confident enough: the last exit takes them all"
check_raises(exit_decisions, [p0], 0.5, "margin", names="rule")
check_raises(exit_decisions, [p0, p1[:2]], 0.5, names="probs_per_exit")
print("exit_decisions:", pred.tolist(), ex.tolist())

# %% [markdown]
# ## Task 3: compute per sample
#
# `macs_per_exit[i]` is the cost of stage $i$: block $i$ and its exit head. A sample that leaves at exit $e$ has
# paid for every stage up to and including $e$, $\sum_{i \le e}$ `macs_per_exit[i]`, not for stage $e$ alone.

# %%
def average_macs(exit_index, macs_per_exit) -> float:
    """Mean over samples of the cumulative MACs up to each sample's exit.

    Raises ValueError naming exit_index if it is empty or holds an index outside [0, len(macs_per_exit)).
    """
    ### BEGIN SOLUTION
    ### HINT: Task 3: np.cumsum of the stage costs, indexed by each sample's exit, then the mean.
    exit_index = np.asarray(exit_index)
    cumulative = np.cumsum(np.asarray(macs_per_exit, dtype=np.float64))
    if exit_index.size == 0 or exit_index.dtype.kind not in "iu" or exit_index.min() < 0 \
            or exit_index.max() >= cumulative.size:
        raise ValueError(f"exit_index must be a non-empty array of ints in [0, {cumulative.size})")
    return float(cumulative[exit_index].mean())
    ### END SOLUTION


# %%
assert average_macs(np.array([0, 1, 2, 2]), [100, 50, 50]) == (100 + 150 + 200 + 200) / 4
assert average_macs(np.array([0, 0]), [7, 1000]) == 7.0
check_raises(average_macs, np.array([0, 3]), [1, 2, 3], names="exit_index")
print("average_macs of exits [0, 1, 2, 2] with stages [100, 50, 50]:", average_macs(np.array([0, 1, 2, 2]),
                                                                                      [100, 50, 50]))

# %% [markdown]
# ## Task 4: the threshold sweep
#
# For each threshold, in the order given: the threshold, the accuracy of the exit decisions against `labels`, and the
# average MACs, as a tuple of three floats.

# %%
def threshold_sweep(probs_per_exit, labels, thresholds, macs_per_exit,
                    rule: str = "maxprob") -> list[tuple[float, float, float]]:
    """[(threshold, accuracy, average MACs), ...] for each threshold in order (floats).

    Raises ValueError naming labels unless it holds one label per sample (shape (N,)).
    """
    ### BEGIN SOLUTION
    ### HINT: Task 4: check labels; per threshold: exit_decisions, its accuracy, average_macs.
    labels = np.asarray(labels)
    n = len(probs_per_exit[0]) if len(probs_per_exit) > 0 else None  # an empty list: exit_decisions raises
    if n is not None and labels.shape != (n,):
        raise ValueError(f"labels must hold one label per sample, shape ({n},), got {labels.shape}")
    out = []
    for t in thresholds:
        pred, ex = exit_decisions(probs_per_exit, t, rule)
        out.append((float(t), float(np.mean(pred == labels)), average_macs(ex, macs_per_exit)))
    return out
    ### END SOLUTION


# %%
sweep = threshold_sweep([p0, p1, p2], np.array([0, 0, 1]), [0.5, 0.9, 2.0], [10, 20, 30])
assert np.allclose([a for _, a, _ in sweep], [2 / 3, 2 / 3, 0.0]), f"accuracies: expected [2/3, 2/3, 0], got {sweep}"
assert np.allclose([m for _, _, m in sweep], [10.0, 100 / 3, 60.0]), f"MACs: expected [10, 33.3, 60], got {sweep}"
check_raises(threshold_sweep, [p0, p1, p2], np.array([0, 0]), [0.5], [10, 20, 30], names="labels")
print(sweep)

# %% [markdown]
# ## Task 5: a multi-exit MLP
#
# `MultiExitMLP(in_features, hidden, num_classes)` holds `self.blocks`, an `nn.ModuleList` with, for each width $h_i$
# of `hidden`, `nn.Sequential(nn.Linear(h_{i-1}, h_i), nn.ReLU())` ($h_{-1}$ is `in_features`), and `self.exits`, an
# `nn.ModuleList` of `nn.Linear(h_i, num_classes)`, one after each block. `forward(x)` returns the list of every
# exit's logits, shallowest first. `macs_per_exit()` returns each stage's multiply-accumulates per sample (block $i$
# and exit $i$, weights only: $h_{i-1} h_i + h_i \cdot$ `num_classes`).

# %%
class MultiExitMLP(nn.Module):
    """Blocks Linear+ReLU with a Linear exit head after each; forward returns a list of (N, num_classes) logits."""

    def __init__(self, in_features: int = 64, hidden: tuple = (128, 128, 128), num_classes: int = 10):
        super().__init__()
        ### BEGIN SOLUTION
        ### HINT: Task 5: self.blocks, self.exits as nn.ModuleList; widths chained from in_features.
        if len(hidden) == 0:
            raise ValueError("hidden must hold at least one width")
        widths = [in_features, *hidden]
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(a, b), nn.ReLU()) for a, b in zip(widths, widths[1:])])
        self.exits = nn.ModuleList([nn.Linear(h, num_classes) for h in hidden])
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        ### BEGIN SOLUTION
        ### HINT: Task 5: run the blocks in order and collect exit i's logits after block i.
        out = []
        for block, head in zip(self.blocks, self.exits):
            x = block(x)
            out.append(head(x))
        return out
        ### END SOLUTION

    def macs_per_exit(self) -> list[int]:
        """MACs per sample of each stage: block i's Linear plus exit head i."""
        ### BEGIN SOLUTION
        ### HINT: Task 5: in_features * out_features of block i's Linear plus that of exit i.
        return [b[0].in_features * b[0].out_features + e.in_features * e.out_features
                for b, e in zip(self.blocks, self.exits)]
        ### END SOLUTION


# %%
net = MultiExitMLP(12, (16, 8), 3)
outs = net(torch.randn(5, 12))
assert [tuple(o.shape) for o in outs] == [(5, 3), (5, 3)], [o.shape for o in outs]
assert net.macs_per_exit() == [12 * 16 + 16 * 3, 16 * 8 + 8 * 3], net.macs_per_exit()
backbone = nn.Sequential(*net.blocks, net.exits[-1])
assert count_macs(backbone, (12,)) == 12 * 16 + 16 * 8 + 8 * 3, "without the early heads: the plain MLP's MACs"
assert list(net.state_dict())[:2] == ["blocks.0.0.weight", "blocks.0.0.bias"], list(net.state_dict())
print("stage MACs:", net.macs_per_exit())

# %% [markdown]
# ## Task 6: the training loss
#
# BranchyNet trains all exits jointly on $L = \sum_i w_i\, \mathrm{CE}(\hat y_i, y)$ (Section III-B), each
# cross-entropy averaged over the batch.

# %%
def multi_exit_loss(logits_list, y: torch.Tensor, weights) -> torch.Tensor:
    """Scalar sum_i weights[i] * cross_entropy(logits_list[i], y). ValueError naming weights if lengths differ."""
    ### BEGIN SOLUTION
    ### HINT: Task 6: check the lengths, then sum weight times nn.functional.cross_entropy per exit.
    if len(weights) != len(logits_list):
        raise ValueError(f"weights must have one entry per exit ({len(logits_list)}), got {len(weights)}")
    return sum(float(w) * nn.functional.cross_entropy(logits, y) for w, logits in zip(weights, logits_list))
    ### END SOLUTION


# %%
torch.manual_seed(0)
logits = [torch.randn(6, 4, requires_grad=True) for _ in range(3)]
y = torch.randint(0, 4, (6,))
loss = multi_exit_loss(logits, y, [0.5, 0.0, 2.0])
expected = 0.5 * nn.functional.cross_entropy(logits[0], y) + 2.0 * nn.functional.cross_entropy(logits[2], y)
assert torch.allclose(loss, expected), (loss, expected)
loss.backward()
assert logits[1].grad.abs().max() == 0, "an exit of weight 0 gets no gradient"
check_raises(multi_exit_loss, logits, y, [1.0, 1.0], names="weights")
print(f"weighted loss {loss.item():.4f}")

# %% [markdown]
# ## Task 7: early exits that save compute
#
# At inference, run block 0 and exit 0 on the whole batch, decide with the rule of Task 2 on the softmax, and run
# block 1 **only on the samples still left**, and so on; the last exit takes the rest. The answers must equal
# `exit_decisions` on the full forward's probabilities; the work must not: a hidden test counts how many samples
# each block sees. Work under `torch.no_grad()`.

# %%
def early_exit_predict(model: MultiExitMLP, x: torch.Tensor, threshold: float,
                       rule: str = "maxprob") -> tuple[torch.Tensor, torch.Tensor]:
    """(predictions int64 (N,), exit index int64 (N,)); block i runs only on the samples that did not leave before.

    Raises ValueError naming rule if it is not "maxprob" or "entropy".
    """
    ### BEGIN SOLUTION
    ### HINT: Task 7: keep the indices still left; after each exit drop the confident ones.
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    n = x.shape[0]
    predictions = torch.zeros(n, dtype=torch.int64)
    exit_index = torch.zeros(n, dtype=torch.int64)
    left = torch.arange(n)
    h = x
    last = len(model.blocks) - 1
    with torch.no_grad():
        for i, (block, head) in enumerate(zip(model.blocks, model.exits)):
            if left.numel() == 0:
                break
            h = block(h)
            probs = torch.softmax(head(h), dim=1)
            if i == last:
                leave = torch.ones(left.numel(), dtype=torch.bool)
            elif rule == "maxprob":
                leave = probs.max(dim=1).values >= threshold
            else:
                leave = torch.from_numpy(entropy(probs.double().numpy(), axis=1) <= threshold)
            predictions[left[leave]] = probs[leave].argmax(dim=1)
            exit_index[left[leave]] = i
            left, h = left[~leave], h[~leave]
    return predictions, exit_index
    ### END SOLUTION


# %%
torch.manual_seed(1)
net = MultiExitMLP(12, (32, 32, 32), 4)
x = torch.randn(200, 12) * 3
seen = [0, 0, 0]
hooks = [b.register_forward_hook(lambda m, i, o, k=k: seen.__setitem__(k, seen[k] + o.shape[0]))
         for k, b in enumerate(net.blocks)]
pred, ex = early_exit_predict(net, x, 0.6)
for h in hooks:
    h.remove()
with torch.no_grad():
    full = [torch.softmax(o, 1).double().numpy() for o in net(x)]
ref_pred, ref_ex = exit_decisions(full, 0.6)
assert np.array_equal(pred.numpy(), ref_pred) and np.array_equal(ex.numpy(), ref_ex), "answers differ from Task 2"
expected_seen = [200, int((ref_ex >= 1).sum()), int((ref_ex >= 2).sum())]
assert seen == expected_seen, f"samples seen per block: expected {expected_seen}, got {seen}"
print("exits taken:", np.bincount(ex.numpy(), minlength=3).tolist(), "samples per block:", seen)

# %% [markdown]
# ## Task 8: slimmable layers
#
# A slimmable layer (Yu et al., *Slimmable Neural Networks*, ICLR 2019) keeps one weight matrix and, at width
# multiplier $m$, uses only its first units: `SlimmableLinear(in_features, out_features, bias, slim_in, slim_out)`
# has an attribute `width_mult` (1.0 at first). Its forward uses
#
# - the first `x.shape[-1]` input columns when `slim_in` (the previous layer chose them; more than `in_features` is a
#   ValueError naming x), else all `in_features`;
# - the first $\max(1, \lfloor m\, d_{out} + 1/2 \rfloor)$ output rows ($d_{out}$ = `out_features`) when `slim_out`,
#   else all;
#
# so `y = x @ W[:out, :in].T + b[:out]`. A `width_mult` outside $(0, 1]$ is a ValueError naming width_mult.
# `SlimmableMLP(sizes)` chains `SlimmableLinear` layers in `self.layers` (an `nn.ModuleList`; the first does not
# slim its input, the last does not slim its output) with ReLU between them; `set_width(m)` sets every layer's
# `width_mult` (ValueError naming width_mult outside $(0, 1]$); `macs(m)` counts the weight MACs per sample at width
# `m` without running anything.

# %%
def slim_units(n: int, width_mult: float) -> int:
    """Units kept of n at this width multiplier: max(1, floor(width_mult * n + 0.5))."""
    return max(1, int(math.floor(width_mult * n + 0.5)))


class SlimmableLinear(nn.Linear):
    """nn.Linear whose forward uses the first input columns and output rows set by the input and width_mult."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, slim_in: bool = True,
                 slim_out: bool = True):
        super().__init__(in_features, out_features, bias=bias)
        self.slim_in, self.slim_out = slim_in, slim_out
        self.width_mult = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        ### HINT: Task 8: n_in from x (or all), n_out from width_mult (or all); W[:n_out, :n_in].
        if not 0 < self.width_mult <= 1:
            raise ValueError(f"width_mult must be in (0, 1], got {self.width_mult}")
        n_in = x.shape[-1] if self.slim_in else self.in_features
        if n_in > self.in_features or (not self.slim_in and x.shape[-1] != self.in_features):
            raise ValueError(f"x has {x.shape[-1]} features; this layer takes at most {self.in_features}")
        n_out = slim_units(self.out_features, self.width_mult) if self.slim_out else self.out_features
        bias = self.bias[:n_out] if self.bias is not None else None
        return nn.functional.linear(x, self.weight[:n_out, :n_in], bias)
        ### END SOLUTION


class SlimmableMLP(nn.Module):
    """SlimmableLinear layers of the given sizes with ReLU between; set_width(m) slims every hidden layer."""

    def __init__(self, sizes=(64, 128, 128, 10)):
        super().__init__()
        ### BEGIN SOLUTION
        ### HINT: Task 8: a SlimmableLinear per pair of sizes; first keeps input, last keeps output.
        last = len(sizes) - 2
        self.layers = nn.ModuleList([SlimmableLinear(a, b, slim_in=i > 0, slim_out=i < last)
                                     for i, (a, b) in enumerate(zip(sizes, sizes[1:]))])
        ### END SOLUTION

    def set_width(self, width_mult: float) -> None:
        ### BEGIN SOLUTION
        ### HINT: Task 8: check 0 < width_mult <= 1, then set it on every layer.
        if not 0 < width_mult <= 1:
            raise ValueError(f"width_mult must be in (0, 1], got {width_mult}")
        for layer in self.layers:
            layer.width_mult = width_mult
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        ### HINT: Task 8: apply the layers with ReLU between them (none after the last).
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x
        ### END SOLUTION

    def macs(self, width_mult: float) -> int:
        """Weight MACs per sample at this width multiplier."""
        ### BEGIN SOLUTION
        ### HINT: Task 8: the kept inputs times the kept outputs of each layer, summed.
        total, n_in = 0, self.layers[0].in_features
        for layer in self.layers:
            n_out = slim_units(layer.out_features, width_mult) if layer.slim_out else layer.out_features
            total += n_in * n_out
            n_in = n_out
        return total
        ### END SOLUTION


# %%
torch.manual_seed(2)
layer = SlimmableLinear(6, 8)
layer.width_mult = 0.5
x = torch.randn(2, 3)
assert torch.allclose(layer(x), x @ layer.weight[:4, :3].T + layer.bias[:4]), "first 4 outputs of the first 3 inputs"
slim = SlimmableMLP((10, 8, 6, 3))
x = torch.randn(4, 10)
slim.set_width(0.5)
narrow = mlp([10, 4, 3, 3], seed=None)
with torch.no_grad():
    for small, big in zip([m for m in narrow if isinstance(m, nn.Linear)], slim.layers):
        small.weight.copy_(big.weight[: small.out_features, : small.in_features])
        small.bias.copy_(big.bias[: small.out_features])
assert torch.allclose(slim(x), narrow(x), atol=1e-6), "width 0.5 must equal the MLP made of the first units"
assert slim.macs(0.5) == count_macs(narrow, (10,)) == 10 * 4 + 4 * 3 + 3 * 3, slim.macs(0.5)
slim.set_width(0.01)
assert slim(x).shape == (4, 3), "a tiny width keeps at least one unit"
check_raises(slim.set_width, 0.0, names="width_mult")
print("slimmable MACs per width:", {m: slim.macs(m) for m in (0.25, 0.5, 0.75, 1.0)})

# %% [markdown]
# ## Experiments on the digits
#
# Train a multi-exit MLP with your loss, sweep thresholds with your functions, and time your early exits against the
# full forward on the test set (one thread).

# %% tags=["slow"]
torch.set_num_threads(1)
digits = load_digits_dataset()
loaders = make_loaders(digits, batch_size=64)
x_val, y_val = digits.val.tensors()
x_test, y_test = digits.test.tensors()

# %% tags=["slow"]
torch.manual_seed(0)
model = MultiExitMLP(64, (256, 256, 256), 10)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for _ in range(20):
    for xb, yb in loaders["train"]:
        opt.zero_grad()
        multi_exit_loss(model(xb), yb, [1.0, 1.0, 1.0]).backward()
        opt.step()
model.eval()
with torch.no_grad():
    val_probs = [torch.softmax(o, 1).double().numpy() for o in model(x_val)]
    test_probs = [torch.softmax(o, 1).double().numpy() for o in model(x_test)]
stages = model.macs_per_exit()
full_macs = count_macs(nn.Sequential(*model.blocks, model.exits[-1]), (64,))
thresholds = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999]
for rule, ts in (("maxprob", thresholds), ("entropy", [0.01, 0.05, 0.1, 0.2, 0.5, 1.0])):
    for t, acc, macs in threshold_sweep(test_probs, y_test.numpy(), ts, stages, rule):
        print(f"{rule:>8} T={t:<6} test accuracy {acc:.2%}  average MACs {macs / full_macs:.0%} of the full MLP")
val_last = float(np.mean(val_probs[-1].argmax(1) == y_val.numpy()))
ok = [(m, t) for t, a, m in threshold_sweep(val_probs, y_val.numpy(), thresholds, stages) if a >= val_last - 0.005]
chosen = min(ok)[1]
backbone = nn.Sequential(*model.blocks, model.exits[-1])  # the static network: no early heads
t_full = latency_ms(lambda: backbone(x_test), repeats=30)
t_early = latency_ms(lambda: early_exit_predict(model, x_test, chosen), repeats=30)
_, ex = early_exit_predict(model, x_test, chosen)
print(f"threshold {chosen} (chosen on validation): full forward {t_full:.3f} ms, early exits {t_early:.3f} ms "
      f"for {len(y_test)} test digits on one thread")
macs_ratio = average_macs(ex.numpy(), stages) / full_macs
print(f"MACs ratio {macs_ratio:.1%}, wall-clock ratio {t_early / t_full:.1%}: the measured time saving is "
      f"{'smaller' if t_early / t_full > macs_ratio else 'not smaller'} than the MACs ratio promises")

# %% [markdown]
# Train your slimmable MLP with the sandwich rule of Yu and Huang (*Universally Slimmable Networks*, ICCV 2019): each
# step adds the gradients of the largest width, the smallest and two random widths, then takes one Adam step.

# %% tags=["slow"]
slim = SlimmableMLP((64, 128, 128, 10))
opt = torch.optim.Adam(slim.parameters(), lr=1e-3)
widths_rng = np.random.default_rng(0)
for _ in range(30):
    for xb, yb in loaders["train"]:
        opt.zero_grad()
        for m in (1.0, 0.25, *widths_rng.uniform(0.25, 1.0, 2)):
            slim.set_width(float(m))
            nn.functional.cross_entropy(slim(xb), yb).backward()
        opt.step()
with torch.no_grad():
    for m in (0.25, 0.5, 0.75, 1.0):
        slim.set_width(m)
        acc = float((slim(x_test).argmax(1) == y_test).float().mean())
        print(f"width {m}: {slim.macs(m):>6,} MACs, test accuracy {acc:.2%}")

# %% [markdown]
# **Question.** At the threshold chosen on the validation set, what fraction of the full MLP's MACs do the early
# exits spend, and how does that compare with the wall-clock ratio you measured? Why can they differ?

# %% [markdown] tags=["answer"]
# The MAC ratio counts only multiply-accumulates. The wall-clock ratio also pays for the softmax and the indexing of
# the samples still left at every exit, and for Python overhead per block, which a small MLP does not hide; so the
# time saved can fall short of what the MAC ratio promises (the last line printed above says whether it did here).
