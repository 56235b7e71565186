"""Hidden tests of lab 04, pruning: 100 points over the seven tasks.

Each test's code runs in the kernel after the lab's cells and builds its own seeded inputs (seeds 4000 and up, which
the lab does not show). Expected values come from running the same code on solutions/04_pruning.py. Inputs are
tie-free (continuous random values), as torch.nn.utils.prune's tie order is implementation-defined.
"""

from autograder.spec import OUTCOME, Test

TESTS: list[Test] = []


def add(name: str, points: float, code: str, mistake: str, **options) -> None:
    TESTS.append(Test(name=name, points=points, code=code, mistake=mistake, **options))


# ---------------------------------------------------------------- Task 1: magnitude_mask (18 points)

add("magnitude_mask_matches_l1_unstructured", 6, """\
rng = np.random.default_rng(4000)
[magnitude_mask(rng.normal(size=shape), s) for shape, s in
 (((9, 7), 0.0), ((9, 7), 0.3), ((12, 5), 0.5), ((4, 3, 3, 3), 0.8), ((40,), 0.95), ((6, 6), 1.0))]
""", visibility="visible",
    mistake="the mask must be False at the round(sparsity * w.size) SMALLEST |w| and True elsewhere, of w's shape "
            "(sorting -|w| prunes the largest weights)")

add("magnitude_mask_count_rounds_half_to_even", 5, """\
rng = np.random.default_rng(4001)
out = []
for n, s in ((5, 0.5), (7, 0.5), (9, 0.5), (10, 0.25), (10, 0.45), (3, 0.5), (11, 0.7)):
    m = magnitude_mask(rng.normal(size=n), s)
    out.append([n, s, int((~m).sum()), m])
out
""", mistake="the number of pruned weights is Python's round(sparsity * w.size), half to even as torch.nn.utils.prune "
             "counts it: 0.5 x 7 gives 4 and 0.5 x 5 gives 2 (int() or floor gives 3 and 2, +0.5 gives 4 and 3)")

add("magnitude_mask_dtype_and_existing_zeros", 3, """\
rng = np.random.default_rng(4002)
w = rng.normal(size=(3, 4, 5)).astype(np.float32)
w[rng.random(w.shape) < 0.3] = 0.0
m = magnitude_mask(w, 0.6)
[str(m.dtype), list(m.shape), m, bool(np.all(~m[w == 0]))]
""", mistake="return a bool array of w's shape; weights already at zero are the smallest and are pruned first")

add("magnitude_mask_rejects_bad_sparsity", 4, OUTCOME + """\
w = np.ones((3, 3))
[outcome(magnitude_mask, w, -0.1, names="sparsity"), outcome(magnitude_mask, w, 1.5, names="sparsity"),
 outcome(magnitude_mask, w, float("nan"), names="sparsity"), outcome(magnitude_mask, w, True, names="sparsity")]
""", mistake="a sparsity outside [0, 1] (or NaN, or a bool) must raise ValueError naming 'sparsity'")

# ---------------------------------------------------------------- Task 2: global_magnitude_masks (12 points)

add("global_masks_match_global_unstructured", 8, """\
rng = np.random.default_rng(4010)
ws = [rng.normal(0, 1.0, (8, 6)), rng.normal(0, 0.05, (5, 8)), rng.normal(0, 0.3, (2, 3, 2, 2))]
[global_magnitude_masks(ws, s) for s in (0.25, 0.6, 0.9)]
""", visibility="visible",
    mistake="global pruning ranks the weights of ALL layers together and removes round(sparsity * N) of the N weights "
            "(a layer of small weights loses most); pruning each layer to the same fraction is layer-wise pruning")

add("global_masks_edge_cases", 4, OUTCOME + """\
rng = np.random.default_rng(4011)
ws = [rng.normal(size=(4, 4)), rng.normal(size=7)]
[global_magnitude_masks(ws, 0.0), global_magnitude_masks(ws, 1.0), global_magnitude_masks([ws[0]], 0.5),
 outcome(global_magnitude_masks, [], 0.5, names="weights"), outcome(global_magnitude_masks, ws, 2, names="sparsity")]
""", mistake="sparsity 0 keeps everything, 1 prunes everything, one array equals magnitude_mask; an empty list raises "
             "ValueError naming 'weights'")

# ---------------------------------------------------------------- Task 3: neuron_l1_importance, apoz (14 points)

add("neuron_l1_linear_and_conv", 5, """\
rng = np.random.default_rng(4020)
lin, conv = rng.normal(size=(6, 9)), rng.normal(size=(5, 3, 3, 3)).astype(np.float32)
[neuron_l1_importance(lin, 0), neuron_l1_importance(lin, 1), neuron_l1_importance(conv, 0),
 neuron_l1_importance(conv, 1), neuron_l1_importance(conv, -4)]
""", rtol=1e-6, atol=1e-6,
    mistake="the importance of unit i along `axis` is the sum of |w| over every OTHER axis (a vector of length "
            "w.shape[axis]); summing over `axis` itself ranks the wrong units")

