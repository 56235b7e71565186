# %% [markdown]
# # Lab 3: quantization-aware training
#
# The lecture derived the clipped straight-through estimator (STE) for the symmetric case, fine-tuned an MLP with
# PyTorch's fake quantizers, used PyTorch's learnable fake quantizer for LSQ and trained a deterministic binary MLP.
# In this lab you write the general tools yourself:
#
# | task | you write | checked against |
# |---|---|---|
# | 1 | `ste_grad`: the clipped STE for any affine grid, per tensor or per channel | `torch.fake_quantize_*` gradients |
# | 2 | `FakeQuantSTE`: fake quantization as a `torch.autograd.Function` | `torch.fake_quantize_per_tensor_affine` |
# | 3 | `QuantLinear`, `QuantConv2d`: layers with fake-quantized weights and inputs | the formulas below |
# | 4 | `prepare_qat`: every Linear and Conv2d of a model, nested ones too | the module tree |
# | 5 | `LsqQuantizer`: learned step with its gradient scale | `torch._fake_quantize_learnable_per_tensor_affine` |
# | 6 | `PACT`: learned activation clipping | PACT's Eq. 3 |
# | 7 | `binarize`, `BinaryLinear`: BinaryConnect, deterministic and stochastic | hand-checked values |
#
# **How to check your work.** Every task ends in a check cell; the autograder runs hidden tests with other inputs and
# edge cases, so follow each docstring exactly: a `ValueError` message must name the bad argument. Cells tagged
# `slow` (training and plots) are skipped when grading, but run them: that is where your code trains a real model.

# %%
import copy
import math

import numpy as np
import torch
from torch import nn

from compresslab import check_raises, compare, seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.models import mlp
from compresslab.quantization_basics import affine_qparams
from compresslab.train import evaluate, fit

seed_everything(0)


