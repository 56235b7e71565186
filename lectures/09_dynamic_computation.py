# %% [markdown]
# # Dynamic computation: early exits and slimmable widths
#
# Every method so far shrank one network for every input and every device. But inputs differ: most digits are easy,
# a few are ambiguous, and a fixed network spends the same compute on both. Devices differ too: a phone under load
# and a server have different budgets. **Dynamic computation** lets one trained network adapt at run time:
#
# - **early exits** (Teerapittayanon, McDanel and Kung, *BranchyNet*, ICPR 2016) attach a classifier after each
#   block and let a confident sample leave early, so compute adapts per sample;
# - **slimmable networks** (Yu, Yang, Xu, Yang and Huang, *Slimmable Neural Networks*, ICLR 2019) train one set of
#   weights that runs at several widths, so compute adapts per device.
#
# ## Motivation: how many digits a tiny network already gets right
#
# A 64-16-10 MLP has a small fraction of the MACs of a 64-256-256-256-10 MLP. If it already classifies most test
# digits correctly, the large network's extra compute is spent on the few it misses.

# %%
import matplotlib.pyplot as plt
import numpy as np
import scipy.stats
import torch
from torch import nn

from compresslab import compare, seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.measure import count_macs
from compresslab.models import mlp
from compresslab.plot import new_axes
from compresslab.train import evaluate, fit

seed_everything(0)
torch.set_num_threads(1)
digits = load_digits_dataset()
loaders = make_loaders(digits, batch_size=64)
x_val, y_val = digits.val.tensors()
x_test, y_test = digits.test.tensors()
HIDDEN = 256

tiny, big = mlp([64, 16, 10]), mlp([64, HIDDEN, HIDDEN, HIDDEN, 10])
fit(tiny, loaders["train"], epochs=20, lr=1e-3, seed=0)
fit(big, loaders["train"], epochs=20, lr=1e-3, seed=0)
with torch.no_grad():
    tiny_right, big_right = tiny(x_test).argmax(1) == y_test, big(x_test).argmax(1) == y_test
macs_tiny, macs_big = count_macs(tiny, (64,)), count_macs(big, (64,))
print(f"64-16-10: {macs_tiny:,} MACs, test accuracy {tiny_right.float().mean():.2%}; "
      f"64-{HIDDEN}x3-10: {macs_big:,} MACs ({macs_big / macs_tiny:.0f}x), accuracy {big_right.float().mean():.2%}")
print(f"the tiny MLP already classifies {tiny_right.float().mean():.1%} of the test digits correctly; the large one "
      f"fixes {int((big_right & ~tiny_right).sum())} of the {int((~tiny_right).sum())} it gets wrong")

# %% [markdown]
# ## The math
#
# **A multi-exit network** has blocks $f_1, \dots, f_E$ and an exit head $g_i$ after each:
# $h_i = f_i(h_{i-1})$ with $h_0 = x$, and exit $i$ predicts $\hat y_i = \mathrm{softmax}(g_i(h_i))$. It is trained
# on the weighted sum of the exits' cross-entropies (BranchyNet, Section III-B):
# $$L = \sum_{i=1}^{E} w_i\, \mathrm{CE}(\hat y_i, y).$$
#
# **Exit rules.** A sample leaves at the first exit $i < E$ that is confident enough, and the last exit takes every
# sample left. Two confidence measures of a probability vector $p$ over $C$ classes, each against a threshold $T$:
#
# - the maximum probability, exit when $\max_c p_c \ge T$;
# - the entropy $H(p) = -\sum_c p_c \ln p_c$ (in nats, with $0 \ln 0 = 0$), exit when $H(p) \le T$ (BranchyNet,
#   Section III-C, writes $H(p) < T$; this course lets a sample exactly at the threshold leave under both rules).
#   $H$ is $0$ for a one-hot $p$ and $\ln C$ for a uniform one.
#
# **Compute per sample.** Let $c_i$ be the MACs of stage $i$ (block $f_i$ and head $g_i$). A sample that leaves at
# exit $e$ has paid $\sum_{i \le e} c_i$, and over $N$ samples with exits $e_n$ the average cost is
# $$\bar C = \frac{1}{N} \sum_{n=1}^{N} \sum_{i \le e_n} c_i.$$
# A threshold sweep traces accuracy against $\bar C$; the comparison is a static network of the same $\bar C$.
#
# **Slimmable layers.** A linear layer with weight $W \in \mathbb{R}^{d_{out} \times d_{in}}$ runs at width
# multiplier $m \in (0, 1]$ on its first $k_{in}$ inputs and first $k_{out} = \max(1, \lfloor m\, d_{out} + 1/2
# \rfloor)$ outputs: $y = W_{[:k_{out}, :k_{in}]}\, x + b_{[:k_{out}]}$, with $b \in \mathbb{R}^{d_{out}}$ the bias and
# $k_{in}$ the width of its input $x$ (what the previous layer produced). The narrow networks share the first units
# of the wide one, so one set of weights serves every width.

