"""regularized_evolution removes the least fit member instead of the oldest.

Caught by: evolution_history
           evolution_ages_and_selects
"""

# ruff: noqa: F821


import numpy as np


def regularized_evolution(space: dict, fitness, population_size: int, cycles: int, sample_size: int,
                          rng: np.random.Generator) -> list[tuple[dict, float]]:
    """History [(arch, fitness(arch)), ...] of `cycles` evaluations of aging evolution."""
    for name, value in (("population_size", population_size), ("cycles", cycles), ("sample_size", sample_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    if sample_size > population_size:
        raise ValueError(f"sample_size={sample_size} must be at most population_size={population_size}")
    population, history = deque(), []
    while len(history) < min(population_size, cycles):
        arch = sample_architecture(space, rng)
        pair = (arch, float(fitness(arch)))
        population.append(pair)
        history.append(pair)
    while len(history) < cycles:
        drawn = rng.integers(len(population), size=sample_size)
        parent = population[int(drawn[0])]
        for j in drawn[1:]:
            if population[int(j)][1] > parent[1]:
                parent = population[int(j)]
        child = mutate(parent[0], space, rng)
        pair = (child, float(fitness(child)))
        population.append(pair)
        history.append(pair)
        population.remove(min(population, key=lambda p: p[1]))
    return history