def check_bits(name: str, value) -> int:
    """int(value), or ValueError naming `name` unless value is an int (not bool) in [2, 16]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not 2 <= value <= 16:
        raise ValueError(f"{name} must be an int in [2, 16], got {value!r}")
    return int(value)


# %% [markdown]
# ## Task 1: the clipped straight-through gradient
#
# For fake quantization $\hat{x} = s(\operatorname{clamp}(\lfloor x/s \rceil + z, q_{min}, q_{max}) - z)$ the clipped
# STE passes the upstream gradient where the **rounded** code lies in range and blocks it elsewhere:
# $$\frac{\partial L}{\partial x} = \frac{\partial L}{\partial \hat{x}}\,
# \mathbb{1}(q_{min} \le \lfloor x \cdot (1/s) \rceil + z \le q_{max}).$$
# Compute the code as PyTorch does: `x` in float32 times `np.float32(1) / scale` in float32, rounded half to even.
# `scale` and `zero_point` may be scalars or arrays that broadcast to x's shape (one per channel).

# %%
def ste_grad(x, scale, zero_point, qmin: int, qmax: int, upstream) -> np.ndarray:
    """Clipped STE gradient: upstream where qmin <= round(x * (1/scale)) + zero_point <= qmax, else 0.

    x, upstream: real arrays of the same shape. scale: positive finite (scalar or broadcasting to x's shape).
    zero_point: integers (scalar or broadcasting). qmin < qmax ints. Returns an array of x's shape with upstream's
    float dtype (float64 for integer upstream). Raises ValueError naming scale, zero_point, qmin or upstream.
    """
    raise NotImplementedError("Task 1: validate; code = round(x * float32(1/scale)) + zero_point; mask upstream.")


# %% tags=["raises-exception"]
x = np.array([-9.0, -8.6, -8.4, -0.3, 0.5, 2.2, 7.4, 7.5, 12.0], dtype=np.float32)
up = np.linspace(1, 2, x.size).astype(np.float32)
ours = ste_grad(x, 1.0, 0, -8, 7, up)
xt = torch.tensor(x, requires_grad=True)
torch.fake_quantize_per_tensor_affine(xt, 1.0, 0, -8, 7).backward(torch.tensor(up))
assert compare("ste_grad vs torch (per tensor)", ours, xt.grad) == 0, (ours, xt.grad)
w = np.random.default_rng(0).normal(0, 1, (4, 6)).astype(np.float32)
scales, zps = np.float32([0.1, 0.2, 0.3, 0.4]), np.array([0, 3, -2, 1])
wt = torch.tensor(w, requires_grad=True)
torch.fake_quantize_per_channel_affine(wt, torch.tensor(scales), torch.tensor(zps, dtype=torch.int32), 0, -8,
                                       7).sum().backward()
ours = ste_grad(w, scales[:, None], zps[:, None], -8, 7, np.ones_like(w))
assert compare("ste_grad vs torch (per channel)", ours, wt.grad) == 0, (ours, wt.grad)
check_raises(ste_grad, x, 0.0, 0, -8, 7, up, names="scale")
check_raises(ste_grad, x, 1.0, 0, 7, -8, up, names="qmin")
print("ste_grad:", ste_grad(x, 1.0, 0, -8, 7, np.ones_like(x)))

# %% [markdown]
# ## Task 2: fake quantization as an autograd function
#
# `FakeQuantSTE.apply(x, scale, zero_point, qmin, qmax)` returns what `torch.fake_quantize_per_tensor_affine` returns:
# `inv = 1 / scale` as a float32 number, `q = clamp(round(x * inv) + zero_point, qmin, qmax)`, then
# `(q - zero_point) * scale`. Its backward pass is the clipped STE of Task 1 (the code of the *rounded* value
# decides), and returns `None` for the four non-tensor arguments.

# %%
class FakeQuantSTE(torch.autograd.Function):
    """Per-tensor fake quantization with the clipped straight-through gradient (float x, float scale, int zp)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float, zero_point: int, qmin: int, qmax: int) -> torch.Tensor:
        raise NotImplementedError("Task 2: code = round(x * float32(1/scale)) + zp; save the in-range mask.")

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        raise NotImplementedError("Task 2: grad_output where the code was in range; None for the other four.")


# %% tags=["raises-exception"]
xs = torch.tensor(np.concatenate([np.random.default_rng(1).normal(0, 3, 300), np.arange(-6, 6.5, 0.25)]),
                  dtype=torch.float32, requires_grad=True)
up = torch.randn(xs.shape, generator=torch.Generator().manual_seed(1))
ours = FakeQuantSTE.apply(xs, 0.25, 3, -8, 7)
(ours_grad,) = torch.autograd.grad(ours, xs, up)
ref = torch.fake_quantize_per_tensor_affine(xs, 0.25, 3, -8, 7)
(ref_grad,) = torch.autograd.grad(ref, xs, up)
assert compare("FakeQuantSTE forward vs torch", ours, ref) == 0
assert compare("FakeQuantSTE backward vs torch", ours_grad, ref_grad) == 0
print(f"FakeQuantSTE matches torch on {xs.numel()} values, ties included")

# %% [markdown]
# ## Task 3: layers with fake-quantized weights and inputs
#
# `QuantLinear` and `QuantConv2d` compute their float layer's operation on fake-quantized tensors, through
# `FakeQuantSTE`:
#
# - **weight**: symmetric, per tensor, narrow signed codes $[-(2^{b_w-1}-1), 2^{b_w-1}-1]$, zero point 0, scale
#   $s_w = \max|W| / (2^{b_w-1}-1)$ computed from the detached weight at every call (1.0 if $W$ is all zeros);
# - **input**: unsigned codes $[0, 2^{b_a}-1]$ with `affine_qparams(act_min, act_max, bits_a, signed=False)` of module
#   01 (it widens the range to hold 0). The range lives in the float buffers `act_min`, `act_max`. In training mode
#   each call measures the batch's min and max: the first call (buffer `initialized` False) copies them, later calls
#   update an exponential moving average, `act = 0.9 * act + 0.1 * batch`. In eval mode the stored range is used
#   unchanged (a layer never trained uses the batch's own range, without storing it).
#
# The bias stays in float. `bits_w` and `bits_a` are ints in 2..16 (ValueError naming them).

