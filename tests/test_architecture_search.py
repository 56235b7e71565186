"""Cross-checks of the graded functions of solutions/10_architecture_search.py.

MACs and parameters are compared with counting through the built model (PyTorch's FlopCounterMode, which counts 2
FLOPs per MAC, compresslab.measure.count_macs and count_parameters); the space size with an enumeration; Kendall's
tau with scipy.stats.kendalltau (tau-b, with ties); the Pareto front with a brute-force dominance check; the
evolution with an independent list-based implementation of Real et al.'s Algorithm 1; the supernet with its
extracted stand-alone modules.
"""

from __future__ import annotations

import copy
import itertools
import types
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from compresslab.measure import count_macs, count_parameters
from tools.nbload import load_module  # tests/conftest.py puts the repository root on sys.path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "10_architecture_search.py"


@pytest.fixture(scope="module")
def sol() -> types.ModuleType:
    torch.set_num_threads(1)
    return load_module(SOLUTION)


def changes(a: dict, b: dict) -> int:
    if len(a["blocks"]) != len(b["blocks"]):
        return 1 + sum(x != y for x, y in zip(a["blocks"], b["blocks"]))
    return sum(x[f] != y[f] for x, y in zip(a["blocks"], b["blocks"]) for f in ("type", "kernel", "width"))


# ---------------------------------------------------------------- space, sampling, costs


def test_space_size_matches_enumeration(sol):
    space = {"stem": 4, "depths": [1, 2, 3], "types": ["conv", "sep"], "kernels": [3, 5], "widths": [4, 8, 12]}
    per_block = list(itertools.product(space["types"], space["kernels"], space["widths"]))
    enumerated = sum(len(list(itertools.product(per_block, repeat=d))) for d in space["depths"])
    assert sol.space_size(space) == enumerated == 12 + 144 + 1728


def test_sample_covers_the_space_uniformly(sol):
    space = {"stem": 4, "depths": [1, 2], "types": ["conv", "sep"], "kernels": [3], "widths": [4, 8]}
    rng = np.random.default_rng(0)
    counts: dict[str, int] = {}
    for _ in range(4000):
        a = sol.sample_architecture(space, rng)
        counts[str(a)] = counts.get(str(a), 0) + 1
    assert len(counts) == sol.space_size(space) == 20
    depth1 = [c for k, c in counts.items() if k.count("type") == 1]
    assert abs(np.mean(depth1) - 4000 / 2 / 4) < 100  # half the draws have depth 1, spread over its 4 architectures


@pytest.mark.parametrize("seed", range(3))
def test_arch_costs_equal_counting_through_the_model(sol, seed):
    rng = np.random.default_rng(seed)
    space = {**sol.SPACE, "stem": int(rng.integers(2, 12)), "kernels": [1, 3, 5, 7]}
    for _ in range(10):
        arch = sol.sample_architecture(space, rng)
        model = sol.build_model(arch)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.zeros(1, 64))
        assert counter.get_total_flops() == 2 * sol.arch_macs(arch), arch
        assert count_macs(model, (64,)) == sol.arch_macs(arch), arch
        assert count_parameters(model) == sol.arch_params(arch), arch


def test_build_model_output_shape_and_classes(sol):
    arch = {"stem": 8, "blocks": [{"type": "sep", "kernel": 5, "width": 24}, {"type": "conv", "kernel": 3,
                                                                              "width": 16}]}
    assert sol.build_model(arch)(torch.zeros(7, 64)).shape == (7, 10)
    assert sol.build_model(arch, num_classes=3)(torch.zeros(2, 64)).shape == (2, 3)
    with pytest.raises(ValueError, match="arch"):
        sol.build_model({"stem": 8, "blocks": [{"type": "dense", "kernel": 3, "width": 8}]})


# ---------------------------------------------------------------- mutation and evolution


def test_mutate_changes_exactly_one_choice_and_stays_valid(sol):
    rng = np.random.default_rng(1)
    for _ in range(300):
        parent = sol.sample_architecture(sol.SPACE, rng)
        frozen = copy.deepcopy(parent)
        child = sol.mutate(parent, sol.SPACE, rng)
        assert parent == frozen
        assert changes(parent, child) == 1, (parent, child)
        assert len(child["blocks"]) in sol.SPACE["depths"]
        for b in child["blocks"]:
            assert b["type"] in sol.SPACE["types"] and b["kernel"] in sol.SPACE["kernels"]
            assert b["width"] in sol.SPACE["widths"]


