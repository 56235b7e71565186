# %% [markdown]
# # Quantization-aware training: fake quantization, the straight-through estimator, LSQ, PACT and binary weights
#
# Post-training quantization (modules 01 and 02) rounds a trained network and hopes the loss does not notice. This page
# measures how much it notices at 8, 4, 3 and 2 bits. **Quantization-aware training** (QAT) puts the rounding inside the
# forward pass while training, so the weights learn to live on the grid. Rounding has a zero derivative almost
# everywhere, so QAT needs a surrogate gradient: the **straight-through estimator** (STE). This lecture derives the STE
# and its clipped form, checks it against PyTorch's fake-quantize gradient, fine-tunes a float MLP on the 8x8 digits at
# 8 to 2 bits, learns the step size (LSQ) and the activation clip (PACT), runs the 4-bit model in integers only, and
# trains a network whose weights are single bits (BinaryConnect).
#
# ## Motivation: post-training quantization at 4, 3 and 2 bits
#
# Three MLPs 64 -> 64 -> 64 -> 10 (seeds 0, 1, 2) are trained in float32 on the digits. PTQ snaps each layer's
# weights to a symmetric per-tensor grid ($s_w = \max|W| / (2^{b-1}-1)$) and each layer's input to an unsigned grid
# over the range seen on the training set. The float baseline first; the PTQ and QAT table follows in the PyTorch
# section, once the quantized layer is written.

# %%
import copy
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from compresslab import compare, seed_everything
from compresslab.calibration_ptq import int_linear, quantize_multiplier
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.measure import size_bytes
from compresslab.models import mlp
from compresslab.plot import new_axes
from compresslab.quantization_basics import fake_quantize, qrange, quantize
from compresslab.train import evaluate, fit

torch.set_num_threads(1)
START = time.perf_counter()
seed_everything(0)
digits = load_digits_dataset()
loaders = make_loaders(digits, batch_size=64)
x_train = torch.from_numpy(digits.train.x)
SEEDS, BITS = (0, 1, 2), (8, 4, 3, 2)
floats = {}
for seed in SEEDS:
    floats[seed] = mlp([64, 64, 64, 10], seed=seed)
    fit(floats[seed], loaders["train"], epochs=30, lr=3e-3, seed=seed)
float_acc = np.mean([evaluate(m, loaders["test"])["accuracy"] for m in floats.values()])
print(f"float32 test accuracy, mean of {len(SEEDS)} seeds: {float_acc:.2%} on {len(digits.test)} test digits")

