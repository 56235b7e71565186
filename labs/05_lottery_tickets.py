# %% [markdown]
# # Lab 5: lottery tickets, their controls and supermasks
#
# The lecture pruned one layer at a time, reset a small MLP to its initialization between rounds, and compared the
# tickets it found with the two controls. In this lab you write the general tools behind those curves:
#
# | task | you write | checked against |
# |---|---|---|
# | 1 | `imp_round`: one round of iterative magnitude pruning, per layer | `torch.nn.utils.prune` |
# | 2 | `rewind`, `random_reinit`, `random_masks_like`: the ticket and its controls | the kept counts |
# | 3 | `signs_only`: survivors reset to a signed constant (Zhou et al. 2019) | the signs of the initialization |
# | 4 | `SupermaskLinear`: frozen random weights, learned scores, a straight-through top-k | autograd |
# | 5 | `find_ticket`: the whole procedure, with rewinding to iteration $k$ | a fake trainer |
#
# **Conventions.** The *prunable* weights of a model are its parameters whose name ends in `weight` and that have at
# least two dimensions (the weights of `nn.Linear` and `nn.Conv2d`), in `named_parameters()` order; a list of masks
# has one `torch.bool` tensor per prunable weight, `True` where a weight is kept. Biases are never pruned. The first
# cell's `check_masks(shapes, masks)` raises the `ValueError` naming `masks` that Tasks 1 to 3 ask for.
#
# **How to check your work.** Every task ends in a check cell; the autograder runs hidden tests with other inputs and
# edge cases, so follow each docstring exactly: a `ValueError` message must name the bad argument. Cells tagged
# `slow` (training and plots) are skipped when grading, but run them: that is where your code finds a real ticket.

# %%
import copy
import math

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune

from compresslab import check_raises, seed_everything
from compresslab.data import load_digits_dataset
from compresslab.models import mlp

seed_everything(0)