def test_mutate_reaches_every_neighbour(sol):
    parent = {"stem": 8, "blocks": [{"type": "conv", "kernel": 3, "width": 8}]}
    rng = np.random.default_rng(2)
    children = {str(sol.mutate(parent, sol.SPACE, rng)) for _ in range(3000)}
    # one block: 1 other type + 1 other kernel + 3 other widths; other depths 2..4 append random blocks
    same_depth = [c for c in children if c.count("type") == 1]
    assert len(same_depth) == 5
    assert {c.count("type") for c in children} == {1, 2, 3, 4}


def reference_evolution(sol, space, fitness, population_size, cycles, sample_size, rng):
    """Algorithm 1 of Real et al. 2019 with a plain list: the oldest member sits at index 0."""
    population, history = [], []
    while len(history) < min(population_size, cycles):
        a = sol.sample_architecture(space, rng)
        population.append((a, fitness(a)))
        history.append(population[-1])
    while len(history) < cycles:
        sample = [population[i] for i in rng.integers(len(population), size=sample_size)]
        best = sample[int(np.argmax([f for _, f in sample]))]
        child = sol.mutate(best[0], space, rng)
        population.append((child, fitness(child)))
        history.append(population[-1])
        population.pop(0)
    return history


@pytest.mark.parametrize("population_size,cycles,sample_size", [(8, 50, 3), (5, 5, 5), (10, 4, 2), (3, 30, 1)])
def test_evolution_matches_reference_and_counts_calls(sol, population_size, cycles, sample_size):
    def fitness(a):
        calls.append(1)
        return float(sum(b["width"] * (2 if b["type"] == "sep" else 1) for b in a["blocks"]) - sol.arch_macs(a) / 1e4)

    calls: list[int] = []
    ours = sol.regularized_evolution(sol.SPACE, fitness, population_size, cycles, sample_size,
                                     np.random.default_rng(3))
    assert len(calls) == cycles == len(ours)
    ref = reference_evolution(sol, sol.SPACE, fitness, population_size, cycles, sample_size,
                              np.random.default_rng(3))
    assert [(str(a), f) for a, f in ours] == [(str(a), f) for a, f in ref]


def test_evolution_beats_its_random_start_on_a_smooth_fitness(sol):
    def fitness(a):
        return float(sum(b["width"] for b in a["blocks"] if b["type"] == "sep") - 5 * len(a["blocks"]))

    best_random, best_evolved = [], []
    for seed in range(5):
        h = sol.regularized_evolution(sol.SPACE, fitness, 10, 100, 4, np.random.default_rng(seed))
        best_random.append(max(f for _, f in h[:10]))
        best_evolved.append(max(f for _, f in h))
    assert np.mean(best_evolved) > np.mean(best_random)


# ---------------------------------------------------------------- reward, Pareto front, Kendall's tau


def test_mnas_reward_matches_eq2(sol):
    for acc, lat, t in [(0.9, 50.0, 80.0), (0.7, 80.0, 80.0), (0.8, 120.0, 80.0)]:
        w = -0.07
        assert sol.mnas_reward(acc, lat, t) == pytest.approx(acc * (lat / t) ** w, rel=1e-12)
    assert sol.mnas_reward(0.8, 40.0, 80.0, 0.0, -1.0) == pytest.approx(0.8)
    assert sol.mnas_reward(0.8, 160.0, 80.0, 0.0, -1.0) == pytest.approx(0.4)
    # the soft constraint: a model twice as slow is worth 2 ** -0.07 of its accuracy (Tan et al. 2019, Section 3)
    assert sol.mnas_reward(1.0, 2.0, 1.0) == pytest.approx(2 ** -0.07)


@pytest.mark.parametrize("seed", range(4))
def test_pareto_front_matches_brute_force_with_ties(sol, seed):
    rng = np.random.default_rng(seed)
    pts = [(float(a), float(c)) for a, c in zip(rng.integers(0, 6, 40) / 5, rng.integers(0, 8, 40))]
    acc, cost = np.array(pts).T
    dominated = [bool(np.any((acc >= a) & (cost <= c) & ((acc > a) | (cost < c)))) for a, c in pts]
    expected = sorted((i for i in range(len(pts)) if not dominated[i]), key=lambda i: (cost[i], i))
    assert sol.pareto_front(pts) == expected


