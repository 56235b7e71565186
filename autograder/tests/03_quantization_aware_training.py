"""Hidden tests of lab 03, quantization-aware training: 100 points over the seven tasks.

Each test's code runs in the kernel after the lab's cells and builds its own seeded inputs (seeds 3000 and up, which
the lab does not show). Expected values come from running the same code on solutions/03_quantization_aware_training.py.
Gradients are returned next to the values, so a wrong backward pass is reported with the call that produced it.
"""

from autograder.spec import OUTCOME, Test

TESTS: list[Test] = []


def add(name: str, points: float, code: str, mistake: str, **options) -> None:
    TESTS.append(Test(name=name, points=points, code=code, mistake=mistake, **options))


FLOAT = dict(rtol=1e-5, atol=1e-6)

# ---------------------------------------------------------------- Task 1: ste_grad (18 points)

add("ste_grad_per_tensor", 5, """\
rng = np.random.default_rng(3000)
out = []
for scale, zp, qmin, qmax in ((0.1, 0, -8, 7), (0.05, 0, -127, 127), (0.25, 0, -2, 1)):
    x = rng.normal(0, 0.6, 200).astype(np.float32)
    out.append(ste_grad(x, scale, zp, qmin, qmax, rng.normal(size=200).astype(np.float32)))
out
""", visibility="visible",
    mistake="pass upstream where qmin <= round(x * (1/scale)) + zero_point <= qmax (float32 product, round half to "
            "even) and 0 elsewhere; an unmasked (identity) gradient keeps pushing saturated values")

add("ste_grad_masks_the_rounded_code", 5, """\
x = np.float32([6.4, 6.5, 6.6, 7.4, 7.5, 7.6, -8.4, -8.5, -8.6, -9.0])
[ste_grad(x, 1.0, 0, -8, 7, np.ones_like(x)), ste_grad(x / 4, 0.25, 0, -8, 7, np.ones_like(x)),
 ste_grad(x, 1.0, 0, -8, 6, np.ones_like(x))]
""", mistake="the mask tests the ROUNDED code, as torch.fake_quantize_per_tensor_affine does: 7.4 rounds to 7 (kept), "
             "7.5 to 8 (half to even, blocked) with qmax 7; testing the unrounded x / scale + zero_point, or "
             "comparing x with scale * qmax, gets the half step next to each clip point wrong")

add("ste_grad_zero_point_and_unsigned", 3, """\
rng = np.random.default_rng(3002)
x = rng.uniform(-2, 3, 300).astype(np.float32)
up = rng.normal(size=300)
[ste_grad(x, 0.02, 100, 0, 255, up), ste_grad(x, 0.01, -60, -128, 127, up), ste_grad(x, 0.5, 3, 0, 7, up)]
""", mistake="add the zero point to the rounded code before comparing with [qmin, qmax] (and keep upstream's dtype, "
             "float64 here)")

add("ste_grad_per_channel", 3, """\
rng = np.random.default_rng(3003)
w = rng.normal(0, 1, (5, 8)).astype(np.float32)
scales = np.float32([0.05, 0.1, 0.2, 0.3, 0.5])
zps = np.array([0, 2, -1, 0, 3])
up = rng.normal(size=w.shape).astype(np.float32)
[ste_grad(w, scales[:, None], zps[:, None], -8, 7, up), ste_grad(w.T, scales, zps, -4, 3, up.T)]
""", mistake="scale and zero_point may be arrays that broadcast against x (one per channel); use them element-wise")

add("ste_grad_rejects_bad_arguments", 2, OUTCOME + """\
x = np.zeros(4, dtype=np.float32)
[outcome(ste_grad, x, 0.0, 0, -8, 7, x, names="scale"), outcome(ste_grad, x, -1.0, 0, -8, 7, x, names="scale"),
 outcome(ste_grad, x, 1.0, 0, 7, 7, x, names="qmin"), outcome(ste_grad, x, 1.0, 0.5, -8, 7, x, names="zero_point"),
 outcome(ste_grad, x, 1.0, 0, -8, 7, np.zeros(3), names="upstream")]
""", mistake="raise ValueError naming 'scale' (not positive), 'qmin' (qmin >= qmax), 'zero_point' (not integers) or "
             "'upstream' (a shape other than x's)")