# %% [markdown]
# ## The math
#
# **Fake quantization.** With scale $s > 0$, zero point $z$ and integer range $[q_{min}, q_{max}]$,
# $$\hat{x} = s\,(\operatorname{clamp}(\lfloor x/s \rceil + z,\ q_{min},\ q_{max}) - z),$$
# where $\lfloor\cdot\rceil$ rounds half to even. The forward pass computes with $\hat{x}$ in float, so the network
# sees exactly the values an integer kernel would represent.
#
# **Straight-through estimator.** $d\hat{x}/dx = 0$ wherever it exists, which would stop all learning. Bengio,
# Leonard and Courville (2013) pass the upstream gradient through the rounding as if it were the identity; the
# **clipped** STE keeps the clamp's derivative:
# $$\frac{\partial L}{\partial x} \approx \frac{\partial L}{\partial \hat{x}}\;
# \mathbb{1}\!\left(q_{min} \le \lfloor x/s \rceil + z \le q_{max}\right),$$
# with $L$ the training loss and $\mathbb{1}(\cdot)$ equal to 1 where its condition holds and 0 elsewhere. The mask
# tests the **rounded** code: PyTorch's `fake_quantize_per_tensor_affine` does, so $x/s = 127.6$ with $q_{max} = 127$
# gets gradient 0 although $127.6 - 127 < 1$. The clipped STE is the exact derivative of the clamp
# $x \mapsto \operatorname{clamp}(x, s(q_{min} - z - \tfrac12), s(q_{max} - z + \tfrac12))$ away from its two
# clip points: half a step wider than the grid, because the mask looks at the rounded code.
#
# **LSQ** (Esser et al., ICLR 2020, Section 2). Symmetric codes $[-Q_N, Q_P]$ and a learned step $s$:
# $\hat{v} = s \lfloor \operatorname{clip}(v/s, -Q_N, Q_P) \rceil$, and with the STE through the rounding (Eq. 3)
# $$\frac{\partial \hat{v}}{\partial s} = \begin{cases} -v/s + \lfloor v/s \rceil & -Q_N < v/s < Q_P \\
# -Q_N & v/s \le -Q_N \\ Q_P & v/s \ge Q_P \end{cases}$$
# The step's gradient is multiplied by $g = 1/\sqrt{N Q_P}$ ($N$ the number of weights of the layer, or of
# activation values) so that its updates are as large, relative to $s$, as those of the weights (Section 2.2). The
# step starts at $2\langle|v|\rangle/\sqrt{Q_P}$, $\langle|v|\rangle$ the mean of $|v|$.
#
# **PACT** (Choi et al. 2018, Eqs. 1-3). An activation is clipped at a learned $\alpha$ and quantized on $k$ bits:
# $y = \operatorname{clamp}(x, 0, \alpha)$, $y_q = \lfloor y (2^k-1)/\alpha \rceil\, \alpha/(2^k - 1)$, and with
# the STE $\partial y_q/\partial \alpha = 1$ for $x \ge \alpha$, $0$ for $x < \alpha$.
#
# **BinaryConnect** (Courbariaux, Bengio and David, NeurIPS 2015). The forward pass uses $W_b = \operatorname{sign}(W)$
# ($+1$ at 0), or, stochastically, $+1$ with probability $\sigma(W) = \operatorname{clip}((W+1)/2, 0, 1)$; the
# gradient with respect to $W_b$ updates the real **latent** weights $W$, which are clipped to $[-1, 1]$ after each
# step. A scaled binary layer uses $\alpha\,\operatorname{sign}(W)$ with $\alpha = \operatorname{mean}|W|$ (XNOR-Net,
# Rastegari et al. 2016), the $\alpha$ that minimizes $\|W - \alpha\,\operatorname{sign}(W)\|^2$.

# %% [markdown]
# ## From scratch (NumPy)
#
# The symmetric, zero-point-free case: codes in $[-(2^{b-1}-1), 2^{b-1}-1]$. The forward pass is module 01's
# `fake_quantize`; what is new here is the gradient. The lab writes the general affine gradient, the autograd
# function, the layers, LSQ's and PACT's modules and the binarizer.

# %%
def ste_grad_symmetric(x: np.ndarray, scale: float, bits: int, upstream: np.ndarray) -> np.ndarray:
    """The clipped straight-through gradient: upstream where the rounded code lies in range, else 0."""
    qmax = 2 ** (bits - 1) - 1
    code = np.round(x.astype(np.float32) * np.float32(1 / scale))
    return np.where(np.abs(code) <= qmax, upstream, 0.0)


def lsq_step_grad(v: np.ndarray, s: float, qn: int, qp: int) -> np.ndarray:
    """LSQ's d v_hat / d s per element (Eq. 3), before the gradient scale."""
    r = v / s
    return np.where(r <= -qn, -qn, np.where(r >= qp, qp, np.round(r) - r))


Q4 = qrange(4, signed=True, narrow=True)  # (-7, 7)
x = np.array([-9.0, -7.6, -7.4, -0.3, 0.5, 2.2, 7.4, 7.5, 12.0])
grad = ste_grad_symmetric(x, 1.0, 4, np.ones_like(x))
print("x                 ", x)
print("fake quant, 4 bits", fake_quantize(x, 1.0, 0, *Q4))
print("clipped STE       ", grad)
assert np.round(x[[1, 7]]).tolist() == [-8, 8] and grad.tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 0]