def prunable(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """(name, parameter) of every weight with at least two dimensions, in named_parameters() order."""
    return [(name, p) for name, p in model.named_parameters() if name.endswith("weight") and p.ndim >= 2]


def kept_fraction(masks) -> float:
    """Kept weights over all weights of a list of masks."""
    return sum(int(m.sum()) for m in masks) / sum(m.numel() for m in masks)


def check_masks(shapes: list, masks) -> None:
    """ValueError naming masks unless `masks` holds one mask per shape in `shapes`, of that shape (the tasks' check)."""
    if len(masks) != len(shapes):
        raise ValueError(f"masks: {len(masks)} masks for {len(shapes)} prunable weights")
    for i, (shape, m) in enumerate(zip(shapes, masks)):
        if tuple(np.shape(m)) != tuple(shape):
            raise ValueError(f"masks[{i}] has shape {tuple(np.shape(m))}, its weight {tuple(shape)}")


digits = load_digits_dataset()
x_train, y_train = digits.train.tensors()
x_val, y_val = digits.val.tensors()
x_test, y_test = digits.test.tensors()


def train_masked(model: nn.Module, masks, steps: int | None = None, epochs: int = 20, lr: float = 2e-3,
                 seed: int = 0, every: int = 10) -> dict:
    """Adam on minibatches of 64 digits with the pruned weights held at zero (the train_fn of find_ticket).

    Trains for `steps` iterations when given, else for `epochs`; every `every` iterations it measures the validation
    loss. Returns {"test_acc": test accuracy at the lowest validation loss, "early_stop_iter": that iteration}.
    """
    weights = [p for _, p in prunable(model)]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    total = steps if steps is not None else epochs * math.ceil(len(x_train) / 64)
    best, it = (math.inf, 0, 0.0), 0
    with torch.no_grad():
        for w, m in zip(weights, masks):
            w.mul_(m)
    while it < total:
        perm = torch.randperm(len(x_train), generator=order)
        for start in range(0, len(x_train), 64):
            idx = perm[start:start + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
            opt.step()
            it += 1
            with torch.no_grad():
                for w, m in zip(weights, masks):
                    w.mul_(m)
                if it % every == 0 or it == total:
                    val_loss = nn.functional.cross_entropy(model(x_val), y_val).item()
                    if val_loss < best[0]:
                        best = (val_loss, it, (model(x_test).argmax(1) == y_test).float().mean().item())
            if it == total:
                break
    return {"test_acc": best[2], "early_stop_iter": best[1]}


# %% [markdown]
# ## Task 1: one round of iterative magnitude pruning
#
# In each layer, remove `rate` of the weights that **survived** the previous round: the
# $\operatorname{round}(\text{rate} \cdot n_\text{kept})$ surviving weights of smallest $|w|$ (Python's `round`, as
# `torch.nn.utils.prune` counts; ties go to the lower flat index, as a stable sort gives). Weights already pruned
# stay pruned and are not counted again. The last prunable layer (the output layer) is pruned at `output_rate`, which
# defaults to half of `rate` (Frankle and Carbin 2019, Section 2). Neither argument may be modified.

# %%
def imp_round(weights: list, masks: list, rate: float, output_rate: float | None = None) -> list:
    """New masks (torch.bool, the weights' shapes) after pruning `rate` of each layer's surviving weights.

    weights: tensors or arrays; masks: booleans of the same shapes, one per weight. rate, output_rate: floats in
    [0, 1); output_rate=None means rate / 2 for the last layer. The arguments are left unchanged.
    Raises ValueError naming rate, output_rate or masks (a different number of masks, or a shape that differs).
    """
    raise NotImplementedError("Task 1: per layer, stable-sort |w| of the survivors; drop round(rate * n_kept).")


# %% tags=["raises-exception"]
w = [torch.tensor([[0.5, -0.1, 0.3], [-0.7, 0.2, 0.05]]), torch.tensor([[1.0, -2.0, 0.1, 0.4]])]
m = [torch.ones(2, 3, dtype=torch.bool), torch.tensor([[True, True, False, True]])]
new = imp_round(w, m, 0.5)
assert new[0].tolist() == [[True, False, True], [True, False, False]], new[0]  # 3 of 6 go: 0.05, 0.1, 0.2
assert new[1].tolist() == [[True, True, False, False]], new[1]  # output layer at 0.25: round(0.75) = 1 goes, 0.4
assert m[1].tolist() == [[True, True, False, True]], "the masks passed in must not change"
from_numpy = imp_round([x.numpy() for x in w], [np.asarray(x) for x in m], 0.5)
assert all(torch.equal(a, b) for a, b in zip(from_numpy, new)), "NumPy inputs give the same masks"
layer = nn.Linear(20, 10)
for _ in range(3):  # torch's pruning container prunes a fraction of what is left: the same rule
    prune.l1_unstructured(layer, "weight", amount=0.3)
ours = [torch.ones(10, 20, dtype=torch.bool)]
for _ in range(3):
    ours = imp_round([layer.weight_orig], ours, 0.3, 0.3)
assert torch.equal(ours[0], layer.weight_mask.bool()), "three rounds at 0.3 should match torch.nn.utils.prune"
check_raises(imp_round, w, m, 1.0, names="rate")
check_raises(imp_round, w, m[:1], 0.2, names="masks")
print(f"after three rounds at 30%: {ours[0].float().mean():.3f} of the weights left (0.7^3 = {0.7 ** 3:.3f})")

# %% [markdown]
# ## Task 2: the ticket and its two controls
#
# - `rewind` puts **every** parameter (biases too) back to its value in `init_state` (a state dict saved at
#   initialization, or at iteration $k$ for rewinding), then zeroes the pruned weights. It works in place and
#   returns the model.
# - `random_reinit` keeps the masks but draws new values: for each `nn.Linear` or `nn.Conv2d` in `modules()` order,
#   its weight and then its bias from $U(-b, b)$ with $b = 1/\sqrt{\text{fan\_in}}$ (PyTorch's default
#   distribution), each as `torch.rand(shape, generator=generator) * 2 * b - b`; then the pruned weights are zeroed.
# - `random_masks_like` keeps the per-layer count: for each mask, `torch.randperm(mask.numel(), generator=generator)`
#   and the first `mask.sum()` positions of that permutation are kept.

# %%
def rewind(model: nn.Module, init_state: dict, masks) -> nn.Module:
    """Every parameter and buffer back to init_state, pruned weights at zero; in place, returns model.

    Raises ValueError naming masks when there is not one mask per prunable weight of the right shape.
    """
    raise NotImplementedError("Task 2: load_state_dict(init_state), then multiply each prunable weight by its mask.")


def random_reinit(model: nn.Module, masks, generator: torch.Generator) -> nn.Module:
    """New U(-1/sqrt(fan_in), 1/sqrt(fan_in)) weights and biases from generator, the same masks; in place.

    Raises ValueError naming masks when there is not one mask per prunable weight of the right shape.
    """
    raise NotImplementedError("Task 2: per Linear/Conv2d, weight then bias from torch.rand; then re-mask.")


def random_masks_like(masks, generator: torch.Generator) -> list:
    """Random torch.bool masks with exactly as many kept weights per layer as `masks`."""
    raise NotImplementedError("Task 2: per mask, a randperm of its size; keep the first mask.sum() positions.")


# %% tags=["raises-exception"]
net = mlp([8, 6, 3], seed=0)
init = copy.deepcopy(net.state_dict())
with torch.no_grad():
    for p in net.parameters():
        p.add_(1.0)  # "training"
gen = torch.Generator().manual_seed(0)
masks = [torch.rand(6, 8, generator=gen) > 0.5, torch.rand(3, 6, generator=gen) > 0.25]
rewind(net, init, masks)
assert torch.equal(net[0].bias, init["0.bias"]), "biases go back to their initial values too"
assert torch.equal(net[0].weight, init["0.weight"] * masks[0]), "survivors at their initial values, the rest 0"
random_reinit(net, masks, torch.Generator().manual_seed(1))
assert torch.equal(net[0].weight == 0, ~masks[0]) and not torch.equal(net[0].weight, init["0.weight"] * masks[0])
assert net[0].weight.abs().max() <= 1 / math.sqrt(8) and net[2].bias.abs().max() <= 1 / math.sqrt(6)
rand = random_masks_like(masks, torch.Generator().manual_seed(2))
assert [int(r.sum()) for r in rand] == [int(m.sum()) for m in masks], "the same number kept per layer"
assert not all(torch.equal(r, m) for r, m in zip(rand, masks))
print("kept per layer:", [int(m.sum()) for m in masks], "of", [m.numel() for m in masks])

# %% [markdown]
# ## Task 3: signs matter
#
# Zhou et al. (2019, Section 3) reset each surviving weight to a constant magnitude with the sign of its initial
# value and found tickets that still train. Per prunable weight $w_0$ of `init_state` (names ending in `weight`,
# at least two dimensions, in the state dict's order, matched to the masks in order):
# $w \leftarrow \operatorname{sign}(w_0) \cdot \sigma(w_0) \cdot m$, with $\sigma$ the standard deviation of the
# layer's initial weights (`w0.std()`, PyTorch's default unbiased estimate). Every other entry is copied unchanged.

# %%
def signs_only(init_state: dict, masks) -> dict:
    """A new state dict: signed-constant survivors, zeros where pruned, other entries copied; init_state unchanged.

    Raises ValueError naming masks when there is not one mask per prunable weight of the right shape.
    """
    raise NotImplementedError("Task 3: copy the dict; each prunable weight sign(w0) * w0.std() * mask.")


# %% tags=["raises-exception"]
init = mlp([8, 6, 3], seed=1).state_dict()
masks = [torch.rand(6, 8, generator=torch.Generator().manual_seed(3)) > 0.5, torch.ones(3, 6, dtype=torch.bool)]
signed = signs_only(init, masks)
w0 = init["0.weight"]
assert torch.equal(torch.sign(signed["0.weight"]), torch.sign(w0) * masks[0]), "signs of the init, 0 where pruned"
assert torch.allclose(signed["0.weight"][masks[0]].abs(), w0.std().expand(int(masks[0].sum())))
assert torch.equal(signed["2.bias"], init["2.bias"]) and signed["0.weight"] is not init["0.weight"]
print("distinct magnitudes per layer:", [len(torch.unique(signed[k].abs())) for k in ("0.weight", "2.weight")])

# %% [markdown]
# ## Task 4: a supermask layer
#
# Ramanujan et al. (2020) learn *which* weights of a frozen random layer to use. `SupermaskLinear` holds a frozen
# weight and a learned score per weight (both drawn as `torch.rand(out, in, generator=generator) * 2 * b - b`,
# $b = 1/\sqrt{\text{in}}$, the weight first) and no bias. The forward pass keeps the
# $k = \operatorname{round}(\text{keep} \cdot n)$ **highest** scores:
# $y = x\,(w \odot \operatorname{topk}(s))^\top$. The top-k has zero gradient almost everywhere, so the backward pass
# is straight-through: $\partial L / \partial s = \partial L / \partial m$, the gradient the mask would get if it
# were a real-valued input, that is $(\partial L / \partial W_\text{eff}) \odot w$. Only `scores` is trainable.

# %%
class SupermaskLinear(nn.Module):
    """y = x @ (weight * topk_mask(scores)).T with a frozen weight and a straight-through top-k on the scores.

    in_features, out_features: ints >= 1; keep: fraction of weights kept, in (0, 1]; ValueError naming the argument.
    Attributes: weight (out, in), not trainable; scores (out, in), an nn.Parameter. mask() returns the current
    torch.bool mask.
    """

    def __init__(self, in_features: int, out_features: int, keep: float = 0.5,
                 generator: torch.Generator | None = None):
        super().__init__()
        raise NotImplementedError("Task 4: check the sizes and keep; draw weight then scores; freeze the weight.")

    def mask(self) -> torch.Tensor:
        """torch.bool (out, in): True at the round(keep * n) highest scores (at least one)."""
        raise NotImplementedError("Task 4: torch.topk of the flattened scores; True at those indices.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("Task 4: weight * (mask + scores - scores.detach()).")


# %% tags=["raises-exception"]
layer = SupermaskLinear(5, 4, keep=0.25, generator=torch.Generator().manual_seed(0))
x = torch.randn(3, 5)
mask = layer.mask()
assert mask.sum() == 5 and mask.dtype == torch.bool, mask
assert torch.allclose(layer(x), x @ (layer.weight * mask).T), "forward uses the kept weights only"
layer(x).sum().backward()
expected = (torch.ones(3, 4).T @ x) * layer.weight  # dL/dW_eff times w: straight through the top-k
assert torch.allclose(layer.scores.grad, expected, atol=1e-6), (layer.scores.grad, expected)
assert [n for n, p in layer.named_parameters() if p.requires_grad] == ["scores"], "only the scores train"
check_raises(SupermaskLinear, 5, 4, keep=0.0, names="keep")
print("kept positions:", mask.int().tolist())

# %% [markdown]
# ## Task 5: finding a ticket
#
# `find_ticket` runs the whole procedure. The contract of `train_fn(model, masks, steps=None) -> dict`: it trains the
# model in place with the pruned weights held at zero, for `steps` iterations when given, else for its full
# schedule, and returns at least `{"test_acc": float, "early_stop_iter": int}` (`train_masked` above is one).
#
# 1. `model = model_fn()`; save its state; all masks `True`.
# 2. With `rewind_step` $k > 0$: `train_fn(model, masks, steps=k)` and save that state as the rewind point
#    (Frankle et al. 2019, Algorithm 1); with $k = 0$ the rewind point is the initial state.
# 3. Round 0: `train_fn(model, masks)` (the dense network, from the rewind point when $k > 0$).
# 4. Rounds 1 to `rounds`: `imp_round` on the trained prunable weights at `rate` (the output layer at half),
#    `rewind` to the rewind point, `train_fn(model, masks)`.
#
# Return one record per round: `{"round": r, "fraction_left": kept over all prunable weights, "test_acc": ...,
# "early_stop_iter": ..., "masks": [clones of the masks that round trained with]}`.

# %%
def find_ticket(model_fn, train_fn, rounds: int, rate: float, rewind_step: int = 0) -> list[dict]:
    """Iterative magnitude pruning with rewinding; rounds + 1 records (round 0 is the dense network).

    rounds: int >= 0; rate: float in (0, 1); rewind_step: int >= 0. Raises ValueError naming rounds, rate or
    rewind_step.
    """
    raise NotImplementedError("Task 5: save the rewind state; each round prune, rewind, train, record.")


# %% tags=["raises-exception"]
def fake_model() -> nn.Module:
    return mlp([6, 5, 3], seed=3)


calls = []


def fake_train(model, masks, steps=None):
    """Not training: a deterministic update, so that each step of find_ticket shows in the result."""
    calls.append(steps)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.5).add_(torch.cos(7 * p) * 0.1)
        for (_, p), m in zip(prunable(model), masks):
            p.mul_(m)
        total = float(sum(p.abs().sum() for p in model.parameters()))
    return {"test_acc": total, "early_stop_iter": len(calls)}


records = find_ticket(fake_model, fake_train, rounds=3, rate=0.4, rewind_step=2)
assert calls == [2, None, None, None, None], calls
assert [r["round"] for r in records] == [0, 1, 2, 3]
fractions = [r["fraction_left"] for r in records]
assert fractions[0] == 1.0 and all(a > b for a, b in zip(fractions, fractions[1:])), fractions
assert records[1]["masks"][0].sum() == round(0.6 * 30), "40% of the 30 hidden weights pruned in round 1"
print([(r["round"], round(r["fraction_left"], 3), round(r["test_acc"], 3)) for r in records])

# %% [markdown]
# ## Experiments on the digits
#
# A ticket of `mlp([64, 128, 128, 10])` with rewinding to iteration 20, against the same masks re-initialized, and a
# supermask on a frozen random network.

# %% tags=["slow", "raises-exception"]
def digits_mlp() -> nn.Module:
    return mlp([64, 128, 128, 10], seed=0)


tickets = find_ticket(digits_mlp, train_masked, rounds=4, rate=0.5, rewind_step=20)
ahead = []
for rec in tickets[1:]:
    control = random_reinit(digits_mlp(), rec["masks"], torch.Generator().manual_seed(1))
    reinit_acc = train_masked(control, rec["masks"])["test_acc"]
    ahead.append(rec["test_acc"] > reinit_acc)
    print(f"{rec['fraction_left']:6.1%} left: ticket {rec['test_acc']:.2%} (early stop at {rec['early_stop_iter']}),"
          f" random re-init {reinit_acc:.2%}")
se = math.sqrt(tickets[0]["test_acc"] * (1 - tickets[0]["test_acc"]) / len(y_test))  # binomial standard error
print(f"dense: {tickets[0]['test_acc']:.2%}; the ticket beats its re-initialization at {sum(ahead)} of {len(ahead)} "
      f"levels (one seed: differences under {se:.2%}, one standard error on {len(y_test)} test digits, are noise)")

# %% tags=["slow", "raises-exception"]
torch.manual_seed(0)
gen = torch.Generator().manual_seed(0)
supernet = nn.Sequential(SupermaskLinear(64, 128, 0.5, gen), nn.ReLU(), SupermaskLinear(128, 128, 0.5, gen), nn.ReLU(),
                         SupermaskLinear(128, 10, 0.5, gen))
frozen = [layer.weight.clone() for layer in supernet if isinstance(layer, SupermaskLinear)]
opt = torch.optim.Adam([p for p in supernet.parameters() if p.requires_grad], lr=0.01)
for _ in range(10):
    perm = torch.randperm(len(x_train))
    for start in range(0, len(x_train), 64):
        idx = perm[start:start + 64]
        opt.zero_grad()
        nn.functional.cross_entropy(supernet(x_train[idx]), y_train[idx]).backward()
        opt.step()
with torch.no_grad():
    super_acc = (supernet(x_test).argmax(1) == y_test).float().mean().item()
assert all(torch.equal(a, m.weight) for a, m in zip(frozen, [m for m in supernet if isinstance(m, SupermaskLinear)]))
print(f"supermask on a frozen random network: test accuracy {super_acc:.2%} (chance is 10%)")

# %% [markdown]
# **Question.** In your run, does rewinding to iteration 20 change the accuracy of the sparsest ticket compared with
# the lecture's rewinding to initialization? What does the random re-init control tell you about where the ticket's
# accuracy comes from?

# %% [markdown] tags=["answer"]
# **Your answer:** replace this line with your answer, quoting numbers from your own plot.
