"""mutate changes the chosen choice and also redraws the width of the first block.

Caught by: mutate_changes_exactly_one_choice
           mutate_seeded_children
"""

# ruff: noqa: F821

import copy

import numpy as np


def mutate(arch: dict, space: dict, rng: np.random.Generator) -> dict:
    """A copy of arch that differs in exactly one choice (depth, or one block's type, kernel or width)."""
    check_space(space)
    check_arch(arch)
    choices = [("depth", None)] if len(space["depths"]) > 1 else []
    for i in range(len(arch["blocks"])):
        choices += [(field, i) for field in FIELDS if len(space[OPTIONS[field]]) > 1]
    if not choices:
        raise ValueError("space has no choice with a second option: nothing to mutate")
    child = copy.deepcopy(arch)
    field, i = choices[rng.integers(len(choices))]
    if field == "depth":
        depth = len(arch["blocks"])
        others = [d for d in space["depths"] if d != depth]
        new = int(others[rng.integers(len(others))])
        child["blocks"] = child["blocks"][:new]
        while len(child["blocks"]) < new:
            block = {}
            for f in FIELDS:
                options = space[OPTIONS[f]]
                value = options[rng.integers(len(options))]
                block[f] = str(value) if f == "type" else int(value)
            child["blocks"].append(block)
    else:
        options = space[OPTIONS[field]]
        others = [v for v in options if v != arch["blocks"][i][field]]
        value = others[rng.integers(len(others))]
        child["blocks"][i][field] = str(value) if field == "type" else int(value)
    b0 = child["blocks"][0]
    b0["width"] = [w for w in space["widths"] if w != arch["blocks"][0]["width"]][0] \
        if field != "width" or i != 0 else b0["width"]
    return child
