"""Hidden tests of lab 05, lottery tickets: 100 points over the five tasks.

Each test's code runs in the kernel after the lab's cells and builds its own seeded inputs and tiny models (seeds 5000
and up, which the lab does not show). Expected values come from running the same code on
solutions/05_lottery_tickets.py. find_ticket is graded with a fake model_fn and train_fn, so no test trains.
"""

from autograder.spec import OUTCOME, Test

TESTS: list[Test] = []

# A deterministic stand-in for training: each call changes every parameter, so each step of find_ticket shows.
FAKE = """\
def fake_model():
    return mlp([7, 6, 5, 3], seed=5040)

log = []

def fake_train(model, masks, steps=None):
    log.append([steps, round(sum(int(m.sum()) for m in masks) / sum(m.numel() for m in masks), 6)])
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.3).add_(torch.sin(11 * p) * 0.2)
        for (_, p), m in zip(prunable(model), masks):
            p.mul_(m)
        total = float(sum(p.abs().sum() for p in model.parameters()))
    return {"test_acc": total, "early_stop_iter": len(log) * 10}

def summary(records):
    return [[r["round"], r["fraction_left"], r["test_acc"], r["early_stop_iter"], [m.int() for m in r["masks"]]]
            for r in records]
"""


def add(name: str, points: float, code: str, mistake: str, **options) -> None:
    TESTS.append(Test(name=name, points=points, code=code, mistake=mistake, **options))


# ---------------------------------------------------------------- Task 1: imp_round (28 points)

add("imp_round_per_layer_survivors", 8, """\
g = torch.Generator().manual_seed(5000)
w = [torch.randn(6, 5, generator=g), torch.randn(4, 6, generator=g), torch.randn(2, 4, generator=g)]
ones = [torch.ones_like(x, dtype=torch.bool) for x in w]
[imp_round(w, ones, 0.5), imp_round(w, ones, 0.2), imp_round(w, ones, 0.0)]
""", visibility="visible",
    mistake="in each layer separately drop the round(rate * n_kept) kept weights of smallest |w| (Python's round), "
            "the last layer at rate / 2; return torch.bool masks of the weights' shapes")

add("imp_round_ranks_only_survivors", 6, """\
g = torch.Generator().manual_seed(5001)
w = [torch.randn(8, 5, generator=g), torch.randn(3, 8, generator=g)]
m = [torch.rand(8, 5, generator=g) > 0.4, torch.rand(3, 8, generator=g) > 0.3]
w_trained = [x * mk for x, mk in zip(w, m)]  # pruned weights were held at zero in training
[imp_round(w_trained, m, 0.5), imp_round(w, m, 0.3, 0.3)]
""", mistake="rank and count only the weights that survived the previous round: pruned weights (zero after masked "
             "training, or any value) are neither candidates nor counted in n_kept, and stay pruned")

add("imp_round_output_rate", 5, """\
g = torch.Generator().manual_seed(5002)
w = [torch.randn(10, 4, generator=g), torch.randn(10, 10, generator=g), torch.randn(5, 10, generator=g)]
ones = [torch.ones_like(x, dtype=torch.bool) for x in w]
[[int(x.sum()) for x in imp_round(w, ones, 0.4)], [int(x.sum()) for x in imp_round(w, ones, 0.4, 0.1)],
 imp_round(w, ones, 0.4, 0.0)[2], imp_round([w[2]], [ones[2]], 0.4)]
""", mistake="the last layer (the output layer) is pruned at output_rate, which defaults to rate / 2 (Frankle and "
             "Carbin 2019), and the other layers at rate; with one layer, that layer is the output layer")

add("imp_round_geometric_counts", 4, """\
g = torch.Generator().manual_seed(5003)
w = [torch.randn(20, 12, generator=g), torch.randn(6, 20, generator=g)]
m = [torch.ones_like(x, dtype=torch.bool) for x in w]
counts = []
for _ in range(5):
    m = imp_round(w, m, 0.2)
    counts.append([int(x.sum()) for x in m])
counts
""", mistake="each round removes rate of the SURVIVORS (kept 240 -> 192 -> 154 ...), not rate of the original count "
             "(which empties a layer after 1 / rate rounds)")

