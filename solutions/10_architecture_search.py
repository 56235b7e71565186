# %% [markdown]
# # Lab 10: searching for an efficient network under a compute budget
#
# The lecture sampled architectures of a small search space for the 8x8 digits, counted their MACs by running them,
# searched it at random and with a simple evolution, and ranked sub-networks of a weight-sharing supernet. In this lab
# you write the general tools behind those experiments:
#
# | task | you write | checked against |
# |---|---|---|
# | 1 | `space_size`, `sample_architecture`: the size of a space with depths, a seeded sample | enumeration |
# | 2 | `build_model`, `arch_macs`, `arch_params`: a network and its cost in closed form | `FlopCounterMode` |
# | 3 | `mutate`: change exactly one choice | a diff of the two dicts |
# | 4 | `regularized_evolution`: Real et al. 2019, Algorithm 1 | a count of the fitness calls |
# | 5 | `mnas_reward`, `pareto_front`: MnasNet's Eq. 2 and the accuracy-cost front | brute force |
# | 6 | `kendall_tau`: tau-b with ties | `scipy.stats.kendalltau` |
# | 7 | `SuperNet`: `set_active`, `forward`, `extract` of a weight-sharing supernet | the extracted stand-alone model |
#
# **How to check your work.** Every task ends in a check cell; the autograder runs hidden tests with other inputs and
# edge cases, so follow each docstring exactly: the order of the random draws matters, and a `ValueError` message
# must name the bad argument. Cells tagged `slow` are skipped when grading, but run them: there your code searches.

# %%
import copy
from collections import deque  # noqa: F401 (for Task 4)

import numpy as np
import scipy.stats
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from compresslab import check_raises, seed_everything
from compresslab.data import load_digits_dataset
from compresslab.efficient_layers import DepthwiseSeparableConv2d  # noqa: F401 (for Task 2)
from compresslab.measure import count_parameters

seed_everything(0)

# The search space of the lecture: a fixed stem of 8 channels, then 1 to 4 blocks, each a standard ("conv") or a
# depthwise-separable ("sep") convolution of kernel 3 or 5 and width 8, 16, 24 or 32.
SPACE = {"stem": 8, "depths": [1, 2, 3, 4], "types": ["conv", "sep"], "kernels": [3, 5], "widths": [8, 16, 24, 32]}
FIELDS = ("type", "kernel", "width")
OPTIONS = {"type": "types", "kernel": "kernels", "width": "widths"}


def check_space(space: dict) -> dict:
    """space, or ValueError naming `space` unless it has a positive int stem and non-empty option lists."""
    keys = ("stem", "depths", "types", "kernels", "widths")
    if not isinstance(space, dict) or any(k not in space for k in keys):
        raise ValueError(f"space must be a dict with keys {keys}, got {space!r}")
    if not isinstance(space["stem"], int) or space["stem"] < 1:
        raise ValueError(f"space['stem'] must be a positive int, got {space['stem']!r}")
    for k in keys[1:]:
        if len(space[k]) == 0 or len(set(space[k])) != len(space[k]):
            raise ValueError(f"space[{k!r}] must be a non-empty list of distinct options, got {space[k]!r}")
    if any(d < 1 for d in space["depths"]) or any(w < 1 for w in space["widths"]):
        raise ValueError("space depths and widths must be positive")
    if any(k < 1 or k % 2 == 0 for k in space["kernels"]) or any(t not in ("conv", "sep") for t in space["types"]):
        raise ValueError("space kernels must be odd and types 'conv' or 'sep'")
    return space


def check_arch(arch: dict) -> dict:
    """arch, or ValueError naming `arch` unless it is {"stem": int, "blocks": [{"type", "kernel", "width"}, ...]}."""
    if not isinstance(arch, dict) or "stem" not in arch or "blocks" not in arch or len(arch["blocks"]) == 0:
        raise ValueError(f"arch must be a dict with a stem and at least one block, got {arch!r}")
    for b in arch["blocks"]:
        if b.get("type") not in ("conv", "sep") or b.get("kernel", 0) < 1 or b["kernel"] % 2 == 0 \
                or b.get("width", 0) < 1:
            raise ValueError(f"arch block must have type 'conv' or 'sep', an odd kernel and a positive width: {b!r}")
    return arch


