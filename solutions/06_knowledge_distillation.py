# %% [markdown]
# # Lab 6: knowledge distillation
#
# The lecture wrote a softmax with a temperature for a batch of rows, the distillation loss in NumPy, and trained
# students on the digits with PyTorch's `F.kl_div`. In this lab you write the graded tools behind those experiments:
#
# | task | you write | checked against |
# |---|---|---|
# | 1 | `softmax`, `log_softmax`: any axis and temperature, stable at logits of $10^4$ | `torch.log_softmax` |
# | 2 | `kd_loss`: Hinton's loss in NumPy, stable at large logits | the PyTorch loss |
# | 3 | `kd_loss_grad`: its gradient with respect to the student logits | autograd |
# | 4 | `KDLoss`: the loss as an `nn.Module` | `F.kl_div(..., reduction="batchmean")` |
# | 5 | `distill`: offline distillation of a student from a frozen teacher | the loss going down |
# | 6 | `mutual_learning`: $K$ students teaching each other | two students trained alone |
# | 7 | `HintLoss`: FitNets' hint loss through a learned regressor | `F.mse_loss` |
#
# The loss, for student logits $z_s$, teacher logits $z_t$, labels $y$, temperature $T$ and weight $\alpha$, averaged
# over the $N$ rows of a batch:
# $$L = \alpha\, \mathrm{CE}\big(y, \mathrm{softmax}(z_s)\big) + (1 - \alpha)\, T^2\,
# \mathrm{KL}\big(\mathrm{softmax}(z_t / T)\, \|\, \mathrm{softmax}(z_s / T)\big).$$
#
# **How to check your work.** Every task ends in a check cell; the autograder runs hidden tests with other inputs and
# edge cases, so follow each docstring exactly: a `ValueError` message must name the bad argument. Cells tagged
# `slow` (training and plots) are skipped when grading, but run them: that is where your code distills a real model.

# %%
import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from compresslab import check_raises, seed_everything
from compresslab.data import load_digits_dataset, make_loaders
from compresslab.models import mlp
from compresslab.train import evaluate, fit

seed_everything(0)


def check_T_alpha(T: float, alpha: float) -> None:
    """ValueError naming T unless T > 0 and finite, naming alpha unless 0 <= alpha <= 1."""
    if not np.isfinite(T) or T <= 0:
        raise ValueError(f"T must be a finite temperature > 0, got {T}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")


