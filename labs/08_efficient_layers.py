# %% [markdown]
# # Lab 8: Efficient layers
#
# In this lab you write, in NumPy and then PyTorch, the layers that make networks cheap by construction:
#
# | task | you write | checked against |
# |---|---|---|
# | 1 | `conv2d`: convolution with stride, padding and groups, by im2col | `F.conv2d` |
# | 2 | `depthwise_conv2d`, `pointwise_conv2d`, `separable_conv2d` | `F.conv2d` with `groups` |
# | 3 | `conv_params`, `conv_macs`: cost formulas with groups | `nn.Conv2d` parameter counts |
# | 4 | `low_rank_factors`, `rank_for_energy`: truncated SVD and the rank that keeps an energy | Eckart-Young |
# | 5 | `DepthwiseSeparableConv2d`: the block as an `nn.Module` | your `separable_conv2d` |
# | 6 | `LowRankLinear` with `from_linear`, and `factorize_mlp` | `nn.Linear` |
#
# The lecture coded convolution without groups and factorized one layer by hand; here you write the general case.
# Every task ends in a check cell: run it. The autograder runs hidden tests with other shapes and edge cases. The cell
# tagged `slow` (training) is skipped when grading.

# %%
import copy  # noqa: F401 (Task 6 copies the model)

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from compresslab import seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.models import mlp
from compresslab.train import evaluate, fit