# %% [markdown]
# ## From scratch (NumPy)
#
# ### Maximum-probability exits and the cost they save
#
# Given the softmax outputs of every exit for every sample (computed in full, offline), the decision walks from the
# shallowest exit. The lab writes the general version with the entropy rule and an early-exit predictor that skips
# the blocks it does not need.

# %%
def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)  # (N, C), shifted for stability
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def first_confident_exit(probs_per_exit: list, threshold: float) -> np.ndarray:
    """Exit index (N,) of each sample under the maximum-probability rule; the last exit takes the rest."""
    exits = np.full(len(probs_per_exit[0]), len(probs_per_exit) - 1)
    for i in reversed(range(len(probs_per_exit) - 1)):  # walk back, so the shallowest confident exit wins
        exits[probs_per_exit[i].max(axis=1) >= threshold] = i
    return exits


def predictions_at(probs_per_exit: list, exits: np.ndarray) -> np.ndarray:
    stacked = np.stack(probs_per_exit)  # (E, N, C)
    return stacked[exits, np.arange(len(exits))].argmax(axis=1)


toy = [softmax(np.array([[3.0, 0.0], [0.5, 0.0]])), softmax(np.array([[0.0, 4.0], [0.0, 1.0]]))]
exits = first_confident_exit(toy, 0.9)
stage_cost = np.array([10, 20])
print("exits", exits.tolist(), "predictions", predictions_at(toy, exits).tolist(),
      "average MACs", np.cumsum(stage_cost)[exits].mean())

# %% [markdown]
# The entropy of a probability vector, written the direct way:

# %%
def entropy(p: np.ndarray) -> np.ndarray:
    return -(p * np.log(p)).sum(axis=1)  # NaN where a p_c is exactly 0; see Pitfalls


# %% [markdown]
# ## Check against the library
#
# `scipy.stats.entropy` normalizes and uses natural logarithms; on strictly positive probabilities the two agree to
# rounding. The stage costs, summed up to the last exit without the early heads, must equal
# `compresslab.measure.count_macs` of the plain MLP.

# %%
p = np.random.default_rng(0).dirichlet(np.ones(10), size=200)
err = compare("entropy vs scipy.stats.entropy", entropy(p), scipy.stats.entropy(p, axis=1))
assert err <= 1e-12, err
with np.errstate(divide="ignore", invalid="ignore"):
    assert np.isnan(entropy(np.array([[1.0, 0.0]])))[0], "the direct formula is NaN at p = 0"
widths = [64, HIDDEN, HIDDEN, HIDDEN]
block_macs = [a * b for a, b in zip(widths, widths[1:])]
head_macs = [h * 10 for h in widths[1:]]
assert sum(block_macs) + head_macs[-1] == count_macs(big, (64,)), "stage sums must match count_macs"
STAGE_MACS = np.array(block_macs) + np.array(head_macs)  # c_i: block i and exit head i
FULL_MACS = count_macs(big, (64,))
print("stage MACs", STAGE_MACS.tolist(), "full MLP", FULL_MACS, "cumulative share",
      np.round(np.cumsum(STAGE_MACS) / FULL_MACS, 3).tolist())

# %% [markdown]
# ## With PyTorch
#
# A multi-exit MLP: three blocks of 256 ReLU units, a linear exit head after each. Trained with weights $(1, 1, 1)$,
# and once more with $(0, 0, 1)$, which trains only the last exit: a plain MLP with untrained side heads.

# %%
class MultiExitMLP(nn.Module):
    def __init__(self, hidden: int = 256, depth: int = 3):
        super().__init__()
        widths = [64] + [hidden] * depth
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(a, b), nn.ReLU()) for a, b in zip(widths, widths[1:])])
        self.exits = nn.ModuleList([nn.Linear(hidden, 10) for _ in range(depth)])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for block, head in zip(self.blocks, self.exits):
            x = block(x)
            out.append(head(x))  # (N, 10) logits of each exit
        return out