def kd_arrays(student_logits, teacher_logits, labels, T: float,
              alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z_s, z_t) float64 (N, C) and labels (N,) after checking every argument of the distillation loss.

    ValueError naming T or alpha (check_T_alpha); naming student_logits when the two logits are not the same (N, C);
    naming labels when they are not N integers in [0, C).
    """
    check_T_alpha(T, alpha)
    zs, zt = np.asarray(student_logits, dtype=np.float64), np.asarray(teacher_logits, dtype=np.float64)
    labels = np.asarray(labels)
    if zs.ndim != 2 or zs.shape != zt.shape:
        raise ValueError(f"student_logits {zs.shape} and teacher_logits {zt.shape} must be the same (N, C)")
    n, c = zs.shape
    if labels.shape != (n,) or labels.dtype.kind not in "iu" or (n and (labels.min() < 0 or labels.max() >= c)):
        raise ValueError(f"labels must be {n} ints in [0, {c}), got shape {labels.shape}")
    return zs, zt, labels


# %% [markdown]
# ## Task 1: softmax and log-softmax at a temperature
#
# $\mathrm{softmax}(z/T)_i = e^{z_i/T} / \sum_j e^{z_j/T}$ along `axis`. Computed as written, $e^{10^4}$ overflows to
# `inf` and the result is NaN. Subtract the maximum along the axis first (the result does not change); for the
# log-softmax, use $\log \mathrm{softmax}(u)_i = u_i - \max u - \log \sum_j e^{u_j - \max u}$, never
# `np.log(softmax(...))`, which returns $-\infty$ when a probability underflows to 0.

# %%
def softmax(z, T: float = 1.0, axis: int = -1) -> np.ndarray:
    """softmax(z / T) along `axis`: float64 of z's shape, each slice along axis summing to 1.

    Finite for any finite z (logits of 1e4 included). Raises ValueError naming T unless T > 0.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 1: u = z / T; subtract u's max along axis (keepdims), exp, normalize.
    if not np.isfinite(T) or T <= 0:
        raise ValueError(f"T must be a finite temperature > 0, got {T}")
    u = np.asarray(z, dtype=np.float64) / T
    e = np.exp(u - u.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
    ### END SOLUTION


def log_softmax(z, T: float = 1.0, axis: int = -1) -> np.ndarray:
    """log softmax(z / T) along `axis`: float64 of z's shape, finite for any finite z.

    Raises ValueError naming T unless T > 0.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 1: u = z / T; return u - max - log(sum(exp(u - max))) along axis, with keepdims.
    if not np.isfinite(T) or T <= 0:
        raise ValueError(f"T must be a finite temperature > 0, got {T}")
    u = np.asarray(z, dtype=np.float64) / T
    shifted = u - u.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    ### END SOLUTION


# %%
z = np.array([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0]])
for T in (0.5, 1.0, 4.0):
    for axis in (0, 1):
        ref = torch.softmax(torch.tensor(z) / T, dim=axis).numpy()
        assert np.allclose(softmax(z, T, axis), ref, atol=1e-12), (T, axis, softmax(z, T, axis), ref)
        ref_log = torch.log_softmax(torch.tensor(z) / T, dim=axis).numpy()
        assert np.allclose(log_softmax(z, T, axis), ref_log, atol=1e-9), (T, axis, log_softmax(z, T, axis), ref_log)
check_raises(softmax, z, 0.0, names="T")
print("softmax at T = 4:", softmax(z, 4.0).round(4).tolist())

# %% [markdown]
# ## Task 2: the distillation loss in NumPy
#
# Return the batch mean of $\alpha\,\mathrm{CE} + (1-\alpha)\,T^2\,\mathrm{KL}$ as a Python float. The hard-label term
# uses $T = 1$; the soft term compares the teacher's distribution $p = \mathrm{softmax}(z_t/T)$ (the target) with the
# student's $q = \mathrm{softmax}(z_s/T)$: $\mathrm{KL}(p\,\|\,q) = \sum_i p_i (\log p_i - \log q_i)$, with
# $0 \log 0 = 0$. Build it from your `log_softmax` so that it stays finite at logits of $10^4$. The given `kd_arrays`
# checks the arguments and returns them as arrays; Tasks 2 and 3 both start with it.

# %%
def kd_loss(student_logits, teacher_logits, labels, T: float, alpha: float) -> float:
    """Mean over the N rows of alpha * CE(labels, softmax(z_s)) + (1 - alpha) * T^2 * KL(p_t^T || p_s^T).

    student_logits, teacher_logits: (N, C) real; labels: (N,) ints in [0, C). T > 0, 0 <= alpha <= 1, else
    ValueError naming T or alpha; ValueError naming labels when the shapes disagree or a label is out of range.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 2: CE from log_softmax(z_s) at T = 1, KL from log_softmax at T; mean of rows.
    zs, zt, labels = kd_arrays(student_logits, teacher_logits, labels, T, alpha)
    n = len(zs)
    ce = -log_softmax(zs)[np.arange(n), labels]
    log_p, log_q = log_softmax(zt, T), log_softmax(zs, T)
    kl = np.sum(np.exp(log_p) * (log_p - log_q), axis=1)
    return float(np.mean(alpha * ce + (1 - alpha) * T**2 * kl))
    ### END SOLUTION


# %%
rng = np.random.default_rng(0)
zs, zt, y = rng.normal(size=(6, 5)), 3 * rng.normal(size=(6, 5)), rng.integers(0, 5, 6)  # used by Tasks 2 to 4

# %%
for T, alpha in [(1.0, 0.5), (4.0, 0.1), (10.0, 0.0), (2.0, 1.0)]:
    s, t = torch.tensor(zs), torch.tensor(zt)
    ref = (alpha * F.cross_entropy(s, torch.tensor(y)) + (1 - alpha) * T**2
           * F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="batchmean")).item()
    assert abs(kd_loss(zs, zt, y, T, alpha) - ref) < 1e-9, (T, alpha, kd_loss(zs, zt, y, T, alpha), ref)
assert np.isfinite(kd_loss(zs * 1e4, zt * 1e4, y, 1.0, 0.5)), "the loss must stay finite at logits of 1e4"
check_raises(kd_loss, zs, zt, y, 4.0, 1.5, names="alpha")
print("kd_loss at T = 4, alpha = 0.1:", round(kd_loss(zs, zt, y, 4.0, 0.1), 6))

# %% [markdown]
# ## Task 3: the gradient with respect to the student logits
#
# Differentiate the **mean** loss of Task 2 with respect to every entry of $z_s$. With $q = \mathrm{softmax}(z_s)$,
# $q^T = \mathrm{softmax}(z_s/T)$, $p^T = \mathrm{softmax}(z_t/T)$ and the one-hot $e_y$:
# $$\frac{\partial L}{\partial z_s} = \frac{1}{N}\Big[\alpha\,(q - e_y) + (1 - \alpha)\, T\, (q^T - p^T)\Big].$$
# One factor $T$ of $T^2$ cancels against the $1/T$ of the chain rule through $z_s/T$.

