# %% [markdown]
# # 10. Architecture search: an efficient network under a compute budget
#
# Modules 04 and 08 compressed networks that a person designed: a two-block CNN, and the same CNN with
# depthwise-separable convolutions. **Neural architecture search** (NAS) lets an algorithm choose the layers instead,
# under a budget of multiply-accumulates (MACs) or latency. MnasNet (Tan et al. 2019) and EfficientNet found their
# mobile networks this way. This lecture builds a small search space for the 8x8 digits, measures what its cost
# models are worth on this CPU, searches it at random and by regularized evolution (Real et al. 2019), scores
# candidates with a weight-sharing supernet (Guo et al. 2020; Cai et al. 2020), and compares the network it finds
# with the hand-designed ones at the same MAC budget.
#
# Set the environment variable `NAS_LONG=1` for a longer run (more supernet epochs, evaluations and seeds); the last
# cell prints how long the default run took on this machine.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.stats
import torch
import torch.nn.functional as F
from torch import nn

from compresslab import seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.efficient_layers import DepthwiseSeparableConv2d, conv_macs
from compresslab.measure import count_macs, count_parameters, latency_ms
from compresslab.models import digits_cnn
from compresslab.plot import new_axes
from compresslab.train import evaluate, fit

torch.set_num_threads(1)  # every latency on this page is single-threaded
START = time.perf_counter()
LONG = os.environ.get("NAS_LONG") == "1"
SUPERNET_EPOCHS, EVALUATIONS, SEEDS, STANDALONE_EPOCHS = (40, 500, 5, 30) if LONG else (20, 150, 3, 15)
seed_everything(0)
digits = load_digits_dataset()
loaders = make_loaders(digits, batch_size=64)
xtr, ytr = (torch.from_numpy(a) for a in (digits.train.x, digits.train.y))
xva, yva = (torch.from_numpy(a) for a in (digits.val.x, digits.val.y))

# %% [markdown]
# ## Motivation: the hand-designed networks and their budget
#
# The course's CNN for the digits (`compresslab.models.digits_cnn`, here with 16 and 32 channels) and a separable
# variant in the style of module 08 (a standard stem, then one depthwise-separable block), trained for the same
# number of epochs. The MACs of `digits_cnn` are this lecture's **budget**: can a search find a better network that
# costs no more?

# %%
def separable_cnn() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         DepthwiseSeparableConv2d(16, 96, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(96 * 4, 10))


def train_and_test(model: nn.Module) -> dict:
    fit(model, loaders["train"], epochs=STANDALONE_EPOCHS, lr=3e-3, seed=0)
    return {"val": evaluate(model, loaders["val"])["accuracy"], "test": evaluate(model, loaders["test"])["accuracy"],
            "params": count_parameters(model), "macs": count_macs(model, (64,)), "model": model.eval()}


hand = {"digits_cnn": train_and_test(nn.Sequential(nn.Unflatten(1, (1, 8, 8)), digits_cnn((16, 32)))),
        "separable CNN (08)": train_and_test(separable_cnn())}
BUDGET = hand["digits_cnn"]["macs"]
for name, r in hand.items():
    print(f"{name:>20}: {r['macs']:,} MACs, {r['params']:,} parameters, validation accuracy {r['val']:.2%}")
print(f"MAC budget of the search: {BUDGET:,}")

# %% [markdown]
# ## A search space for the digits
#
# A fixed stem (a 3x3 convolution to 8 channels, ReLU, 2x2 max-pooling to 4x4), then $d$ blocks, each choosing its
# **type** (a standard convolution `"conv"` or a depthwise-separable one `"sep"`), its **kernel** size and its
# **width**, each followed by a ReLU; a linear classifier reads the last 4x4 map. An architecture is a plain dict.
# With $T$ types, $K$ kernels and $W$ widths, a space of exactly $d$ blocks holds $(TKW)^d$ architectures; a depth
# choice adds the spaces of every allowed depth (the lab counts that).

# %%
SPACE = {"stem": 8, "depths": [1, 2, 3, 4], "types": ["conv", "sep"], "kernels": [3, 5], "widths": [8, 16, 24, 32]}
per_block = len(SPACE["types"]) * len(SPACE["kernels"]) * len(SPACE["widths"])
print(f"{per_block} choices per block; exactly {max(SPACE['depths'])} blocks: "
      f"{per_block ** max(SPACE['depths']):,} architectures")