def train_exits(weights: tuple, epochs: int = 20) -> MultiExitMLP:
    torch.manual_seed(0)
    model = MultiExitMLP()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loaders["train"].generator.manual_seed(0)
    for _ in range(epochs):
        for xb, yb in loaders["train"]:
            opt.zero_grad()
            sum(w * nn.functional.cross_entropy(z, yb) for w, z in zip(weights, model(xb))).backward()
            opt.step()
    return model.eval()


def exit_probs(model: MultiExitMLP, x: torch.Tensor) -> list[np.ndarray]:
    with torch.no_grad():
        return [torch.softmax(z, 1).double().numpy() for z in model(x)]


model, last_only = train_exits((1.0, 1.0, 1.0)), train_exits((0.0, 0.0, 1.0))
test_probs, val_probs = exit_probs(model, x_test), exit_probs(model, x_val)
last_only_probs = exit_probs(last_only, x_test)
n_test = len(y_test)
last_loss = {}
for name, probs in (("weights (1, 1, 1)", test_probs), ("weights (0, 0, 1)", last_only_probs)):
    accs = [np.mean(q.argmax(1) == y_test.numpy()) for q in probs]
    last_loss[name] = nn.functional.nll_loss(torch.log(torch.from_numpy(probs[-1]) + 1e-12), y_test).item()
    print(f"{name}: accuracy per exit {[f'{a:.2%}' for a in accs]}, last-exit test loss {last_loss[name]:.3f}")
p_last = np.mean(test_probs[-1].argmax(1) == y_test.numpy())
se = np.sqrt(p_last * (1 - p_last) / n_test)  # binomial standard error of one accuracy near p_last
gap = p_last - np.mean(last_only_probs[-1].argmax(1) == y_test.numpy())
print(f"last exit with early heads minus without: {100 * gap:+.2f} points; binomial standard error at {p_last:.0%} "
      f"on {n_test} test digits: {se:.2%}, so the difference is {'inside' if abs(gap) <= 2 * se else 'outside'} "
      f"two standard errors; the last exit's test loss is "
      f"{'higher' if last_loss['weights (1, 1, 1)'] > last_loss['weights (0, 0, 1)'] else 'not higher'} with the "
      "early heads")

# %% [markdown]
# Early heads push the shallow blocks to learn features that already separate the classes, which need not be the
# features that later blocks build on best. Huang et al. (*Multi-Scale Dense Networks*, ICLR 2018) measured that
# intermediate classifiers on early layers of ResNets and DenseNets lower the final classifier's accuracy. The lines
# above are this run's measurement on a three-block MLP: the last exit's accuracy with and without the early heads,
# set against the standard error, and the two last-exit losses.
#
# ## Experiments
#
# ### Accuracy against average MACs
#
# The threshold is chosen on the validation split: among $T = 0.5, \dots, 0.999$, the lowest-cost threshold whose
# validation accuracy is within 0.5 points of the last exit's (below 0.5, the top class of ten need not hold the
# majority of the probability). The test split then measures it.

# %%
THRESHOLDS = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999]


def sweep(probs: list, labels: np.ndarray) -> list[tuple[float, float, float]]:
    out = []
    for t in THRESHOLDS:
        exits = first_confident_exit(probs, t)
        acc = np.mean(predictions_at(probs, exits) == labels)
        out.append((t, acc, np.cumsum(STAGE_MACS)[exits].mean() / FULL_MACS))
    return out


val_last = np.mean(val_probs[-1].argmax(1) == y_val.numpy())
candidates = [(share, t) for t, acc, share in sweep(val_probs, y_val.numpy()) if acc >= val_last - 0.005]
THRESHOLD = min(candidates)[1]
test_sweep = sweep(test_probs, y_test.numpy())
test_last = np.mean(test_probs[-1].argmax(1) == y_test.numpy())
_, acc_at, share_at = next(r for r in test_sweep if r[0] == THRESHOLD)
exits_at = first_confident_exit(test_probs, THRESHOLD)
for t, acc, share in test_sweep:
    print(f"T = {t:<6} test accuracy {acc:.2%}  average MACs {share:.1%} of the full MLP")
print(f"chosen on validation: T = {THRESHOLD}; on test {acc_at:.2%} against the last exit's {test_last:.2%}, "
      f"at {share_at:.1%} of the MACs; exits taken {np.bincount(exits_at, minlength=3).tolist()}")
