"""Hidden tests of lab 10, architecture search: 100 points over the seven tasks.

Each test's code runs in the kernel after the lab's cells and builds its own seeded inputs (seeds 10000 and up, which
the lab does not show). Expected values come from running the same code on solutions/10_architecture_search.py.
Architectures are returned through `canon` (stem, then [type, kernel, width] per block, as plain Python values), so
the key order or integer type of a student's dict does not matter.

Three tests (12 points) check seeded outputs that follow the random draw order the lab states (sample_architecture,
mutate, the evolution history); each function also has a test of properties that any correct draw order meets
(coverage of the space, exactly one changed choice, aging and selection), and no other test depends on the draw
order (the supernet tests use fixed architectures).
"""

from autograder.spec import OUTCOME, Test

TESTS: list[Test] = []

CANON = '''\
def canon(a):
    return [int(a["stem"]), [[str(b["type"]), int(b["kernel"]), int(b["width"])] for b in a["blocks"]]]

'''

ARCHS = CANON + '''\
archs = [
    {"stem": 8, "blocks": [{"type": "conv", "kernel": 3, "width": 16}]},
    {"stem": 8, "blocks": [{"type": "sep", "kernel": 5, "width": 24}, {"type": "conv", "kernel": 5, "width": 8}]},
    {"stem": 4, "blocks": [{"type": "sep", "kernel": 3, "width": 12}, {"type": "sep", "kernel": 7, "width": 6},
                           {"type": "conv", "kernel": 1, "width": 20}]},
    {"stem": 16, "blocks": [{"type": "conv", "kernel": 5, "width": 32}] * 4},
]
'''


def add(name: str, points: float, code: str, mistake: str, **options) -> None:
    TESTS.append(Test(name=name, points=points, code=code, mistake=mistake, **options))


# ---------------------------------------------------------------- Task 1: space_size, sample_architecture (12)

add("space_size_sums_over_depths", 4, """\
[space_size(SPACE),
 space_size({"stem": 4, "depths": [2], "types": ["conv"], "kernels": [3, 5, 7], "widths": [4, 8]}),
 space_size({"stem": 4, "depths": [1, 3, 5], "types": ["conv", "sep"], "kernels": [3], "widths": [8, 16, 32]}),
 space_size({"stem": 4, "depths": [3], "types": ["sep"], "kernels": [5], "widths": [8]})]
""", visibility="visible",
    mistake="per block multiply the numbers of types, kernels and widths; an architecture of depth d has that to the "
            "power d, and the depths add (do not add the choices, and do not count absent blocks)")

add("space_size_rejects_malformed", 2, OUTCOME + """\
[outcome(space_size, {"stem": 8, "depths": [1]}, names="space"),
 outcome(space_size, {**SPACE, "widths": []}, names="space")]
""", mistake="a space without all five keys or with an empty option list must raise ValueError naming 'space'")

add("sample_architecture_draw_order", 4, CANON + """\
small = {"stem": 6, "depths": [2, 3], "types": ["conv", "sep"], "kernels": [3, 5, 7], "widths": [4, 8, 12]}
[canon(sample_architecture(SPACE, np.random.default_rng(10000 + s))) for s in range(4)] + \\
[canon(sample_architecture(small, np.random.default_rng(10010 + s))) for s in range(3)]
""", visibility="visible",
    mistake="draw with rng.integers(len(options)): first the depth, then for each block its type, kernel and width "
            "in that order; the stem is space['stem']")

add("sample_architecture_covers_the_space", 2, CANON + """\
tiny = {"stem": 4, "depths": [1, 2], "types": ["conv", "sep"], "kernels": [3], "widths": [4, 8]}
rng = np.random.default_rng(10015)
drawn = [canon(sample_architecture(tiny, rng)) for _ in range(400)]
[len({str(a) for a in drawn}),
 all(a[0] == 4 and len(a[1]) in (1, 2) and all(t in ("conv", "sep") and k == 3 and w in (4, 8) for t, k, w in a[1])
     for a in drawn)]
""", mistake="every sample must be an architecture of the space (its stem, an allowed depth, each block's type, "
             "kernel and width from the lists), and every one of the 4 + 16 architectures of this small space must "
             "come up in 400 draws")

# ---------------------------------------------------------------- Task 2: build_model, arch_macs, arch_params (24)

add("build_model_layers_and_logits", 6, ARCHS + """\
x = torch.from_numpy(np.random.default_rng(10020).random((3, 64), dtype=np.float32))
out = []
for a in archs[:3]:
    torch.manual_seed(10021)
    model = build_model(a)
    out.append([[type(m).__name__ for m in model], model(x).detach()])
out
""", atol=1e-5,
    mistake="build exactly: Unflatten, stem Conv2d(1, stem, 3, padding=1), ReLU, MaxPool2d(2), then per block a "
            "Conv2d or DepthwiseSeparableConv2d with padding k // 2 and a ReLU, then Flatten and Linear(16 * width, "
            "10); create the layers in that order so that the same seed gives the same weights")