add("imp_round_leaves_arguments", 2, """\
g = torch.Generator().manual_seed(5004)
w = [torch.randn(4, 3, generator=g), torch.randn(2, 4, generator=g)]
m = [torch.ones(4, 3, dtype=torch.bool), torch.tensor([[True, False, True, True], [True] * 4])]
w_np, m_np = [x.numpy().copy() for x in w], [x.numpy().copy() for x in m]
out = imp_round(w_np, m_np, 0.5)
[m, m_np, w_np, out]
""", mistake="do not modify the weights or masks passed in (work on copies), and accept NumPy arrays as well as "
             "tensors")

add("imp_round_rejects_bad_arguments", 3, OUTCOME + """\
w = [torch.ones(2, 2), torch.ones(1, 2)]
m = [torch.ones(2, 2, dtype=torch.bool), torch.ones(1, 2, dtype=torch.bool)]
[outcome(imp_round, w, m, 1.0, names="rate"), outcome(imp_round, w, m, -0.1, names="rate"),
 outcome(imp_round, w, m, 0.2, 1.5, names="output_rate"), outcome(imp_round, w, m[:1], 0.2, names="masks"),
 outcome(imp_round, w, [m[0], torch.ones(2, 1, dtype=torch.bool)], 0.2, names="masks")]
""", mistake="rate and output_rate must lie in [0, 1), and there must be one mask of the weight's shape per weight; "
             "raise ValueError naming the argument")

# ---------------------------------------------------------------- Task 2: rewind and the controls (27 points)

add("rewind_resets_all_parameters", 7, """\
net = mlp([5, 4, 3], seed=5010)
init = {k: v.clone() for k, v in net.state_dict().items()}
with torch.no_grad():
    for p in net.parameters():
        p.mul_(-2.0).add_(0.3)
m = [torch.rand(4, 5, generator=torch.Generator().manual_seed(5011)) > 0.5, torch.ones(3, 4, dtype=torch.bool)]
m[1][0, 0] = False
out = rewind(net, init, m)
[out is net, net.state_dict(), init]
""", visibility="visible",
    mistake="rewind must load every parameter, biases too, from init_state (not keep the trained values, not draw a "
            "fresh init), then zero the pruned weights, in place, and return the model; init_state must not change")

add("rewind_rejects_wrong_masks", 2, OUTCOME + """\
net = mlp([3, 2, 2], seed=5012)
init = net.state_dict()
[outcome(rewind, net, init, [torch.ones(2, 3, dtype=torch.bool)], names="masks"),
 outcome(rewind, net, init, [torch.ones(3, 2, dtype=torch.bool), torch.ones(2, 2, dtype=torch.bool)], names="masks")]
""", mistake="raise ValueError naming masks unless there is one mask of the right shape per prunable weight")

add("random_reinit_same_masks_new_values", 6, """\
net = mlp([9, 7, 4], seed=5020)
before = {k: v.clone() for k, v in net.state_dict().items()}
m = [torch.rand(7, 9, generator=torch.Generator().manual_seed(5021)) > 0.6, torch.rand(4, 7) > -1]
m[1][1, :3] = False
out = random_reinit(net, m, torch.Generator().manual_seed(5022))
w0, b0, w1, b1 = net[0].weight, net[0].bias, net[2].weight, net[2].bias
[out is net, torch.equal(w0 == 0, ~m[0]), torch.equal(w1 == 0, ~m[1]),
 bool((w0.abs() <= 1 / 3).all()), bool((b0.abs() <= 1 / 3).all()), bool((w1.abs() <= 7 ** -0.5).all()),
 bool((b1.abs() <= 7 ** -0.5).all()), not torch.equal(b0, before["0.bias"]),
 not torch.equal(w1, before["2.weight"] * m[1])]
""", mistake="random re-init keeps the SAME masks (zeros exactly where the mask is False) and draws new weights and "
             "biases from U(-1/sqrt(fan_in), 1/sqrt(fan_in)); it must not draw a new mask")

