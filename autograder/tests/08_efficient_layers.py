"""Hidden tests of lab 08, efficient layers: 100 points over the six tasks.

Each test's code runs in the kernel after the lab's cells and builds its own seeded inputs (seeds 1234 and up).
Expected values come from running the same code on solutions/08_efficient_layers.py; convolution results are
compared with a tolerance, since a student's summation order may differ from the reference's.
"""

from autograder.spec import OUTCOME, Test

TESTS: list[Test] = []


def add(name: str, points: float, code: str, mistake: str, **options) -> None:
    TESTS.append(Test(name=name, points=points, code=code, mistake=mistake, **options))


CONV = dict(rtol=1e-7, atol=1e-9)

# ---------------------------------------------------------------- Task 1: conv2d (35 points)

add("conv2d_random_shapes", 6, """\
rng = np.random.default_rng(1234)
shapes = [(1, 1, 5, 5, 1, 3), (2, 3, 6, 7, 4, 3), (3, 2, 4, 4, 5, 1), (1, 4, 9, 5, 2, 5)]
[conv2d(rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, k, k))) for n, c, h, w, o, k in shapes]
""", visibility="visible", **CONV,
    mistake="im2col must take, for each output pixel, the C_in x K x K window starting there (no kernel flip: "
            "this is cross-correlation, as in F.conv2d) and multiply it with the flattened kernels")

add("conv2d_stride_and_padding", 8, """\
rng = np.random.default_rng(1235)
cases = [(1, 0), (2, 0), (2, 1), (3, 2), (1, 2)]
x, w = rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((4, 3, 3, 3))
[conv2d(x, w, stride=s, padding=p) for s, p in cases]
""", **CONV,
    mistake="pad with zeros on both sides (H + 2p), take every stride-th window, and size the output "
            "(H + 2p - K) // stride + 1")

add("conv2d_groups", 14, """\
rng = np.random.default_rng(1236)
cases = [(4, 6, 2), (6, 6, 3), (6, 6, 6), (4, 8, 4), (6, 4, 2)]
[conv2d(rng.standard_normal((2, c_in, 6, 6)), rng.standard_normal((c_out, c_in // g, 3, 3)), padding=1, groups=g)
 for c_in, c_out, g in cases]
""", **CONV,
    mistake="with groups g, output channels j*C_out/g .. (j+1)*C_out/g see only input channels j*C_in/g .. "
            "(j+1)*C_in/g (consecutive blocks, as in F.conv2d), and w has C_in / g input channels")

add("conv2d_bias_and_nonsquare_kernel", 4, """\
rng = np.random.default_rng(1237)
x, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal(5)
[conv2d(x, rng.standard_normal((5, 3, 1, 3)), b), conv2d(x, rng.standard_normal((5, 3, 3, 2)), b, stride=2, padding=1)]
""", **CONV, mistake="add b[c] to every pixel of output channel c; K_h and K_w may differ")

add("conv2d_rejects_bad_groups", 3, OUTCOME + """\
x = np.zeros((1, 6, 5, 5))
[outcome(conv2d, x, np.zeros((4, 6, 3, 3)), groups=4, names="groups"),
 outcome(conv2d, x, np.zeros((5, 2, 3, 3)), groups=3, names="groups"),
 outcome(conv2d, x, np.zeros((6, 6, 3, 3)), groups=3, names="w")]
""", mistake="raise ValueError naming 'groups' when groups does not divide C_in or C_out, and naming 'w' when w's "
             "channel dimension is not C_in / groups")

# ---------------------------------------------------------------- Task 2: depthwise, pointwise, separable (16 points)

add("depthwise_conv2d_matches_grouped_conv", 6, """\
rng = np.random.default_rng(1240)
x = rng.standard_normal((2, 5, 8, 7))
[depthwise_conv2d(x, rng.standard_normal((5, 1, 3, 3)), rng.standard_normal(5), stride=s, padding=p)
 for s, p in ((1, 1), (2, 1), (1, 0))]
""", **CONV, mistake="depthwise convolution is conv2d with groups = C: channel c is filtered by w[c, 0] only")