# %% [markdown]
# $\pm 7.4$ round to $\pm 7$ and keep their gradient; $-7.6$ rounds to $-8$ and $7.5$ (half to even) to 8, one
# code past the range, and lose it, although they are less than one step beyond the clip points $\pm 7$.
#
# ## Check against the library and against finite differences
#
# PyTorch's `torch.fake_quantize_per_tensor_affine` must give the same values and the same gradient on every element,
# including exact ties. Finite differences then show what the STE is: central differences of the clamp match it away
# from the clip points, while those of the fake quantizer itself are zero between the steps.

# %%
rng = np.random.default_rng(0)
xs = np.concatenate([rng.normal(0, 3, 2000), np.arange(-9, 9.5, 0.5)]).astype(np.float32)  # ties included
up = rng.normal(size=xs.shape).astype(np.float32)
xt = torch.tensor(xs, requires_grad=True)
torch.fake_quantize_per_tensor_affine(xt, 0.5, 0, -7, 7).backward(torch.tensor(up))
assert compare("fake quant vs torch", fake_quantize(xs, 0.5, 0, *Q4),
               torch.fake_quantize_per_tensor_affine(xt, 0.5, 0, -7, 7).detach()) == 0
assert compare("clipped STE vs torch's gradient", ste_grad_symmetric(xs, 0.5, 4, up), xt.grad) == 0

h, lo, hi = 1e-3, -7.5 * 0.5, 7.5 * 0.5
away = np.abs(np.abs(xs) - hi) > 10 * h  # away from the clip points
fd_clamp = (np.clip(xs + h, lo, hi) - np.clip(xs - h, lo, hi)) / (2 * h)
assert np.allclose(fd_clamp[away], ste_grad_symmetric(xs, 0.5, 4, np.ones_like(xs))[away], atol=1e-3)
between = np.abs(xs / 0.5 - np.floor(xs / 0.5) - 0.5) > 0.1  # away from the rounding steps
fd_fq = (fake_quantize(xs + h, 0.5, 0, *Q4) - fake_quantize(xs - h, 0.5, 0, *Q4)) / (2 * h)
assert np.all(fd_fq[between] == 0)
print(f"STE = finite differences of the clamp on {away.sum()} points; the fake quantizer's own derivative is 0 on "
      f"{between.sum()} points between steps")

# %% [markdown]
# LSQ's step gradient against `torch._fake_quantize_learnable_per_tensor_affine(x, scale, zero_point, qmin, qmax,
# grad_factor)`, the kernel behind `torch.ao.quantization._LearnableFakeQuantize`, with $g = 1/\sqrt{N Q_P}$,
# element by element (a sum over one element at a time is that element's gradient). Then finite differences in
# $s$: between the rounding steps $\hat v = s\lfloor v/s \rceil$ has the true derivative $\lfloor v/s\rceil$;
# LSQ's estimate adds $-v/s$, the STE's share, which tells the step how far each value sits from its grid point.

