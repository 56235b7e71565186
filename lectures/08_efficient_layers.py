# %% [markdown]
# # 8. Efficient layers: depthwise-separable convolutions and low-rank factorization
#
# Pruning and quantization shrink a trained network. This module changes the layers themselves so that they need
# fewer parameters and multiply-accumulates (MACs) from the start: a convolution split into a per-channel
# (depthwise) and a channel-mixing (pointwise) step, as in MobileNet, and a dense layer split into two thin ones by a
# truncated SVD. Then we measure, on this CPU, when fewer MACs actually means less time.

# %%
import copy
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from compresslab import compare, seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.measure import count_macs, count_parameters, latency_ms
from compresslab.models import mlp
from compresslab.plot import new_axes
from compresslab.train import evaluate, fit

torch.set_num_threads(1)  # every latency on this page is single-threaded
START = time.perf_counter()
rng = np.random.default_rng(0)

# %% [markdown]
# ## Convolution from scratch (NumPy)
#
# A 2-D convolution layer (in deep learning: cross-correlation, the kernel is not flipped) maps $x$ of shape
# $(N, C_{in}, H, W)$ and weights $w$ of shape $(C_{out}, C_{in}, K, K)$ to
# $$y[n, o, i, j] = b[o] + \sum_{c}\sum_{u,v} w[o, c, u, v]\; x_p[n, c, s i + u, s j + v],$$
# where $x_p$ is $x$ padded with $p$ zeros on each side and $s$ is the stride, so
# $H_{out} = \lfloor (H + 2p - K)/s \rfloor + 1$. **im2col** gathers each $C_{in} K K$ window into a row; the layer is
# then one matrix product with the flattened kernels. Here is the version without groups.