# %%
def kd_loss_grad(student_logits, teacher_logits, labels, T: float, alpha: float) -> np.ndarray:
    """d kd_loss / d student_logits: float64 (N, C). Same arguments and errors as kd_loss."""
    ### BEGIN SOLUTION
    ### HINT: Task 3: (alpha * (softmax(z_s) - one_hot) + (1 - alpha) * T * (q_T - p_T)) / N.
    zs, zt, labels = kd_arrays(student_logits, teacher_logits, labels, T, alpha)
    n = len(zs)
    hard = softmax(zs)
    hard[np.arange(n), labels] -= 1.0
    soft = softmax(zs, T) - softmax(zt, T)
    return (alpha * hard + (1 - alpha) * T * soft) / n
    ### END SOLUTION


# %%
for T, alpha in [(1.0, 0.5), (4.0, 0.1), (20.0, 0.0)]:
    s = torch.tensor(zs, requires_grad=True)
    loss = (alpha * F.cross_entropy(s, torch.tensor(y)) + (1 - alpha) * T**2
            * F.kl_div(F.log_softmax(s / T, -1), F.softmax(torch.tensor(zt) / T, -1), reduction="batchmean"))
    loss.backward()
    ours = kd_loss_grad(zs, zt, y, T, alpha)
    assert np.allclose(ours, s.grad.numpy(), atol=1e-12), (T, alpha, np.abs(ours - s.grad.numpy()).max())
print("gradient matches autograd; its soft part at T = 20 has max |g| =",
      f"{np.abs(kd_loss_grad(zs, zt, y, 20.0, 0.0)).max():.4f}")

# %% [markdown]
# ## Task 4: the loss as a PyTorch module
#
# `KDLoss(T, alpha)(student_logits, teacher_logits, labels)` returns the scalar loss of Task 2 as a tensor with a
# gradient for the student. Its soft term must be
# `T**2 * F.kl_div(F.log_softmax(z_s / T, -1), F.softmax(z_t / T, -1), reduction="batchmean")`: the default
# reduction `"mean"` divides by $N \cdot C$ instead of $N$. The teacher is a fixed target: no gradient may flow into
# `teacher_logits`, even when they were computed with gradients on.

# %%
class KDLoss(nn.Module):
    """alpha * CE(y, z_s) + (1 - alpha) * T^2 * KL(softmax(z_t/T) || softmax(z_s/T)), batch mean.

    T > 0 and 0 <= alpha <= 1, else ValueError naming T or alpha (raised by the constructor).
    """

    def __init__(self, T: float = 4.0, alpha: float = 0.1) -> None:
        super().__init__()
        ### BEGIN SOLUTION
        ### HINT: Task 4: validate T and alpha and store them.
        check_T_alpha(T, alpha)
        self.T, self.alpha = float(T), float(alpha)
        ### END SOLUTION

    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        ### HINT: Task 4: detach the teacher; CE + T**2 * F.kl_div(..., reduction="batchmean").
        T, alpha = self.T, self.alpha
        hard = F.cross_entropy(student_logits, labels)
        soft = F.kl_div(F.log_softmax(student_logits / T, dim=-1), F.softmax(teacher_logits.detach() / T, dim=-1),
                        reduction="batchmean")
        return alpha * hard + (1 - alpha) * T**2 * soft
        ### END SOLUTION


# %%
s = torch.tensor(zs, requires_grad=True)
t = torch.tensor(zt, requires_grad=True)
out = KDLoss(4.0, 0.1)(s, t, torch.tensor(y))
out.backward()
assert abs(out.item() - kd_loss(zs, zt, y, 4.0, 0.1)) < 1e-9, (out.item(), kd_loss(zs, zt, y, 4.0, 0.1))
assert t.grad is None, "no gradient may reach the teacher's logits"
assert np.allclose(s.grad.numpy(), kd_loss_grad(zs, zt, y, 4.0, 0.1), atol=1e-12)
check_raises(KDLoss, 0.0, 0.5, names="T")
print("KDLoss(4, 0.1) =", round(out.item(), 6))