# %%
v = rng.normal(0, 1, 500).astype(np.float32)
s, qn, qp = 0.3, 4, 3
vt, st = torch.tensor(v), torch.tensor([s], requires_grad=True)
g = 1 / np.sqrt(v.size * qp)
y = torch._fake_quantize_learnable_per_tensor_affine(vt, st, torch.zeros(1), -qn, qp, g)
torch_grad = np.array([torch.autograd.grad(y[i], st, retain_graph=True)[0].item() for i in range(len(v))]) / g
ours = lsq_step_grad(v.astype(np.float64), s, qn, qp)
r = v / np.float32(s)
band = ((r > -qn - 0.5) & (r <= -qn)) | ((r >= qp) & (r < qp + 0.5))  # half a step inside the clip points
assert np.allclose(ours[~band], torch_grad[~band], atol=1e-5)
rounded = np.where(np.round(r) < -qn, -qn, np.where(np.round(r) > qp, qp, np.round(r) - r))
assert np.allclose(rounded, torch_grad, atol=1e-5)
smooth = (np.abs(r - np.round(r)) < 0.45) & (r > -qn + 0.5) & (r < qp - 0.5)
v64 = v.astype(np.float64)
fd_s = ((s + 1e-6) * np.round(v64 / (s + 1e-6)) - (s - 1e-6) * np.round(v64 / (s - 1e-6))) / 2e-6
assert np.allclose(fd_s[smooth], np.round(r[smooth]), atol=1e-6)
print(f"LSQ's Eq. 3 equals torch's step gradient on {(~band).sum()} of {v.size} values; on the other {band.sum()}, "
      f"within half a step of a clip point, torch tests the rounded code (as its fake quantizer does) and gives "
      f"round(v/s) - v/s where Eq. 3 gives -Q_N or Q_P")
print(f"on {smooth.sum()} points between steps the true derivative is round(v/s); LSQ adds -v/s to it")

# %% [markdown]
# PACT's clip, written as Eq. 1, $y = \tfrac12(|x| - |x - \alpha| + \alpha)$, differentiated by autograd, gives
# exactly Eq. 3's gradient in $\alpha$: 1 above the clip, 0 below.

# %%
xp = torch.tensor([-1.0, 0.5, 1.9, 2.1, 5.0])
alpha = torch.tensor(2.0, requires_grad=True)
y = 0.5 * (xp.abs() - (xp - alpha).abs() + alpha)
assert torch.equal(y.detach(), xp.clamp(0, 2.0))
per_element = [torch.autograd.grad(y[i], alpha, retain_graph=True)[0].item() for i in range(len(xp))]
assert per_element == [0.0, 0.0, 0.0, 1.0, 1.0], per_element
print("PACT dy/dalpha per element:", per_element)

# %% [markdown]
# ## With PyTorch
#
# `QATLinear` fake-quantizes its weight (symmetric, per tensor, $s_w = \max|W|/(2^{b-1}-1)$ recomputed at every
# step) and its input (unsigned codes $[0, 2^{b}-1]$, zero point 0, since every input here is a pixel in $[0, 1]$ or a
# ReLU output, with the range fixed by one pass over the training set). With `act="lsq"` both steps are learned
# instead, through PyTorch's learnable fake quantizer with LSQ's $g$. With `act="pact"` the input is clipped at a
# learned $\alpha$ by Eq. 1 (autograd then gives Eq. 3's gradient) and rounded with a straight-through
# `detach`; $\alpha$ starts at the calibrated range rather than the paper's 10, and without its L2 penalty. The
# first and last layers are quantized too.

