# %% [markdown]
# # Knowledge distillation
#
# Quantization keeps a network's shape and stores its numbers in fewer bits. **Distillation** keeps 32-bit numbers
# and trains a smaller network, the *student*, to imitate a large one, the *teacher*. Hinton, Vinyals and Dean
# ("Distilling the Knowledge in a Neural Network", 2015) train the student on the teacher's output distribution
# softened by a temperature $T$: the small probabilities the teacher gives to wrong classes (a 3 that looks a bit
# like an 8) carry information that one-hot labels do not. This lecture builds the loss and its gradient from
# scratch, checks them against PyTorch, distills a narrow MLP on the 8x8 digits, and then tries the variants that
# followed: mutual learning, born-again networks, FitNets hints, and distillation against quantization at equal bytes.
#
# ## Motivation: a wide teacher and a narrow student
#
# The teacher is a 64-256-256-10 MLP, the student a 64-32-10 MLP; the cell prints how many times fewer parameters
# the student has, and how accurate the teacher is.

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from compresslab import compare, seed_everything
from compresslab.data import load_digits_dataset
from compresslab.models import mlp
from compresslab.plot import new_axes
from compresslab.quantization_basics import fake_quantize, qrange, symmetric_scale

seed_everything(0)
start_time = time.perf_counter()
digits = load_digits_dataset()
X, Y = digits.train.tensors()
X_val, Y_val = digits.val.tensors()
X_test, Y_test = digits.test.tensors()
SEEDS = (0, 1, 2)