@pytest.mark.parametrize("seed", range(5))
def test_kendall_tau_equals_scipy_with_ties(sol, seed):
    rng = np.random.default_rng(seed)
    for x, y in [(rng.integers(0, 4, 30), rng.integers(0, 5, 30)), (rng.random(25), rng.random(25)),
                 (rng.integers(0, 3, 50), rng.random(50))]:
        assert sol.kendall_tau(x, y) == pytest.approx(scipy.stats.kendalltau(x, y).statistic, abs=1e-12)
    assert np.isnan(sol.kendall_tau([3, 3, 3, 3], [1, 2, 3, 4]))


def test_bad_arguments_raise_value_errors_naming_them(sol):
    rng = np.random.default_rng(0)
    one_block = {"stem": 8, "blocks": [{"type": "conv", "kernel": 3, "width": 8}]}
    fixed = {"stem": 8, "depths": [1], "types": ["conv"], "kernels": [3], "widths": [8]}
    cases = [(sol.space_size, ({"stem": 8},), "space"), (sol.space_size, ({**sol.SPACE, "kernels": [4]},), "kernels"),
             (sol.sample_architecture, ({**sol.SPACE, "widths": []}, rng), "space"),
             (sol.arch_macs, ({"stem": 8, "blocks": []},), "arch"),
             (sol.arch_params, ({"stem": 8, "blocks": [{"type": "conv", "kernel": 2, "width": 8}]},), "arch"),
             (sol.mutate, (one_block, fixed, rng), "space"),
             (sol.regularized_evolution, (sol.SPACE, len, 0, 5, 1, rng), "population_size"),
             (sol.regularized_evolution, (sol.SPACE, len, 5, 0, 1, rng), "cycles"),
             (sol.regularized_evolution, (sol.SPACE, len, 5, 5, 6, rng), "sample_size"),
             (sol.mnas_reward, (1.5, 1.0, 1.0), "acc"), (sol.mnas_reward, (0.5, 0.0, 1.0), "latency"),
             (sol.mnas_reward, (0.5, 1.0, -1.0), "target"), (sol.pareto_front, ([(0.9, 1.0, 2.0)],), "points"),
             (sol.kendall_tau, ([1, 2], [1]), "x"), (sol.kendall_tau, ([1], [1]), "x"),
             (sol.SuperNet(sol.SPACE).set_active, ({"stem": 8, "blocks": [one_block["blocks"][0]] * 5},), "arch")]
    for fn, args, name in cases:
        with pytest.raises(ValueError, match=name):
            fn(*args)


# ---------------------------------------------------------------- supernet


def test_supernet_forward_equals_extract_and_shares_weights(sol):
    torch.manual_seed(0)
    net = sol.SuperNet(sol.SPACE)
    x = torch.rand(6, 64)
    rng = np.random.default_rng(4)
    for _ in range(10):
        a = sol.sample_architecture(sol.SPACE, rng)
        net.set_active(a)
        with torch.no_grad():
            torch.testing.assert_close(net(x), net.extract(a)(x), atol=1e-5, rtol=1e-5)
    big = net.extract({"stem": 8, "blocks": [{"type": "sep", "kernel": 5, "width": 32}] * 2})
    small = net.extract({"stem": 8, "blocks": [{"type": "sep", "kernel": 3, "width": 8}] * 2})
    assert torch.equal(small[6].depthwise.weight, big[6].depthwise.weight[:8, :, 1:4, 1:4])
    assert torch.equal(small[6].pointwise.weight, big[6].pointwise.weight[:8, :8])


def test_supernet_sandwich_step_trains_shared_weights(sol):
    torch.manual_seed(0)
    net = sol.SuperNet(sol.SPACE)
    x, y = torch.rand(32, 64), torch.randint(0, 10, (32,))
    small = {"stem": 8, "blocks": [{"type": "conv", "kernel": 3, "width": 8}]}
    large = {"stem": 8, "blocks": [{"type": "conv", "kernel": 5, "width": 32}] * 4}
    net.set_active(small)
    F.cross_entropy(net(x), y).backward()
    grads = [p.grad for p in net.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    net.zero_grad()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        total = 0.0
        for a in (large, small):
            net.set_active(a)
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            total += loss.item()
        losses.append(total)
        opt.step()
    assert losses[-1] < losses[0]