assert share_at <= 0.60 and acc_at >= test_last - 0.005, (share_at, acc_at, test_last)
first_only = np.mean(test_probs[0].argmax(1) == y_test.numpy())
print(f"for scale: the first exit alone scores {first_only:.2%} on test at "
      f"{STAGE_MACS[0] / FULL_MACS:.1%} of the MACs; the exits add {100 * (acc_at - first_only):+.2f} points to it")

# %% [markdown]
# Static MLPs with three hidden layers of 16, 32, 64, 96 and 128 units, each trained alone, mark what the same
# average compute buys without exits.

# %% tags=["slow"]
static = []
for h in (16, 32, 64, 96, 128):
    net = mlp([64, h, h, h, 10])
    fit(net, loaders["train"], epochs=20, lr=1e-3, seed=0)
    static.append((count_macs(net, (64,)) / FULL_MACS, evaluate(net, loaders["test"])["accuracy"], h))
fig, ax = new_axes("Early exits against static MLPs on the digits", "average MACs / full MLP", "test accuracy")
ax.errorbar([s for _, _, s in test_sweep], [a for _, a, _ in test_sweep], yerr=se, marker="o",
            label="early exits (max prob), T = 0.5-0.999")
ax.errorbar([s for s, _, _ in static], [a for _, a, _ in static], yerr=se, marker="s", ls="--",
            label="static MLPs, 16-128 units")
ax.axhline(test_last, color="0.5", ls=":", label="last exit")
ax.set_xscale("log")
ax.legend()
plt.show()
for share, acc, h in static:
    print(f"static 64-{h}x3-10: {share:.1%} of the MACs, test accuracy {acc:.2%}")
share_s, acc_s, h_s = min(static, key=lambda r: abs(r[0] - share_at))
print(f"nearest in compute to the early exits at T = {THRESHOLD} ({share_at:.1%}): the static 64-{h_s}x3-10 "
      f"({share_s:.1%}) scores {acc_s:.2%} against the exits' {acc_at:.2%}, a difference of "
      f"{100 * (acc_at - acc_s):+.2f} points (standard error {se:.2%} each), "
      f"{'inside' if abs(acc_at - acc_s) <= 2 * se else 'outside'} two standard errors")

# %% [markdown]
# A gap inside about two standard errors does not rank the early exits above or below the static MLP of similar
# compute (the line above says where this one falls); what the sweep shows beyond doubt is where the compute goes,
# per sample.
#
# ### Which digits leave early
#
# Eight test digits per exit at the chosen threshold. The ones that reach the last exit are the ones the first
# head is unsure about.

# %% tags=["slow"]
fig, axes = plt.subplots(3, 8, figsize=(8, 3.3))
fig.suptitle(f"Test digits by the exit they took at T = {THRESHOLD}")
preds_at = predictions_at(test_probs, exits_at)
for e in range(3):
    picks = np.flatnonzero(exits_at == e)[:8]
    for j in range(8):
        ax = axes[e, j]
        ax.axis("off")
        if j < len(picks):
            ax.imshow(x_test[picks[j]].reshape(8, 8), cmap="gray_r")
            ax.set_title(f"exit {e}: {int(preds_at[picks[j]])}", fontsize=7)
plt.show()
print("exit taken by class (rows: digit 0-9, columns: exit 0-2):")
print(np.array([np.bincount(exits_at[y_test.numpy() == c], minlength=3) for c in range(10)]))

# %% [markdown]
# ### Dynamic width: one MLP, four widths
#
# A 64-128-128-10 MLP trained with the sandwich rule (Yu and Huang, *Universally Slimmable Networks*, ICCV 2019):
# each step adds the gradients of the largest width, the smallest and two random widths, then takes one Adam step.
# Here the slicing is written as a function of a plain `nn.Sequential`; the lab builds it into layers.

# %%
WIDTHS = (0.25, 0.5, 0.75, 1.0)


def slim_forward(net: nn.Sequential, x: torch.Tensor, width_mult: float) -> torch.Tensor:
    linears = [m for m in net if isinstance(m, nn.Linear)]
    for i, layer in enumerate(linears):
        k = layer.out_features if i == len(linears) - 1 else max(1, int(width_mult * layer.out_features + 0.5))
        x = nn.functional.linear(x, layer.weight[:k, : x.shape[1]], layer.bias[:k])  # first k rows, first inputs
        if i < len(linears) - 1:
            x = torch.relu(x)
    return x


