"""Hidden tests of lab 06, knowledge distillation: 100 points over the seven tasks.

Each test's code runs in the kernel after the lab's cells and builds its own seeded inputs (seeds 6000 and up, which
the lab does not show). Expected values come from running the same code on solutions/06_knowledge_distillation.py.
The PyTorch tests build tiny models and a few batches, so that the whole lab grades in seconds.
"""

from autograder.spec import OUTCOME, Test

TESTS: list[Test] = []

LOGITS = """\
rng = np.random.default_rng({seed})
zs, zt = rng.normal(0, 2, (7, 5)), rng.normal(0, 3, (7, 5))
y = rng.integers(0, 5, 7)
"""

TINY = """\
torch.manual_seed(6500)
xs = torch.randn(50, 6)
ys = (xs[:, 0] > 0).long() + (xs[:, 1] > 0.5).long()
batches = [(xs[i:i + 16], ys[i:i + 16]) for i in range(0, 50, 16)]
teacher = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
student = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
probe = torch.randn(9, 6)
"""


def add(name: str, points: float, code: str, mistake: str, **options) -> None:
    TESTS.append(Test(name=name, points=points, code=code, mistake=mistake, **options))


# ---------------------------------------------------------------- Task 1: softmax, log_softmax (22 points)

add("softmax_temperature_rows", 4, """\
z = np.random.default_rng(6000).normal(0, 3, (4, 6))
[softmax(z), softmax(z, 0.5), softmax(z, 4.0), softmax(z, T=20.0)]
""", visibility="visible", atol=1e-12,
    mistake="softmax(z / T) along the last axis: divide the logits by T before exponentiating, then normalize "
            "each row to sum to 1")

add("softmax_any_axis", 4, """\
z = np.random.default_rng(6001).normal(0, 2, (3, 4, 5))
[softmax(z, 2.0, axis=0), softmax(z, 1.0, axis=1), softmax(z, 3.0, axis=-1), softmax(z[0, 0], 1.5)]
""", atol=1e-12,
    mistake="normalize along the `axis` argument (max and sum with axis=axis, keepdims=True), and accept 1-D input")

add("softmax_stable_large_logits", 5, """\
z = np.array([[1e4, 0.0, -1e4], [5e3, 5e3, 0.0], [-1e4, -1e4 + 1, -1e4 + 2]])
[softmax(z), softmax(z, 0.5), softmax(z, 1e3), softmax(z, 1.0, axis=0)]
""", atol=1e-12,
    mistake="exp(1e4) overflows to inf and inf / inf is NaN: subtract the maximum along the axis before exp")

add("log_softmax_values", 4, """\
z = np.random.default_rng(6003).normal(0, 3, (4, 6))
[log_softmax(z), log_softmax(z, 4.0), log_softmax(z, 0.5, axis=0)]
""", atol=1e-10,
    mistake="log softmax(z / T) = u - max(u) - log(sum(exp(u - max(u)))) with u = z / T, along axis")

add("log_softmax_stable_large_logits", 4, """\
z = np.array([[1e4, 0.0, -1e4], [0.0, 800.0, -800.0]])
[log_softmax(z), log_softmax(z, 2.0), log_softmax(z, 1.0, axis=0)]
""", atol=1e-8,
    mistake="np.log(softmax(z)) is -inf where a probability underflows to 0; compute the log-softmax directly as "
            "u - max - log(sum(exp(u - max)))")

add("softmax_rejects_bad_T", 1, OUTCOME + """\
z = np.ones((2, 3))
[outcome(softmax, z, 0.0, names="T"), outcome(softmax, z, -1.0, names="T"), outcome(log_softmax, z, 0.0, names="T")]
""", mistake="a temperature must be > 0: raise ValueError naming T")

# ---------------------------------------------------------------- Task 2: kd_loss (24 points)

add("kd_loss_matches_torch", 6, LOGITS.format(seed=6010) + """\
[kd_loss(zs, zt, y, 1.0, 0.5), kd_loss(zs, zt, y, 4.0, 0.1), kd_loss(zs, zt, y, 2.0, 0.9), kd_loss(zs, zt, y, 8.0, 0.3)]
""", visibility="visible", rtol=1e-9, atol=1e-12,
    mistake="mean over rows of alpha * CE(y, softmax(z_s)) + (1 - alpha) * T^2 * KL(softmax(z_t/T) || softmax(z_s/T))")

add("kd_loss_soft_term_T_squared", 4, LOGITS.format(seed=6011) + """\
[kd_loss(zs, zt, y, T, 0.0) for T in (1.0, 2.0, 5.0, 10.0, 50.0)]
""", rtol=1e-9, atol=1e-12,
    mistake="with alpha = 0 only the soft term is left, T^2 * KL at temperature T: multiply the KL by T**2 (Hinton "
            "et al. 2015, Section 2), so that its gradient does not shrink as 1/T^2")

