"""Module 10's rows of ``make bench``: how well counted MACs rank measured latency in its search space, one thread.

Samples architectures of lecture 10's search space for the 8x8 digits (stem, then 1 to 4 standard or
depthwise-separable blocks at 4x4, then a linear head) and builds them with the reference solution's own
sample_architecture and build_model (solutions/10_architecture_search.py), times each at batch 64 with
compresslab.measure.latency_ms, and reports per depth the MAC range, the latency range and Kendall's tau-b of MACs
against latency over ``SAMPLES`` architectures drawn with a fixed seed, plus one row over all of them.
Usage: ``python -m tools.bench_architecture_search``.
"""

from __future__ import annotations

import numpy as np
import scipy.stats
import torch

from compresslab.measure import count_macs, latency_ms, torch_threads
from tools.nbload import load_solution
from tools.tables import text_table

THREADS = 1
REPEATS = 15
BATCH = 64
SAMPLES = 48


def rows() -> list[dict[str, object]]:
    """One row per depth and one over all sampled architectures: MAC and latency ranges, Kendall's tau."""
    torch.manual_seed(0)
    with torch_threads(THREADS):
        sol = load_solution("10_architecture_search")
        rng = np.random.default_rng(0)
        x = torch.rand(BATCH, 64)
        measured = []
        for _ in range(SAMPLES):
            arch = sol.sample_architecture(sol.SPACE, rng)
            model = sol.build_model(arch).eval()
            measured.append((len(arch["blocks"]), count_macs(model, (64,)),
                             latency_ms(lambda model=model: model(x), repeats=REPEATS, warmup=3)))
    out: list[dict[str, object]] = []
    for depth in [*sol.SPACE["depths"], "all"]:
        pick = [m for m in measured if depth == "all" or m[0] == depth]
        if len(pick) < 2:
            continue
        macs, lat = np.array([m[1] for m in pick], float), np.array([m[2] for m in pick])
        out.append({"depth": str(depth), "n": len(pick), "macs_min": int(macs.min()), "macs_max": int(macs.max()),
                    "ms_min": round(float(lat.min()), 4), "ms_max": round(float(lat.max()), 4),
                    "tau": round(float(scipy.stats.kendalltau(macs, lat).statistic), 3), "batch": BATCH,
                    "threads": THREADS})
    return out


def format_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table: per depth, the MAC and latency ranges and Kendall's tau of MACs against latency."""
    title = f"architecture search (module 10), {rows[0]['threads']} thread(s), batch {rows[0]['batch']}, median ms"
    return text_table(title, [("depth", "{depth}"), ("n", "{n}"), ("MACs", "{macs_min:,}-{macs_max:,}"),
                              ("latency ms", "{ms_min:.3f}-{ms_max:.3f}"), ("tau(MACs, ms)", "{tau:.3f}")], rows)


if __name__ == "__main__":
    print(format_table(rows()))