add("arch_macs_closed_form", 10, ARCHS + """\
[arch_macs(a) for a in archs] + [arch_macs(archs[1], num_classes=3)]
""", visibility="visible",
    mistake="MACs for one image: stem 9 * stem * 64 (8x8), conv block c_in * w * k * k * 16, separable block "
            "c_in * k * k * 16 (depthwise) + c_in * w * 16 (pointwise), head 16 * w * num_classes; a depthwise "
            "convolution costs one k x k filter per channel, not c_in * c_out of them")

add("arch_params_closed_form", 8, ARCHS + """\
[arch_params(a) for a in archs] + [arch_params(archs[2], num_classes=5)]
""", mistake="count every weight and bias: stem 9 * stem + stem; conv c_in * w * k * k + w; separable "
             "c_in * k * k + c_in (depthwise, with its bias) + c_in * w + w (pointwise); head 16 * w * classes + "
             "classes")

# ---------------------------------------------------------------- Task 3: mutate (12)

add("mutate_seeded_children", 4, CANON + """\
parent = {"stem": 8, "blocks": [{"type": "sep", "kernel": 3, "width": 16}, {"type": "conv", "kernel": 5, "width": 8}]}
rng = np.random.default_rng(10030)
[canon(mutate(parent, SPACE, rng)) for _ in range(12)]
""", mistake="list the choices as depth (if it has options), then per block type, kernel, width; pick one with "
             "rng.integers(len(choices)); draw the new value from the other options with rng.integers(len(others)); "
             "a larger depth appends blocks drawn like sample_architecture")

add("mutate_changes_exactly_one_choice", 6, CANON + """\
rng = np.random.default_rng(10031)
out = []
for s in range(40):
    parent = sample_architecture(SPACE, rng)
    before = canon(parent)
    child = mutate(parent, SPACE, rng)
    p, c = canon(parent), canon(child)
    if len(p[1]) != len(c[1]):
        changes = 1 + sum(x != y for x, y in zip(p[1], c[1]))
    else:
        changes = sum(x[i] != y[i] for x, y in zip(p[1], c[1]) for i in range(3))
    out.append([changes, p == before, len(c[1]) in SPACE["depths"]])
out
""", mistake="a child must differ from its parent in exactly one choice (not zero: draw from the OTHER options; not "
             "two), keep the parent unchanged (copy.deepcopy before editing) and stay inside the space")

add("mutate_rejects_space_without_choice", 2, OUTCOME + """\
one = {"stem": 8, "depths": [1], "types": ["conv"], "kernels": [3], "widths": [8]}
[outcome(mutate, {"stem": 8, "blocks": [{"type": "conv", "kernel": 3, "width": 8}]}, one,
         np.random.default_rng(0), names="space")]
""", mistake="when no choice has a second option there is nothing to mutate: raise ValueError naming 'space'")

# ---------------------------------------------------------------- Task 4: regularized_evolution (14)

FITNESS = CANON + '''\
def score(a):
    return float(sum(b["width"] * (1.5 if b["type"] == "sep" else 1.0) - b["kernel"] for b in a["blocks"])
                 - len(a["blocks"]) ** 2)

'''

add("evolution_history", 4, FITNESS + """\
out = []
for pop, cycles, sample in ((6, 30, 3), (4, 25, 4), (10, 40, 1)):
    h = regularized_evolution(SPACE, score, pop, cycles, sample, np.random.default_rng(10040 + pop))
    out.append([[canon(a), f] for a, f in h])
out
""", visibility="visible", atol=1e-12,
    mistake="population_size random architectures first; then each cycle draws sample_size members WITH replacement "
            "(rng.integers(len(population), size=sample_size)), mutates the fittest (first on ties), appends the "
            "child and removes the OLDEST member (popleft), not the worst; this history also needs "
            "sample_architecture and mutate to draw in the documented order")