def train(model: nn.Module, loss_fn, epochs: int, lr: float, seed: int, x=X, y=Y, batch: int = 32) -> nn.Module:
    """Adam on shuffled mini-batches; loss_fn(model, x_batch, y_batch, batch_indices) returns the batch loss."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss_fn(model, x[idx], y[idx], idx).backward()
            opt.step()
    return model.eval()


def ce_loss(model, xb, yb, idx):
    return F.cross_entropy(model(xb), yb)


@torch.no_grad()
def accuracy(model: nn.Module, x=X_test, y=Y_test) -> float:
    return float((model(x).argmax(1) == y).float().mean())


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


teacher = train(mlp([64, 256, 256, 10], seed=0), ce_loss, epochs=30, lr=1e-3, seed=0, batch=64)
with torch.no_grad():
    teacher_logits = teacher(X)  # the teacher is frozen: its logits on the training set are computed once
STUDENT = [64, 32, 10]
print(f"teacher {n_params(teacher):,} parameters, test accuracy {accuracy(teacher):.2%}; "
      f"student {n_params(mlp(STUDENT)):,} parameters ({n_params(teacher) / n_params(mlp(STUDENT)):.0f}x fewer); "
      f"{len(Y)} training and {len(Y_test)} test digits")

# %% [markdown]
# ## The math
#
# **Soft targets.** For logits $z \in \mathbb{R}^C$ and a temperature $T > 0$,
# $\mathrm{softmax}(z/T)_i = e^{z_i/T} / \sum_j e^{z_j/T}$. $T = 1$ is the usual softmax; larger $T$ flattens the
# distribution and lifts the small probabilities; $T \to 0$ tends to the one-hot argmax.
#
# **The loss.** With student logits $z_s$, teacher logits $z_t$, label $y$, $q = \mathrm{softmax}(z_s)$,
# $q^T = \mathrm{softmax}(z_s/T)$ and $p^T = \mathrm{softmax}(z_t/T)$, averaged over the $N$ examples of a batch:
# $$L = \alpha\,\mathrm{CE}(y, q) + (1 - \alpha)\, T^2\, \mathrm{KL}(p^T \,\|\, q^T), \qquad
# \mathrm{KL}(p\,\|\,q) = \sum_i p_i \log \frac{p_i}{q_i}.$$
# The hard-label term uses $T = 1$; the KL has the teacher as its target distribution.
#
# **Its gradient.** $\partial\,\mathrm{CE}/\partial z_s = q - e_y$. The KL is a cross-entropy with soft targets
# minus the teacher's entropy (a constant for the student), so its gradient with respect to $u = z_s/T$ is
# $q^T - p^T$, and the chain rule through $u$ brings a factor $1/T$:
# $$\frac{\partial L}{\partial z_s} = \frac{1}{N}\Big[\alpha\,(q - e_y) + (1 - \alpha)\, T\,(q^T - p^T)\Big].$$
#
# **Why $T^2$.** When $T$ is large against the logits, $e^{z_i/T} \approx 1 + z_i/T$, and for logits of mean zero
# over the classes $q^T_i - p^T_i \approx (z_{s,i} - z_{t,i})/(C\,T)$. The soft gradient per example is then
# $T \cdot (z_s - z_t)/(C\,T) = (z_s - z_t)/C$: independent of $T$, and distillation becomes matching logits
# (Hinton et al. 2015, Section 2.1). Without the $T^2$ the same gradient would be $(z_s - z_t)/(C\,T^2)$, and raising
# $T$ would quietly turn the soft term off against the hard one.

# %% [markdown]
# ## From scratch (NumPy)
#
# A softmax with a temperature over the rows of a batch, and the loss. Subtracting each row's maximum leaves the
# result unchanged and keeps `exp` from overflowing. The lab goes further: any axis, a log-softmax that stays finite
# when a probability underflows (here `np.log` of it would be $-\infty$), and the gradient.

# %%
def softmax(z: np.ndarray, T: float = 1.0) -> np.ndarray:
    """softmax(z / T) of each row of a 2-D array."""
    u = z / T
    e = np.exp(u - u.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def kd_loss(student_logits: np.ndarray, teacher_logits: np.ndarray, labels: np.ndarray, T: float,
            alpha: float) -> float:
    """Batch mean of alpha * CE(y, softmax(z_s)) + (1 - alpha) * T^2 * KL(softmax(z_t/T) || softmax(z_s/T))."""
    n = len(labels)
    ce = -np.log(softmax(student_logits)[np.arange(n), labels])
    p, q = softmax(teacher_logits, T), softmax(student_logits, T)
    kl = np.sum(p * (np.log(p) - np.log(q)), axis=1)
    return float(np.mean(alpha * ce + (1 - alpha) * T**2 * kl))


# %% [markdown]
# ### Soft targets and dark knowledge
#
# The teacher's distribution for one test digit at four temperatures, and, per true class, where the teacher puts
# the probability it does not give to the right class (averaged over the training digits, at $T = 4$).

# %% tags=["slow"]
with torch.no_grad():
    z_one = teacher(X_test[:1]).numpy()
fig, ax = new_axes(f"Teacher's softmax(z / T) for one test digit (a {int(Y_test[0])})", "class", "probability")
for k, T in enumerate((1, 2, 4, 8)):
    ax.bar(np.arange(10) + 0.2 * k - 0.3, softmax(z_one, T)[0], width=0.2, label=f"T = {T}")
ax.set_xticks(range(10))
ax.legend()
plt.show()

# %%
soft4 = softmax(teacher_logits.numpy(), 4.0)
rows = []
for c in range(10):
    mean = soft4[Y.numpy() == c].mean(axis=0)
    mean[c] = -1
    rows.append(f"{c}->{int(mean.argmax())} ({mean.max():.3f})")
print("largest wrong-class probability per true class at T = 4:", ", ".join(rows))
true1 = softmax(teacher_logits.numpy())[np.arange(len(Y)), Y].mean()
true4 = soft4[np.arange(len(Y)), Y].mean()
print(f"probability of the true class on average: T = 1 {true1:.3f}, T = 4 {true4:.3f}")
assert true1 > 0.95 and true4 < true1, "almost one-hot at T = 1, softer at T = 4"

# %% [markdown]
# At $T = 1$ the trained teacher is almost one-hot; at $T = 4$ the wrong classes get probabilities the student can
# learn from, and the pairs above show which digits the teacher finds alike: that similarity structure is what Hinton
# et al. call *dark knowledge*.
#
# ## Check against the library
#
# The NumPy loss against `F.cross_entropy` and `F.kl_div(log_softmax(z_s/T), softmax(z_t/T), reduction="batchmean")`
# (PyTorch's `kl_div` takes the student's **log**-probabilities first and the target second), and the gradient
# formula against autograd.

# %%
rng = np.random.default_rng(0)
zs, zt, y = rng.normal(0, 2, (8, 10)), rng.normal(0, 3, (8, 10)), rng.integers(0, 10, 8)
for T, alpha in [(1.0, 0.5), (4.0, 0.1), (10.0, 0.0)]:
    s = torch.tensor(zs, requires_grad=True)
    ref = (alpha * F.cross_entropy(s, torch.tensor(y)) + (1 - alpha) * T**2
           * F.kl_div(F.log_softmax(s / T, -1), F.softmax(torch.tensor(zt) / T, -1), reduction="batchmean"))
    ref.backward()
    assert compare(f"kd_loss at T={T}, alpha={alpha}", kd_loss(zs, zt, y, T, alpha), ref.item()) <= 1e-9
    onehot = np.eye(10)[y]
    grad = (alpha * (softmax(zs) - onehot) + (1 - alpha) * T * (softmax(zs, T) - softmax(zt, T))) / len(y)
    assert compare(f"gradient formula at T={T}", grad, s.grad) <= 1e-12
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # PyTorch warns that 'mean' is not the KL divergence: the point of this line
    mean_red = F.kl_div(F.log_softmax(torch.tensor(zs), -1), F.softmax(torch.tensor(zt), -1), reduction="mean")
batchmean = F.kl_div(F.log_softmax(torch.tensor(zs), -1), F.softmax(torch.tensor(zt), -1), reduction="batchmean")
assert abs(batchmean.item() / mean_red.item() - 10) < 1e-9, "'mean' divides by N * C, 'batchmean' by N"
print(f"reduction='mean' gives {mean_red.item():.5f}, 'batchmean' {batchmean.item():.5f}: a factor C = 10")

# %% [markdown]
# ### The gradient's scale against $T$
#
# The norm of the soft term's gradient for zero-mean logits, with and without the $T^2$ factor, from autograd.

# %%
zs0, zt0 = zs - zs.mean(1, keepdims=True), zt - zt.mean(1, keepdims=True)
temps = [1, 2, 4, 8, 16, 32, 64]
norms = {}
for T in temps:
    s = torch.tensor(zs0, requires_grad=True)
    (T**2 * F.kl_div(F.log_softmax(s / T, -1), F.softmax(torch.tensor(zt0) / T, -1), reduction="batchmean")).backward()
    norms[T] = float(s.grad.norm())
limit = float(np.linalg.norm((zs0 - zt0) / 10 / len(zs0)))
print("T:          " + "".join(f"{T:>10}" for T in temps))
print("with T^2:   " + "".join(f"{norms[T]:>10.4f}" for T in temps))
print("without:    " + "".join(f"{norms[T] / T**2:>10.4f}" for T in temps))
print(f"logit-matching limit (z_s - z_t) / (C N): {limit:.4f}")
assert abs(norms[64] / limit - 1) < 0.02 and abs(norms[32] / norms[64] - 1) < 0.02, (norms, limit)

# %% [markdown]
# With $T^2$ the gradient settles at the logit-matching value printed on the last line; without it, it falls by
# $T^2$.
#
# ## With PyTorch: offline distillation
#
# The student trains on the hard labels and on the teacher's frozen logits, looked up by the batch's indices.

# %%
def kd_batch_loss(T: float, alpha: float, targets: torch.Tensor = teacher_logits):
    def loss_fn(model, xb, yb, idx):
        z = model(xb)
        soft = F.kl_div(F.log_softmax(z / T, -1), F.softmax(targets[idx] / T, -1), reduction="batchmean")
        return alpha * F.cross_entropy(z, yb) + (1 - alpha) * T**2 * soft
    return loss_fn


def student_runs(loss_fn, sizes=STUDENT, epochs: int = 20, lr: float = 3e-3, x=X, y=Y) -> list[nn.Module]:
    """One student per seed, each initialized with that seed."""
    return [train(mlp(sizes, seed=100 + s), loss_fn, epochs, lr, seed=s, x=x, y=y) for s in SEEDS]


def mean_acc(models, x=X_test, y=Y_test) -> float:
    return float(np.mean([accuracy(m, x, y) for m in models]))


T0, ALPHA0 = 4.0, 0.1
alone = student_runs(ce_loss)
kd = student_runs(kd_batch_loss(T0, ALPHA0))
acc_t, acc_alone, acc_kd = accuracy(teacher), mean_acc(alone), mean_acc(kd)
se = np.sqrt(acc_alone * (1 - acc_alone) / len(Y_test))
gap_share = (acc_kd - acc_alone) / (acc_t - acc_alone) if acc_t > acc_alone else float("nan")
print(f"teacher {acc_t:.2%}; student alone {acc_alone:.2%}; student with KD (T={T0:g}, alpha={ALPHA0}) {acc_kd:.2%} "
      f"(means of {len(SEEDS)} seeds; one run's binomial standard error {se:.2%})")
print(f"KD {'beats' if acc_kd > acc_alone else 'does not beat'} the student alone by {100 * (acc_kd - acc_alone):+.2f} "
      f"points and closes {gap_share:.0%} of the gap to the teacher; the difference is "
      f"{'within' if abs(acc_kd - acc_alone) < se else 'larger than'} one run's standard error")

# %% [markdown]
# Accuracy moves in steps of one test digit; the test cross-entropy of the same models resolves smaller differences,
# and it also measures how confident the students are.

# %%
@torch.no_grad()
def test_nll(models) -> float:
    return float(np.mean([F.cross_entropy(m(X_test), Y_test).item() for m in models]))


nll_alone, nll_kd = test_nll(alone), test_nll(kd)
print(f"test cross-entropy: student alone {nll_alone:.4f}, with KD {nll_kd:.4f}, teacher {test_nll([teacher]):.4f}; "
      f"KD {'lowers' if nll_kd < nll_alone else 'raises'} it")

# %% [markdown]
# ### Sweeps of $T$ and $\alpha$
#
# Three seeds per point; $\alpha = 1$ is the student alone.

# %% tags=["slow"]
t_grid, a_grid = [1.0, 2.0, 4.0, 8.0], [0.0, 0.1, 0.5]
acc_T = [acc_kd if T == T0 else mean_acc(student_runs(kd_batch_loss(T, ALPHA0))) for T in t_grid]
acc_a = [acc_kd if a == ALPHA0 else mean_acc(student_runs(kd_batch_loss(T0, a))) for a in a_grid] + [acc_alone]
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
axes[0].errorbar(t_grid, acc_T, yerr=se, marker="o")
axes[0].set(xscale="log", xlabel="temperature T", ylabel="test accuracy",
            title=f"Student accuracy against T (alpha={ALPHA0})")
axes[1].errorbar(a_grid + [1.0], acc_a, yerr=se, marker="o")
axes[1].set(xlabel="alpha (weight of the hard labels)", title=f"Student accuracy against alpha (T={T0:g})")
for ax in axes:
    ax.axhline(acc_alone, color="0.5", ls="--", label="student alone")
    ax.axhline(acc_t, color="C3", ls=":", label="teacher")
axes[0].legend()
plt.show()
print("T:     " + ", ".join(f"{T:g} -> {a:.2%}" for T, a in zip(t_grid, acc_T)))
print("alpha: " + ", ".join(f"{a:g} -> {v:.2%}" for a, v in zip(a_grid + [1.0], acc_a)))
spread = 100 * (max(acc_T + acc_a) - min(acc_T + acc_a))
print(f"all settings lie within {spread:.2f} points; one run's standard error is {100 * se:.2f} points, so the sweeps "
      f"{'do not resolve' if spread < 2 * 100 * se else 'resolve'} a best setting at two standard errors")

# %% [markdown]
# ## Hinton's held-out class
#
# Hinton et al. (Section 3) removed every 3 from the transfer set of their MNIST student. The distilled student never
# saw a 3, yet learned from the teacher's soft targets on other digits what a 3 looks like: it made 206 test errors,
# 133 of them on the 1010 threes, and with the bias of class 3 raised by an appropriate amount, 109 errors of which 14
# on threes. Here: the students train on the training digits without
# the 3s, with and without KD; the bias of class 3 is then raised by the amount that maximizes accuracy on the
# validation digits.

# %%
HELD = 3
keep = Y != HELD
sub_loss = kd_batch_loss(8.0, 0.1, teacher_logits[keep])
no3_alone = student_runs(ce_loss, x=X[keep], y=Y[keep])
no3_kd = student_runs(sub_loss, x=X[keep], y=Y[keep])
is3 = Y_test == HELD


def with_bias(model: nn.Module, shift: float) -> nn.Module:
    """A copy of the model whose logit for the held-out class is raised by `shift`."""
    out = mlp(STUDENT, seed=None)
    out.load_state_dict(model.state_dict())
    with torch.no_grad():
        out[-1].bias[HELD] += shift
    return out.eval()


shifts = np.arange(0.0, 12.01, 0.5)
adjusted = [with_bias(m, max(shifts, key=lambda b: accuracy(with_bias(m, b), X_val, Y_val))) for m in no3_kd]
held = {name: mean_acc(ms, X_test[is3], Y_test[is3]) for name, ms in
        [("alone", no3_alone), ("KD", no3_kd), ("KD + bias", adjusted)]}
overall = {name: mean_acc(ms) for name, ms in [("alone", no3_alone), ("KD", no3_kd), ("KD + bias", adjusted)]}
for name in held:
    print(f"{name:>10}: test 3s classified correctly {held[name]:.1%} of {int(is3.sum())}; all test digits "
          f"{overall[name]:.2%}")

# %% [markdown]
# ## Online, self and feature distillation
#
# - **Deep mutual learning** (Zhang et al., CVPR 2018): no pretrained teacher; two students train together, each
#   adding $\mathrm{KL}(p_{\text{other}} \,\|\, p_{\text{self}})$ at $T = 1$ to its cross-entropy, the peer's
#   prediction held fixed.
# - **Born-again networks** (Furlanello et al., ICML 2018): the student has the teacher's own architecture.
# - **FitNets** (Romero et al., ICLR 2015): a *hint* first trains the student's hidden layer, through a learned linear
#   regressor, to predict the teacher's hidden layer (squared error); then the whole student is distilled.

# %%
def mutual_pair(seed: int, epochs: int = 20, lr: float = 3e-3) -> list[nn.Module]:
    pair = [mlp(STUDENT, seed=100 + seed), mlp(STUDENT, seed=200 + seed)]
    opts = [torch.optim.Adam(m.parameters(), lr=lr) for m in pair]
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(Y), generator=gen)
        for i in range(0, len(Y), 32):
            idx = perm[i:i + 32]
            z = [m(X[idx]) for m in pair]
            for k, opt in enumerate(opts):
                peer = F.softmax(z[1 - k].detach(), -1)
                loss = F.cross_entropy(z[k], Y[idx]) + F.kl_div(F.log_softmax(z[k], -1), peer, reduction="batchmean")
                opt.zero_grad()
                loss.backward()
                opt.step()
    return [m.eval() for m in pair]


dml = [m for s in SEEDS for m in mutual_pair(s)]
independent = alone + [train(mlp(STUDENT, seed=200 + s), ce_loss, 20, 3e-3, seed=s) for s in SEEDS]
acc_dml, acc_ind = mean_acc(dml), mean_acc(independent)
print(f"mutual learning: {acc_dml:.2%} per student against {acc_ind:.2%} trained independently "
      f"({len(dml)} students each; {100 * (acc_dml - acc_ind):+.2f} points); test cross-entropy {test_nll(dml):.4f} "
      f"against {test_nll(independent):.4f}")

# %%
born_again = [train(mlp([64, 256, 256, 10], seed=100 + s), kd_batch_loss(T0, ALPHA0), 30, 1e-3, seed=s, batch=64)
              for s in SEEDS]  # the teacher's own recipe
acc_ba = mean_acc(born_again)
print(f"born-again (teacher's architecture, T={T0:g}, alpha={ALPHA0}): {acc_ba:.2%} against the teacher's "
      f"{acc_t:.2%} ({100 * (acc_ba - acc_t):+.2f} points)")

# %%
with torch.no_grad():
    teacher_hidden = teacher[:4](X)  # the teacher's second hidden layer, after its ReLU


def fitnet(seed: int, hint_epochs: int = 5) -> nn.Module:
    student = mlp(STUDENT, seed=100 + seed)
    regressor = nn.Linear(32, 256)
    guided = nn.Sequential(student[:2], regressor)  # the student's hidden layer, then the regressor

    def hint_loss(model, xb, yb, idx):
        return F.mse_loss(model(xb), teacher_hidden[idx])

    train(guided, hint_loss, hint_epochs, 3e-3, seed=seed)
    return train(student, kd_batch_loss(T0, ALPHA0), 20, 3e-3, seed=seed)


fitnets = [fitnet(s) for s in SEEDS]
acc_fit = mean_acc(fitnets)
print(f"FitNets (hint, then KD): {acc_fit:.2%}; KD alone {acc_kd:.2%}; student alone {acc_alone:.2%}")

# %% [markdown]
# ## Quantization against distillation at equal bytes
#
# Weights quantized per output channel with module 01's symmetric quantizer (biases and one float32 scale per
# channel stay in float32), against float students whose width is chosen to use the same bytes, and then the two
# combined: distill a student, then quantize it.

# %%
def model_bytes(model: nn.Module, bits: int = 32) -> int:
    linears = [m for m in model if isinstance(m, nn.Linear)]
    weights = sum(m.weight.numel() for m in linears)
    floats = sum(m.bias.numel() for m in linears) + (sum(m.out_features for m in linears) if bits < 32 else 0)
    return int(np.ceil(weights * bits / 8)) + 4 * floats


def quantized(model: nn.Module, bits: int) -> nn.Module:
    """A copy with every Linear weight fake-quantized per output channel to `bits` (symmetric, narrow range)."""
    out = mlp([m.in_features for m in model if isinstance(m, nn.Linear)] + [10], seed=None)
    out.load_state_dict(model.state_dict())
    qmin, qmax = qrange(bits, signed=True, narrow=True)
    with torch.no_grad():
        for m in out:
            if isinstance(m, nn.Linear):
                w = m.weight.numpy()
                scale = np.array([[symmetric_scale(float(np.abs(r).max()), bits)] for r in w], dtype=np.float32)
                m.weight.copy_(torch.from_numpy(fake_quantize(w, scale, 0, qmin, qmax)))
    return out.eval()


def width_for(target_bytes: int) -> int:
    """The hidden width h of a 64-h-10 float student closest to target_bytes."""
    return int(round((target_bytes / 4 - 10) / 75))


table = [("teacher fp32", model_bytes(teacher), acc_t)]
for bits in (8, 4):
    table.append((f"teacher int{bits}", model_bytes(teacher, bits), accuracy(quantized(teacher, bits))))
for bits in (8, 4):
    h = width_for(model_bytes(teacher, bits))
    students = student_runs(kd_batch_loss(T0, ALPHA0), sizes=[64, h, 10])
    table.append((f"KD student 64-{h}-10 fp32", model_bytes(students[0]), mean_acc(students)))
    for qbits in (8, 4):
        table.append((f"KD student 64-{h}-10 int{qbits}", model_bytes(students[0], qbits),
                      mean_acc([quantized(m, qbits) for m in students])))
print(f"{'model':>28}{'bytes':>10}{'accuracy':>10}")
for name, size, acc in table:
    print(f"{name:>28}{size:>10,}{acc:>10.2%}")

# %% tags=["slow"]
fig, ax = new_axes("Test accuracy against size: quantized teacher, distilled and quantized students",
                   "bytes (log scale)", "test accuracy")
for name, size, acc in table:
    ax.errorbar(size, acc, yerr=se, marker="s" if name.startswith("teacher") else "o",
                color="C3" if name.startswith("teacher") else "C0")
    ax.annotate(name, (size, acc), fontsize=7, xytext=(3, 3), textcoords="offset points")
ax.set_xscale("log")
plt.show()

# %%
by_name = {name: (size, acc) for name, size, acc in table}
t4_size, t4_acc = by_name["teacher int4"]
same = [(n, s, a) for n, s, a in table if n.endswith("fp32") and n.startswith("KD") and abs(s / t4_size - 1) < 0.02]
smallest = min((row for row in table if row[2] >= t4_acc - 0.01), key=lambda row: row[1])
print(f"at the int4 teacher's {t4_size:,} bytes: teacher int4 {t4_acc:.2%}, "
      + ", ".join(f"{n} {a:.2%}" for n, _, a in same))
print(f"smallest model within one point of the int4 teacher: {smallest[0]} at {smallest[1]:,} bytes "
      f"({t4_size / smallest[1]:.1f}x smaller)")

# %% tags=["headline"]
print(f"digits, {len(SEEDS)} seeds: teacher {acc_t:.2%}, student 64-32-10 alone {acc_alone:.2%}, with KD {acc_kd:.2%} "
      f"({gap_share:.0%} of the gap closed)")
print(f"held-out 3s recognized by the KD student: {held['KD']:.1%} -> {held['KD + bias']:.1%} after the bias "
      f"adjustment (without KD {held['alone']:.1%})")
print(f"int4 teacher {t4_acc:.2%} at {t4_size:,} bytes; distilled then quantized: {smallest[0]} {smallest[2]:.2%} "
      f"at {smallest[1]:,} bytes")

# %% [markdown]
# ## Pitfalls
#
# Each mistake below is one line away from the right code. The cell computes what each does to one batch.

# %%
zs_t, zt_t, y_t = torch.tensor(zs), torch.tensor(zt), torch.tensor(y)
T = 4.0
right = F.kl_div(F.log_softmax(zs_t / T, -1), F.softmax(zt_t / T, -1), reduction="batchmean") * T**2
wrong = {
    "KL reversed": F.kl_div(F.log_softmax(zt_t / T, -1), F.softmax(zs_t / T, -1), reduction="batchmean") * T**2,
    "reduction='mean'": F.kl_div(F.log_softmax(zs_t / T, -1), F.softmax(zt_t / T, -1), reduction="sum") * T**2
    / zs_t.numel(),  # what the default 'mean' computes, without its deprecation warning
    "no T^2": right / T**2,
    "T in the hard term (CE)": F.cross_entropy(zs_t / T, y_t),
}
print(f"soft term done right: {right.item():.4f}; hard term at T = 1: {F.cross_entropy(zs_t, y_t).item():.4f}")
for name, value in wrong.items():
    print(f"{name:>24}: {value.item():.4f}")
dropout_teacher = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 10))
print("teacher with dropout left in training mode gives the same targets twice:",
      torch.equal(dropout_teacher(X[:4]), dropout_teacher(X[:4])),
      "| in eval mode:", torch.equal(dropout_teacher.eval()(X[:4]), dropout_teacher(X[:4])))
print("teacher output outside torch.no_grad() carries a graph back into the teacher:", teacher(X[:2]).requires_grad)

# %% [markdown]
# - **$T$ in the hard-label term.** The cross-entropy with the labels uses the plain softmax.
# - **The KL reversed.** `F.kl_div(input, target)` computes $\mathrm{KL}(\text{target}\,\|\,\cdot)$ with `input` as
#   log-probabilities: the student goes first, as log-softmax; the teacher second, as probabilities.
# - **`reduction="mean"`**, the default, divides by $N \cdot C$; the KL per example is `"batchmean"`.
# - **No $T^2$.** The soft term's gradient then shrinks as $1/T^2$.
# - **A teacher in training mode** (dropout, batch-norm statistics) gives noisy targets and changes its buffers; a
#   teacher run with gradients on builds a graph that costs memory and, if its parameters reach the optimizer,
#   changes it. Call `teacher.eval()` and compute its logits under `torch.no_grad()`.
#
# ## Summary
#
# - The distillation loss mixes the hard-label cross-entropy with $T^2$ times the KL from the teacher's softened
#   distribution; its gradient is $[\alpha(q - e_y) + (1-\alpha)T(q^T - p^T)]/N$, and $T^2$ keeps its scale
#   independent of $T$.
# - On the digits, the measured effect of KD on a 64-32-10 student, the held-out class and the variants are printed
#   above, with their noise; the headline lists them.
#
# ## Exercises
#
# 1. Distill with the hard labels removed ($\alpha = 0$) and a teacher that is itself only 90% accurate. Does the
#    student copy the teacher's mistakes?
# 2. Train a born-again student from the born-again student. Does a second generation help on the digits?
# 3. Quantization-aware distillation: fine-tune the int4 teacher with the fp32 teacher's soft targets.

# %%
print(f"lecture ran in {time.perf_counter() - start_time:.1f} s")