add("pointwise_conv2d_mixes_channels", 4, """\
rng = np.random.default_rng(1241)
[pointwise_conv2d(rng.standard_normal((2, 4, 5, 3)), rng.standard_normal((6, 4, 1, 1)), rng.standard_normal(6)),
 pointwise_conv2d(rng.standard_normal((1, 3, 2, 2)), rng.standard_normal((2, 3, 1, 1)))]
""", **CONV, mistake="a 1 x 1 convolution: out[n, o] = sum_c w[o, c] * x[n, c] (+ b[o]) at every pixel")

add("separable_conv2d_is_depthwise_then_pointwise", 6, """\
rng = np.random.default_rng(1242)
x = rng.standard_normal((2, 4, 7, 7))
w_dw, b_dw = rng.standard_normal((4, 1, 3, 3)), rng.standard_normal(4)
w_pw, b_pw = rng.standard_normal((6, 4, 1, 1)), rng.standard_normal(6)
[separable_conv2d(x, w_dw, w_pw, b_dw, b_pw, stride=2, padding=1), separable_conv2d(x, w_dw, w_pw)]
""", **CONV, mistake="apply the depthwise step (with its bias, stride and padding) and then the pointwise step; "
                     "do not skip either")

# ---------------------------------------------------------------- Task 3: conv_params, conv_macs (6 points)

add("conv_params_groups_and_bias", 3, """\
[conv_params(c_in, c_out, k, groups=g, bias=bias)
 for c_in, c_out, k, g in ((32, 64, 3, 1), (32, 32, 3, 32), (32, 64, 1, 1), (12, 18, 5, 3), (3, 8, 7, 1))
 for bias in (False, True)]
""", visibility="visible", mistake="parameters are C_out * (C_in / groups) * K^2, plus C_out biases when bias")

add("conv_macs_groups", 3, """\
[conv_macs(c_in, c_out, k, h, w, groups=g)
 for c_in, c_out, k, h, w, g in ((32, 64, 3, 112, 112, 1), (32, 32, 3, 112, 112, 32), (32, 64, 1, 56, 56, 1),
                                 (12, 18, 5, 7, 9, 3))]
""", mistake="each output value costs (C_in / groups) * K^2 MACs: divide by groups, multiply by H_out * W_out, "
             "no bias term")

# ---------------------------------------------------------------- Task 4: low_rank_factors, rank_for_energy (22 points)

add("low_rank_factors_eckart_young", 10, """\
rng = np.random.default_rng(1250)
W = rng.standard_normal((12, 8))
S = np.linalg.svd(W, compute_uv=False)
results = []
for r in (1, 3, 8):
    A, B = low_rank_factors(W, r)
    results.append([list(A.shape), list(B.shape), float(np.linalg.norm(W - A @ B) ** 2 - np.sum(S[r:] ** 2))])
results
""", visibility="visible", atol=1e-9,
    mistake="keep the r largest singular values: A @ B must equal U_r diag(S_r) V_r^T, whose squared error is the "
            "sum of the dropped sigma^2 (Eckart-Young); apply S once, not to both factors in full")

add("low_rank_factors_balanced_split", 4, """\
rng = np.random.default_rng(1251)
A, B = low_rank_factors(rng.standard_normal((10, 15)), 4)
[np.sort(np.linalg.norm(A, axis=0)), np.sort(np.linalg.norm(B, axis=1))]
""", rtol=1e-8, mistake="split the singular values evenly: A = U_r * sqrt(S_r) and B = sqrt(S_r)[:, None] * V_r^T")

add("rank_for_energy_uses_squared_singular_values", 6, """\
rng = np.random.default_rng(1252)
S = np.sort(rng.uniform(0.1, 5.0, 20))[::-1]
[rank_for_energy(S, e) for e in (0.1, 0.5, 0.8, 0.9, 0.95, 0.99)] + [rank_for_energy(np.array([3.0, 2.0, 1.0]), 0.9)]
""", mistake="energy is measured in sigma^2: the smallest r with sum(S[:r]**2) >= energy * sum(S**2)")