add("random_reinit_draws_from_generator", 3, """\
net = mlp([4, 3, 2], seed=5023)
m = [torch.ones(3, 4, dtype=torch.bool), torch.tensor([[True, False, True], [False, True, True]])]
random_reinit(net, m, torch.Generator().manual_seed(5024))
net.state_dict()
""", atol=1e-6,
    mistake="draw, for each Linear in modules() order, the weight then the bias as torch.rand(shape, "
            "generator=generator) * 2 * b - b with b = 1 / sqrt(fan_in), then zero the pruned weights")

add("random_masks_like_keeps_counts", 6, """\
g = torch.Generator().manual_seed(5030)
m = [torch.rand(12, 9, generator=g) > 0.8, torch.rand(5, 12, generator=g) > 0.3, torch.ones(2, 5, dtype=torch.bool)]
a = random_masks_like(m, torch.Generator().manual_seed(5031))
b = random_masks_like(m, torch.Generator().manual_seed(5031))
[[int(x.sum()) for x in a], [tuple(x.shape) for x in a], [str(x.dtype) for x in a],
 all(torch.equal(x, y) for x, y in zip(a, b)), torch.equal(a[0], m[0]), [int(x.sum()) for x in m]]
""", mistake="a random mask must keep exactly as many weights as the given mask IN EACH LAYER (not the same total), "
             "as torch.bool of the same shape, drawn from the generator")

add("random_masks_like_draws", 3, """\
m = [torch.tensor([[True, False, True, False], [False, False, True, True]]), torch.zeros(3, dtype=torch.bool)]
random_masks_like(m, torch.Generator().manual_seed(5032))
""", mistake="per mask, keep the first mask.sum() positions of torch.randperm(mask.numel(), generator=generator)")

# ---------------------------------------------------------------- Task 3: signs_only (12 points)

add("signs_only_signed_constant", 6, """\
net = mlp([6, 5, 3], seed=5040)
init = net.state_dict()
m = [torch.rand(5, 6, generator=torch.Generator().manual_seed(5041)) > 0.5, torch.ones(3, 5, dtype=torch.bool)]
signs_only(init, m)
""", visibility="visible", atol=1e-7,
    mistake="each kept weight becomes sign(w0) * w0.std() (the standard deviation of that layer's initial weights, "
            "torch's default unbiased std), pruned weights 0, biases and other entries unchanged")

add("signs_only_copies", 4, """\
net = mlp([4, 3, 2], seed=5042)
init = net.state_dict()
snapshot = {k: v.clone() for k, v in init.items()}
m = [torch.ones(3, 4, dtype=torch.bool), torch.zeros(2, 3, dtype=torch.bool)]
out = signs_only(init, m)
[all(torch.equal(init[k], snapshot[k]) for k in init), sorted(out), out["0.bias"] is not init["0.bias"],
 out["2.weight"]]
""", mistake="return a new dict with every key of init_state, copied (clone the tensors) so that neither init_state "
             "nor the model behind it changes")

add("signs_only_rejects_wrong_masks", 2, OUTCOME + """\
init = mlp([3, 2, 2], seed=5043).state_dict()
[outcome(signs_only, init, [torch.ones(2, 3, dtype=torch.bool)], names="masks")]
""", mistake="raise ValueError naming masks unless there is one mask per prunable weight")

# ---------------------------------------------------------------- Task 4: SupermaskLinear (18 points)

add("supermask_forward_topk", 6, """\
layer = SupermaskLinear(6, 4, keep=0.25, generator=torch.Generator().manual_seed(5050))
with torch.no_grad():
    layer.scores.copy_(torch.randn(4, 6, generator=torch.Generator().manual_seed(5051)))
x = torch.randn(3, 6, generator=torch.Generator().manual_seed(5052))
[layer.mask(), layer(x).detach(), int(layer.mask().sum())]
""", visibility="visible", atol=1e-6,
    mistake="keep the round(keep * n) HIGHEST scores (not the lowest, not |scores|) and compute "
            "x @ (weight * mask).T with no bias")