add("kd_loss_hard_term_at_T1", 4, LOGITS.format(seed=6012) + """\
[kd_loss(zs, zt, y, T, 1.0) for T in (1.0, 3.0, 10.0)] + [kd_loss(zs, zt, y, 4.0, 0.7)]
""", rtol=1e-9, atol=1e-12,
    mistake="the hard-label cross-entropy uses the student's plain softmax (T = 1): with alpha = 1 the loss must not "
            "depend on T")

add("kd_loss_kl_direction", 4, """\
zs = np.zeros((3, 4))
zt = np.array([[6.0, 0.0, 0.0, 0.0], [0.0, 3.0, 3.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
y = np.array([0, 1, 3])
[kd_loss(zs, zt, y, 1.0, 0.0), kd_loss(zt, zs, y, 1.0, 0.0), kd_loss(zs, zt, y, 2.0, 0.0)]
""", rtol=1e-9, atol=1e-12,
    mistake="the target is the teacher: KL(p_teacher || p_student) = sum p_t (log p_t - log p_s), not KL(p_s || p_t)")

add("kd_loss_large_logits", 4, LOGITS.format(seed=6014) + """\
[kd_loss(1e4 * zs, 1e4 * zt, y, 1.0, 0.5), kd_loss(1e4 * zs, 1e4 * zt, y, 4.0, 0.0),
 kd_loss(1e4 * zs, 1e4 * zs, y, 2.0, 0.0)]
""", rtol=1e-9, atol=1e-6,
    mistake="at logits of 1e4 some probabilities underflow to 0 and log(0) = -inf; build the CE and the KL from "
            "log_softmax, and use 0 * log 0 = 0 (p * (log p - log q) with finite logs)")

add("kd_loss_rejects_bad_arguments", 2, OUTCOME + LOGITS.format(seed=6015) + """\
[outcome(kd_loss, zs, zt, y, 0.0, 0.5, names="T"), outcome(kd_loss, zs, zt, y, 2.0, -0.1, names="alpha"),
 outcome(kd_loss, zs, zt, y, 2.0, 1.5, names="alpha"), outcome(kd_loss, zs, zt, y + 5, 2.0, 0.5, names="labels")]
""", mistake="raise ValueError naming T unless T > 0, alpha unless 0 <= alpha <= 1, labels when one is out of range")

# ---------------------------------------------------------------- Task 3: kd_loss_grad (14 points)

add("kd_loss_grad_matches_autograd", 6, LOGITS.format(seed=6020) + """\
[kd_loss_grad(zs, zt, y, 1.0, 0.5), kd_loss_grad(zs, zt, y, 4.0, 0.1), kd_loss_grad(zs, zt, y, 2.0, 1.0)]
""", visibility="visible", atol=1e-12,
    mistake="d L / d z_s = (alpha * (softmax(z_s) - onehot(y)) + (1 - alpha) * T * (softmax(z_s/T) - softmax(z_t/T)))"
            " / N")

add("kd_loss_grad_batch_sizes", 4, """\
rng = np.random.default_rng(6021)
out = []
for n in (1, 3, 40):
    zs, zt, y = rng.normal(0, 2, (n, 4)), rng.normal(0, 2, (n, 4)), rng.integers(0, 4, n)
    out.append(kd_loss_grad(zs, zt, y, 3.0, 0.4))
out
""", atol=1e-12,
    mistake="the loss is a mean over the N rows, so every row's gradient is divided by N")

add("kd_loss_grad_temperature_scale", 4, LOGITS.format(seed=6022) + """\
[kd_loss_grad(zs, zt, y, T, 0.0) for T in (1.0, 4.0, 16.0)]
""", atol=1e-12,
    mistake="the soft term's gradient is (1 - alpha) * T * (q_T - p_T) / N: T^2 times the 1/T of the chain rule "
            "through z_s / T")

# ---------------------------------------------------------------- Task 4: KDLoss (14 points)

add("KDLoss_matches_kl_div_batchmean", 6, """\
torch.manual_seed(6030)
s, t, y = torch.randn(8, 10) * 2, torch.randn(8, 10) * 3, torch.randint(0, 10, (8,))
[KDLoss(4.0, 0.1)(s, t, y), KDLoss(1.0, 0.5)(s, t, y), KDLoss(T=2.0, alpha=0.0)(s, t, y)]
""", visibility="visible", rtol=1e-5, atol=1e-6,
    mistake="alpha * F.cross_entropy(z_s, y) + (1 - alpha) * T**2 * F.kl_div(F.log_softmax(z_s / T, -1), "
            "F.softmax(z_t / T, -1), reduction='batchmean')")