add("neuron_l1_rejects_bad_axis", 2, OUTCOME + """\
w = np.ones((3, 4))
[outcome(neuron_l1_importance, w, 2, names="axis"), outcome(neuron_l1_importance, w, -3, names="axis")]
""", mistake="an axis outside [-w.ndim, w.ndim) must raise ValueError naming 'axis'")

add("apoz_after_relu", 4, """\
rng = np.random.default_rng(4021)
z = rng.normal(0.2, 1.0, (200, 7))
post = np.maximum(z, 0.0)
[apoz(post), apoz(z), apoz(torch.from_numpy(post).float())]
""", rtol=1e-12, atol=1e-12,
    mistake="APoZ counts the outputs that are ZERO after the ReLU: an entry <= 0 counts (counting only < 0 misses "
            "every zero the ReLU produced), averaged over the samples")

add("apoz_conv_feature_maps", 3, """\
rng = np.random.default_rng(4022)
a = np.maximum(rng.normal(-0.3, 1.0, (16, 5, 4, 4)), 0.0)
r = apoz(a)
[list(r.shape), r]
""", rtol=1e-12, atol=1e-12,
    mistake="for (N, C, H, W) activations the APoZ of channel c is the mean over the batch AND the spatial positions "
            "(every axis except 1), a vector of length C")

# ---------------------------------------------------------------- Task 4: remove_neurons, remove_channels, shrink_mlp

add("remove_neurons_mask_and_indices", 6, """\
rng = np.random.default_rng(4030)
w1, b1, w2 = rng.normal(size=(7, 5)), rng.normal(size=7), rng.normal(size=(4, 7))
keep = np.array([True, False, False, True, True, False, True])
[remove_neurons(w1, b1, w2, keep), remove_neurons(w1, b1, w2, np.array([6, 0, 3])),
 remove_neurons(w1, None, w2, np.array([2]))]
""", visibility="visible",
    mistake="removing hidden unit j deletes row j of w1, entry j of b1 AND column j of w2 (the next layer's input); "
            "index arrays give the kept units in ascending order")

add("remove_neurons_rejects_bad_arguments", 2, OUTCOME + """\
rng = np.random.default_rng(4031)
w1, b1, w2 = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(2, 4))
[outcome(remove_neurons, w1, b1, w2[:, :3], np.array([0]), names="w2"),
 outcome(remove_neurons, w1, b1, w2, np.array([True, False]), names="keep"),
 outcome(remove_neurons, w1, b1, w2, np.array([0, 4]), names="keep"),
 outcome(remove_neurons, w1, b1, w2, np.zeros(4, dtype=bool), names="keep")]
""", mistake="w2 must have w1.shape[0] columns; keep must be a bool mask of that length or distinct indices in range, "
             "keeping at least one unit; raise ValueError naming the argument")

add("remove_channels_equals_masked_convs", 7, """\
torch.manual_seed(4032)
c1, c2 = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 5, 3, padding=1)
keep = torch.tensor([True, False, True, True, False, False, True, True])
n1, n2 = remove_channels(c1, c2, keep)
x = torch.randn(2, 3, 7, 7)
with torch.no_grad():
    out = n2(torch.relu(n1(x)))
[list(n1.weight.shape), list(n2.weight.shape), n1.bias, out]
""", atol=1e-5,
    mistake="the new first conv keeps the kept filters' weights AND biases, the new second conv the kept input "
            "channels (weight[:, keep]) and all of its bias; the small pair must compute the masked pair's outputs")

add("remove_channels_copies_settings", 3, """\
torch.manual_seed(4033)
c1 = nn.Conv2d(2, 6, 3, stride=2, padding=2, dilation=2)
c2 = nn.Conv2d(6, 3, 1, bias=False)
n1, n2 = remove_channels(c1, c2, np.array([5, 1, 2]))
x = torch.randn(1, 2, 9, 9)
with torch.no_grad():
    out = n2(torch.relu(n1(x)))
[n1.stride, n1.padding, n1.dilation, n2.bias is None, out]
""", atol=1e-5,
    mistake="copy every setting of the original convolutions (kernel size, stride, padding, dilation, bias or not) "
            "into the new layers")

add("shrink_mlp_structure_and_outputs", 7, """\
torch.manual_seed(4034)
net = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 9), nn.ReLU(), nn.Linear(9, 4))
x = torch.randn(5, 6)
out = []
for ratio in (0.5, 0.3, 0.05):
    small = shrink_mlp(net, ratio)
    with torch.no_grad():
        out.append([[list(m.weight.shape) for m in small if isinstance(m, nn.Linear)], small(x)])
out
""", atol=1e-5,
    mistake="each hidden Linear keeps max(1, round(keep_ratio * out)) units of LARGEST L1 row norm, the next Linear "
            "the matching columns; the output layer keeps all its outputs")