# ---------------------------------------------------------------- Task 2: FakeQuantSTE (14 points)

add("fake_quant_ste_forward", 5, """\
g = torch.Generator().manual_seed(3010)
out = []
for scale, zp, qmin, qmax in ((0.1, 0, -8, 7), (0.03, 128, 0, 255), (0.5, -2, -4, 3)):
    x = torch.randn(300, generator=g) * 2
    out.append(FakeQuantSTE.apply(x, scale, zp, qmin, qmax))
out.append(FakeQuantSTE.apply(torch.arange(-5.0, 5.0, 0.25), 0.5, 0, -8, 7))
out
""", visibility="visible",
    mistake="forward must equal torch.fake_quantize_per_tensor_affine: q = clamp(round(x * (1/scale)) + zero_point, "
            "qmin, qmax), then (q - zero_point) * scale, rounding ties half to even")

add("fake_quant_ste_backward", 6, """\
g = torch.Generator().manual_seed(3011)
out = []
for scale, zp, qmin, qmax in ((0.1, 0, -8, 7), (0.03, 128, 0, 255), (0.25, -2, -4, 3)):
    x = (torch.randn(300, generator=g) * 1.5).requires_grad_(True)
    up = torch.randn(300, generator=g)
    out.append(torch.autograd.grad(FakeQuantSTE.apply(x, scale, zp, qmin, qmax), x, up)[0])
out
""", mistake="backward must pass grad_output where the rounded code round(x/scale) + zero_point lies in [qmin, qmax] "
             "and give 0 elsewhere (torch's fake-quantize gradient); the identity STE without the mask is wrong")

add("fake_quant_ste_in_a_graph", 3, """\
g = torch.Generator().manual_seed(3012)
w = (torch.randn(4, 6, generator=g) * 0.5).requires_grad_(True)
x = torch.randn(5, 6, generator=g)
y = (x @ FakeQuantSTE.apply(w, 0.1, 0, -3, 3).T).pow(2).sum()
y.backward()
[y.detach(), w.grad]
""", **FLOAT, mistake="FakeQuantSTE must work inside a larger graph: backward returns one gradient for x and None for "
                      "scale, zero_point, qmin and qmax")

# ---------------------------------------------------------------- Task 3: QuantLinear, QuantConv2d (16 points)

add("quant_linear_forward", 5, """\
torch.manual_seed(3020)
out = []
for bw, ba in ((8, 8), (4, 4), (2, 3)):
    layer = QuantLinear(7, 5, bits_w=bw, bits_a=ba)
    x = torch.rand(6, 7) * 3 - 0.5
    out.append(layer(x).detach())
out
""", visibility="visible", **FLOAT,
    mistake="quantize the weight with scale max|W| / (2^(bits_w-1) - 1) on [-(2^(bits_w-1)-1), 2^(bits_w-1)-1] and the "
            "input with affine_qparams(min, max, bits_a) on [0, 2^bits_a - 1], then compute the linear layer")

add("quant_linear_activation_range", 4, """\
torch.manual_seed(3021)
layer = QuantLinear(4, 3, bits_w=8, bits_a=4)
ranges = []
for k in range(3):
    layer(torch.rand(5, 4) * (k + 1) - 0.2 * k)
    ranges.append([layer.act_min.item(), layer.act_max.item()])
layer.eval()
y = layer(torch.rand(5, 4) * 10).detach()
ranges.append([layer.act_min.item(), layer.act_max.item()])
[ranges, y]
""", **FLOAT, mistake="the first training call copies the batch's min and max into act_min/act_max, later training "
                      "calls update them as 0.9 * old + 0.1 * batch, and eval mode uses them unchanged; without the "
                      "activation quantizer the eval output is not clipped to the stored range")