def _as_int(name: str, value, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


# %% [markdown]
# ## Task 1: convolution with stride, padding and groups
#
# `x` is `(N, C_in, H, W)` and `w` is `(C_out, C_in / groups, K_h, K_w)`. With `groups = g`, the input channels are
# split into `g` consecutive blocks and output block `j` (channels `j * C_out/g ...`) sees only input block `j`. The
# output size is $H_{out} = \lfloor (H + 2p - K_h)/s \rfloor + 1$. Zero padding is added on **both** sides. Like
# PyTorch, this is cross-correlation: the kernel is not flipped. Return float64. Raise `ValueError` naming `groups`
# when `C_in` or `C_out` is not divisible by it, or naming `w` when its channel dimension is not `C_in / groups`.

# %%
def conv2d(x, w, b=None, stride: int = 1, padding: int = 0, groups: int = 1) -> np.ndarray:
    """2-D cross-correlation of x (N, C_in, H, W) with w (C_out, C_in/groups, K_h, K_w), plus b (C_out,) if given.

    Returns a float64 array (N, C_out, H_out, W_out), H_out = (H + 2*padding - K_h) // stride + 1.
    Raises ValueError (naming the argument) for bad stride, padding, groups or mismatched w.
    """
    raise NotImplementedError("Task 1: pad both sides, im2col windows per group, times the group's kernels.")


# %% tags=["raises-exception"]
rng = np.random.default_rng(0)
for (c_in, c_out, k, s, p, g) in [(3, 4, 3, 1, 0, 1), (4, 6, 3, 2, 1, 2), (6, 6, 3, 1, 1, 6), (4, 8, 1, 1, 0, 4)]:
    x = rng.standard_normal((2, c_in, 7, 6))
    w = rng.standard_normal((c_out, c_in // g, k, k))
    b = rng.standard_normal(c_out)
    got = conv2d(x, w, b, stride=s, padding=p, groups=g)
    ref = F.conv2d(*(torch.from_numpy(a) for a in (x, w, b)), stride=s, padding=p, groups=g).numpy()
    assert got.shape == ref.shape, f"conv2d shape: expected {ref.shape}, got {got.shape}"
    err = np.abs(got - ref).max()
    assert err < 1e-5, f"conv2d(c_in={c_in}, c_out={c_out}, k={k}, stride={s}, padding={p}, groups={g}): max diff {err}"
print("conv2d matches F.conv2d")

# %% [markdown]
# ## Task 2: depthwise, pointwise and separable convolution
#
# A **depthwise** convolution has one `K x K` filter per input channel: `w_dw` is `(C, 1, K, K)` and it is `conv2d`
# with `groups = C`. A **pointwise** convolution is a `1 x 1` convolution, `w_pw` of shape `(C_out, C_in, 1, 1)`: a
# matrix product over channels at each pixel. A **separable** convolution is depthwise (with its stride and padding)
# followed by pointwise. Use your `conv2d`.

# %%
def depthwise_conv2d(x, w, b=None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Depthwise convolution: w is (C, 1, K, K), one filter per channel of x (N, C, H, W). Returns float64."""
    raise NotImplementedError("Task 2: a grouped conv2d with as many groups as channels.")


def pointwise_conv2d(x, w, b=None) -> np.ndarray:
    """Pointwise (1 x 1) convolution: w is (C_out, C_in, 1, 1). Returns float64 (N, C_out, H, W)."""
    raise NotImplementedError("Task 2: a 1x1 conv2d (or an einsum over the channel axis).")


def separable_conv2d(x, w_dw, w_pw, b_dw=None, b_pw=None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Depthwise (w_dw, b_dw, stride, padding) then pointwise (w_pw, b_pw). Returns float64 (N, C_out, H_out, W_out)."""
    raise NotImplementedError("Task 2: depthwise_conv2d then pointwise_conv2d.")


# %% tags=["raises-exception"]
x = rng.standard_normal((2, 5, 8, 8))
w_dw, b_dw = rng.standard_normal((5, 1, 3, 3)), rng.standard_normal(5)
w_pw, b_pw = rng.standard_normal((7, 5, 1, 1)), rng.standard_normal(7)
tx = torch.from_numpy(x)
ref_dw = F.conv2d(tx, torch.from_numpy(w_dw), torch.from_numpy(b_dw), stride=2, padding=1, groups=5)
ref = F.conv2d(ref_dw, torch.from_numpy(w_pw), torch.from_numpy(b_pw)).numpy()
err = np.abs(pointwise_conv2d(x, w_pw, b_pw) - F.conv2d(tx, torch.from_numpy(w_pw), torch.from_numpy(b_pw)).numpy())
err = err.max()
assert err < 1e-5, f"pointwise_conv2d differs from a 1x1 F.conv2d by {err}"
err = np.abs(depthwise_conv2d(x, w_dw, b_dw, stride=2, padding=1) - ref_dw.numpy()).max()
assert err < 1e-5, f"depthwise_conv2d differs from F.conv2d(groups=C) by {err}"
err = np.abs(separable_conv2d(x, w_dw, w_pw, b_dw, b_pw, stride=2, padding=1) - ref).max()
assert err < 1e-5, f"separable_conv2d differs from depthwise then pointwise F.conv2d by {err}"
print("depthwise, pointwise and separable convolutions match F.conv2d")

# %% [markdown]
# ## Task 3: parameters and multiply-accumulates
#
# A convolution with `groups = g` has $C_{out} \cdot (C_{in}/g) \cdot K^2$ weights (plus $C_{out}$ biases), and each
# output value costs $(C_{in}/g) \cdot K^2$ multiply-accumulates (MACs), so
# $\text{MACs} = C_{out} (C_{in}/g) K^2 H_{out} W_{out}$. Return Python ints; raise `ValueError` naming `groups` when
# it does not divide both channel counts, and naming the argument for a non-positive size.

# %%
def conv_params(c_in: int, c_out: int, k: int, groups: int = 1, bias: bool = True) -> int:
    """Number of parameters of nn.Conv2d(c_in, c_out, k, groups=groups, bias=bias)."""
    raise NotImplementedError("Task 3: each output channel sees c_in / groups input channels through a k x k kernel.")


def conv_macs(c_in: int, c_out: int, k: int, h_out: int, w_out: int, groups: int = 1) -> int:
    """Multiply-accumulates of one image through that convolution, producing an h_out x w_out map."""
    raise NotImplementedError("Task 3: weights without bias, times the number of output pixels.")


# %% tags=["raises-exception"]
for c_in, c_out, k, g, bias in [(32, 64, 3, 1, False), (32, 32, 3, 32, False), (32, 64, 1, 1, True),
                                (8, 16, 5, 4, True)]:
    layer = nn.Conv2d(c_in, c_out, k, groups=g, bias=bias)
    expected = sum(p.numel() for p in layer.parameters())
    got = conv_params(c_in, c_out, k, groups=g, bias=bias)
    call = f"conv_params({c_in}, {c_out}, {k}, groups={g}, bias={bias})"
    assert got == expected, f"{call}: expected {expected}, got {got}"
assert conv_macs(32, 32, 3, 10, 10, groups=32) == 32 * 9 * 100, "depthwise MACs are C * K^2 * H_out * W_out"
ratio = (conv_params(32, 32, 3, 32, False) + conv_params(32, 64, 1, 1, False)) / conv_params(32, 64, 3, 1, False)
assert abs(ratio - (1 / 64 + 1 / 9)) < 1e-12, f"separable / standard should be 1/C_out + 1/K^2, got {ratio}"
print(f"separable / standard parameters for 32 -> 64, 3x3: {ratio:.5f} = 1/64 + 1/9")

# %% [markdown]
# ## Task 4: truncated SVD
#
# With $W = U \Sigma V^\top$, the best rank-$r$ approximation in Frobenius norm keeps the $r$ largest singular values
# (Eckart-Young): $\lVert W - W_r \rVert_F^2 = \sum_{i>r} \sigma_i^2$. Return factors `A` (m x r) and `B` (r x n) with
# $A B = W_r$, splitting $\Sigma$ evenly: $A = U_r \Sigma_r^{1/2}$, $B = \Sigma_r^{1/2} V_r^\top$ (float64). `rank`
# must be in 1..min(m, n).
#
# `rank_for_energy(S, energy)` returns the smallest $r$ with $\sum_{i \le r}\sigma_i^2 \ge \text{energy} \cdot
# \sum_i \sigma_i^2$ for `S` sorted descending, `energy` in (0, 1] (else `ValueError` naming `energy`). Energy is
# measured in $\sigma^2$, not $\sigma$. Compare with a relative slack of 1e-12 so that `energy = 1` gives the full rank.

# %%
def low_rank_factors(W, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """A (m, rank) and B (rank, n), float64, with A @ B the best rank-`rank` approximation of W (m, n)."""
    raise NotImplementedError("Task 4: np.linalg.svd, keep rank columns, give sqrt(S) to each factor.")


def rank_for_energy(S, energy: float) -> int:
    """Smallest r such that the r largest singular values in S (descending) keep `energy` of sum(S**2)."""
    raise NotImplementedError("Task 4: cumulative sum of S**2 over its total; first index reaching energy, plus one.")


# %% tags=["raises-exception"]
W = rng.standard_normal((30, 20))
S = np.linalg.svd(W, compute_uv=False)
for r in (1, 5, 20):
    A, B = low_rank_factors(W, r)
    assert A.shape == (30, r) and B.shape == (r, 20), f"rank {r}: shapes {A.shape}, {B.shape}"
    err = np.linalg.norm(W - A @ B) ** 2
    bound = float(np.sum(S[r:] ** 2))
    assert abs(err - bound) < 1e-8 * max(1.0, bound), f"rank {r}: error {err} but Eckart-Young gives {bound}"
assert rank_for_energy(np.array([3.0, 2.0, 1.0]), 0.9) == 2, "9+4 of 14 is 0.93 >= 0.9: rank 2"
assert rank_for_energy(S, 1.0) == 20, "energy 1 keeps every singular value"
print("truncated SVD meets the Eckart-Young bound")

# %% [markdown]
# ## Task 5: the depthwise-separable block in PyTorch
#
# `DepthwiseSeparableConv2d(c_in, c_out, kernel_size, stride=1, padding=0, bias=True)` holds two `nn.Conv2d`
# attributes: `depthwise` (`c_in -> c_in`, `groups=c_in`, the stride and padding) and `pointwise` (`1 x 1`,
# `c_in -> c_out`); both have a bias when `bias` is True. `forward` applies depthwise then pointwise, no activation.

# %%
class DepthwiseSeparableConv2d(nn.Module):
    """Depthwise k x k convolution followed by a pointwise 1 x 1 convolution."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int = 1, padding: int = 0, bias: bool = True):
        super().__init__()
        raise NotImplementedError("Task 5: self.depthwise (groups=c_in) and self.pointwise (1 x 1).")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("Task 5: pointwise(depthwise(x)).")


# %% tags=["raises-exception"]
torch.manual_seed(0)
block = DepthwiseSeparableConv2d(5, 7, 3, stride=2, padding=1).double()
with torch.no_grad():
    got = block(tx).numpy()
want = separable_conv2d(x, block.depthwise.weight.detach().numpy(), block.pointwise.weight.detach().numpy(),
                        block.depthwise.bias.detach().numpy(), block.pointwise.bias.detach().numpy(), 2, 1)
assert np.abs(got - want).max() < 1e-8, "the block must compute depthwise then pointwise"
n_params = sum(p.numel() for p in block.parameters())
assert n_params == conv_params(5, 5, 3, 5) + conv_params(5, 7, 1), f"unexpected parameter count {n_params}"
print("DepthwiseSeparableConv2d matches separable_conv2d")

# %% [markdown]
# ## Task 6: low-rank Linear layers
#
# `LowRankLinear(in_features, out_features, rank, bias=True)` computes $y = A(Bx) + b$ with two attributes:
# `first = nn.Linear(in_features, rank, bias=False)` (weight $B$) and `second = nn.Linear(rank, out_features,
# bias=bias)` (weight $A$, the bias). The class method `from_linear(linear, rank)` builds one from a trained
# `nn.Linear` with your `low_rank_factors` of its weight, and copies its bias (and keeps its dtype).
#
# `factorize_mlp(model, energy)` returns a **copy** of `model` in which every `nn.Linear` (at any depth) is replaced by
# `LowRankLinear.from_linear(layer, r)`, `r = rank_for_energy(singular values of its weight, energy)`, but only when
# that saves parameters: $r (m + n) < m n$; other layers stay (copied) as they were. The input model is unchanged.

# %%
class LowRankLinear(nn.Module):
    """y = second(first(x)): a Linear layer factored through `rank` hidden units."""

    def __init__(self, in_features: int, out_features: int, rank: int, bias: bool = True):
        super().__init__()
        raise NotImplementedError("Task 6: first (no bias) maps in -> rank, second maps rank -> out with the bias.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("Task 6: second(first(x)).")

    @classmethod
    def from_linear(cls, linear: nn.Linear, rank: int) -> "LowRankLinear":
        """A LowRankLinear whose product of weights is the best rank-`rank` approximation of linear.weight."""
        raise NotImplementedError("Task 6: low_rank_factors of the weight; B into first, A into second, copy the bias.")


def factorize_mlp(model: nn.Module, energy: float) -> nn.Module:
    """A copy of model with each nn.Linear replaced by a LowRankLinear keeping `energy`, where that saves parameters."""
    raise NotImplementedError("Task 6: deepcopy, recurse over named_children, replace when r * (m + n) < m * n.")


# %% tags=["raises-exception"]
torch.manual_seed(0)
dense = nn.Linear(40, 30).double()
low = LowRankLinear.from_linear(dense, 30)
xin = torch.randn(4, 40, dtype=torch.float64)
with torch.no_grad():
    assert torch.allclose(low(xin), dense(xin), atol=1e-10), "full-rank factors must reproduce the layer exactly"
net = mlp([64, 48, 32, 10], seed=0)
small = factorize_mlp(net, 0.5)
assert isinstance(net[0], nn.Linear), "factorize_mlp must not change its input model"
kinds = [type(m).__name__ for m in small if isinstance(m, (nn.Linear, LowRankLinear))]
print("layers after factorize_mlp(energy=0.5):", kinds)
assert "LowRankLinear" in kinds, "at energy 0.5 the 64 -> 48 layer should be factorized"

# %% [markdown]
# ## Using your functions: a low-rank MLP on the digits

# %% tags=["slow", "raises-exception"]
seed_everything(0)
loaders = make_loaders(load_digits_dataset(), batch_size=64)
base = mlp([64, 256, 256, 10], seed=0)
fit(base, loaders["train"], epochs=15, lr=3e-3)
base_acc = evaluate(base, loaders["test"])["accuracy"]
dense_params = sum(p.numel() for p in base.parameters())
print(f"dense MLP: {dense_params} parameters, test accuracy {base_acc:.3f}")
for energy in (0.5, 0.7, 0.9):
    small = factorize_mlp(base, energy)
    params = sum(p.numel() for p in small.parameters())
    acc = evaluate(small, loaders["test"])["accuracy"]
    fit(small, loaders["train"], epochs=3, lr=1e-3)
    tuned = evaluate(small, loaders["test"])["accuracy"]
    print(f"energy {energy}: {params / dense_params:.2f} of the parameters, accuracy {acc:.3f} -> {tuned:.3f} "
          "after 3 epochs of fine-tuning")