add("evolution_ages_and_selects", 4, CANON + """\
def changes(a, b):
    if len(a[1]) != len(b[1]):
        return 1 + sum(x != y for x, y in zip(a[1], b[1]))
    return sum(x[i] != y[i] for x, y in zip(a[1], b[1]) for i in range(3))

out = []
for s in range(3):
    h = regularized_evolution(SPACE, lambda a: float(sum(b["width"] for b in a["blocks"])), 10, 150, 5,
                              np.random.default_rng(10047 + s))
    archs, fits = [canon(a) for a, _ in h], [f for _, f in h]
    orphan = next((t for t in range(10, len(h)) if min(changes(archs[t], p) for p in archs[t - 10:t]) > 1), None)
    out.append([len(h), orphan, sum(fits[-10:]) > sum(fits[:10])])
out
""", mistake="with aging the population is always the last population_size evaluated architectures, so each child "
             "is at most one choice away from one of them (the second item of each run is the first evaluation "
             "whose parent had already left the population; None is right); a tournament that mutates the fittest "
             "of its sample raises the fitness (here the sum of the widths) of the last population above that of "
             "the random start (the third item)")

add("evolution_calls_fitness_cycles_times", 3, """\
out = []
for pop, cycles in ((5, 3), (5, 5), (5, 17)):
    seen = []
    h = regularized_evolution(SPACE, lambda a: seen.append(1) or float(len(seen)), pop, cycles, 2,
                              np.random.default_rng(10045))
    out.append([len(seen), len(h), [f for _, f in h]])
out
""", mistake="call fitness exactly `cycles` times, once per architecture, and return one (arch, fitness) pair per "
             "call in order, even when cycles < population_size")

add("evolution_rejects_bad_arguments", 3, OUTCOME + """\
f = lambda a: 0.0
[outcome(regularized_evolution, SPACE, f, 0, 10, 1, np.random.default_rng(0), names="population_size"),
 outcome(regularized_evolution, SPACE, f, 5, 0, 1, np.random.default_rng(0), names="cycles"),
 outcome(regularized_evolution, SPACE, f, 5, 10, 6, np.random.default_rng(0), names="sample_size"),
 outcome(regularized_evolution, SPACE, f, 5, 10, 0, np.random.default_rng(0), names="sample_size")]
""", mistake="population_size, cycles and sample_size must be ints >= 1 and sample_size <= population_size; raise "
             "ValueError naming the argument")

# ---------------------------------------------------------------- Task 5: mnas_reward, pareto_front (16)

add("mnas_reward_soft", 3, """\
cases = [(0.9, 80, 80), (0.75, 40, 80), (0.75, 160, 80), (0.5, 3, 1.5)]
[mnas_reward(acc, float(lat), float(t)) for acc, lat, t in cases] + [mnas_reward(0.5, 3.0, 1.5, -0.07, -0.07)]
""", visibility="visible", rtol=1e-12,
    mistake="the reward is acc * (latency / target) ** w: with w = -0.07, faster than the target raises it and slower "
            "lowers it (check the sign and that latency is divided by the target, not the reverse)")

add("mnas_reward_hard_and_sides", 3, """\
cases = [(50, 100, 0, -1), (200, 100, 0, -1), (100, 100, -0.5, -1), (50, 100, -0.2, -0.01), (150, 100, -0.2, -0.01)]
[mnas_reward(0.8, float(lat), float(t), float(a), float(b)) for lat, t, a, b in cases]
""", rtol=1e-12,
    mistake="alpha applies when latency <= target (the target itself included) and beta above it; the hard "
            "constraint alpha = 0, beta = -1 keeps acc under the target and divides by latency / target above")

add("mnas_reward_rejects_bad_arguments", 2, OUTCOME + """\
[outcome(mnas_reward, 1.5, 1.0, 1.0, names="acc"), outcome(mnas_reward, 0.5, -1.0, 1.0, names="latency"),
 outcome(mnas_reward, 0.5, 1.0, 0.0, names="target")]
""", mistake="acc must lie in [0, 1] and latency and target be positive; raise ValueError naming the argument")

add("pareto_front_distinct_points", 4, """\
rng = np.random.default_rng(10050)
pts = [(float(a), float(c)) for a, c in zip(rng.random(40), rng.random(40) * 1000)]
cases = [[(0.5, 10)], [(0.9, 5), (0.8, 3), (0.95, 7), (0.7, 6)]]
[pareto_front(pts)] + [pareto_front([(a, float(c)) for a, c in case]) for case in cases]
""", visibility="visible",
    mistake="keep the points that no other point dominates (at least as accurate and at most as costly, better in "
            "one) and order them by increasing cost")

add("pareto_front_ties", 4, """\
cases = [[(0.9, 10), (0.8, 10), (0.9, 12), (0.95, 20)], [(0.9, 10), (0.9, 10), (0.85, 5)],
         [(0.7, 2), (0.8, 2), (0.8, 4), (0.6, 1), (0.6, 1)], [(0.9, 4), (0.9, 3), (0.9, 3), (0.9, 5)]]
[pareto_front([(a, c / 2) for a, c in case]) for case in cases]
""", mistake="with equal costs only the most accurate survives, with equal accuracy only the cheapest; two identical "
             "points do not dominate each other, so both stay (ordered by cost, then index)")