add("quant_linear_gradients", 3, """\
torch.manual_seed(3022)
layer = QuantLinear(6, 4, bits_w=3, bits_a=3)
x = (torch.randn(8, 6) * 2).requires_grad_(True)
layer(x).pow(2).sum().backward()
[x.grad, layer.weight.grad, layer.bias.grad]
""", **FLOAT, mistake="both the weight and the input go through FakeQuantSTE, so each gets the clipped STE gradient "
                      "(no gradient through the weight scale, which is computed from the detached weight)")

add("quant_conv2d_forward", 2, """\
torch.manual_seed(3023)
conv = QuantConv2d(2, 3, 3, stride=2, padding=1, bits_w=4, bits_a=4)
x = torch.rand(2, 2, 7, 7)
y = conv(x)
y.sum().backward()
[y.detach(), conv.weight.grad]
""", **FLOAT, mistake="QuantConv2d applies the same weight and input quantizers as QuantLinear, then the convolution "
                      "with the layer's stride and padding")

add("quant_layers_reject_bad_bits", 2, OUTCOME + """\
[outcome(QuantLinear, 3, 2, bits_w=1, names="bits_w"), outcome(QuantLinear, 3, 2, bits_a=17, names="bits_a"),
 outcome(QuantConv2d, 1, 2, 3, bits_w=2.0, names="bits_w")]
""", mistake="bits_w and bits_a must be ints in [2, 16]; raise ValueError naming the argument")

# ---------------------------------------------------------------- Task 4: prepare_qat (14 points)

add("prepare_qat_flat_model", 5, """\
torch.manual_seed(3030)
net = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3))
q = prepare_qat(net, 4, 6)
x = torch.rand(5, 8)
[[type(m).__name__ for m in q], [getattr(m, "bits_w", None) for m in q], [getattr(m, "bits_a", None) for m in q],
 q(x).detach()]
""", visibility="visible", **FLOAT,
    mistake="replace each nn.Linear by a QuantLinear with the same weights and bias and the given bits_w, bits_a")

add("prepare_qat_nested_modules", 5, """\
torch.manual_seed(3031)
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.heads = nn.ModuleList([nn.Linear(12, 4), nn.Linear(12, 4)])
    def forward(self, x):
        h = torch.relu(self.conv(x)).amax(dim=(2, 3), keepdim=True).flatten(1).repeat(1, 4)
        return self.heads[0](h) + self.heads[1](h)
net = nn.Sequential(Block(), nn.ReLU(), nn.Sequential(nn.Sequential(nn.Linear(4, 3))))
q = prepare_qat(net, 3, 4)
x = torch.rand(2, 2, 5, 5)
[[(name, type(m).__name__) for name, m in q.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))], q(x).detach()]
""", **FLOAT, mistake="walk the whole module tree (named_modules, or recurse into children): layers inside a nested "
                      "Sequential, a ModuleList or a custom module must be replaced too, under the same name")

add("prepare_qat_copy_and_keep_first_last", 4, """\
torch.manual_seed(3032)
net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(18, 5), nn.ReLU(), nn.Linear(5, 2))
before = [p.clone() for p in net.parameters()]
q = prepare_qat(net, 8, 8, keep_first_last=True)
net.eval()
q2 = prepare_qat(net, 8, 8)
[[type(m).__name__ for m in net], [type(m).__name__ for m in q], all(torch.equal(a, b) for a, b in
 zip(before, net.parameters())), q.training, q2.training, q2[0].training]
""", mistake="return a deep copy (the original model keeps its float layers), keep the model's training mode, and "
             "with keep_first_last=True leave the first and last Linear/Conv2d in float")

# ---------------------------------------------------------------- Task 5: LsqQuantizer (18 points)