def sample_architecture(space: dict, rng: np.random.Generator) -> dict:
    """Depth, then (type, kernel, width) per block, each drawn uniformly with rng.integers."""
    blocks = []
    for _ in range(int(space["depths"][rng.integers(len(space["depths"]))])):
        blocks.append({"type": str(space["types"][rng.integers(len(space["types"]))]),
                       "kernel": int(space["kernels"][rng.integers(len(space["kernels"]))]),
                       "width": int(space["widths"][rng.integers(len(space["widths"]))])})
    return {"stem": int(space["stem"]), "blocks": blocks}


def build_model(arch: dict, num_classes: int = 10) -> nn.Sequential:
    """Digits (N, 64) -> logits: stem, the blocks (each + ReLU), Flatten, Linear."""
    layers = [nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, arch["stem"], 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    c_in = arch["stem"]
    for b in arch["blocks"]:
        k, w = b["kernel"], b["width"]
        conv = nn.Conv2d if b["type"] == "conv" else DepthwiseSeparableConv2d
        layers += [conv(c_in, w, k, padding=k // 2), nn.ReLU()]
        c_in = w
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(16 * c_in, num_classes))


example = sample_architecture(SPACE, np.random.default_rng(0))
print(example)
print(build_model(example))

# %% [markdown]
# ## Cost models: counted MACs against measured latency
#
# A search needs the cost of thousands of candidates, so it uses a **proxy**: MACs or parameters, counted rather than
# timed, in place of latency measured on the target device. MnasNet argues for measured latency because the
# two disagree (Tan et al. 2019, Section 1). Here is how well they agree on this CPU, one thread, batch 64, over 40
# sampled architectures. A block's MACs follow module 08's `conv_macs`; for one block type we check that against
# counting through the model.

# %%
block = {"stem": 8, "blocks": [{"type": "conv", "kernel": 5, "width": 24}]}
by_formula = conv_macs(1, 8, 3, 8, 8) + conv_macs(8, 24, 5, 4, 4) + 16 * 24 * 10
assert count_macs(build_model(block), (64,)) == by_formula, (count_macs(build_model(block), (64,)), by_formula)

rng = np.random.default_rng(1)
sampled = [sample_architecture(SPACE, rng) for _ in range(40)]
x64 = xva[:64]
costs = []
for arch in sampled:
    model = build_model(arch).eval()
    costs.append((count_macs(model, (64,)), count_parameters(model),
                  latency_ms(lambda model=model: model(x64), repeats=15, warmup=3)))
macs, params, lat = (np.array(c, dtype=float) for c in zip(*costs))
print(f"CPU: {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} thread; MACs from "
      f"{macs.min():,.0f} to {macs.max():,.0f}, latency from {lat.min():.3f} to {lat.max():.3f} ms")

# %% [markdown]
# **Kendall's tau** measures how well one ranking predicts another. Of the $n(n-1)/2$ pairs of $n$ architectures,
# $P$ are concordant (both quantities order the pair the same way) and $Q$ discordant (they order it oppositely):
# $$\tau_a = \frac{P - Q}{n(n-1)/2}.$$
# With ties, `scipy.stats.kendalltau` returns $\tau_b$, which corrects the denominator for tied pairs (the lab).
# On data without ties the two agree.

# %%
def kendall_tau(x, y) -> float:
    """Kendall's tau-a: (concordant - discordant) pairs over all pairs (no tie correction)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    i, j = np.triu_indices(len(x), k=1)
    return float(np.sum(np.sign(x[j] - x[i]) * np.sign(y[j] - y[i])) / len(i))


u, v = rng.normal(size=50), rng.normal(size=50)
assert abs(kendall_tau(u, v) - scipy.stats.kendalltau(u, v).statistic) < 1e-12
tau_macs = scipy.stats.kendalltau(macs, lat).statistic
tau_params = scipy.stats.kendalltau(params, lat).statistic
print(f"Kendall's tau with latency on this CPU: MACs {tau_macs:.3f}, parameters {tau_params:.3f} "
      f"(tau-a of MACs, ties not corrected: {kendall_tau(macs, lat):.3f})")

# %%
rank_gap = scipy.stats.rankdata(macs) - scipy.stats.rankdata(lat)
for i in np.argsort(-np.abs(rank_gap))[:3]:
    kinds = ", ".join(f"{b['type']}{b['kernel']}x{b['width']}" for b in sampled[i]["blocks"])
    side = "slower" if rank_gap[i] < 0 else "faster"
    print(f"ranked {abs(rank_gap[i]):.0f} places {side} by latency than by MACs: [{kinds}] "
          f"{macs[i]:,.0f} MACs, {lat[i]:.3f} ms")

# %% tags=["slow"]
fig, ax = new_axes("Latency against MACs of 40 sampled architectures", "MACs", "latency at batch 64 (ms)")
for t, marker in (("conv", "o"), ("sep", "s")):
    pick = [i for i, a in enumerate(sampled) if all(b["type"] == t for b in a["blocks"])]
    ax.scatter(macs[pick], lat[pick], marker=marker, label=f"all blocks {t}")
mixed = [i for i, a in enumerate(sampled) if len({b["type"] for b in a["blocks"]}) > 1]
ax.scatter(macs[mixed], lat[mixed], marker="x", color="0.5", label="mixed")
ax.set_xscale("log")
ax.legend()
plt.show()

# %% [markdown]
# ## A cheap fitness: a weight-sharing supernet
#
# Training every candidate from scratch is what made the first NAS papers expensive. A **supernet** holds, per block
# position and type, the weights of the largest choice; a sub-network uses the first blocks, the **first channels**
# of each weight and the **centre** of each kernel, as in Once-for-All's elastic depth, width and kernel (Cai et al.
# 2020, Section 3; OFA also sorts channels by importance and transforms the kernel centre, which we leave out).
# Single-path one-shot (Guo et al. 2020) trains such shared weights by sampling sub-networks uniformly. Here each
# step sums the gradients of the largest, the smallest and four random sub-networks: the "sandwich rule" of
# universally slimmable networks (Yu and Huang 2019). A candidate is then scored on the validation digits with the
# inherited weights, without training it (the search cell below prints the time per candidate). Here `forward`
# takes the architecture; the lab's supernet also extracts a sub-network as a stand-alone module.

# %%
class SuperNet(nn.Module):
    def __init__(self, space: dict, num_classes: int = 10):
        super().__init__()
        self.space, wmax, kmax = space, max(space["widths"]), max(space["kernels"])
        self.stem = nn.Conv2d(1, space["stem"], 3, padding=1)
        ins = [space["stem"]] + [wmax] * (max(space["depths"]) - 1)
        self.conv = nn.ModuleList(nn.Conv2d(c, wmax, kmax) for c in ins)
        self.dw = nn.ModuleList(nn.Conv2d(c, c, kmax, groups=c) for c in ins)
        self.pw = nn.ModuleList(nn.Conv2d(c, wmax, 1) for c in ins)
        self.head = nn.Linear(16 * wmax, num_classes)

    def forward(self, x: torch.Tensor, arch: dict) -> torch.Tensor:
        h, c = F.max_pool2d(F.relu(self.stem(x.reshape(-1, 1, 8, 8))), 2), self.space["stem"]
        for i, b in enumerate(arch["blocks"]):
            k, w = b["kernel"], b["width"]
            s = (max(self.space["kernels"]) - k) // 2  # the centre k x k of the largest kernel
            if b["type"] == "conv":
                h = F.conv2d(h, self.conv[i].weight[:w, :c, s:s + k, s:s + k], self.conv[i].bias[:w], padding=k // 2)
            else:
                h = F.conv2d(h, self.dw[i].weight[:c, :, s:s + k, s:s + k], self.dw[i].bias[:c], padding=k // 2,
                             groups=c)
                h = F.conv2d(h, self.pw[i].weight[:w, :c], self.pw[i].bias[:w])
            h, c = F.relu(h), w
        return F.linear(h.flatten(1), self.head.weight[:, :16 * c], self.head.bias)


RANDOM_PER_STEP = 4
LARGEST = {"stem": 8, "blocks": [{"type": t, "kernel": 5, "width": 32} for t in ("conv", "sep", "conv", "sep")]}
SMALLEST = {"stem": 8, "blocks": [{"type": "sep", "kernel": 3, "width": 8}]}
torch.manual_seed(0)
supernet = SuperNet(SPACE)
opt = torch.optim.Adam(supernet.parameters(), lr=1e-2)
steps_per_epoch = -(-len(ytr) // 64)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, SUPERNET_EPOCHS * steps_per_epoch)
rng, t0 = np.random.default_rng(2), time.perf_counter()
for _epoch in range(SUPERNET_EPOCHS):
    order = torch.randperm(len(ytr))
    for start in range(0, len(ytr), 64):
        idx = order[start:start + 64]
        opt.zero_grad()
        for arch in [LARGEST, SMALLEST] + [sample_architecture(SPACE, rng) for _ in range(RANDOM_PER_STEP)]:
            F.cross_entropy(supernet(xtr[idx], arch), ytr[idx]).backward()
        opt.step()
        schedule.step()
supernet_seconds = time.perf_counter() - t0


@torch.no_grad()
def inherited_accuracy(arch: dict) -> float:
    return float((supernet(xva, arch).argmax(1) == yva).float().mean())


print(f"supernet trained in {supernet_seconds:.1f} s; validation accuracy with inherited weights: largest "
      f"{inherited_accuracy(LARGEST):.2%}, smallest {inherited_accuracy(SMALLEST):.2%}")

# %% [markdown]
# ## Random search under the MAC budget
#
# The baseline every search must beat: sample, discard what is over budget (fitness 0), keep the best. MACs are
# counted from the built model.

# %%
mac_cache: dict[str, int] = {}


def fitness(arch: dict) -> float:
    key = str(arch)
    if key not in mac_cache:
        mac_cache[key] = count_macs(build_model(arch), (64,))
    return inherited_accuracy(arch) if mac_cache[key] <= BUDGET else 0.0


def random_search(n: int, rng: np.random.Generator) -> list[tuple[dict, float]]:
    return [(a, fitness(a)) for a in (sample_architecture(SPACE, rng) for _ in range(n))]


# %% [markdown]
# ## Regularized evolution
#
# Real et al. (2019, Algorithm 1): start from a random population; each cycle draws a few members at random
# (**tournament**), mutates the fittest of them in one choice, adds the child and removes the **oldest** member
# (**aging**), not the worst, so that a lucky early score cannot stay forever. Here a mutation changes one block's
# type, kernel or width and keeps the depth; the lab's `mutate` also changes the depth.

# %%
def mutate_block(arch: dict, rng: np.random.Generator) -> dict:
    child = {"stem": arch["stem"], "blocks": [dict(b) for b in arch["blocks"]]}
    b = child["blocks"][rng.integers(len(child["blocks"]))]
    field = ("type", "kernel", "width")[rng.integers(3)]
    others = [v for v in SPACE[field + "s"] if v != b[field]]
    b[field] = others[rng.integers(len(others))]
    return child


def aging_evolution(n: int, rng: np.random.Generator, population_size: int = 20, sample_size: int = 5) -> list:
    history = random_search(population_size, rng)
    population = list(history)
    while len(history) < n:
        tournament = [population[i] for i in rng.integers(len(population), size=sample_size)]
        child = mutate_block(max(tournament, key=lambda p: p[1])[0], rng)
        history.append((child, fitness(child)))
        population = population[1:] + [history[-1]]  # the oldest dies
    return history


t0 = time.perf_counter()
runs = {"random": [random_search(EVALUATIONS, np.random.default_rng(s)) for s in range(SEEDS)],
        "evolution": [aging_evolution(EVALUATIONS, np.random.default_rng(s)) for s in range(SEEDS)]}
curves = {k: np.array([np.maximum.accumulate([f for _, f in h]) for h in v]) for k, v in runs.items()}
search_seconds = time.perf_counter() - t0
print(f"{2 * SEEDS} searches of {EVALUATIONS} evaluations in {search_seconds:.1f} s, "
      f"{1000 * search_seconds / (2 * SEEDS * EVALUATIONS):.1f} ms per evaluated architecture")
for k, c in curves.items():
    print(f"{k:>9}: best inherited accuracy under the budget, mean (min-max) over {SEEDS} seeds, after " + ", ".join(
        f"{n}: {c[:, n - 1].mean():.2%} ({c[:, n - 1].min():.2%}-{c[:, n - 1].max():.2%})"
        for n in (30, 60, EVALUATIONS)))
ahead = [n for n in (30, 60, EVALUATIONS) if curves["evolution"][:, n - 1].mean() > curves["random"][:, n - 1].mean()]
print(f"evolution ahead of random search on the mean after {ahead or 'none'} of (30, 60, {EVALUATIONS}) evaluations")
top_score = max(c[:, -1].max() for c in curves.values())
top = {str(a) for runs_k in runs.values() for h in runs_k for a, f in h if f == top_score}
print(f"{len(top)} distinct architectures reach the best score {top_score:.2%}; one validation digit is "
      f"{1 / len(yva):.2%} of accuracy, and the smallest sub-network scores {inherited_accuracy(SMALLEST):.2%}")

# %% [markdown]
# Read the two curves with the scores they climb: inherited accuracy on the validation digits moves in steps of one
# digit, and the smallest sub-network is trained at every step of the sandwich rule (its score is printed above). When
# few architectures share the best score, both searches stop at the same place, and what limits them is the
# fitness, not the search; the next sections measure how well that fitness ranks networks.

# %% tags=["slow"]
fig, ax = new_axes("Best accuracy under the MAC budget, mean and range over seeds", "architectures evaluated",
                   "best validation accuracy (inherited weights)")
steps = np.arange(1, EVALUATIONS + 1)
for k, c in curves.items():
    ax.plot(steps, c.mean(0), label=k)
    ax.fill_between(steps, c.min(0), c.max(0), alpha=0.25)
ax.set_ylim(max(0.5, curves["random"][:, 10].min() - 0.05), 1.0)
ax.legend()
plt.show()

# %% [markdown]
# ## MnasNet's reward and the Pareto front
#
# A hard budget throws away every network just above it. MnasNet (Tan et al. 2019, Eq. 2) instead maximizes, over
# models $m$ of accuracy $\text{ACC}(m)$ and latency $\text{LAT}(m)$,
# $$\text{ACC}(m) \times \left[\frac{\text{LAT}(m)}{T}\right]^{w},\qquad
#   w = \begin{cases}\alpha & \text{LAT}(m) \le T\\ \beta & \text{otherwise,}\end{cases}$$
# with the target $T$. The **soft** constraint $\alpha = \beta = -0.07$ makes a network twice as slow worth
# $2^{-0.07} \approx 0.953$ of its accuracy; the **hard** one, $\alpha = 0, \beta = -1$, ignores latency under the
# target and divides by it above. Here, the soft form; the lab writes both sides. A network is on the **Pareto
# front** when no other is at least as accurate and at most as costly, and better in one.

# %%
def mnas_reward(acc: float, latency: float, target: float, w: float = -0.07) -> float:
    return acc * (latency / target) ** w


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Non-dominated (accuracy, cost) points by increasing cost, assuming no two costs or accuracies are equal."""
    front, best = [], -np.inf
    for i in sorted(range(len(points)), key=lambda i: points[i][1]):
        if points[i][0] > best:
            front.append(i)
            best = points[i][0]
    return front


assert abs(mnas_reward(0.9, 2.0, 1.0) - 0.9 * 2 ** -0.07) < 1e-12
archs = list({str(a): a for a in [a for h in runs["evolution"] for a, _ in h] + sampled}.values())
points = [(inherited_accuracy(a), mac_cache.get(str(a)) or count_macs(build_model(a), (64,))) for a in archs]
front = pareto_front(points)
best_soft = max(points, key=lambda p: mnas_reward(p[0], p[1], BUDGET))
print(f"{len(points)} distinct architectures, {len(front)} on the Pareto front; the soft reward's best has "
      f"{best_soft[1]:,} MACs against a budget of {BUDGET:,}")

# %% tags=["slow"]
fig, ax = new_axes("Accuracy against MACs: sampled and evolved architectures", "MACs (log scale)",
                   "validation accuracy")
ax.scatter([c for _, c in points], [a for a, _ in points], s=8, color="0.6", label="inherited weights")
ax.plot([points[i][1] for i in front], [points[i][0] for i in front], "o-", color="C1", label="Pareto front")
for name, r in hand.items():
    ax.scatter(r["macs"], r["val"], marker="*", s=150, label=f"{name}, trained")
ax.axvline(BUDGET, color="0.3", ls="--", label="budget")
ax.set_xscale("log")
ax.set_ylim(0.5, 1.0)
ax.legend()
plt.show()

# %% [markdown]
# ## Does the supernet rank like training from scratch?
#
# Weight sharing only helps if inherited accuracy orders architectures the way stand-alone training does. Five of
# the architectures above, at evenly spaced quantiles of their inherited accuracy, are trained from scratch for the
# same epochs as the hand-designed models.

# %%
by_acc = np.argsort([acc for acc, _ in points], kind="stable")
chosen = [archs[by_acc[int(q * (len(by_acc) - 1))]] for q in (0.0, 0.25, 0.5, 0.75, 1.0)]
standalone = [train_and_test(build_model(a)) for a in chosen]
inherited = [inherited_accuracy(a) for a in chosen]
tau_share = scipy.stats.kendalltau(inherited, [r["val"] for r in standalone]).statistic
for i_acc, r in zip(inherited, standalone):
    print(f"{r['macs']:>8,} MACs: inherited {i_acc:.2%}, stand-alone {r['val']:.2%}")
print(f"Kendall's tau, inherited against stand-alone validation accuracy over {len(chosen)} networks: {tau_share:.2f}")

# %% [markdown]
# ## The found network against the hand-designed ones
#
# The best architecture under the budget found by evolution (over its seeds), trained from scratch like the others; test
# accuracy $p$ comes with its binomial standard error $\sqrt{p(1-p)/n}$ on the $n$ test digits.

# %%
found = max((p for h in runs["evolution"] for p in h), key=lambda p: p[1])[0]
rows = {**hand, "found by evolution": train_and_test(build_model(found))}
n_test = len(digits.test)
print(f"{'model':>20} {'test acc':>14} {'params':>8} {'MACs':>8} {'latency ms':>11}")
for name, r in rows.items():
    se = np.sqrt(r["test"] * (1 - r["test"]) / n_test)
    r["lat"] = latency_ms(lambda model=r["model"]: model(x64), repeats=20, warmup=3)
    print(f"{name:>20} {r['test']:>8.2%} ±{se:.2%} {r['params']:>8,} {r['macs']:>8,} {r['lat']:>11.3f}")
print("found:", found)
diff = rows["found by evolution"]["test"] - rows["digits_cnn"]["test"]
se_diff = np.sqrt(sum(r["test"] * (1 - r["test"]) / n_test for r in (rows["found by evolution"], rows["digits_cnn"])))
print(f"found minus digits_cnn: {100 * diff:+.2f} points of test accuracy, {abs(diff) / se_diff:.1f} standard errors "
      f"of the difference ({'within' if abs(diff) < 2 * se_diff else 'outside'} two standard errors)")

# %% tags=["headline"]
f_row, h_row = rows["found by evolution"], rows["digits_cnn"]
print(f"Kendall's tau on this CPU: MACs vs latency {tau_macs:.2f}; supernet-inherited vs stand-alone accuracy "
      f"{tau_share:.2f} ({len(chosen)} networks)")
print(f"after {EVALUATIONS} evaluations (mean of {SEEDS} seeds): evolution {curves['evolution'][:, -1].mean():.2%}, "
      f"random search {curves['random'][:, -1].mean():.2%} inherited validation accuracy under {BUDGET:,} MACs")
print(f"found network: test accuracy {f_row['test']:.2%} at {f_row['macs']:,} MACs and {f_row['params']:,} "
      f"parameters; digits_cnn {h_row['test']:.2%} at {h_row['macs']:,} MACs and {h_row['params']:,} parameters")
assert f_row["macs"] <= BUDGET

# %% [markdown]
# ## Pitfalls
#
# - MACs are a proxy: the page measured how well they rank latency here; on another device the answer may differ,
#   which is why MnasNet measures latency on the phone.
# - Compare searches at equal numbers of evaluated architectures and over several seeds; a single run of either is
#   mostly luck.
# - Aging removes the oldest member. Removing the worst instead turns evolution greedy: one lucky, noisy score can
#   then stay in the population forever (the argument of Real et al. 2019 for aging).
# - A supernet ranks sub-networks only as well as its correlation with stand-alone training, measured above on few
#   networks; a small Kendall's tau over five points is noisy.
# - A mutation must change exactly one choice; mutating to the same value wastes an evaluation.
# - Counting the choices of absent blocks overstates the size of a space with a depth choice.
#
# ## Summary
#
# - A search space is a product of choices per block, summed over depths; an architecture is a dict and a builder.
# - Counted MACs need no timing; their rank correlation with latency on this CPU is the number printed above.
# - Random search is the baseline; regularized evolution mutates tournament winners and ages out the oldest.
# - A weight-sharing supernet, trained once with the sandwich rule, scores every candidate of a search without
#   training it (the time per candidate is printed above).
#
# ## Exercises
#
# 1. Search with MnasNet's soft reward on measured latency instead of the hard MAC budget. Which networks win?
# 2. Drop the sandwich rule (train only random sub-networks). What happens to Kendall's tau of the supernet?
# 3. Add a width multiplier of the stem to the space. How large is the space, and does the search use it?

# %%
print(f"lecture ran in {time.perf_counter() - START:.1f} s")