# %%
class QATLinear(nn.Linear):
    """nn.Linear with fake-quantized weight and input; fixed-scale (min-max) or LSQ steps."""

    def __init__(self, layer: nn.Linear, bits: int, act_max: float, act: str = "fixed"):
        super().__init__(layer.in_features, layer.out_features)
        self.load_state_dict(layer.state_dict())
        self.bits, self.lsq = bits, act == "lsq"
        self.wq, self.aq = qrange(bits, signed=True, narrow=True), qrange(bits, signed=False)
        self.act_scale = act_max / self.aq[1]
        self.alpha = nn.Parameter(torch.tensor(act_max)) if act == "pact" else None
        if self.lsq:  # LSQ's initial steps (Esser et al. 2020, Section 2)
            self.w_step = nn.Parameter(torch.tensor([2 * self.weight.abs().mean().item() / self.wq[1] ** 0.5]))
            self.a_step = nn.Parameter(torch.tensor([self.act_scale]))

    def weight_scale(self) -> float:
        """s_w = max|W| / (2^(b-1) - 1) of the current weight, a constant of each step."""
        return max(self.weight.detach().abs().max().item() / self.wq[1], 1e-8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.alpha is not None:  # PACT: Eq. 1 clip, Eq. 2 rounding with a straight-through detach
            a, n = self.alpha, self.aq[1]
            y = 0.5 * (x.abs() - (x - a).abs() + a)
            x = y + (torch.round(y * (n / a)) * (a / n) - y).detach()
        if self.lsq:
            zero = torch.zeros(1)
            gw = 1 / (self.weight.numel() * self.wq[1]) ** 0.5
            ga = 1 / (x[0].numel() * self.aq[1]) ** 0.5  # N_F: activations per example
            w = torch._fake_quantize_learnable_per_tensor_affine(self.weight, self.w_step, zero, *self.wq, gw)
            x = torch._fake_quantize_learnable_per_tensor_affine(x, self.a_step, zero, *self.aq, ga)
        else:
            w = torch.fake_quantize_per_tensor_affine(self.weight, self.weight_scale(), 0, *self.wq)
            if self.alpha is None:
                x = torch.fake_quantize_per_tensor_affine(x, self.act_scale, 0, *self.aq)
        return nn.functional.linear(x, w, self.bias)


@torch.no_grad()
def quantized_copy(model: nn.Sequential, bits: int, act: str = "fixed") -> nn.Sequential:
    """A copy of the float MLP whose Linear layers are QATLinear, input ranges from the training set."""
    q, h = copy.deepcopy(model), x_train
    for i, layer in enumerate(model):
        if isinstance(layer, nn.Linear):
            assert h.min() >= 0, "the unsigned input grid with zero point 0 needs inputs >= 0"
            q[i] = QATLinear(layer, bits, h.max().item(), act)
        h = layer(h)
    return q


def qat(model: nn.Sequential, bits: int, act: str = "fixed", epochs: int = 8, seed: int = 0) -> nn.Sequential:
    """QAT fine-tuning of a quantized copy of a trained float model."""
    q = quantized_copy(model, bits, act)
    fit(q, loaders["train"], epochs=epochs, lr=1e-3, seed=seed)
    return q.eval()


def acc(model: nn.Module) -> float:
    return evaluate(model, loaders["test"])["accuracy"]


t0 = time.perf_counter()
ptq = {b: np.mean([acc(quantized_copy(floats[s], b)) for s in SEEDS]) for b in BITS}
fixed = {b: np.mean([acc(qat(floats[s], b, seed=s)) for s in SEEDS]) for b in BITS}
print(f"{'bits':>5} {'PTQ':>8} {'QAT':>8}   (float {float_acc:.2%}, means of {len(SEEDS)} seeds, "
      f"{time.perf_counter() - t0:.1f} s)")
for b in BITS:
    print(f"{b:>5} {ptq[b]:>8.2%} {fixed[b]:>8.2%}")

# %% [markdown]
# Two claims, as assertions on these means: QAT at 4 bits is within 1 point of float, and at 2 bits it is at least
# 10 points above PTQ. The printed line says by how much on this run.

# %%
assert float_acc - fixed[4] <= 0.01, (float_acc, fixed[4])
assert fixed[2] - ptq[2] >= 0.10, (fixed[2], ptq[2])
print(f"QAT at 4 bits: {100 * (fixed[4] - float_acc):+.2f} points against float; at 2 bits QAT is "
      f"{100 * (fixed[2] - ptq[2]):.1f} points above PTQ")

# %% [markdown]
# ### LSQ and PACT against fixed-scale QAT at 3 and 2 bits

# %%
lsq = {b: np.mean([acc(qat(floats[s], b, "lsq", seed=s)) for s in SEEDS]) for b in (3, 2)}
pact = {b: np.mean([acc(qat(floats[s], b, "pact", seed=s)) for s in SEEDS]) for b in (3, 2)}
for b in (3, 2):
    print(f"{b} bits: fixed-scale QAT {fixed[b]:.2%}, LSQ {lsq[b]:.2%} ({100 * (lsq[b] - fixed[b]):+.2f} points), "
          f"PACT activations {pact[b]:.2%} ({100 * (pact[b] - fixed[b]):+.2f}); one test-set standard error is "
          f"about {100 * np.sqrt(fixed[b] * (1 - fixed[b]) / len(digits.test)):.1f} points")

# %% [markdown]
# The three runs differ in what is learned: LSQ learns the weight steps and the activation steps, PACT only the
# activation clips (its weights stay on the $\max|W|$ grid of fixed-scale QAT). Differences smaller than the
# printed standard error do not rank the methods.
#
# ### From fake to real: the 4-bit QAT model in integers only
#
# Each `QATLinear` becomes module 02's integer-only layer: input codes $x_q$ (zero point 0), weight codes
# $W_q = \lfloor W/s_w \rceil$, bias codes $\lfloor b/(s_x s_w) \rceil$ in int32, and the output requantized by the
# fixed-point multiplier $M = s_x s_w / s_y$ straight into the next layer's input codes, where clamping at code 0 is
# the ReLU. The last layer's int32 accumulators are the logits up to the factor $s_x s_w$, so their argmax is the
# prediction.

# %%
def integer_predict(q: nn.Sequential, x: np.ndarray) -> np.ndarray:
    """Predictions of a fixed-scale QAT MLP computed with integer arithmetic only (after quantizing the input)."""
    layers = [m for m in q if isinstance(m, QATLinear)]
    h = quantize(x, layers[0].act_scale, 0, *layers[0].aq).astype(np.int64)
    for i, m in enumerate(layers):
        s_w = m.weight_scale()
        w_q = quantize(m.weight.detach().numpy(), s_w, 0, *m.wq)
        b_q = np.round(m.bias.detach().numpy().astype(np.float64) / (m.act_scale * s_w)).astype(np.int64)
        if i == len(layers) - 1:
            return np.argmax(h @ w_q.T.astype(np.int64) + b_q, axis=1)
        nxt = layers[i + 1]
        m0, shift = quantize_multiplier(m.act_scale * s_w / nxt.act_scale)
        h = int_linear(h, 0, w_q, b_q, m0, shift, 0, *nxt.aq).astype(np.int64)


q4 = qat(floats[0], 4, seed=0)
fake_acc = acc(q4)
int_acc = np.mean(integer_predict(q4, digits.test.x) == digits.test.y)
int_bytes = size_bytes(q4, {name: 4 for name, _ in q4.named_parameters() if name.endswith("weight")})
float_bytes = size_bytes(q4)
assert abs(int_acc - fake_acc) <= 0.005, (int_acc, fake_acc)
print(f"4-bit QAT model: fake-quantized {fake_acc:.2%}, integer-only {int_acc:.2%}; weights packed at 4 bits and "
      f"int32 biases: {int_bytes:,} bytes against {float_bytes:,} in float32 ({float_bytes / int_bytes:.1f}x)")

# %% [markdown]
# ### Binary weights
#
# A BinaryConnect MLP, trained from scratch with the same widths: the forward pass uses $\operatorname{sign}(W)$,
# the gradient reaches the latent weights straight through, and they are clipped to $[-1, 1]$ after every step. The
# input and output layers are binary too. `sign_ste` is the deterministic binarizer; the lab writes the stochastic
# one and the layer.

# %%
def sign_ste(w: torch.Tensor, scaled: bool = False) -> torch.Tensor:
    """sign(w) with +1 at 0 (times mean|w| if scaled) in the forward pass, the identity in the backward pass."""
    b = torch.where(w >= 0, 1.0, -1.0) * (w.detach().abs().mean() if scaled else 1.0)
    return b + (w - w.detach())  # the value is exactly b; the gradient reaches w unchanged


assert torch.sign(torch.tensor(0.0)) == 0 and sign_ste(torch.tensor(0.0)) == 1, "torch.sign(0) is 0, a third value"


class SignLinear(nn.Linear):
    def __init__(self, fan_in: int, fan_out: int, scaled: bool):
        super().__init__(fan_in, fan_out)
        self.scaled = scaled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, sign_ste(self.weight, self.scaled), self.bias)