# %% [markdown]
# ## Task 5: offline distillation
#
# Train `student` in place on `loader`, the teacher frozen. Exactly this recipe (the hidden tests replay it):
#
# - `torch.manual_seed(seed)` first; one `torch.optim.Adam(student.parameters(), lr=lr)`;
# - put the teacher in evaluation mode (dropout and batch norm must not change its targets) and compute its logits
#   under `torch.no_grad()`; its parameters must not change;
# - for each epoch, `student.train()`, then for each batch `(x, y)` of the loader: zero the gradients, compute
#   `KDLoss(T, alpha)(student(x), teacher(x), y)`, backward, step;
# - return the list of per-epoch mean losses (the batch losses weighted by the batch sizes), and leave the student in
#   evaluation mode.

# %%
def distill(teacher: nn.Module, student: nn.Module, loader, T: float, alpha: float, epochs: int,
            lr: float = 1e-3, seed: int = 0) -> list[float]:
    """Distill teacher into student in place; return the mean training loss of each epoch.

    ValueError naming epochs unless epochs >= 1, and naming T or alpha as KDLoss does.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 5: teacher.eval(); Adam on the student; teacher(x) under torch.no_grad().
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    loss_fn = KDLoss(T, alpha)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    teacher.eval()
    history = []
    for _ in range(epochs):
        student.train()
        total, count = 0.0, 0
        for x, y in loader:
            with torch.no_grad():
                target = teacher(x)
            opt.zero_grad()
            loss = loss_fn(student(x), target, y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
            count += len(y)
        history.append(total / count)
    student.eval()
    return history
    ### END SOLUTION


# %%
torch.manual_seed(1)
xs = torch.randn(64, 6)
ys = (xs[:, 0] > 0).long() + (xs[:, 1] > 0).long()
batches = [(xs[i:i + 16], ys[i:i + 16]) for i in range(0, 64, 16)]
teacher_net = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3))
opt = torch.optim.Adam(teacher_net.parameters(), lr=1e-2)
for _ in range(40):
    for xb, yb in batches:
        opt.zero_grad()
        F.cross_entropy(teacher_net(xb), yb).backward()
        opt.step()
teacher_net.eval()

# %%
frozen = copy.deepcopy(teacher_net.state_dict())
student_net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
losses = distill(teacher_net, student_net, batches, T=2.0, alpha=0.5, epochs=15, lr=1e-2)
assert losses[-1] < losses[0], losses
assert all(torch.equal(v, teacher_net.state_dict()[k]) for k, v in frozen.items()), "the teacher changed"
assert not teacher_net.training and not student_net.training, "both models end in evaluation mode"
print("distill losses:", [round(v, 4) for v in losses[::5]], "...", round(losses[-1], 4))

# %% [markdown]
# ## Task 6: deep mutual learning
#
# Zhang, Xiang, Hospedales and Lu (CVPR 2018) train $K$ students together, each one the others' teacher. Student
# $k$'s loss, in the paper's form for $K$ networks with the plain ($T = 1$) softmax, is
# $$L_k = \mathrm{CE}(y, p_k) + \frac{1}{K - 1} \sum_{l \ne k} \mathrm{KL}(p_l \,\|\, p_k),$$
# where $p_l$ is a fixed target for student $k$ (detached). This lab updates all students at once on each batch:
#
# - `torch.manual_seed(seed)` first; one `torch.optim.Adam(student.parameters(), lr=lr)` per student, in order;
# - for each epoch, every student `.train()`; for each batch, zero all gradients, compute every student's logits,
#   then every $L_k$ (KL with `reduction="batchmean"`, targets `softmax(z_l).detach()`), backward the sum of the
#   $L_k$ and step every optimizer;
# - return, per epoch, the list of the $K$ per-student mean losses (weighted by batch sizes); leave every student in
#   evaluation mode.

# %%
def mutual_learning(students: list[nn.Module], loader, epochs: int, lr: float = 1e-3,
                    seed: int = 0) -> list[list[float]]:
    """Train K >= 2 students together in place; return [[L_1, ..., L_K] mean per epoch] (length epochs).

    ValueError naming students when fewer than 2 are given, naming epochs unless epochs >= 1.
    """
    ### BEGIN SOLUTION
    ### HINT: Task 6: L_k = CE + mean over l != k of KL(softmax(z_l).detach() || p_k).
    students = list(students)
    if len(students) < 2:
        raise ValueError(f"students must hold at least 2 models, got {len(students)}")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    k = len(students)
    torch.manual_seed(seed)
    opts = [torch.optim.Adam(m.parameters(), lr=lr) for m in students]
    history = []
    for _ in range(epochs):
        for m in students:
            m.train()
        totals, count = [0.0] * k, 0
        for x, y in loader:
            for opt in opts:
                opt.zero_grad()
            logits = [m(x) for m in students]
            targets = [F.softmax(z, dim=-1).detach() for z in logits]
            losses = []
            for i, z in enumerate(logits):
                log_q = F.log_softmax(z, dim=-1)
                peers = sum(F.kl_div(log_q, targets[j], reduction="batchmean") for j in range(k) if j != i)
                losses.append(F.cross_entropy(z, y) + peers / (k - 1))
            sum(losses).backward()
            for opt in opts:
                opt.step()
            totals = [a + b.item() * len(y) for a, b in zip(totals, losses)]
            count += len(y)
        history.append([v / count for v in totals])
    for m in students:
        m.eval()
    return history
    ### END SOLUTION


# %%
pair = [nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)) for _ in range(2)]
hist = mutual_learning(pair, batches, epochs=10, lr=1e-2)
assert len(hist) == 10 and len(hist[0]) == 2 and hist[-1][0] < hist[0][0] and hist[-1][1] < hist[0][1], hist
check_raises(mutual_learning, pair[:1], batches, 1, names="students")
print("mutual learning losses, first and last epoch:", np.round(hist[0], 4), np.round(hist[-1], 4))

# %% [markdown]
# ## Task 7: FitNets' hint loss
#
# Romero et al. (ICLR 2015) guide a thin student's hidden layer with a wider teacher's: a **regressor** maps the
# student's features to the teacher's width, and the hint loss is the squared error between the two (up to a constant
# factor). Write `HintLoss(student_dim, teacher_dim)`: its only parameters are those of one
# `nn.Linear(student_dim, teacher_dim)` created in the constructor (its default initialization) and stored as
# `self.regressor`; `forward(student_feat, teacher_feat)` returns `F.mse_loss(regressor(student_feat),
# teacher_feat)` (mean over all entries) with no gradient into the teacher's features.

# %%
class HintLoss(nn.Module):
    """MSE between regressor(student_feat) and the teacher's features; the regressor is trained with the student.

    student_dim, teacher_dim: ints >= 1, else ValueError naming them.
    """

    def __init__(self, student_dim: int, teacher_dim: int) -> None:
        super().__init__()
        ### BEGIN SOLUTION
        ### HINT: Task 7: check the widths; self.regressor = nn.Linear(student_dim, teacher_dim).
        for name, value in (("student_dim", student_dim), ("teacher_dim", teacher_dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        self.regressor = nn.Linear(student_dim, teacher_dim)
        ### END SOLUTION

    def forward(self, student_feat: torch.Tensor, teacher_feat: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        ### HINT: Task 7: F.mse_loss(self.regressor(student_feat), teacher_feat.detach()).
        return F.mse_loss(self.regressor(student_feat), teacher_feat.detach())
        ### END SOLUTION


# %%
torch.manual_seed(3)
hint = HintLoss(8, 32)
fs, ft = torch.randn(5, 8, requires_grad=True), torch.randn(5, 32, requires_grad=True)
value = hint(fs, ft)
value.backward()
expected = F.mse_loss(hint.regressor(fs), ft).item()
assert abs(value.item() - expected) < 1e-6 and ft.grad is None and fs.grad is not None, (value.item(), expected)
assert [tuple(p.shape) for p in hint.parameters()] == [(32, 8), (32,)]
check_raises(HintLoss, 0, 4, names="student_dim")
print("hint loss:", round(value.item(), 5))

# %% [markdown]
# ## Experiments on the digits
#
# A wide teacher and a narrow student, the student trained alone and with your `distill`.

# %% tags=["slow"]
digits = load_digits_dataset()
loaders = make_loaders(digits, batch_size=32)
teacher = mlp([64, 256, 256, 10], seed=0)
fit(teacher, loaders["train"], epochs=30, lr=1e-3, seed=0)
alone, kd = mlp([64, 32, 10], seed=1), mlp([64, 32, 10], seed=1)
fit(alone, loaders["train"], epochs=20, lr=3e-3, seed=1)
distill(teacher, kd, loaders["train"], T=4.0, alpha=0.1, epochs=20, lr=3e-3, seed=1)
accs = {name: evaluate(m, loaders["test"])["accuracy"] for name, m in
        [("teacher", teacher), ("student alone", alone), ("student with KD", kd)]}
for name, acc in accs.items():
    print(f"{name:>16}: {acc:.2%}")

# %% [markdown]
# **Question.** On one seed and 360 test digits, can you say that distillation helped? What would you measure to
# decide?

# %% [markdown] tags=["answer"]
# One seed's difference is within the binomial standard error (about one point at 96% on 360 digits). Average
# several seeds and compare a signal that resolves smaller differences, such as the test cross-entropy or the KL
# divergence between the student's and the teacher's predictions.
