"""Hidden tests of lab 09, early exits and dynamic width: 100 points over the eight tasks.

Each test's code runs in the kernel after the lab's cells and builds its own seeded inputs (seeds 9000 and up, which
the lab does not show). Expected values come from running the same code on solutions/09_dynamic_computation.py.
The early-exit tests build their network as a bare nn.Module with `blocks` and `exits`, so they do not depend on the
student's Task 5, and count the samples each block's Linear sees with forward hooks.
"""

from autograder.spec import OUTCOME, Test

TESTS: list[Test] = []

PROBS = """\
rng = np.random.default_rng({seed})
probs = [rng.dirichlet(np.full(5, a), size=40) for a in (0.6, 0.3, 0.15)]
labels = rng.integers(0, 5, 40)
"""

EXIT_NET = """\
torch.manual_seed({seed})
net = nn.Module()
net.blocks = nn.ModuleList([nn.Sequential(nn.Linear(a, b), nn.ReLU()) for a, b in ((10, 24), (24, 24), (24, 16))])
net.exits = nn.ModuleList([nn.Linear(h, 4) for h in (24, 24, 16)])
for head in net.exits:
    nn.init.normal_(head.weight, 0.0, 1.0)  # confident enough that samples leave at every exit
x = torch.randn(300, 10, generator=torch.Generator().manual_seed({seed})) * 2
seen = [0, 0, 0]
hooks = [b[0].register_forward_hook(lambda m, i, o, k=k: seen.__setitem__(k, seen[k] + o.shape[0]))
         for k, b in enumerate(net.blocks)]
"""


def add(name: str, points: float, code: str, mistake: str, **options) -> None:
    TESTS.append(Test(name=name, points=points, code=code, mistake=mistake, **options))


# ---------------------------------------------------------------- Task 1: entropy (10 points)

add("entropy_values", 3, """\
rng = np.random.default_rng(9000)
[entropy(rng.dirichlet(np.ones(6), size=8)), entropy(np.full(4, 0.25)), entropy(np.array([[0.5, 0.5], [0.9, 0.1]]))]
""", visibility="visible", rtol=1e-10,
    mistake="H(p) = -sum p * ln(p) over the last axis, in nats (natural log), never negative")

add("entropy_zero_probabilities", 4, """\
[entropy(np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])), entropy(np.eye(5)),
 entropy(np.array([0.0, 1.0], dtype=np.float32))]
""", rtol=1e-10, atol=1e-12,
    mistake="0 * ln(0) must count as 0: np.log(0) is -inf and 0 * -inf is NaN; take the log only of positive entries "
            "(e.g. np.log(np.where(p > 0, p, 1)))")

add("entropy_axis", 2, """\
p = np.random.default_rng(9001).dirichlet(np.ones(3), size=(4, 5))
[entropy(p, axis=-1), entropy(np.moveaxis(p, -1, 0), axis=0), entropy(np.moveaxis(p, -1, 1), axis=1)]
""", rtol=1e-10, mistake="sum over the given axis only, and return p's shape without that axis")

add("entropy_rejects_negative", 1, OUTCOME + """\
[outcome(entropy, np.array([0.5, -0.1, 0.6]), names="p"), outcome(entropy, np.array([np.nan, 1.0]), names="p")]
""", mistake="a negative or non-finite probability must raise ValueError naming p")

# ---------------------------------------------------------------- Task 2: exit_decisions (22 points)

add("exit_decisions_maxprob", 6, PROBS.format(seed=9010) + """\
[exit_decisions(probs, t) for t in (0.4, 0.7, 0.95)]
""", visibility="visible",
    mistake="maxprob: a sample leaves at the FIRST exit whose largest probability is >= the threshold, predicting "
            "that exit's argmax; samples never confident enough go to the last exit")

add("exit_decisions_entropy_rule", 6, PROBS.format(seed=9011) + """\
[exit_decisions(probs, t, rule="entropy") for t in (0.3, 0.8, 1.2)]
""", mistake="entropy: a sample leaves when the entropy is at most the threshold (low entropy = confident), the "
             "opposite direction of the maximum-probability test")

add("exit_decisions_last_exit_takes_rest", 4, PROBS.format(seed=9012) + """\
[exit_decisions(probs, 1.5), exit_decisions(probs, -1.0, rule="entropy"), exit_decisions(probs[:1], 0.99),
 exit_decisions(probs, 0.0)]
""", mistake="every sample gets an exit: with no confident sample all take the last exit (index E-1), with a "
             "single exit everyone takes exit 0, and a threshold every sample meets sends all to exit 0")

add("exit_decisions_threshold_is_inclusive", 3, """\
p0 = np.array([[0.75, 0.25], [0.5, 0.5], [0.25, 0.75]])
p1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
[exit_decisions([p0, p1], 0.75), exit_decisions([p0, p1], float(entropy(np.array([0.75, 0.25]))), "entropy")]
""", mistake="the rule is max p >= T (not >) and H(p) <= T (not <): a sample exactly at the threshold leaves")