add("rank_for_energy_edges", 2, OUTCOME + """\
S = np.array([4.0, 2.0, 1.0, 0.5])
[rank_for_energy(S, 1.0), rank_for_energy(S, 1e-6), rank_for_energy(S, 16 / 21.25),
 outcome(rank_for_energy, S, 0.0, names="energy"), outcome(rank_for_energy, S, 1.5, names="energy")]
""", mistake="energy 1 keeps the full rank, an energy reached exactly by r values gives r, and energy outside "
             "(0, 1] raises ValueError naming 'energy'")

# ---------------------------------------------------------------- Task 5: DepthwiseSeparableConv2d (6 points)

add("depthwise_separable_module_structure", 3, """\
blocks = [DepthwiseSeparableConv2d(8, 16, 3, padding=1), DepthwiseSeparableConv2d(4, 6, 5, stride=2, bias=False)]
[[list(b.depthwise.weight.shape), b.depthwise.groups, list(b.depthwise.stride), list(b.pointwise.weight.shape),
  b.depthwise.bias is None, b.pointwise.bias is None, sum(p.numel() for p in b.parameters())] for b in blocks]
""", mistake="depthwise is nn.Conv2d(c_in, c_in, k, stride, padding, groups=c_in) and pointwise "
             "nn.Conv2d(c_in, c_out, 1), both with a bias when bias is True")

add("depthwise_separable_module_forward", 3, """\
torch.manual_seed(1260)
block = DepthwiseSeparableConv2d(3, 5, 3, stride=2, padding=1).double()
x = torch.randn(2, 3, 9, 9, dtype=torch.float64)
with torch.no_grad():
    y = block(x).numpy()
    ref = block.pointwise(block.depthwise(x)).numpy()
[list(y.shape), float(np.abs(y - ref).max())]
""", atol=1e-12, mistake="forward is pointwise(depthwise(x)), with no activation in between")

# ---------------------------------------------------------------- Task 6: LowRankLinear, factorize_mlp (15 points)

add("low_rank_linear_from_linear_output", 6, """\
torch.manual_seed(1270)
dense = nn.Linear(20, 12).double()
x = torch.randn(5, 20, dtype=torch.float64)
results = []
for r in (2, 6, 12):
    low = LowRankLinear.from_linear(dense, r)
    with torch.no_grad():
        results.append([list(low.first.weight.shape), list(low.second.weight.shape), low(x).numpy()])
results
""", rtol=1e-7, atol=1e-9,
    mistake="first.weight is B (rank x in) and second.weight is A (out x rank) from low_rank_factors(weight, rank), "
            "so that second(first(x)) approximates the layer")

add("low_rank_linear_keeps_bias_and_dtype", 4, """\
torch.manual_seed(1271)
dense = nn.Linear(10, 7)
low = LowRankLinear.from_linear(dense, 3)
nob = LowRankLinear.from_linear(nn.Linear(10, 7, bias=False), 3)
with torch.no_grad():
    out = low(torch.zeros(1, 10))
[low.second.weight.dtype == torch.float32, out.numpy(), nob.second.bias is None, low.first.bias is None]
""", rtol=1e-6, mistake="copy the Linear's bias into second.bias (first has no bias), keep float32 weights float32, "
                        "and build no bias when the Linear has none")

add("factorize_mlp_ranks_and_copy", 5, """\
torch.manual_seed(1272)
model = nn.Sequential(nn.Linear(30, 40), nn.ReLU(), nn.Sequential(nn.Linear(40, 40), nn.ReLU()), nn.Linear(40, 3))
small = factorize_mlp(model, 0.6)
layers = [small[0], small[2][0], small[3]]
[[type(m).__name__ for m in model.modules()], [type(m).__name__ for m in layers],
 [m.first.out_features if isinstance(m, LowRankLinear) else None for m in layers]]
""", mistake="copy the model (deepcopy), replace nested Linear layers too, pick each rank with rank_for_energy on "
             "that layer's singular values, and keep a Linear when r * (in + out) >= in * out")