add("lsq_initial_step", 3, """\
g = torch.Generator().manual_seed(3040)
out = []
for bits, signed in ((2, True), (3, True), (4, False)):
    q = LsqQuantizer(bits, signed)
    x = torch.randn(50, generator=g).abs() * 0.8 if not signed else torch.randn(50, generator=g) * 0.8
    q(x)
    first = q.step.detach().clone()
    q(x * 5)
    out.append([first, q.step.detach().clone(), list(q.step.shape)])
out
""", **FLOAT, mistake="on the first call only, set the step to 2 * mean|x| / sqrt(Q_P) (Esser et al. 2020), Q_P the "
                      "largest code; later calls keep the learned step")

add("lsq_forward", 4, """\
g = torch.Generator().manual_seed(3041)
out = []
for bits, signed in ((2, True), (3, True), (3, False)):
    q = LsqQuantizer(bits, signed)
    x = torch.randn(120, generator=g) * 1.3
    q(x)
    with torch.no_grad():
        q.step.fill_(0.4)
    out.append(q(x).detach())
out
""", visibility="visible", **FLOAT,
    mistake="codes are [-2^(b-1), 2^(b-1)-1] when signed and [0, 2^b - 1] when unsigned; output round(clamp) * step")

add("lsq_input_gradient", 4, """\
g = torch.Generator().manual_seed(3042)
out = []
for bits, signed in ((2, True), (4, False)):
    q = LsqQuantizer(bits, signed)
    x = (torch.randn(150, generator=g) * 1.5).requires_grad_(True)
    q(x).backward(torch.randn(150, generator=g))
    out.append(x.grad)
out
""", **FLOAT, mistake="the input's gradient is the upstream gradient where the rounded code round(x/s) lies in "
                      "[qmin, qmax] and 0 elsewhere, as in torch._fake_quantize_learnable_per_tensor_affine")

add("lsq_step_gradient", 5, """\
g = torch.Generator().manual_seed(3043)
out = []
for bits, signed, n in ((2, True, 64), (3, True, 500), (3, False, 200)):
    q = LsqQuantizer(bits, signed)
    x = torch.randn(n, generator=g) * 0.9
    y = q(x)
    y.backward(torch.randn(n, generator=g))
    out.append(q.step.grad)
out
""", rtol=1e-4, atol=1e-7,
    mistake="the step's gradient is g * sum(upstream * (round(x/s) - x/s inside, qmin below, qmax above)) with "
            "g = 1 / sqrt(x.numel() * Q_P); without g (or with another N) it is too large by sqrt(N * Q_P)")

add("lsq_matches_torch_kernel", 2, """\
g = torch.Generator().manual_seed(3044)
q = LsqQuantizer(4, True)
x = (torch.randn(7, 9, generator=g)).requires_grad_(True)
up = torch.randn(7, 9, generator=g)
q(x).backward(up)
x2, s2 = x.detach().clone().requires_grad_(True), q.step.detach().clone().requires_grad_(True)
torch._fake_quantize_learnable_per_tensor_affine(x2, s2, torch.zeros(1), -8, 7, 1 / math.sqrt(63 * 7)).backward(up)
[torch.allclose(x.grad, x2.grad), torch.allclose(q.step.grad, s2.grad, rtol=1e-4, atol=1e-7)]
""", mistake="on a 2-D input the gradients must equal torch._fake_quantize_learnable_per_tensor_affine's with "
             "grad_factor 1 / sqrt(x.numel() * Q_P), N counting every element")

# ---------------------------------------------------------------- Task 6: PACT (10 points)

add("pact_forward", 3, """\
g = torch.Generator().manual_seed(3050)
out = []
for bits, alpha in ((2, 1.0), (4, 3.0), (8, 10.0)):
    out.append(PACT(bits, alpha)(torch.randn(100, generator=g) * 3).detach())
out
""", visibility="visible", **FLOAT,
    mistake="y = clamp(x, 0, alpha), then round(y * (2^k - 1) / alpha) * alpha / (2^k - 1)")