add("exit_decisions_rejects_bad_arguments", 3, OUTCOME + """\
p = np.full((3, 2), 0.5)
[outcome(exit_decisions, [p], 0.5, "confidence", names="rule"),
 outcome(exit_decisions, [], 0.5, names="probs_per_exit"),
 outcome(exit_decisions, [p, p[:2]], 0.5, names="probs_per_exit")]
""", mistake="an unknown rule, an empty list or exits whose arrays differ in shape must raise ValueError naming the "
             "argument")

# ---------------------------------------------------------------- Task 3: average_macs (10 points)

add("average_macs_cumulative", 8, """\
rng = np.random.default_rng(9020)
ex = rng.integers(0, 4, 50)
[average_macs(np.array([0, 1, 2]), [100, 10, 1]), average_macs(ex, [5000, 3000, 3000, 800]),
 average_macs(np.array([3, 3]), np.array([1, 2, 3, 4])), average_macs(np.zeros(7, dtype=np.int64), [9, 99])]
""", visibility="visible", rtol=1e-12,
    mistake="a sample leaving at exit e has paid for every stage up to and including e: the mean of "
            "np.cumsum(macs_per_exit)[exit_index], not macs_per_exit[exit_index]")

add("average_macs_rejects_bad_index", 2, OUTCOME + """\
[outcome(average_macs, np.array([0, 3]), [1, 2, 3], names="exit_index"),
 outcome(average_macs, np.array([-1]), [1, 2], names="exit_index"),
 outcome(average_macs, np.array([], dtype=np.int64), [1, 2], names="exit_index")]
""", mistake="an exit index outside [0, len(macs_per_exit)) (a negative one would silently read from the end) or "
             "an empty exit_index must raise ValueError naming exit_index")

# ---------------------------------------------------------------- Task 4: threshold_sweep (8 points)

add("threshold_sweep_maxprob", 5, PROBS.format(seed=9030) + """\
threshold_sweep(probs, labels, [0.3, 0.6, 0.9, 0.99], [300, 200, 200])
""", rtol=1e-12,
    mistake="one (threshold, accuracy, average MACs) tuple per threshold in the order given, the accuracy of "
            "exit_decisions' predictions against labels and average_macs of its exit indices")

add("threshold_sweep_entropy_rule", 3, PROBS.format(seed=9031) + """\
threshold_sweep(probs, labels, np.array([1.5, 0.5, 0.05]), [40, 40, 40], rule="entropy")
""", rtol=1e-12, mistake="pass the rule on to exit_decisions and return the thresholds as floats, in the given order")

# ---------------------------------------------------------------- Task 5: MultiExitMLP (12 points)

add("multi_exit_mlp_structure", 4, """\
net = MultiExitMLP(12, (16, 8, 6), 3)
[[k, list(v.shape)] for k, v in net.state_dict().items()] + [len(net(torch.randn(2, 12)))]
""", mistake="self.blocks[i] = nn.Sequential(nn.Linear(h_{i-1}, h_i), nn.ReLU()) with h_{-1} = in_features, and "
             "self.exits[i] = nn.Linear(h_i, num_classes), both nn.ModuleList; forward returns one logits tensor per "
             "exit")

add("multi_exit_mlp_forward", 4, """\
net = MultiExitMLP(7, (9, 5), 4)
g = torch.Generator().manual_seed(9040)
net.load_state_dict({k: torch.randn(v.shape, generator=g) for k, v in net.state_dict().items()})
net(torch.randn(6, 7, generator=g))
""", atol=1e-5,
    mistake="exit i's logits are exits[i] applied to the output of block i (after its ReLU), with the blocks applied "
            "in sequence; return them shallowest first")

add("multi_exit_mlp_macs", 4, """\
[MultiExitMLP(64, (128, 128, 128), 10).macs_per_exit(), MultiExitMLP(5, (7,), 2).macs_per_exit(),
 MultiExitMLP(20, (30, 10), 4).macs_per_exit()]
""", mistake="stage i costs block i's in_features * out_features plus exit head i's h_i * num_classes, per sample")

# ---------------------------------------------------------------- Task 6: multi_exit_loss (8 points)

add("multi_exit_loss_values", 5, """\
g = torch.Generator().manual_seed(9050)
logits = [torch.randn(10, 5, generator=g) for _ in range(3)]
y = torch.randint(0, 5, (10,), generator=g)
[multi_exit_loss(logits, y, [1.0, 1.0, 1.0]), multi_exit_loss(logits, y, [0.2, 0.0, 3.0]),
 multi_exit_loss(logits[:1], y, [0.5])]
""", rtol=1e-5,
    mistake="L = sum_i weights[i] * cross_entropy(logits_list[i], y), each cross-entropy averaged over the batch; the "
            "weights must scale each exit's loss")