def train_binary(seed: int, scaled: bool, epochs: int = 30) -> nn.Sequential:
    seed_everything(seed)
    net = nn.Sequential(SignLinear(64, 64, scaled), nn.BatchNorm1d(64), nn.ReLU(), SignLinear(64, 64, scaled),
                        nn.BatchNorm1d(64), nn.ReLU(), SignLinear(64, 10, scaled))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    loaders["train"].generator.manual_seed(seed)
    for _ in range(epochs):
        net.train()
        for xb, yb in loaders["train"]:
            opt.zero_grad()
            nn.functional.cross_entropy(net(xb), yb).backward()
            opt.step()
            with torch.no_grad():
                for m in net:
                    if isinstance(m, SignLinear):
                        m.weight.clamp_(-1, 1)  # BinaryConnect clips the latent weights
    return net.eval()


binary = {scaled: [train_binary(s, scaled) for s in SEEDS] for scaled in (False, True)}
bin_acc = {scaled: np.mean([acc(m) for m in nets]) for scaled, nets in binary.items()}
w_bits = sum(m.weight.numel() for m in binary[False][0] if isinstance(m, SignLinear))
bin_ratio = 4 * w_bits / (w_bits // 8)
print(f"binary weights: {bin_acc[False]:.2%}, scaled binary: {bin_acc[True]:.2%}, float {float_acc:.2%}; "
      f"weights {w_bits // 8:,} bytes instead of {4 * w_bits:,} ({bin_ratio:.0f}x smaller)")

# %% [markdown]
# **Does binarization regularize?** On permutation-invariant MNIST, CIFAR-10 and SVHN, Courbariaux et al. (2015,
# Section 3 and its table of test errors) find BinaryConnect's test error no worse than that of the same network
# trained without a regularizer, and lower especially with the stochastic variant, which they read as a
# regularizing effect. This page trains the deterministic variant. The honest test here compares, for the same
# widths, the gap between training and test accuracy and the test accuracy itself, against a float MLP of the same
# shape and training (batch normalization included).

# %%
def train_float_bn(seed: int, epochs: int = 30) -> nn.Sequential:
    seed_everything(seed)
    net = nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 64), nn.BatchNorm1d(64),
                        nn.ReLU(), nn.Linear(64, 10))
    fit(net, loaders["train"], epochs=epochs, lr=3e-3, seed=seed)
    return net.eval()


