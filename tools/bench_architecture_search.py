"""Module 10's rows of ``make bench``: how well counted MACs rank measured latency in its search space, one thread.

Builds the networks of lecture 10's search space for the 8x8 digits (stem, then 1 to 4 standard or
depthwise-separable blocks at 4x4, then a linear head), times each at batch 64 with compresslab.measure.latency_ms,
and reports per depth the MAC range, the latency range and Kendall's tau-b of MACs against latency over
``SAMPLES`` architectures drawn with a fixed seed, plus one row over all of them.
Usage: ``python -m tools.bench_architecture_search``.
"""

from __future__ import annotations

import numpy as np
import scipy.stats
import torch
from torch import nn

from compresslab.efficient_layers import DepthwiseSeparableConv2d
from compresslab.measure import count_macs, latency_ms

THREADS = 1
REPEATS = 15
BATCH = 64
SAMPLES = 48
SPACE = {"stem": 8, "depths": [1, 2, 3, 4], "types": ["conv", "sep"], "kernels": [3, 5], "widths": [8, 16, 24, 32]}


def _sample(rng: np.random.Generator) -> dict:
    depth = int(SPACE["depths"][rng.integers(len(SPACE["depths"]))])
    return {"stem": SPACE["stem"], "blocks": [
        {f: SPACE[f + "s"][rng.integers(len(SPACE[f + "s"]))] for f in ("type", "kernel", "width")}
        for _ in range(depth)]}


def _build(arch: dict) -> nn.Sequential:
    layers = [nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, arch["stem"], 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    c = arch["stem"]
    for b in arch["blocks"]:
        conv = nn.Conv2d if b["type"] == "conv" else DepthwiseSeparableConv2d
        layers += [conv(c, b["width"], b["kernel"], padding=b["kernel"] // 2), nn.ReLU()]
        c = b["width"]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(16 * c, 10)).eval()


def rows() -> list[dict[str, object]]:
    """One row per depth and one over all sampled architectures: MAC and latency ranges, Kendall's tau."""
    previous = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    try:
        rng = np.random.default_rng(0)
        x = torch.rand(BATCH, 64)
        measured = []
        for _ in range(SAMPLES):
            arch = _sample(rng)
            model = _build(arch)
            measured.append((len(arch["blocks"]), count_macs(model, (64,)),
                             latency_ms(lambda model=model: model(x), repeats=REPEATS, warmup=3)))
    finally:
        torch.set_num_threads(previous)
    out: list[dict[str, object]] = []
    for depth in [*SPACE["depths"], "all"]:
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
    lines = [f"architecture search (module 10), {rows[0]['threads']} thread(s), batch {rows[0]['batch']}, median ms",
             f"{'depth':<6} {'n':>3} {'MACs':>19} {'latency ms':>17} {'tau(MACs, ms)':>14}"]
    for r in rows:
        lines.append(f"{r['depth']:<6} {r['n']:>3} {r['macs_min']:>9,}-{r['macs_max']:<9,} "
                     f"{r['ms_min']:>8.3f}-{r['ms_max']:<8.3f} {r['tau']:>14.3f}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_table(rows()))