# %% [markdown]
# ## Task 1: the size of the space and a seeded sample
#
# An architecture has a depth $d$ from `space["depths"]`, and each of its $d$ blocks chooses a type, a kernel and a
# width. Architectures of different depths are different, and the choices of blocks that are absent do not count, so
# $$|\mathcal{A}| = \sum_{d \in \text{depths}} (|\text{types}| \cdot |\text{kernels}| \cdot |\text{widths}|)^d.$$
#
# `sample_architecture` draws uniformly from each choice list with `rng.integers(len(options))`, in this order: the
# depth, then for each block its type, kernel and width. It returns plain Python values:
# `{"stem": space["stem"], "blocks": [{"type": "sep", "kernel": 3, "width": 16}, ...]}`.

# %%
def space_size(space: dict) -> int:
    """Number of distinct architectures of `space` (a Python int). ValueError naming space if it is malformed."""
    ### BEGIN SOLUTION
    ### HINT: Task 1: (types x kernels x widths) ** d, summed over the depths d.
    check_space(space)
    per_block = len(space["types"]) * len(space["kernels"]) * len(space["widths"])
    return int(sum(per_block ** int(d) for d in space["depths"]))
    ### END SOLUTION


def sample_architecture(space: dict, rng: np.random.Generator) -> dict:
    """A random architecture: depth, then (type, kernel, width) per block, each by rng.integers(len(options))."""
    ### BEGIN SOLUTION
    ### HINT: Task 1: draw the depth, then for each block draw type, kernel and width in that order.
    check_space(space)
    depth = int(space["depths"][rng.integers(len(space["depths"]))])
    blocks = []
    for _ in range(depth):
        block = {}
        for field in FIELDS:
            options = space[OPTIONS[field]]
            value = options[rng.integers(len(options))]
            block[field] = str(value) if field == "type" else int(value)
        blocks.append(block)
    return {"stem": int(space["stem"]), "blocks": blocks}
    ### END SOLUTION


# %%
assert space_size(SPACE) == 16 + 16**2 + 16**3 + 16**4, space_size(SPACE)
tiny = {"stem": 4, "depths": [1, 2], "types": ["conv", "sep"], "kernels": [3], "widths": [4, 8]}
seen = {str(sample_architecture(tiny, np.random.default_rng(s))) for s in range(400)}
assert len(seen) == space_size(tiny) == 4 + 16, (len(seen), space_size(tiny))
arch = sample_architecture(SPACE, np.random.default_rng(0))
assert arch == sample_architecture(SPACE, np.random.default_rng(0)), "the same seed must give the same architecture"
check_raises(space_size, {"stem": 8}, names="space")
print("space size", f"{space_size(SPACE):,}", "; a sample:", arch)

# %% [markdown]
# ## Task 2: the network of an architecture and its cost
#
# `build_model(arch)` takes the flattened digits, shape $(N, 64)$, and returns exactly this `nn.Sequential`:
#
# 1. `nn.Unflatten(1, (1, 8, 8))`;
# 2. the stem: `nn.Conv2d(1, stem, 3, padding=1)`, `nn.ReLU()`, `nn.MaxPool2d(2)` (8x8 to 4x4);
# 3. per block, `nn.Conv2d(c_in, width, k, padding=k // 2)` for `"conv"` or
#    `DepthwiseSeparableConv2d(c_in, width, k, padding=k // 2)` for `"sep"`, then `nn.ReLU()` (c_in is the previous
#    width, the stem's for the first block);
# 4. `nn.Flatten()`, `nn.Linear(16 * last width, 10)` (the last block's 4x4 map, channel by channel).
#
# `arch_macs` and `arch_params` compute its multiply-accumulates for one image and its parameter count (biases
# included) in closed form, without building it, using the stem at 8x8 and the blocks at 4x4. PyTorch's
# `FlopCounterMode` counts 2 FLOPs per MAC of the convolutions and the linear layer, so the check is
# `flops == 2 * arch_macs(arch)`.