float_bn = [train_float_bn(s) for s in SEEDS]
train_test = {}
for label, nets in (("float + BN", float_bn), ("binary + BN", binary[False])):
    tr = np.mean([evaluate(m, loaders["train"])["accuracy"] for m in nets])
    te = np.mean([acc(m) for m in nets])
    train_test[label] = tr, te
    print(f"{label:>12}: train {tr:.2%}, test {te:.2%}, gap {100 * (tr - te):.2f} points")
(tr_f, te_f), (tr_b, te_b) = train_test["float + BN"], train_test["binary + BN"]
se = np.sqrt(float_acc * (1 - float_acc) / len(digits.test))  # one standard error of a test accuracy
where = ("within one standard error of" if abs(te_b - te_f) <= se
         else "more than one standard error " + ("above" if te_b > te_f else "below"))
narrower = (tr_b - te_b) < (tr_f - te_f)
print(f"on this data the binary network's test accuracy is {where} the float one's (one standard error: "
      f"{100 * se:.1f} points), and its train-test gap is {'narrower' if narrower else 'wider'}: "
      f"{100 * (tr_b - te_b):.2f} points against {100 * (tr_f - te_f):.2f}")
print(f"binarization regularizes here (test accuracy above float beyond one standard error, and a narrower gap): "
      f"{te_b - te_f > se and narrower}")