def slim_accuracy(net: nn.Sequential, width_mult: float) -> float:
    with torch.no_grad():
        return float((slim_forward(net, x_test, width_mult).argmax(1) == y_test).float().mean())


slim = mlp([64, 128, 128, 10])
opt = torch.optim.Adam(slim.parameters(), lr=1e-3)
rng = np.random.default_rng(0)
loaders["train"].generator.manual_seed(0)
for _ in range(60):
    for xb, yb in loaders["train"]:
        opt.zero_grad()
        for m in (1.0, 0.25, *rng.uniform(0.25, 1.0, 2)):
            nn.functional.cross_entropy(slim_forward(slim, xb, m), yb).backward()
        opt.step()
rows = []
for m in WIDTHS:
    h = int(128 * m)
    alone = mlp([64, h, h, 10])
    fit(alone, loaders["train"], epochs=60, lr=1e-3, seed=0)
    rows.append((m, count_macs(alone, (64,)), slim_accuracy(slim, m), evaluate(alone, loaders["test"])["accuracy"]))
for m, macs, acc_slim, acc_alone in rows:
    print(f"width {m:<4} ({macs:>6,} MACs): slimmable {acc_slim:.2%}, trained alone {acc_alone:.2%}, "
          f"difference {100 * (acc_slim - acc_alone):+.2f} points")
diffs = [100 * (a - b) for _, _, a, b in rows]
worst = max(abs(d) for d in diffs)  # the largest gap, either way
print(f"every width within {worst:.2f} points of its separately trained MLP (standard error {se:.2%})")
assert min(diffs) >= -2.0 and worst <= 2.0, diffs

# %% [markdown]
# **Choosing the width from a budget.** At run time, the device states a budget in MACs per sample, and the network
# runs at the widest width that fits. The MACs of each width are known in advance, so the choice costs nothing.

# %%
def width_for_budget(budget_macs: int) -> float:
    fits = [m for m, macs, _, _ in rows if macs <= budget_macs]
    return max(fits) if fits else min(WIDTHS)


for budget in (5_000, 15_000, 30_000):
    m = width_for_budget(budget)
    print(f"budget {budget:>6,} MACs -> width {m}, test accuracy {slim_accuracy(slim, m):.2%}")

# %% tags=["headline"]
print(f"early exits on the digits: {share_at:.0%} of the full MLP's MACs at {acc_at:.2%} test accuracy "
      f"(last exit {test_last:.2%}), threshold {THRESHOLD} chosen on validation")
print(f"one slimmable MLP at widths {', '.join(str(m) for m in WIDTHS)}: "
      + ", ".join(f"{a:.1%}" for _, _, a, _ in rows)
      + f"; each within {worst:.2f} points of a separately trained MLP")

# %% [markdown]
# ## Pitfalls
#
# - $0 \ln 0$: a float32 softmax returns exact zeros for confident outputs, and the direct entropy is NaN there.
#   NaN fails every comparison, so the most confident samples never exit. Skip the zero entries.
# - The direction of the test: high maximum probability is confident, high entropy is not.
# - Counting MACs: a sample that leaves at exit 3 has run blocks 1 to 3 **and** heads 1 to 3. Counting only the
#   head, or only the last stage, overstates the saving.
# - Simulating exits on outputs computed for every sample (as this lecture did) measures the MACs that could be
#   saved, not time saved: the forward must actually stop for the samples that left. The lab's `early_exit_predict`
#   does, and `make bench` times it against the full forward.
# - Wall-clock time also pays for a softmax, a comparison and an indexing step per exit, which MACs do not count;
#   `make bench` measures both on this model.
# - A slimmable layer must slice its inputs to what the previous layer produced and its outputs to its own width;
#   slicing both by the same multiplier breaks the first layer, whose input never shrinks.
#
# ## Summary
#
# - A multi-exit network trained on a weighted sum of exit losses lets confident samples leave early; the threshold
#   sweep above measured how much compute that saves at how much accuracy.
# - The exit rule and its threshold are chosen on validation data; compute is accounted per sample, cumulatively.
# - A slimmable network shares the first units of each layer across widths, so one set of weights serves several
#   compute budgets, chosen at run time.
#
# ## Exercises
#
# 1. Repeat the sweep with the entropy rule. Does it trace a different curve from the maximum probability?
# 2. Train with weights $(0.3, 0.3, 1)$. How do the last exit's accuracy and the curve change?
# 3. Train the slimmable MLP with only the largest and smallest widths. Which widths in between suffer?