add("KDLoss_many_classes", 3, """\
torch.manual_seed(6031)
s, t, y = torch.randn(3, 100), torch.randn(3, 100) * 2, torch.randint(0, 100, (3,))
[KDLoss(3.0, 0.0)(s, t, y), KDLoss(3.0, 0.5)(s, t, y)]
""", rtol=1e-5, atol=1e-6,
    mistake="F.kl_div's default reduction 'mean' divides by N * C, not by the batch size N: use "
            "reduction='batchmean'")

add("KDLoss_no_teacher_grad", 3, """\
torch.manual_seed(6032)
s = torch.randn(5, 4, requires_grad=True)
t = torch.randn(5, 4, requires_grad=True)
KDLoss(2.0, 0.3)(s, t, torch.tensor([0, 1, 2, 3, 0])).backward()
[t.grad is None, s.grad]
""", atol=1e-6,
    mistake="the teacher is a fixed target: detach teacher_logits, so that no gradient flows into the teacher")

add("KDLoss_rejects_bad_arguments", 2, OUTCOME + """\
[outcome(KDLoss, 0.0, 0.5, names="T"), outcome(KDLoss, 2.0, 1.2, names="alpha"),
 outcome(KDLoss, -3.0, 0.5, names="T")]
""", mistake="the constructor raises ValueError naming T unless T > 0, alpha unless 0 <= alpha <= 1")

# ---------------------------------------------------------------- Task 5: distill (10 points)

add("distill_replays_recipe", 5, TINY + """\
losses = distill(teacher, student, batches, T=2.0, alpha=0.5, epochs=4, lr=1e-2, seed=3)
[losses, student(probe), student.training]
""", rtol=1e-4, atol=1e-5,
    mistake="torch.manual_seed(seed), one Adam(student.parameters(), lr); per batch zero_grad, KDLoss(T, alpha) of "
            "student(x) against teacher(x), backward, step; per-epoch loss = batch losses weighted by batch size")

add("distill_teacher_frozen_in_eval", 5, TINY + """\
before = [p.detach().clone() for p in teacher.parameters()]
teacher.train()
losses = distill(teacher, student, batches, T=4.0, alpha=0.2, epochs=3, lr=5e-3)
[losses, teacher.training, all(torch.equal(a, b) for a, b in zip(before, teacher.parameters())),
 all(p.grad is None for p in teacher.parameters())]
""", rtol=1e-4, atol=1e-5,
    mistake="call teacher.eval() (its dropout must not change the targets) and compute teacher(x) under "
            "torch.no_grad(): the teacher gets no gradient and never changes")

# ---------------------------------------------------------------- Task 6: mutual_learning (8 points)

add("mutual_learning_two_students", 5, TINY + """\
torch.manual_seed(6040)
pair = [nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)) for _ in range(2)]
hist = mutual_learning(pair, batches, epochs=3, lr=1e-2, seed=1)
[hist, pair[0](probe), pair[1](probe), pair[0].training]
""", rtol=1e-4, atol=1e-5,
    mistake="L_k = CE(y, z_k) + mean over l != k of KL(softmax(z_l).detach() || softmax(z_k)) with batchmean; "
            "backward the sum of the L_k and step every student's Adam")

add("mutual_learning_three_students", 3, TINY + """\
torch.manual_seed(6041)
trio = [nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3)) for _ in range(3)]
hist = mutual_learning(trio, batches, epochs=2, lr=1e-2)
[hist] + [m(probe) for m in trio]
""", rtol=1e-4, atol=1e-5,
    mistake="with K students each one's peer term is the mean of the K - 1 KL divergences to the others, not their "
            "sum and not only the next student")

# ---------------------------------------------------------------- Task 7: HintLoss (8 points)

add("hint_loss_value", 4, """\
torch.manual_seed(6050)
hint = HintLoss(6, 20)
fs, ft = torch.randn(7, 6), torch.randn(7, 20)
[hint(fs, ft), [tuple(p.shape) for p in hint.parameters()]]
""", visibility="visible", rtol=1e-5, atol=1e-6,
    mistake="self.regressor = nn.Linear(student_dim, teacher_dim) (the only parameters); the loss is "
            "F.mse_loss(self.regressor(student_feat), teacher_feat), a mean over all entries")

add("hint_loss_gradients", 4, """\
torch.manual_seed(6051)
hint = HintLoss(3, 8)
fs = torch.randn(4, 3, requires_grad=True)
ft = torch.randn(4, 8, requires_grad=True)
hint(fs, ft).backward()
[ft.grad is None, fs.grad, hint.regressor.weight.grad]
""", rtol=1e-5, atol=1e-6,
    mistake="the teacher's features are a target (detach them); the gradient reaches the student's features and "
            "the regressor")