add("shrink_mlp_leaves_input_and_validates", 3, OUTCOME + """\
torch.manual_seed(4035)
net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
before = [p.detach().clone() for p in net.parameters()]
half = shrink_mlp(net, 0.5)
full = shrink_mlp(net, 1.0)
x = torch.randn(3, 4)
with torch.no_grad():
    same = torch.allclose(full(x), net(x))
[same, [list(p.shape) for p in net.parameters()], all(torch.equal(a, b) for a, b in zip(before, net.parameters())),
 [list(p.shape) for p in half.parameters()], outcome(shrink_mlp, net, 0.0, names="keep_ratio"),
 outcome(shrink_mlp, net, 1.5, names="keep_ratio")]
""", mistake="shrink_mlp returns a new model (deepcopy) and leaves its input untouched; keep_ratio 1 keeps the "
             "function, and keep_ratio outside (0, 1] raises ValueError naming 'keep_ratio'")

# ---------------------------------------------------------------- Task 5: cubic_sparsity (10 points)

add("cubic_sparsity_values", 7, """\
[[cubic_sparsity(t, 0.0, 0.9, 10, 4, 5) for t in range(0, 40, 3)],
 [cubic_sparsity(t, 0.2, 0.8, 0, 3, 1) for t in range(6)],
 [cubic_sparsity(t, 0.5, 0.5, 2, 2, 2) for t in range(8)]]
""", visibility="visible", rtol=1e-12, atol=1e-12,
    mistake="s_t = s_f + (s_i - s_f)(1 - k/n)^3 with k = (step - start) // freq whole pruning steps, clipped to "
            "[0, n]: the exponent is 3, the sparsity stays flat between pruning steps, s_i before start")

add("cubic_sparsity_rejects_bad_arguments", 3, OUTCOME + """\
[outcome(cubic_sparsity, 0, 0.9, 0.5, 0, 4, 1, names="s_init"), outcome(cubic_sparsity, 0, 0.0, 1.2, 0, 4, 1,
 names="s_final"), outcome(cubic_sparsity, 0, 0.0, 0.5, 0, 0, 1, names="n_steps"),
 outcome(cubic_sparsity, 0, 0.0, 0.5, 0, 4, 0, names="freq")]
""", mistake="s_init <= s_final in [0, 1], n_steps and freq ints >= 1; raise ValueError naming the argument")

# ---------------------------------------------------------------- Task 6: csr_nbytes (8 points)

add("csr_nbytes_matches_scipy", 6, """\
rng = np.random.default_rng(4050)
out = []
for shape, density, dtype in (((20, 30), 0.1, np.float32), ((7, 3), 0.5, np.float64), ((50, 4), 0.0, np.float32)):
    w = (rng.normal(size=shape) * (rng.random(shape) < density)).astype(dtype)
    out.append([csr_nbytes(w), csr_nbytes(w, np.int64), csr_nbytes(w, np.int16)])
out
""", mistake="CSR stores nnz values (w's itemsize), nnz column indices and rows + 1 row pointers (index_dtype's "
             "itemsize each): forgetting the row pointers, or counting rows instead of rows + 1, is off")

add("csr_nbytes_rejects_bad_arguments", 2, OUTCOME + """\
[outcome(csr_nbytes, np.ones(5), names="w"), outcome(csr_nbytes, np.ones((2, 2)), np.float32, names="index_dtype")]
""", mistake="w must be 2-D and index_dtype an integer dtype; raise ValueError naming the argument")

# ---------------------------------------------------------------- Task 7: apply_masks_, prune_finetune (10 points)

add("apply_masks_survive_optimizer_steps", 5, """\
torch.manual_seed(4060)
net = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 3))
masks = {"0": torch.rand(10, 6) > 0.4, "2": torch.rand(3, 10) > 0.7}
apply_masks_(net, masks)
opt = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9, weight_decay=1e-2)
for _ in range(5):
    x, y = torch.randn(12, 6), torch.randint(0, 3, (12,))
    opt.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
[int((net[0].weight[~masks["0"]] != 0).sum()), int((net[2].weight[~masks["2"]] != 0).sum()), net[0].weight]
""", atol=1e-5,
    mistake="zeroing the weights once is not enough: the optimizer regrows them unless the gradient of every pruned "
            "weight is masked too (weight.register_hook(lambda g: g * mask))")

add("prune_finetune_sparsity_and_weights", 5, """\
torch.manual_seed(4061)
net = nn.Sequential(nn.Linear(8, 12), nn.ReLU(), nn.Linear(12, 4))
batches = [(torch.randn(10, 8), torch.randint(0, 4, (10,))) for _ in range(3)]
masks = prune_finetune(net, [0.25, 0.5, 0.75], batches, lr=0.02, seed=3)
[sorted(masks), [int((m.weight == 0).sum()) for m in (net[0], net[2])], masks["0"], net[0].weight, net.training]
""", atol=1e-5,
    mistake="per sparsity: layer-wise magnitude masks, apply_masks_, torch.manual_seed(seed + epoch), a NEW Adam, one "
            "epoch; a single Adam kept across pruning steps moves the newly pruned weights with its old momentum")