# %%
def build_model(arch: dict, num_classes: int = 10) -> nn.Sequential:
    """The nn.Sequential above for `arch` (input (N, 64) digits, output (N, num_classes) logits)."""
    ### BEGIN SOLUTION
    ### HINT: Task 2: Unflatten, stem, a block and a ReLU per block, Flatten, Linear.
    check_arch(arch)
    layers = [nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, arch["stem"], 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    c_in = arch["stem"]
    for b in arch["blocks"]:
        k, w = b["kernel"], b["width"]
        if b["type"] == "conv":
            layers.append(nn.Conv2d(c_in, w, k, padding=k // 2))
        else:
            layers.append(DepthwiseSeparableConv2d(c_in, w, k, padding=k // 2))
        layers.append(nn.ReLU())
        c_in = w
    layers += [nn.Flatten(), nn.Linear(16 * c_in, num_classes)]
    return nn.Sequential(*layers)
    ### END SOLUTION


def arch_macs(arch: dict, num_classes: int = 10) -> int:
    """MACs of build_model(arch) for one image: stem at 8x8, blocks at 4x4 (separable: depthwise + pointwise), head."""
    ### BEGIN SOLUTION
    ### HINT: Task 2: stem 9*stem*64, each block at 4x4, head 16*last*num_classes.
    check_arch(arch)
    macs = 9 * arch["stem"] * 64
    c_in = arch["stem"]
    for b in arch["blocks"]:
        k, w = b["kernel"], b["width"]
        macs += (c_in * w * k * k if b["type"] == "conv" else c_in * k * k + c_in * w) * 16
        c_in = w
    return int(macs + 16 * c_in * num_classes)
    ### END SOLUTION


def arch_params(arch: dict, num_classes: int = 10) -> int:
    """Parameters of build_model(arch), biases included (separable: both of its convolutions have a bias)."""
    ### BEGIN SOLUTION
    ### HINT: Task 2: weights and biases of the stem, every block and the head.
    check_arch(arch)
    params = 9 * arch["stem"] + arch["stem"]
    c_in = arch["stem"]
    for b in arch["blocks"]:
        k, w = b["kernel"], b["width"]
        params += c_in * w * k * k + w if b["type"] == "conv" else c_in * k * k + c_in + c_in * w + w
        c_in = w
    return int(params + 16 * c_in * num_classes + num_classes)
    ### END SOLUTION


# %%
def counted_macs(model: nn.Module) -> int:
    """MACs of one forward pass of one digit, counted by PyTorch (FlopCounterMode counts 2 FLOPs per MAC)."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 64))
    return counter.get_total_flops() // 2


rng = np.random.default_rng(1)
for _ in range(20):
    a = sample_architecture(SPACE, rng)
    m = build_model(a)
    assert counted_macs(m) == arch_macs(a), (a, counted_macs(m), arch_macs(a))
    assert count_parameters(m) == arch_params(a), (a, count_parameters(m), arch_params(a))
assert build_model(arch)(torch.zeros(5, 64)).shape == (5, 10)
print("arch_macs and arch_params equal FlopCounterMode / 2 and count_parameters on 20 sampled architectures")

# %% [markdown]
# ## Task 3: mutation
#
# A mutation changes exactly **one** choice of `arch` and returns a new dict; `arch` itself must not change (copy it
# deeply). The choices, in this order: `"depth"` (only if `space["depths"]` has more than one option), then for each
# block `i` its `"type"`, `"kernel"` and `"width"` (each only if its option list has more than one entry). Then:
#
# 1. pick one choice with `rng.integers(len(choices))`;
# 2. the new value is drawn from the **other** options of that choice, in the space's order:
#    `others[rng.integers(len(others))]`;
# 3. a smaller depth keeps the first blocks; a larger one appends blocks drawn as in `sample_architecture` (type,
#    kernel, width per new block).
#
# If no choice has a second option, raise `ValueError` naming `space`.

# %%
def mutate(arch: dict, space: dict, rng: np.random.Generator) -> dict:
    """A copy of arch that differs in exactly one choice (depth, or one block's type, kernel or width)."""
    ### BEGIN SOLUTION
    ### HINT: Task 3: list the choices, pick one, draw another value, on a deep copy.
    check_space(space)
    check_arch(arch)
    choices = [("depth", None)] if len(space["depths"]) > 1 else []
    for i in range(len(arch["blocks"])):
        choices += [(field, i) for field in FIELDS if len(space[OPTIONS[field]]) > 1]
    if not choices:
        raise ValueError("space has no choice with a second option: nothing to mutate")
    child = copy.deepcopy(arch)
    field, i = choices[rng.integers(len(choices))]
    if field == "depth":
        depth = len(arch["blocks"])
        others = [d for d in space["depths"] if d != depth]
        new = int(others[rng.integers(len(others))])
        child["blocks"] = child["blocks"][:new]
        while len(child["blocks"]) < new:
            block = {}
            for f in FIELDS:
                options = space[OPTIONS[f]]
                value = options[rng.integers(len(options))]
                block[f] = str(value) if f == "type" else int(value)
            child["blocks"].append(block)
    else:
        options = space[OPTIONS[field]]
        others = [v for v in options if v != arch["blocks"][i][field]]
        value = others[rng.integers(len(others))]
        child["blocks"][i][field] = str(value) if field == "type" else int(value)
    return child
    ### END SOLUTION


# %%
def n_changes(a: dict, b: dict) -> int:
    """Choices in which two architectures differ (a depth change counts once)."""
    if len(a["blocks"]) != len(b["blocks"]):
        return 1 + sum(x != y for x, y in zip(a["blocks"], b["blocks"]))
    return sum(x[f] != y[f] for x, y in zip(a["blocks"], b["blocks"]) for f in FIELDS)


rng = np.random.default_rng(2)
parent = sample_architecture(SPACE, rng)
frozen = copy.deepcopy(parent)
for _ in range(200):
    child = mutate(parent, SPACE, rng)
    assert n_changes(parent, child) == 1, (parent, child)
    assert len(child["blocks"]) in SPACE["depths"] and all(b["width"] in SPACE["widths"] for b in child["blocks"])
assert parent == frozen, "mutate must not change its argument"
check_raises(mutate, parent, {**SPACE, "depths": [len(parent["blocks"])], "types": ["conv"], "kernels": [3],
                              "widths": [8]}, rng, names="space")
print("200 mutations, each differing in exactly one choice; the parent is unchanged")

# %% [markdown]
# ## Task 4: regularized evolution (Real et al. 2019, Algorithm 1)
#
# Keep a queue `population` of (architecture, fitness) pairs, oldest first, and a list `history`:
#
# 1. while fewer than `population_size` architectures were evaluated (and fewer than `cycles`): sample one with
#    `sample_architecture(space, rng)`, evaluate it, append it to both;
# 2. while fewer than `cycles` were evaluated: draw `sample_size` members of the population uniformly **with
#    replacement**, the positions `rng.integers(len(population), size=sample_size)` of the queue (0 is the oldest);
#    the parent is the fittest of them (the first in draw order on ties); the child is `mutate(parent, space, rng)`;
#    evaluate it, append it to both, and remove the **oldest** member of the population (aging), not the worst.
#
# Return `history`, the `cycles` (architecture, fitness) pairs in evaluation order; `fitness` is called exactly
# `cycles` times. `population_size`, `cycles` and `sample_size` are ints >= 1 with
# `sample_size <= population_size`; otherwise raise `ValueError` naming the argument.

# %%
def regularized_evolution(space: dict, fitness, population_size: int, cycles: int, sample_size: int,
                          rng: np.random.Generator) -> list[tuple[dict, float]]:
    """History [(arch, fitness(arch)), ...] of `cycles` evaluations of aging evolution."""
    ### BEGIN SOLUTION
    ### HINT: Task 4: random start, then tournament, mutate, append, popleft.
    for name, value in (("population_size", population_size), ("cycles", cycles), ("sample_size", sample_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    if sample_size > population_size:
        raise ValueError(f"sample_size={sample_size} must be at most population_size={population_size}")
    population, history = deque(), []
    while len(history) < min(population_size, cycles):
        arch = sample_architecture(space, rng)
        pair = (arch, float(fitness(arch)))
        population.append(pair)
        history.append(pair)
    while len(history) < cycles:
        drawn = rng.integers(len(population), size=sample_size)
        parent = population[int(drawn[0])]
        for j in drawn[1:]:
            if population[int(j)][1] > parent[1]:
                parent = population[int(j)]
        child = mutate(parent[0], space, rng)
        pair = (child, float(fitness(child)))
        population.append(pair)
        history.append(pair)
        population.popleft()
    return history
    ### END SOLUTION


# %%
calls = []


def toy_fitness(a: dict) -> float:
    """A stand-in for accuracy: wide separable blocks are good, MACs above 20,000 are not."""
    calls.append(a)
    return sum(b["width"] * (b["type"] == "sep") for b in a["blocks"]) - max(0, arch_macs(a) - 20_000) / 100


history = regularized_evolution(SPACE, toy_fitness, population_size=10, cycles=60, sample_size=3,
                                rng=np.random.default_rng(3))
assert len(history) == len(calls) == 60, (len(history), len(calls))
assert [a for a, _ in history] == calls, "history must list every evaluated architecture in order"
best_random = max(f for _, f in history[:10])
best = max(f for _, f in history)
assert best >= best_random
check_raises(regularized_evolution, SPACE, toy_fitness, 4, 10, 5, np.random.default_rng(0), names="sample_size")
print(f"evolution: best toy fitness {best_random:.1f} after the random start, {best:.1f} after 60 evaluations")

# %% [markdown]
# ## Task 5: MnasNet's reward and the Pareto front
#
# MnasNet (Tan et al. 2019, Eq. 2) maximizes $\text{ACC}(m)\,[\text{LAT}(m)/T]^w$ with $w = \alpha$ when
# $\text{LAT}(m) \le T$ and $w = \beta$ otherwise. The soft constraint is $\alpha = \beta = -0.07$; the hard one is
# $\alpha = 0, \beta = -1$. `acc` lies in $[0, 1]$, `latency` and `target` are positive (else `ValueError` naming
# them).
#
# A point (accuracy, cost) **dominates** another when it is at least as accurate and at most as costly, and better in
# one of the two. `pareto_front` returns the indices of the points that no other point dominates, ordered by cost
# (ties by index). Two identical points do not dominate each other: both stay. A point that is not a pair raises
# `ValueError` naming `points`.

# %%
def mnas_reward(acc: float, latency: float, target: float, alpha: float = -0.07, beta: float = -0.07) -> float:
    """ACC * (LAT / T) ** w, w = alpha if latency <= target else beta (MnasNet Eq. 2)."""
    ### BEGIN SOLUTION
    ### HINT: Task 5: validate; alpha at or below the target, beta above it.
    if not 0.0 <= acc <= 1.0:
        raise ValueError(f"acc must be in [0, 1], got {acc!r}")
    if not latency > 0:
        raise ValueError(f"latency must be positive, got {latency!r}")
    if not target > 0:
        raise ValueError(f"target must be positive, got {target!r}")
    w = alpha if latency <= target else beta
    return float(acc * (latency / target) ** w)
    ### END SOLUTION


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated (accuracy, cost) points, by increasing cost, ties by index."""
    ### BEGIN SOLUTION
    ### HINT: Task 5: keep i unless some j is no worse in both and better in one.
    if any(len(p) != 2 for p in points):
        raise ValueError(f"points must be (accuracy, cost) pairs, got {points!r}")
    pts = [(float(a), float(c)) for a, c in points]
    front = []
    for i, (a, c) in enumerate(pts):
        dominated = any(aj >= a and cj <= c and (aj > a or cj < c) for aj, cj in pts)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (pts[i][1], i))
    ### END SOLUTION


# %%
assert mnas_reward(0.9, 1.0, 1.0) == 0.9
assert mnas_reward(0.9, 2.0, 1.0) < 0.9 < mnas_reward(0.9, 0.5, 1.0), "soft: slower costs, faster gains"
assert mnas_reward(0.9, 0.5, 1.0, alpha=0.0, beta=-1.0) == 0.9 and mnas_reward(0.9, 2.0, 1.0, 0.0, -1.0) == 0.45
check_raises(mnas_reward, 0.9, 0.0, 1.0, names="latency")
pts = [(0.90, 10.0), (0.95, 20.0), (0.85, 12.0), (0.95, 30.0), (0.97, 40.0), (0.90, 10.0)]
assert pareto_front(pts) == [0, 5, 1, 4], pareto_front(pts)
check_raises(pareto_front, [(0.9, 10.0, 1.0)], names="points")
print("reward at 2x the target: soft", round(mnas_reward(0.9, 2.0, 1.0), 4), "hard",
      mnas_reward(0.9, 2.0, 1.0, 0.0, -1.0), "; front", pareto_front(pts))

# %% [markdown]
# ## Task 6: Kendall's tau-b
#
# Over all pairs $i < j$, count concordant pairs $P$ (both orders agree), discordant pairs $Q$, pairs tied only in $x$
# ($T_x$), tied only in $y$ ($T_y$); pairs tied in both count in neither. Then
# $$\tau_b = \frac{P - Q}{\sqrt{(P + Q + T_x)(P + Q + T_y)}},$$
# the statistic `scipy.stats.kendalltau` returns. Return `nan` when a denominator factor is 0 (a constant input), and
# raise `ValueError` naming `x` when the lengths differ or fewer than 2 values are given.

# %%
def kendall_tau(x, y) -> float:
    """Kendall's tau-b of two equally long sequences, with the tie correction; nan if either is constant."""
    ### BEGIN SOLUTION
    ### HINT: Task 6: signs of pair differences; (P - Q) / sqrt(untied x * untied y).
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if x.size != y.size or x.size < 2:
        raise ValueError(f"x and y must have the same length >= 2, got {x.size} and {y.size}")
    i, j = np.triu_indices(x.size, k=1)
    sx, sy = np.sign(x[j] - x[i]), np.sign(y[j] - y[i])
    s = float(np.sum(sx * sy))
    denom = float(np.count_nonzero(sx)) * float(np.count_nonzero(sy))
    return float(s / np.sqrt(denom)) if denom > 0 else float("nan")
    ### END SOLUTION


# %%
rng = np.random.default_rng(4)
for _ in range(5):
    u, v = rng.integers(0, 5, 30), rng.integers(0, 5, 30)  # many ties
    assert abs(kendall_tau(u, v) - scipy.stats.kendalltau(u, v).statistic) < 1e-12
assert np.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))
check_raises(kendall_tau, [1, 2], [1, 2, 3], names="x")
print("kendall_tau equals scipy.stats.kendalltau (tau-b) on tied data")

# %% [markdown]
# ## Task 7: a weight-sharing supernet
#
# `SuperNet(space)` holds one set of weights from which every architecture of the space is cut (Cai et al. 2020,
# Section 3.2): a stem `nn.Conv2d(1, stem, 3, padding=1)`; for each of the `max(depths)` block positions and each
# type, the largest weights (kernel `max(kernels)`, width `max(widths)`, inputs the stem's width for the first block
# and `max(widths)` after it); and a head `nn.Linear(16 * max(widths), 10)`. How you store them is up to you.
#
# A sub-network uses the **first** `d` blocks, the **first** channels of each weight (output and input), and the
# **centre** $k \times k$ of each kernel, plus the first $16 c$ input columns of the head ($c$: the last width).
# `set_active(arch)` chooses the sub-network that `forward(x)` (x of shape $(N, 64)$) then runs; `extract(arch)`
# returns `build_model(arch)` holding copies of those weights, so that `extract(arch)(x)` equals `forward(x)` after
# `set_active(arch)`.

# %%
class SuperNet(nn.Module):
    """Weights of the largest network of each type per block; forward runs the active sub-network."""

    def __init__(self, space: dict, num_classes: int = 10):
        super().__init__()
        ### BEGIN SOLUTION
        ### HINT: Task 7: stem, per block the largest conv/depthwise/pointwise, head.
        check_space(space)
        self.space = space
        stem, wmax, kmax = space["stem"], max(space["widths"]), max(space["kernels"])
        self.stem = nn.Conv2d(1, stem, 3, padding=1)
        self.conv, self.depthwise, self.pointwise = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for i in range(max(space["depths"])):
            c_in = stem if i == 0 else wmax
            self.conv.append(nn.Conv2d(c_in, wmax, kmax, padding=kmax // 2))
            self.depthwise.append(nn.Conv2d(c_in, c_in, kmax, padding=kmax // 2, groups=c_in))
            self.pointwise.append(nn.Conv2d(c_in, wmax, 1))
        self.head = nn.Linear(16 * wmax, num_classes)
        self.active = None
        ### END SOLUTION

    def _cut(self, i: int, block: dict, c_in: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """[(weight, bias), ...] of block i of the sub-network: one convolution, or depthwise then pointwise."""
        ### BEGIN SOLUTION
        ### HINT: Task 7: first channels [:width, :c_in], centre k x k of the kernel.
        k, w = block["kernel"], block["width"]
        s = (max(self.space["kernels"]) - k) // 2
        if block["type"] == "conv":
            conv = self.conv[i]
            return [(conv.weight[:w, :c_in, s:s + k, s:s + k], conv.bias[:w])]
        dw, pw = self.depthwise[i], self.pointwise[i]
        return [(dw.weight[:c_in, :, s:s + k, s:s + k], dw.bias[:c_in]), (pw.weight[:w, :c_in], pw.bias[:w])]
        ### END SOLUTION

    def set_active(self, arch: dict) -> None:
        """Make `arch` the sub-network that forward runs."""
        ### BEGIN SOLUTION
        ### HINT: Task 7: validate that arch fits the space (depth, widths, kernels) and remember it.
        check_arch(arch)
        if len(arch["blocks"]) > max(self.space["depths"]) or arch["stem"] != self.space["stem"] or any(
                b["width"] > max(self.space["widths"]) or b["kernel"] > max(self.space["kernels"])
                for b in arch["blocks"]):
            raise ValueError(f"arch does not fit in this supernet: {arch!r}")
        self.active = arch
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        ### HINT: Task 7: stem, each active block on its cut weights, the head.
        if self.active is None:
            raise RuntimeError("call set_active(arch) before forward")
        h = F.max_pool2d(F.relu(self.stem(x.reshape(-1, 1, 8, 8))), 2)
        c_in = self.space["stem"]
        for i, block in enumerate(self.active["blocks"]):
            pad = block["kernel"] // 2
            cut = self._cut(i, block, c_in)
            if block["type"] == "conv":
                h = F.conv2d(h, *cut[0], padding=pad)
            else:
                h = F.conv2d(F.conv2d(h, *cut[0], padding=pad, groups=c_in), *cut[1])
            h = F.relu(h)
            c_in = block["width"]
        return F.linear(h.flatten(1), self.head.weight[:, :16 * c_in], self.head.bias)
        ### END SOLUTION

    def extract(self, arch: dict) -> nn.Sequential:
        """build_model(arch) holding copies of the weights this supernet uses for arch."""
        ### BEGIN SOLUTION
        ### HINT: Task 7: build_model(arch), copy the cut weights into it.
        self.set_active(arch)
        model = build_model(arch, self.head.out_features)
        with torch.no_grad():
            model[1].weight.copy_(self.stem.weight)
            model[1].bias.copy_(self.stem.bias)
            c_in = arch["stem"]
            for i, block in enumerate(arch["blocks"]):
                layer = model[4 + 2 * i]
                convs = [layer] if block["type"] == "conv" else [layer.depthwise, layer.pointwise]
                for conv, (w, b) in zip(convs, self._cut(i, block, c_in)):
                    conv.weight.copy_(w)
                    conv.bias.copy_(b)
                c_in = block["width"]
            model[-1].weight.copy_(self.head.weight[:, :16 * c_in])
            model[-1].bias.copy_(self.head.bias)
        return model
        ### END SOLUTION


# %%
torch.manual_seed(0)
net = SuperNet(SPACE)
x = torch.from_numpy(load_digits_dataset().val.x[:32])
for a in [sample_architecture(SPACE, np.random.default_rng(s)) for s in range(6)]:
    net.set_active(a)
    with torch.no_grad():
        diff = (net(x) - net.extract(a)(x)).abs().max().item()
    assert diff < 1e-5, (a, diff)
big = {"stem": 8, "blocks": [{"type": "conv", "kernel": 5, "width": 32}] * 2}
small = {"stem": 8, "blocks": [{"type": "conv", "kernel": 3, "width": 16}] * 2}
assert torch.equal(net.extract(small)[6].weight, net.extract(big)[6].weight[:16, :16, 1:4, 1:4]), \
    "a sub-network uses the first channels and the centre of the kernel"
print("the supernet's forward equals its extracted sub-networks; they share the first channels and kernel centres")

# %% [markdown]
# ## Your search on the digits
#
# The supernet, trained for a few epochs with the sandwich rule (the largest, the smallest and two random
# sub-networks each step), scores sub-networks on the validation digits without training them: the fitness of an
# evolution under a MAC budget of 20,000 (an architecture above it scores 0).

# %% tags=["slow"]
digits = load_digits_dataset()
xtr, ytr = (torch.from_numpy(a) for a in (digits.train.x, digits.train.y))
xva, yva = (torch.from_numpy(a) for a in (digits.val.x, digits.val.y))
largest = {"stem": 8, "blocks": [{"type": t, "kernel": 5, "width": 32} for t in ("conv", "sep", "conv", "sep")]}
smallest = {"stem": 8, "blocks": [{"type": "sep", "kernel": 3, "width": 8}]}
torch.manual_seed(0)
net = SuperNet(SPACE)
opt = torch.optim.Adam(net.parameters(), lr=1e-2)
rng = np.random.default_rng(0)
for _epoch in range(6):
    order = torch.randperm(len(ytr))
    for start in range(0, len(ytr), 64):
        idx = order[start:start + 64]
        opt.zero_grad()
        for a in (largest, smallest, sample_architecture(SPACE, rng), sample_architecture(SPACE, rng)):
            net.set_active(a)
            F.cross_entropy(net(xtr[idx]), ytr[idx]).backward()
        opt.step()


def supernet_accuracy(a: dict) -> float:
    if arch_macs(a) > 20_000:
        return 0.0
    net.set_active(a)
    with torch.no_grad():
        return float((net(xva).argmax(1) == yva).float().mean())


history = regularized_evolution(SPACE, supernet_accuracy, 20, 100, 5, np.random.default_rng(0))
best_arch, best_acc = max(history, key=lambda p: p[1])
print(f"best validation accuracy (inherited weights) {best_acc:.2%} at {arch_macs(best_arch):,} MACs:", best_arch)