add("multi_exit_loss_gradient", 2, """\
g = torch.Generator().manual_seed(9051)
logits = [torch.randn(6, 3, generator=g).requires_grad_() for _ in range(2)]
y = torch.randint(0, 3, (6,), generator=g)
multi_exit_loss(logits, y, [0.0, 2.0]).backward()
[logits[0].grad, logits[1].grad]
""", atol=1e-6, mistake="the loss must stay a differentiable tensor (no .item()), with each exit's gradient scaled "
                        "by its weight")

add("multi_exit_loss_rejects_bad_weights", 1, OUTCOME + """\
z = [torch.zeros(2, 3), torch.zeros(2, 3)]
[outcome(multi_exit_loss, z, torch.tensor([0, 1]), [1.0], names="weights")]
""", mistake="one weight per exit: a length mismatch must raise ValueError naming weights (zip would drop exits)")

# ---------------------------------------------------------------- Task 7: early_exit_predict (15 points)

add("early_exit_predict_answers", 6, EXIT_NET.format(seed=9060) + """\
out = [early_exit_predict(net, x, t) for t in (0.5, 0.8, 0.95)]
[h.remove() for h in hooks]
out
""", visibility="visible",
    mistake="predictions and exit indices must equal exit_decisions on the full forward's softmax probabilities: "
            "first exit with max probability >= threshold, the last exit for the rest, as int64 tensors")

add("early_exit_predict_skips_exited_samples", 6, EXIT_NET.format(seed=9061) + """\
out = []
for t in (0.5, 0.8, 0.95):
    seen[:] = [0, 0, 0]
    pred, ex = early_exit_predict(net, x, t)
    out.append([list(seen), ex])
[h.remove() for h in hooks]
out
""", mistake="block i must run only on the samples that have not left before it: drop the exited samples from the "
             "batch after each exit (running every block on every sample gives the right answers but saves nothing)")

add("early_exit_predict_entropy_rule", 3, EXIT_NET.format(seed=9062) + """\
out = [early_exit_predict(net, x, t, rule="entropy") for t in (0.3, 0.9)]
[h.remove() for h in hooks]
out
""", mistake="with rule='entropy' a sample leaves when the entropy of the exit's softmax is at most the threshold")

# ---------------------------------------------------------------- Task 8: SlimmableLinear, SlimmableMLP (15 points)

add("slimmable_linear_slices", 5, """\
torch.manual_seed(9070)
layer = SlimmableLinear(8, 10)
x = torch.randn(3, 5)
out = []
for m in (1.0, 0.5, 0.33):
    layer.width_mult = m
    out.append(layer(x))
head = SlimmableLinear(6, 4, slim_out=False)
head.width_mult = 0.5
first = SlimmableLinear(6, 4, slim_in=False)
first.width_mult = 0.5
out + [head(torch.randn(2, 3)), first(torch.randn(2, 6)), isinstance(layer, nn.Linear)]
""", atol=1e-6,
    mistake="use the first x.shape[-1] input columns (the previous layer's outputs) and the first "
            "max(1, floor(width_mult * out_features + 0.5)) output rows: W[:n_out, :n_in] and b[:n_out]; "
            "slim_out=False keeps every output, slim_in=False every input")

add("slimmable_mlp_matches_narrow", 4, """\
torch.manual_seed(9071)
net = SlimmableMLP((12, 20, 16, 5))
x = torch.randn(4, 12)
out = []
for m in (1.0, 0.75, 0.5, 0.25):
    net.set_width(m)
    out.append(net(x))
out + [[type(l).__name__ for l in net.layers]]
""", atol=1e-5,
    mistake="SlimmableMLP chains SlimmableLinear layers in self.layers (the first keeps all inputs, the last all "
            "outputs) with ReLU between them and none after the last; set_width sets every layer's width_mult")

add("slimmable_mlp_macs", 3, """\
net = SlimmableMLP((64, 128, 128, 10))
[net.macs(m) for m in (0.25, 0.5, 0.75, 1.0, 0.01)] + [SlimmableMLP((10, 7, 3)).macs(0.5)]
""", mistake="macs(m) sums kept inputs times kept outputs over the layers: the first layer keeps all its inputs and "
             "the last all its outputs")

add("slimmable_tiny_width_and_validation", 3, OUTCOME + """\
torch.manual_seed(9072)
net = SlimmableMLP((6, 8, 3))
net.set_width(0.05)
y = net(torch.randn(2, 6))
[list(y.shape), y, net.macs(0.05), outcome(net.set_width, 0.0, names="width_mult"),
 outcome(net.set_width, 1.5, names="width_mult")]
""", atol=1e-6,
    mistake="a tiny width must keep at least one unit (max(1, ...)), never zero; a width_mult outside (0, 1] must "
            "raise ValueError naming width_mult")