# ---------------------------------------------------------------- Task 6: kendall_tau (10)

add("kendall_tau_without_ties", 3, """\
rng = np.random.default_rng(10060)
x = rng.random(30)
[kendall_tau(x, x ** 3), kendall_tau(x, -x), kendall_tau(x, rng.random(30)), kendall_tau([1, 2], [2, 1])]
""", visibility="visible", atol=1e-12,
    mistake="tau = (concordant - discordant) / number of pairs when nothing is tied; compare every pair i < j once")

add("kendall_tau_b_with_ties", 5, """\
rng = np.random.default_rng(10061)
cases = [([1, 1, 2, 3], [1, 2, 2, 3]), ([1, 2, 2, 3, 3, 3], [3, 1, 1, 2, 2, 5])]
[kendall_tau(rng.integers(0, 4, 25), rng.integers(0, 4, 25))] + \
[kendall_tau(np.array(u), np.array(v, dtype=float)) for u, v in cases] + \
[kendall_tau(rng.integers(0, 3, 40), rng.random(40))]
""", atol=1e-12,
    mistake="tau-b divides by sqrt((pairs - ties in x) * (pairs - ties in y)), the tie correction of "
            "scipy.stats.kendalltau; pairs tied in x or y are neither concordant nor discordant")

add("kendall_tau_constant_and_errors", 2, OUTCOME + """\
const, ramp = [2] * 3, list(range(1, 4))
[str(kendall_tau(const, ramp)), str(kendall_tau(ramp, [5] * 3)),
 outcome(kendall_tau, ramp, ramp[:2], names="x"), outcome(kendall_tau, ramp[:1], ramp[:1], names="x")]
""", mistake="a constant input has no untied pair: return nan (not 0 and not a ZeroDivisionError); lengths that "
             "differ or fewer than 2 values raise ValueError naming 'x'")

# ---------------------------------------------------------------- Task 7: SuperNet (12)

add("supernet_forward_equals_extract", 6, """\
torch.manual_seed(10070)
net = SuperNet(SPACE)
x = torch.from_numpy(np.random.default_rng(10071).random((4, 64), dtype=np.float32))
out = []
for blocks in ([("sep", 5, 32), ("conv", 3, 8), ("sep", 3, 24), ("conv", 5, 16)], [("conv", 5, 24), ("sep", 5, 32)],
               [("sep", 3, 16), ("conv", 3, 32), ("sep", 5, 8)], [("conv", 3, 8)], [("sep", 5, 16)]):
    a = {"stem": 8, "blocks": [{"type": t, "kernel": k, "width": w} for t, k, w in blocks]}
    net.set_active(a)
    with torch.no_grad():
        y = net(x)
        z = net.extract(a)(x)
    out.append([list(y.shape), bool(torch.allclose(y, z, atol=1e-5)),
                [type(m).__name__ for m in net.extract(a)]])
out
""", mistake="after set_active(arch), forward must equal extract(arch)(x): run the stem, then each active block on "
             "the cut weights (F.conv2d, groups=c_in for the depthwise step), flatten and the cut head; extract "
             "returns build_model(arch) with those weights copied in")

add("supernet_shares_first_channels_and_kernel_centre", 6, """\
torch.manual_seed(10075)
net = SuperNet(SPACE)
out = []
for t in ("conv", "sep"):
    big = net.extract({"stem": 8, "blocks": [{"type": t, "kernel": 5, "width": 32}] * 3})
    small = net.extract({"stem": 8, "blocks": [{"type": t, "kernel": 3, "width": 16}, {"type": t, "kernel": 5,
                                                                                          "width": 24}]})
    if t == "conv":
        out.append([torch.equal(small[4].weight, big[4].weight[:16, :, 1:4, 1:4]),
                    torch.equal(small[6].weight, big[6].weight[:24, :16]),
                    torch.equal(small[6].bias, big[6].bias[:24]),
                    torch.equal(small[-1].weight, big[-1].weight[:, :16 * 24])])
    else:
        out.append([torch.equal(small[4].depthwise.weight, big[4].depthwise.weight[:, :, 1:4, 1:4]),
                    torch.equal(small[6].depthwise.weight, big[6].depthwise.weight[:16]),
                    torch.equal(small[6].pointwise.weight, big[6].pointwise.weight[:24, :16]),
                    torch.equal(small[-1].bias, big[-1].bias)])
out
""", mistake="a sub-network takes the FIRST channels of each weight (output and input: [:width, :c_in]), the CENTRE "
             "k x k of the largest kernel ([s:s + k] with s = (kmax - k) // 2) and the first 16 * width columns of "
             "the head")