# %%
class QuantLinear(nn.Linear):
    """nn.Linear on a fake-quantized input and weight; buffers act_min, act_max, initialized."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, bits_w: int = 8, bits_a: int = 8):
        super().__init__(in_features, out_features, bias)
        self._init_quant(bits_w, bits_a)

    def _init_quant(self, bits_w: int, bits_a: int) -> None:
        raise NotImplementedError("Task 3: check bits_w, bits_a; buffers act_min, act_max, initialized.")

    def quantized_weight(self) -> torch.Tensor:
        """The weight fake-quantized on its symmetric per-tensor grid (gradient: the clipped STE)."""
        raise NotImplementedError("Task 3: s_w = max|W| / (2^(b-1) - 1), detached; FakeQuantSTE, zero point 0.")

    def quantized_input(self, x: torch.Tensor) -> torch.Tensor:
        """x fake-quantized on the unsigned grid of the layer's input range (updated in training mode)."""
        raise NotImplementedError("Task 3: update the range (copy, then EMA 0.1); affine_qparams; FakeQuantSTE.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(self.quantized_input(x), self.quantized_weight(), self.bias)


class QuantConv2d(nn.Conv2d):
    """nn.Conv2d on a fake-quantized input and weight, with QuantLinear's quantizers."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, bits_w: int = 8, bits_a: int = 8):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)
        QuantLinear._init_quant(self, bits_w, bits_a)

    def quantized_weight(self) -> torch.Tensor:
        return QuantLinear.quantized_weight(self)

    def quantized_input(self, x: torch.Tensor) -> torch.Tensor:
        return QuantLinear.quantized_input(self, x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("Task 3: self._conv_forward on the quantized input and weight.")


# %% tags=["raises-exception"]
torch.manual_seed(0)
ql = QuantLinear(5, 3, bits_w=4, bits_a=4)
xb = torch.rand(8, 5) * 2
out = ql(xb)
w_scale = ql.weight.detach().abs().max().item() / 7
a_scale, a_zp = affine_qparams(xb.min().item(), xb.max().item(), 4)
expected = nn.functional.linear(torch.fake_quantize_per_tensor_affine(xb, a_scale, a_zp, 0, 15),
                                torch.fake_quantize_per_tensor_affine(ql.weight, w_scale, 0, -7, 7), ql.bias)
assert compare("QuantLinear vs torch fake quantizers", out, expected) <= 1e-6
assert torch.isclose(ql.act_max, xb.max()), "the first training batch sets the range"
ql(xb * 3)
assert torch.isclose(ql.act_max, 0.9 * xb.max() + 0.1 * 3 * xb.max()), "then an EMA with momentum 0.1"
qc = QuantConv2d(2, 3, 3, padding=1, bits_w=3, bits_a=5)
assert qc(torch.rand(2, 2, 6, 6)).shape == (2, 3, 6, 6)
check_raises(QuantLinear, 4, 2, bits_w=1, names="bits_w")
print(f"QuantLinear output max |diff| from torch's fake quantizers: {(out - expected).abs().max():.1e}")

# %% [markdown]
# ## Task 4: preparing a model for QAT
#
# `prepare_qat` returns a **copy** of the model (the original is left unchanged) in which every module of type
# `nn.Linear` or `nn.Conv2d`, however deeply nested, is replaced by a `QuantLinear` or `QuantConv2d` with the same
# configuration and the same weights and bias, under the same name. With `keep_first_last=True`, the first and the
# last of these layers (in `named_modules()` order) stay in float. The copy keeps the model's training mode.

# %%
def prepare_qat(model: nn.Module, bits_w: int, bits_a: int, keep_first_last: bool = False) -> nn.Module:
    """A copy of model with every nn.Linear / nn.Conv2d (nested too) replaced by its fake-quantized version."""
    raise NotImplementedError("Task 4: deepcopy; for each Linear/Conv2d name build a Quant layer, setattr.")


# %% tags=["raises-exception"]
net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Sequential(nn.Flatten(), nn.Linear(4 * 36, 8)), nn.ReLU(),
                    nn.Linear(8, 3))
before = copy.deepcopy(net)
qnet = prepare_qat(net, 4, 8)
kinds = [type(m).__name__ for m in qnet.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
assert kinds == ["QuantConv2d", "QuantLinear", "QuantLinear"], kinds
assert type(net[4]) is nn.Linear and all(torch.equal(p, q) for p, q in zip(before.parameters(), net.parameters())), (
    "the original model must stay unchanged")
assert torch.equal(qnet[2][1].weight, net[2][1].weight) and qnet[2][1].bits_w == 4
kept = prepare_qat(net, 4, 8, keep_first_last=True)
assert [type(m).__name__ for m in kept.modules() if isinstance(m, (nn.Linear, nn.Conv2d))] == [
    "Conv2d", "QuantLinear", "Linear"]
assert qnet(torch.rand(2, 1, 8, 8)).shape == (2, 3)
print("prepare_qat:", kinds)

# %% [markdown]
# ## Task 5: learned step size (LSQ)
#
# `LsqQuantizer(bits, signed)` holds one learnable step `step` (an `nn.Parameter` of shape `(1,)`) and zero point 0.
# Codes: signed $[-2^{b-1}, 2^{b-1}-1]$, unsigned $[0, 2^b-1]$. On its first forward call (buffer `initialized`
# False) it sets the step to LSQ's $2\,\operatorname{mean}|x| / \sqrt{Q_P}$ ($Q_P = q_{max}$). The forward pass is
# fake quantization with that step; the backward pass must equal `torch._fake_quantize_learnable_per_tensor_affine`
# with `grad_factor` $g = 1/\sqrt{N Q_P}$, $N$ = `x.numel()`:
#
# - input: the upstream gradient where the rounded code $\lfloor x/s \rceil$ is in $[q_{min}, q_{max}]$, else 0;
# - step: $g \sum$ upstream $\times$ ($\lfloor x/s \rceil - x/s$ where the rounded code is in range, $q_{min}$
#   below it, $q_{max}$ above it). Note that PyTorch, unlike the paper's Eq. 3, tests the **rounded** code.
#
# Write it with `torch.autograd.Function` or differentiable operations; do not call PyTorch's learnable kernel.

# %%
class LsqQuantizer(nn.Module):
    """Learned step size quantization (Esser et al. 2020) with PyTorch's gradient and LSQ's gradient scale."""

    def __init__(self, bits: int, signed: bool = True):
        super().__init__()
        raise NotImplementedError("Task 5: code range; a step Parameter of shape (1,); an initialized buffer.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("Task 5: init the step once; g = 1/sqrt(N*Qp); STE; g-scaled step gradient.")


# %% tags=["raises-exception"]
torch.manual_seed(0)
xv = torch.randn(200) * 0.7
lsq = LsqQuantizer(3)
x1 = xv.clone().requires_grad_(True)
out = lsq(x1)
assert torch.isclose(lsq.step.detach(), 2 * xv.abs().mean() / math.sqrt(3)).all(), lsq.step
out.backward(torch.ones_like(out))
g = 1 / math.sqrt(200 * 3)
x2, s2 = xv.clone().requires_grad_(True), lsq.step.detach().clone().requires_grad_(True)
ref = torch._fake_quantize_learnable_per_tensor_affine(x2, s2, torch.zeros(1), -4, 3, g)
ref.backward(torch.ones_like(ref))
assert compare("LSQ forward vs torch", out, ref) <= 1e-6
assert compare("LSQ input gradient vs torch", x1.grad, x2.grad) == 0
assert compare("LSQ step gradient vs torch", lsq.step.grad, s2.grad) <= 1e-5
print(f"LsqQuantizer: step {lsq.step.item():.4f}, its gradient {lsq.step.grad.item():.5f} (torch {s2.grad.item():.5f})")

# %% [markdown]
# ## Task 6: PACT
#
# `PACT(bits, alpha=10.0)` holds a learnable clip `alpha` (an `nn.Parameter` of shape `()`). Forward (Choi et al.
# 2018, Eqs. 1-2): $y = \operatorname{clamp}(x, 0, \alpha)$ and
# $y_q = \lfloor y \cdot (2^k - 1)/\alpha \rceil \cdot \alpha / (2^k - 1)$, computed in that order. Backward (Eq. 3
# and the STE): the input gets the upstream gradient where $0 \le x < \alpha$ and 0 elsewhere; $\alpha$ gets the
# sum of the upstream gradient over the elements with $x \ge \alpha$.

# %%
class PACT(nn.Module):
    """Parameterized clipping activation with a learnable alpha, quantized to `bits` bits."""

    def __init__(self, bits: int, alpha: float = 10.0):
        super().__init__()
        raise NotImplementedError("Task 6: check bits and alpha; alpha is an nn.Parameter of shape ().")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("Task 6: clamp to [0, alpha], round; STE masks for x and alpha.")


# %% tags=["raises-exception"]
pact = PACT(2, alpha=2.0)
xp = torch.tensor([-1.0, 0.0, 0.4, 1.0, 1.9, 2.0, 3.5], requires_grad=True)
yp = pact(xp)
assert torch.allclose(yp, torch.tensor([0.0, 0.0, 2 / 3, 4 / 3, 2.0, 2.0, 2.0])), yp
yp.backward(torch.arange(1.0, 8.0))
assert xp.grad.tolist() == [0.0, 2.0, 3.0, 4.0, 5.0, 0.0, 0.0], xp.grad
assert pact.alpha.grad.item() == 6.0 + 7.0, pact.alpha.grad
check_raises(PACT, 4, alpha=-1.0, names="alpha")
print("PACT output", yp.detach().numpy().round(3), "alpha gradient", pact.alpha.grad.item())

# %% [markdown]
# ## Task 7: binary weights (BinaryConnect)
#
# `binarize(w)` returns $+1$ where $w \ge 0$ and $-1$ elsewhere (never 0), in w's dtype. With `stochastic=True` it
# returns $+1$ with probability $\operatorname{clip}((w + 1)/2, 0, 1)$: draw `u = torch.rand(w.shape,
# generator=generator, dtype=w.dtype)` and return $+1$ where `u < p`, else $-1$. Either way the backward pass is the
# straight-through identity: $w$ receives the upstream gradient unchanged.
#
# `BinaryLinear(in_features, out_features, bias=True, stochastic=False, scaled=False)` multiplies its input by
# `binarize(weight)` (stochastic only in training mode, with the layer's `generator` attribute, None by default;
# deterministic in eval mode), times $\alpha = \operatorname{mean}|W|$ of the detached weight when `scaled`. Its
# method `clip_weights_()` clamps the latent weight in place to $[-1, 1]$, to be called after each optimizer step.

# %%
class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return b

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        return grad_output, None


def binarize(w: torch.Tensor, stochastic: bool = False, generator=None) -> torch.Tensor:
    """+1/-1 of w's shape and dtype (+1 at 0; stochastic: +1 with probability clip((w+1)/2, 0, 1)); identity grad."""
    raise NotImplementedError("Task 7: +1 where w >= 0 (or u < p), else -1; straight-through gradient.")


class BinaryLinear(nn.Linear):
    """nn.Linear whose forward pass uses binarized (optionally scaled) weights; latent weights in [-1, 1]."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, stochastic: bool = False,
                 scaled: bool = False):
        super().__init__(in_features, out_features, bias)
        self.stochastic, self.scaled, self.generator = stochastic, scaled, None

    def binary_weight(self) -> torch.Tensor:
        raise NotImplementedError("Task 7: binarize (stochastic in training), times mean|W| if scaled.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.binary_weight(), self.bias)

    @torch.no_grad()
    def clip_weights_(self) -> None:
        raise NotImplementedError("Task 7: clamp the latent weight in place to [-1, 1].")


# %% tags=["raises-exception"]
wq = torch.tensor([-0.5, 0.0, 0.3, -2.0], requires_grad=True)
bq = binarize(wq)
assert bq.tolist() == [-1.0, 1.0, 1.0, -1.0], bq
bq.backward(torch.tensor([1.0, 2.0, 3.0, 4.0]))
assert wq.grad.tolist() == [1.0, 2.0, 3.0, 4.0], "the gradient passes straight through"
draws = binarize(torch.full((20000,), 0.5), stochastic=True, generator=torch.Generator().manual_seed(0))
assert abs((draws == 1).float().mean().item() - 0.75) < 0.02, "P(+1) = (0.5 + 1) / 2"
bl = BinaryLinear(4, 2, scaled=True)
with torch.no_grad():
    bl.weight.mul_(10)
bl.clip_weights_()
assert bl.weight.abs().max() <= 1
assert set(bl.binary_weight().abs().unique().tolist()) == {bl.weight.abs().mean().item()}
print("binarize:", bq.tolist(), "stochastic share of +1 at w = 0.5:", (draws == 1).float().mean().item())

# %% [markdown]
# ## Experiments on the digits
#
# Train a float MLP, then fine-tune 2-bit copies with your `prepare_qat`, and train a BinaryConnect MLP with your
# `BinaryLinear`.

# %% tags=["slow"]
digits = load_digits_dataset()
loaders = make_loaders(digits, batch_size=64)
base = mlp([64, 64, 64, 10], seed=0)
fit(base, loaders["train"], epochs=30, lr=3e-3, seed=0)
base_acc = evaluate(base, loaders["test"])["accuracy"]
print(f"float MLP: {base_acc:.2%}")

# %% tags=["slow", "raises-exception"]
for bits in (4, 2):
    q = prepare_qat(base, bits, bits)
    before = evaluate(q, loaders["test"])["accuracy"]  # a never-trained range: each batch's own
    fit(q, loaders["train"], epochs=8, lr=1e-3, seed=0)
    print(f"{bits} bits: before QAT {before:.2%}, after {evaluate(q, loaders['test'])['accuracy']:.2%} "
          f"(float {base_acc:.2%})")

# %% tags=["slow", "raises-exception"]
seed_everything(0)
bnet = nn.Sequential(BinaryLinear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), BinaryLinear(64, 64), nn.BatchNorm1d(64),
                     nn.ReLU(), BinaryLinear(64, 10))
opt = torch.optim.Adam(bnet.parameters(), lr=3e-3)
for _ in range(20):
    bnet.train()
    for xb, yb in loaders["train"]:
        opt.zero_grad()
        nn.functional.cross_entropy(bnet(xb), yb).backward()
        opt.step()
        for m in bnet:
            if isinstance(m, BinaryLinear):
                m.clip_weights_()
print(f"BinaryConnect MLP: {evaluate(bnet, loaders['test'])['accuracy']:.2%} (float {base_acc:.2%})")

# %% [markdown]
# **Question.** How many points does 2-bit QAT recover over the model before fine-tuning, and how does the binary
# MLP compare with the float one, given the standard error of an accuracy on 360 test digits?

# %% [markdown] tags=["answer"]
# **Your answer:** replace this line with your answer, quoting numbers from your own plot.