# %% [markdown]
# ## Experiments: accuracy against bits

# %% tags=["headline"]
print(f"digits MLP, means of {len(SEEDS)} seeds: float {float_acc:.2%}; QAT 4 bits {fixed[4]:.2%} "
      f"(PTQ {ptq[4]:.2%}); QAT 2 bits {fixed[2]:.2%} (PTQ {ptq[2]:.2%}, LSQ {lsq[2]:.2%})")
print(f"4-bit QAT in integers only: {int_acc:.2%} (fake-quantized {fake_acc:.2%}), {float_bytes / int_bytes:.1f}x "
      f"smaller than float32")
print(f"binary weights: {bin_acc[False]:.2%} test accuracy with {bin_ratio:.0f}x smaller weights")

# %% tags=["slow"]
fig, ax = new_axes("Test accuracy of the digits MLP against bits per weight", "bits (weights and activations)",
                   "test accuracy (mean of 3 seeds)")
ax.errorbar(BITS, [ptq[b] for b in BITS], yerr=se, marker="o", label="PTQ")
ax.errorbar(BITS, [fixed[b] for b in BITS], yerr=se, marker="s", label="QAT, fixed scale")
ax.errorbar((3, 2), [lsq[3], lsq[2]], yerr=se, marker="^", label="QAT, LSQ")
ax.errorbar((3, 2), [pact[3], pact[2]], yerr=se, marker="v", label="QAT, PACT activations")
ax.errorbar([1, 1], [bin_acc[False], bin_acc[True]], yerr=se, marker="D", ls="", label="binary weights (float acts)")
ax.axhline(float_acc, color="0.5", ls="--", label="float32")
ax.set_xticks([1, 2, 3, 4, 8])
ax.legend()
plt.show()
print(f"page run time so far: {time.perf_counter() - START:.1f} s")

# %% [markdown]
# ## Pitfalls
#
# - An STE without the clipping mask keeps pushing values that are already saturated; the mask must test the
#   **rounded** code, as PyTorch does, or values half a step past the range keep a gradient.
# - Recomputing $s_w$ from $\max|W|$ inside the graph lets the gradient flow into the scale through the max; here
#   the scale is a constant of each step.
# - Without $g$, SGD's update of $s$ grows by $\sqrt{N Q_P}$ and is no longer comparable, relative to $s$, with the
#   weights' updates (Esser et al. 2020, Section 2.2). Adam's update does not change when a parameter's gradient is
#   multiplied by a constant (up to its $\epsilon$), so with Adam, as in the runs above, a constant $g$ hardly matters.
# - The activation range of a ReLU layer starts at 0: a zero point other than 0 wastes codes on negative values.
# - A binarizer with `torch.sign` maps 0 to 0, a third value (asserted above). Unclipped latent weights can grow
#   without bound, and a large latent weight needs many updates before its sign can flip.
# - Fake-quantized accuracy is a promise; the integer-only run above is the check that the promise holds.
#
# ## Summary
#
# - QAT keeps rounding in the forward pass and lets the clipped STE carry the gradient; it equals the clamp's
#   derivative and PyTorch's fake-quantize gradient.
# - LSQ learns the step with a gradient that sees each value's distance to its grid point, scaled by
#   $1/\sqrt{N Q_P}$; PACT learns the activation clip with a gradient of 1 above it.
# - The measured table shows where PTQ breaks and how much QAT recovers; the 4-bit model runs in integers only.
# - Binary weights store 1 bit per weight; the page measured what that costs in accuracy on the digits.
#
# ## Exercises
#
# 1. Make the weight quantizer per output channel. Which bit widths gain, and by how much against the standard error?
# 2. Replace Adam by SGD with momentum in the LSQ runs, with and without $g$. What happens to the steps?
# 3. Add PACT's L2 penalty on $\alpha$ and start $\alpha$ at 10, as the paper does. Where does $\alpha$ end?