add("pact_alpha_gradient", 4, """\
p = PACT(3, 2.0)
x = torch.tensor([-1.0, 0.0, 1.0, 1.99, 2.0, 2.5, 7.0])
p(x).backward(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]))
p2 = PACT(2, 1.5)
x2 = torch.randn(200, generator=torch.Generator().manual_seed(3051)) * 2
up = torch.randn(200, generator=torch.Generator().manual_seed(3052))
p2(x2).backward(up)
[p.alpha.grad, p2.alpha.grad]
""", **FLOAT, mistake="alpha's gradient is +sum(upstream) over the elements with x >= alpha (x equal to alpha "
                      "included) and nothing from the elements below alpha (PACT's Eq. 3)")

add("pact_input_gradient", 3, """\
p = PACT(3, 2.0)
x = torch.tensor([-1.0, 0.0, 1.0, 1.99, 2.0, 2.5]).requires_grad_(True)
p(x).backward(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
x2 = (torch.randn(100, generator=torch.Generator().manual_seed(3053)) * 3).requires_grad_(True)
PACT(2, 1.0)(x2).sum().backward()
[x.grad, x2.grad]
""", mistake="the input's gradient is 1 (times upstream) where 0 <= x < alpha and 0 below 0 and from alpha up")

# ---------------------------------------------------------------- Task 7: binarize, BinaryLinear (10 points)

add("binarize_deterministic", 3, """\
w = torch.tensor([[-0.3, 0.0, 0.7], [2.0, -0.0, -1e-9]], requires_grad=True)
b = binarize(w)
b.backward(torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
[b.detach(), str(b.dtype), w.grad, binarize(torch.zeros(3, dtype=torch.float64)).detach()]
""", visibility="visible",
    mistake="+1 where w >= 0 (zero included: torch.sign(0) = 0 is a third value) and -1 elsewhere, in w's dtype; the "
            "gradient passes straight through unchanged")

add("binarize_stochastic", 3, """\
w = torch.linspace(-1.5, 1.5, 13).repeat(400, 1)
b = binarize(w, stochastic=True, generator=torch.Generator().manual_seed(3060))
wg = torch.tensor([0.2, -0.4], requires_grad=True)
binarize(wg, True, torch.Generator().manual_seed(3061)).sum().backward()
[b[:3], (b == 1).float().mean(0), wg.grad]
""", mistake="+1 where u < clip((w + 1) / 2, 0, 1) with u = torch.rand(w.shape, generator=generator, dtype=w.dtype), "
             "else -1 (the hard sigmoid, not torch.sigmoid); the gradient passes straight through")

add("binary_linear_forward", 2, """\
torch.manual_seed(3062)
out = []
for scaled in (False, True):
    layer = BinaryLinear(5, 3, scaled=scaled)
    x = torch.randn(4, 5)
    y = layer(x)
    y.sum().backward()
    out.append([y.detach(), layer.weight.grad])
sl = BinaryLinear(5, 3, stochastic=True)
sl.generator = torch.Generator().manual_seed(3063)
y_train = sl(x).detach()
sl.eval()
out.append([y_train, sl(x).detach()])
out
""", **FLOAT, mistake="multiply by binarize(weight), times mean|W| when scaled; stochastic draws (with the layer's "
                      "generator) only in training mode, the deterministic sign in eval mode")

add("binary_linear_clips_latent_weights", 2, """\
torch.manual_seed(3064)
layer = BinaryLinear(6, 4)
with torch.no_grad():
    layer.weight.mul_(8)
layer.clip_weights_()
[layer.weight.detach(), float(layer.weight.abs().max())]
""", mistake="clip_weights_ must clamp the latent real weights in place to [-1, 1] (BinaryConnect), or they drift "
             "away from 0 and never flip sign again")