add("supermask_straight_through_gradient", 5, """\
layer = SupermaskLinear(5, 3, keep=0.6, generator=torch.Generator().manual_seed(5053))
x = torch.randn(4, 5, generator=torch.Generator().manual_seed(5054))
target = torch.randn(4, 3, generator=torch.Generator().manual_seed(5055))
((layer(x) - target) ** 2).sum().backward()
layer.scores.grad
""", atol=1e-5,
    mistake="the backward pass must be straight-through: d loss / d scores = (d loss / d effective weight) * weight "
            "for EVERY score, kept or not (for example mask + scores - scores.detach())")

add("supermask_weights_frozen", 4, """\
layer = SupermaskLinear(8, 5, keep=0.5, generator=torch.Generator().manual_seed(5056))
w_before, s_before = layer.weight.detach().clone(), layer.scores.detach().clone()
opt = torch.optim.SGD([p for p in layer.parameters() if p.requires_grad], lr=0.5)
x = torch.randn(16, 8, generator=torch.Generator().manual_seed(5057))
for _ in range(3):
    opt.zero_grad()
    layer(x).pow(2).mean().backward()
    opt.step()
[[n for n, p in layer.named_parameters() if p.requires_grad], torch.equal(layer.weight, w_before),
 not torch.equal(layer.scores.detach(), s_before)]
""", mistake="the weight must be frozen (requires_grad=False or a buffer) so that only the scores train")

add("supermask_init_and_keep", 3, OUTCOME + """\
a = SupermaskLinear(10, 4, keep=0.3, generator=torch.Generator().manual_seed(5058))
b = SupermaskLinear(10, 4, keep=1.0, generator=torch.Generator().manual_seed(5058))
[a.weight, a.scores.detach(), int(a.mask().sum()), int(b.mask().sum()),
 outcome(SupermaskLinear, 3, 2, keep=0.0, names="keep"), outcome(SupermaskLinear, 3, 2, keep=1.5, names="keep")]
""", atol=1e-6,
    mistake="draw the weight, then the scores, as torch.rand((out, in), generator=generator) * 2 * b - b with "
            "b = 1/sqrt(in); keep in (0, 1], else ValueError naming keep")

# ---------------------------------------------------------------- Task 5: find_ticket (15 points)

add("find_ticket_records", 6, FAKE + """\
records = find_ticket(fake_model, fake_train, 3, 0.5)
[summary(records), log]
""", visibility="visible", rtol=1e-6, atol=1e-6,
    mistake="train the dense net (round 0), then each round: imp_round on the TRAINED weights, rewind to the "
            "initial state, train_fn(model, masks); one record per round with the masks it trained with")

add("find_ticket_rewind_step", 5, FAKE + """\
records = find_ticket(fake_model, fake_train, 2, 0.3, rewind_step=4)
[summary(records), log]
""", rtol=1e-6, atol=1e-6,
    mistake="with rewind_step k > 0, first call train_fn(model, masks, steps=k) on the dense net and rewind every "
            "round to THAT state (Frankle et al. 2019, Algorithm 1), not to the initial one")

add("find_ticket_no_rounds", 2, FAKE + """\
[summary(find_ticket(fake_model, fake_train, 0, 0.2)), log]
""", rtol=1e-6, atol=1e-6,
    mistake="rounds=0 means one record: the dense network trained once, fraction_left 1.0")

add("find_ticket_rejects_bad_arguments", 2, OUTCOME + FAKE + """\
[outcome(find_ticket, fake_model, fake_train, -1, 0.2, names="rounds"),
 outcome(find_ticket, fake_model, fake_train, 2, 1.0, names="rate"),
 outcome(find_ticket, fake_model, fake_train, 2, 0.2, -3, names="rewind_step")]
""", mistake="rounds and rewind_step must be ints >= 0 and rate in (0, 1); raise ValueError naming the argument")