# %%
def conv2d(x, w, b=None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Cross-correlation of x (N, C, H, W) with w (O, C, K_h, K_w) by im2col; no groups."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h_out, w_out = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    cols = windows[:, :, :h_out, :w_out].transpose(0, 2, 3, 1, 4, 5).reshape(n, h_out, w_out, c * kh * kw)
    y = (cols @ w.reshape(o, -1).T).transpose(0, 3, 1, 2)
    return y if b is None else y + np.asarray(b).reshape(1, -1, 1, 1)


# %% [markdown]
# ## The check against PyTorch
#
# On random shapes, strides and paddings, `conv2d` must equal `F.conv2d` within 1e-5.

# %%
for n, c, h, o, k, s, p in [(2, 3, 8, 4, 3, 1, 1), (1, 2, 9, 5, 5, 2, 2), (3, 4, 7, 2, 1, 1, 0)]:
    x, w, b = rng.standard_normal((n, c, h, h + 1)), rng.standard_normal((o, c, k, k)), rng.standard_normal(o)
    ref = F.conv2d(*(torch.from_numpy(a) for a in (x, w, b)), stride=s, padding=p)
    assert compare(f"conv2d k={k} stride={s} padding={p}", conv2d(x, w, b, s, p), ref) < 1e-5

# %% [markdown]
# ## Depthwise and pointwise convolution
#
# A **depthwise** convolution filters each channel with its own $K \times K$ kernel ($w$ is $(C, 1, K, K)$): it is a
# convolution with `groups = C`, where group $g$ sees only its own block of input channels. A **pointwise**
# convolution is $1\times1$: a matrix product over channels at each pixel. A depthwise-separable block is depthwise
# then pointwise. Below, depthwise is one `conv2d` per channel (the lab writes grouped im2col).

# %%
x = rng.standard_normal((2, 6, 10, 10))
w_dw, w_pw = rng.standard_normal((6, 1, 3, 3)), rng.standard_normal((12, 6, 1, 1))
depth = np.concatenate([conv2d(x[:, [ch]], w_dw[[ch]], padding=1) for ch in range(6)], axis=1)
separable = conv2d(depth, w_pw)
ref = F.conv2d(F.conv2d(torch.from_numpy(x), torch.from_numpy(w_dw), padding=1, groups=6), torch.from_numpy(w_pw))
assert compare("depthwise then pointwise vs F.conv2d(groups=6)", separable, ref) < 1e-5

# %% [markdown]
# ## Parameters and MACs
#
# With groups $g$, each output channel sees $C_{in}/g$ input channels, so a convolution has $C_{out} (C_{in}/g) K^2$
# weights and each of the $H_{out} W_{out}$ outputs per channel costs $(C_{in}/g) K^2$ MACs. A standard convolution
# costs $C_{in} C_{out} K^2 H W$ MACs; depthwise plus pointwise cost $C_{in} K^2 H W + C_{in} C_{out} H W$, so
# $$\frac{\text{separable}}{\text{standard}} = \frac{C_{in} K^2 + C_{in} C_{out}}{C_{in} C_{out} K^2}
#   = \frac{1}{C_{out}} + \frac{1}{K^2}.$$
# The same ratio holds for parameters without biases. The cells tagged `export` form `compresslab/efficient_layers.py`.

# %% tags=["export"]
import torch  # noqa: E402, F811
from torch import nn  # noqa: E402, F811


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__") or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def conv_params(c_in: int, c_out: int, k: int, groups: int = 1, bias: bool = True) -> int:
    """Parameters of nn.Conv2d(c_in, c_out, k, groups=groups, bias=bias): C_out * (C_in / groups) * k^2 (+ C_out)."""
    c_in, c_out, k, groups = (_positive_int(n, v) for n, v in
                              (("c_in", c_in), ("c_out", c_out), ("k", k), ("groups", groups)))
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
    return c_out * (c_in // groups) * k * k + (c_out if bias else 0)


def conv_macs(c_in: int, c_out: int, k: int, h_out: int, w_out: int, groups: int = 1) -> int:
    """Multiply-accumulates of that convolution for one image with an h_out x w_out output."""
    h_out, w_out = _positive_int("h_out", h_out), _positive_int("w_out", w_out)
    return conv_params(c_in, c_out, k, groups, bias=False) * h_out * w_out


class DepthwiseSeparableConv2d(nn.Module):
    """Depthwise k x k convolution (groups=c_in, with the stride and padding) then a pointwise 1 x 1 convolution."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int = 1, padding: int = 0, bias: bool = True):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, kernel_size, stride=stride, padding=padding, groups=c_in, bias=bias)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


# %% [markdown]
# Counted parameters against the formula, for the 32 -> 64, 3x3 layer of MobileNet's first separable block:

# %%
for c_in, c_out, k, g, bias in [(32, 64, 3, 1, True), (32, 32, 3, 32, False), (12, 18, 5, 3, True)]:
    assert conv_params(c_in, c_out, k, g, bias) == count_parameters(nn.Conv2d(c_in, c_out, k, groups=g, bias=bias))
block = DepthwiseSeparableConv2d(32, 64, 3, padding=1, bias=False)
full = nn.Conv2d(32, 64, 3, padding=1, bias=False)
param_ratio = count_parameters(block) / count_parameters(full)
mac_ratio = count_macs(block, (32, 16, 16)) / count_macs(full, (32, 16, 16))
assert abs(param_ratio - (1 / 64 + 1 / 9)) < 1e-12 and abs(mac_ratio - (1 / 64 + 1 / 9)) < 1e-12
print(f"separable / standard: parameters {count_parameters(block)} / {count_parameters(full)} = {param_ratio:.5f}, "
      f"MACs {mac_ratio:.5f}; 1/64 + 1/9 = {1 / 64 + 1 / 9:.5f}")

# %% [markdown]
# For scale: MobileNet v1 (Howard et al. 2017, arXiv:1704.04861, Table 4) reports that the same network built from
# standard convolutions needs 4866 million mult-adds and 29.3 million parameters for 71.7% ImageNet accuracy, and
# the depthwise-separable MobileNet 569 million mult-adds and 4.2 million parameters for 70.6%: with 3x3 kernels,
# "between 8 to 9 times less computation", as $1/C_{out} + 1/9$ predicts.

# %% [markdown]
# ## With PyTorch: a small CNN on the digits, standard against separable
#
# Two CNNs for the 8x8 digits, identical except that the second and third convolutions are depthwise-separable (the
# first has one input channel, where a separable block saves nothing).

# %%
def digits_net(separable: bool) -> nn.Sequential:
    torch.manual_seed(0)
    conv = (lambda i, o: DepthwiseSeparableConv2d(i, o, 3, padding=1)) if separable else \
        (lambda i, o: nn.Conv2d(i, o, 3, padding=1))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), conv(32, 64), nn.ReLU(), nn.MaxPool2d(2),
                         conv(64, 64), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


seed_everything(0)
images = make_loaders(load_digits_dataset(as_images=True), batch_size=64)
batch = torch.randn(64, 1, 8, 8)
cnn_rows = {}
for name in ("standard", "separable"):
    net = digits_net(name == "separable")
    fit(net, images["train"], epochs=30, lr=3e-3, desc=name)
    net.eval()
    cnn_rows[name] = dict(params=count_parameters(net), macs=count_macs(net, (1, 8, 8)),
                          acc=evaluate(net, images["test"])["accuracy"],
                          ms=latency_ms(lambda net=net: net(batch), repeats=20))
print(f"{'model':<10} {'params':>8} {'MACs':>9} {'test acc':>9} {'ms/batch 64':>12}")
for name, r in cnn_rows.items():
    print(f"{name:<10} {r['params']:>8,} {r['macs']:>9,} {r['acc']:>9.3f} {r['ms']:>12.2f}")

# %% [markdown]
# ## Low rank: a Linear layer as two thinner ones
#
# A Linear layer $y = Wx + b$ with $W \in \mathbb{R}^{m \times n}$ costs $mn$ parameters and MACs. If $W \approx AB$
# with $A \in \mathbb{R}^{m \times r}$, $B \in \mathbb{R}^{r \times n}$, two layers $x \mapsto Bx \mapsto A(Bx) + b$
# cost $r(m + n)$, fewer when $r < mn/(m+n)$. With the SVD $W = U \Sigma V^\top$ (singular values
# $\sigma_1 \ge \sigma_2 \ge \dots$), the truncation $W_r = U_r \Sigma_r V_r^\top$ is the best rank-$r$ approximation,
# and its error is what it drops (Eckart-Young): $\lVert W - W_r \rVert_F^2 = \sum_{i > r} \sigma_i^2$.

# %%
def truncate(W: np.ndarray, r: int) -> np.ndarray:
    """The rank-r truncated SVD of W."""
    U, S, Vt = np.linalg.svd(W, full_matrices=False)
    return (U[:, :r] * S[:r]) @ Vt[:r]


W = rng.standard_normal((64, 48))
S = np.linalg.svd(W, compute_uv=False)
for r in (4, 16, 40):
    err = np.linalg.norm(W - truncate(W, r)) ** 2
    assert abs(err - np.sum(S[r:] ** 2)) < 1e-8 * err, (r, err)
    other = np.linalg.qr(rng.standard_normal((64, r)))[0]  # any other rank-r matrix does worse
    assert np.linalg.norm(W - other @ (other.T @ W)) ** 2 >= err
print("truncated SVD errors equal the Eckart-Young bound at ranks 4, 16, 40")

# %% [markdown]
# **Choosing the rank.** The *energy* kept by rank $r$ is $\sum_{i \le r} \sigma_i^2 / \sum_i \sigma_i^2$, so
# $1 - \text{energy}$ is the relative squared error. A trained layer's spectrum decays much faster than a random
# one's, which is why low rank works on trained networks. Train an MLP on the digits and look:

# %%
seed_everything(0)
flat = make_loaders(load_digits_dataset(), batch_size=64)
base = mlp([64, 256, 256, 10], seed=0)
fit(base, flat["train"], epochs=20, lr=3e-3, desc="mlp")
base_acc = evaluate(base, flat["test"])["accuracy"]
S_hidden = np.linalg.svd(base[2].weight.detach().double().numpy(), compute_uv=False)
energy = np.cumsum(S_hidden**2) / np.sum(S_hidden**2)
r90 = int(np.searchsorted(energy, 0.9) + 1)
print(f"256 x 256 hidden layer: rank {r90} of 256 keeps 90% of the energy; test accuracy {base_acc:.3f}")

# %% tags=["slow"]
fig, ax = new_axes("Energy kept by the top singular values of the trained 256x256 layer", "rank r", "energy kept")
ax.plot(np.arange(1, 257), energy)
ax.axhline(0.9, color="0.6", ls="--")

# %% [markdown]
# ## Factorizing the trained layers, then fine-tuning
#
# Replace each of the two large layers by two thin ones at a chosen rank (the output layer stays), measure the test
# accuracy, then fine-tune the factorized network for two epochs.

# %%
def factorize_linear(layer: nn.Linear, r: int) -> nn.Sequential:
    """Linear(n, m) -> Linear(n, r, no bias) then Linear(r, m), weights from the rank-r SVD, sqrt(S) in each."""
    U, S, Vt = np.linalg.svd(layer.weight.detach().double().numpy(), full_matrices=False)
    first, second = nn.Linear(layer.in_features, r, bias=False), nn.Linear(r, layer.out_features)
    with torch.no_grad():
        first.weight.copy_(torch.from_numpy(np.sqrt(S[:r])[:, None] * Vt[:r]))
        second.weight.copy_(torch.from_numpy(U[:, :r] * np.sqrt(S[:r])))
        second.bias.copy_(layer.bias)
    return nn.Sequential(first, second)


dense_params = count_parameters(base)
sweep = []
for r in (4, 8, 16, 32):
    small = copy.deepcopy(base)
    small[0], small[2] = factorize_linear(base[0], r), factorize_linear(base[2], r)
    before = evaluate(small, flat["test"])["accuracy"]
    fit(small, flat["train"], epochs=2, lr=1e-3, desc=f"rank {r}")
    sweep.append((r, dense_params / count_parameters(small), before, evaluate(small, flat["test"])["accuracy"]))
print(f"dense MLP: {dense_params:,} parameters, test accuracy {base_acc:.3f}")
for r, ratio, before, after in sweep:
    print(f"rank {r:>2}: {ratio:4.1f}x fewer parameters, accuracy {before:.3f} before and {after:.3f} after "
          "fine-tuning")

# %% tags=["slow"]
fig, ax = new_axes("Low-rank MLP on the digits: accuracy against compression", "compression (x fewer parameters)",
                   "test accuracy")
ax.plot([s[1] for s in sweep], [s[2] for s in sweep], "o-", label="factorized")
ax.plot([s[1] for s in sweep], [s[3] for s in sweep], "s-", label="factorized + 2 epochs fine-tuning")
ax.axhline(base_acc, color="0.6", ls="--", label="dense")
ax.legend()

# %% [markdown]
# ## Spatially separable convolution: low rank for kernels
#
# A $K \times K$ kernel of rank one, $k = u v^\top$, is a $K \times 1$ convolution followed by a $1 \times K$ one:
# $2K$ instead of $K^2$ weights per filter. A general kernel is approximated by its rank-1 SVD, with the error that
# Eckart-Young predicts.

# %%
u, v = rng.standard_normal(5), rng.standard_normal(5)
x1 = rng.standard_normal((1, 1, 12, 12))
two_step = conv2d(conv2d(x1, u.reshape(1, 1, 5, 1)), v.reshape(1, 1, 1, 5))
assert compare("K x 1 then 1 x K vs the rank-1 5x5 kernel", two_step, conv2d(x1, np.outer(u, v)[None, None])) < 1e-10
kernel = rng.standard_normal((5, 5))
Uk, Sk, Vtk = np.linalg.svd(kernel)
approx = conv2d(conv2d(x1, (Uk[:, 0] * Sk[0]).reshape(1, 1, 5, 1)), Vtk[0].reshape(1, 1, 1, 5))
err = np.linalg.norm(kernel - Sk[0] * np.outer(Uk[:, 0], Vtk[0])) ** 2
assert abs(err - np.sum(Sk[1:] ** 2)) < 1e-9
print(f"a random 5x5 kernel keeps {Sk[0] ** 2 / np.sum(Sk ** 2):.0%} of its energy at rank 1")

# %% [markdown]
# ## Measured latency: where fewer MACs pay on this CPU
#
# A MAC count is not a time. Below, one thread, median of repeats, for a wide layer on a large map and for a narrow
# layer on an 8x8 map, and for the 1024 x 1024 Linear layer against rank 128 at batch 64.

# %%
def timed(c_in, c_out, size, batch):
    x = torch.randn(batch, c_in, size, size)
    standard, sep = nn.Conv2d(c_in, c_out, 3, padding=1), DepthwiseSeparableConv2d(c_in, c_out, 3, padding=1)
    ratio = count_macs(sep, (c_in, size, size)) / count_macs(standard, (c_in, size, size))
    t_standard = latency_ms(lambda: standard(x), repeats=7, warmup=2)
    return ratio, t_standard, latency_ms(lambda: sep(x), repeats=7, warmup=2)


lat = {"wide 64->128, 32x32, batch 8": timed(64, 128, 32, 8), "narrow 8->16, 8x8, batch 1": timed(8, 16, 8, 1)}
for name, (ratio, t_std, t_sep) in lat.items():
    print(f"{name}: MACs x{ratio:.3f}, standard {t_std:.3f} ms, separable {t_sep:.3f} ms -> speedup "
          f"{t_std / t_sep:.2f}x")
dense_layer, low_layer = nn.Linear(1024, 1024), nn.Sequential(nn.Linear(1024, 128, bias=False), nn.Linear(128, 1024))
xb = torch.randn(64, 1024)
t_dense = latency_ms(lambda: dense_layer(xb), repeats=20)
t_low = latency_ms(lambda: low_layer(xb), repeats=20)
print(f"Linear 1024x1024 {t_dense:.3f} ms, rank 128 {t_low:.3f} ms at batch 64: {t_dense / t_low:.2f}x "
      f"for {1024 * 1024 / (128 * 2048):.0f}x fewer MACs")

# %% [markdown]
# The sentence below is computed from these timings. Two effects decide how much of the MAC ratio turns into time:
# a depthwise convolution does little arithmetic per byte it reads, so it runs far below the CPU's peak, and at
# small sizes every layer's fixed overhead (a few microseconds per call) outweighs the arithmetic.

# %%
wide, narrow = lat["wide 64->128, 32x32, batch 8"], lat["narrow 8->16, 8x8, batch 1"]
pays = wide[1] / wide[2]
print(f"On this CPU the wide separable block is {pays:.1f}x faster for {1 / wide[0]:.1f}x fewer MACs; the narrow one "
      f"is {'faster' if narrow[2] < narrow[1] else 'slower'} ({narrow[1] / narrow[2]:.2f}x) for "
      f"{1 / narrow[0]:.1f}x fewer MACs.")

# %% tags=["headline"]
std_row, sep_row = cnn_rows["standard"], cnn_rows["separable"]
print(f"digits CNN: depthwise-separable has {std_row['params'] / sep_row['params']:.1f}x fewer parameters and "
      f"{std_row['macs'] / sep_row['macs']:.1f}x fewer MACs, accuracy {std_row['acc']:.3f} -> {sep_row['acc']:.3f}")
print(f"low-rank MLP at rank {sweep[1][0]}: {sweep[1][1]:.1f}x fewer parameters, accuracy {base_acc:.3f} -> "
      f"{sweep[1][3]:.3f} after fine-tuning")
print(f"Linear 1024x1024 vs rank 128 at batch 64: {t_dense / t_low:.2f}x faster on one CPU thread")

# %% [markdown]
# ## Pitfalls
#
# - PyTorch's "convolution" does not flip the kernel; a from-scratch version that does will not match.
# - Padding goes on both sides; `groups` splits channels into consecutive blocks.
# - MACs must divide by `groups`; a depthwise layer costs $C K^2 H W$, not $C^2 K^2 H W$.
# - Energy is measured in $\sigma^2$. Choosing the rank from $\sum \sigma$ keeps too many values.
# - Give each factor $\sqrt{\Sigma}$, not $\Sigma$ to both; keep the layer's bias on the second factor.
# - Fewer MACs is not less time: measure, as above.
#
# ## Summary
#
# - A depthwise-separable block costs $1/C_{out} + 1/K^2$ of a standard convolution, in parameters and MACs.
# - A truncated SVD gives the best low-rank factors, with error $\sum_{i>r}\sigma_i^2$; short fine-tuning recovers
#   most of the accuracy lost by factorizing.
# - Speedups on a CPU follow MACs only for large layers; the cells above measure where.
#
# ## Exercises
#
# 1. Add a BatchNorm and ReLU between the depthwise and pointwise steps. Does accuracy of the digits CNN change?
# 2. Pick each layer's rank by energy instead of one shared rank. Which layer gets the larger rank, and why?
# 3. Time the separable block at sizes between the two measured above. Where does it start to pay?

# %%
print(f"lecture ran in {time.perf_counter() - START:.1f} s")
