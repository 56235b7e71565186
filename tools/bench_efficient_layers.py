"""Module 08's rows of ``make bench``: efficient layers against the layers they replace, one CPU thread.

Times the reference solution's LowRankLinear(1024 -> 1024, rank 128) against nn.Linear(1024, 1024) at batch 64, and a
depthwise-separable block against a standard 3x3 convolution with the same channels on an input where it pays (wide,
large map) and one where it does not (narrow, 8x8 map, batch 1). Each time is compresslab.measure.latency_ms's median of
repeats.
Usage: ``python -m tools.bench_efficient_layers``.
"""

from __future__ import annotations

import torch
from torch import nn

from compresslab.efficient_layers import DepthwiseSeparableConv2d
from compresslab.measure import count_macs, latency_ms, torch_threads
from tools.nbload import load_solution
from tools.tables import text_table

THREADS = 1
REPEATS = 30


def _row(case: str, layer: str, baseline: str, shape: tuple[int, ...], fast: nn.Module, slow: nn.Module,
         macs_fast: int, macs_slow: int) -> dict[str, object]:
    x = torch.randn(*shape)
    t_slow = latency_ms(lambda: slow(x), repeats=REPEATS)
    t_fast = latency_ms(lambda: fast(x), repeats=REPEATS)
    return {"case": case, "layer": layer, "baseline": baseline, "input": "x".join(map(str, shape)),
            "mac_ratio": round(macs_slow / macs_fast, 2), "baseline_ms": round(t_slow, 4),
            "layer_ms": round(t_fast, 4), "speedup": round(t_slow / t_fast, 2), "threads": THREADS}


def rows() -> list[dict[str, object]]:
    """Three rows: low-rank Linear, separable block where it pays, separable block where it does not."""
    torch.manual_seed(0)
    with torch_threads(THREADS):
        sol = load_solution("08_efficient_layers")
        out = [_row("low rank", "LowRankLinear(1024->1024, rank 128)", "Linear(1024, 1024)", (64, 1024),
                    sol.LowRankLinear(1024, 1024, 128), nn.Linear(1024, 1024), 128 * 2048, 1024 * 1024)]
        for case, c_in, c_out, size, batch in (("separable, pays", 64, 128, 32, 8),
                                               ("separable, does not pay", 8, 16, 8, 1)):
            fast, slow = DepthwiseSeparableConv2d(c_in, c_out, 3, padding=1), nn.Conv2d(c_in, c_out, 3, padding=1)
            out.append(_row(case, f"separable {c_in}->{c_out} 3x3", f"Conv2d {c_in}->{c_out} 3x3",
                            (batch, c_in, size, size), fast, slow, count_macs(fast, (c_in, size, size)),
                            count_macs(slow, (c_in, size, size))))
    return out


def format_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table: one line per case, with the MAC ratio next to the measured speedup."""
    title = f"efficient layers (module 08), {rows[0]['threads']} thread(s), median ms"
    return text_table(title, [("case", "{case}"), ("layer", "{layer}"), ("input", "{input}"),
                              ("MACs /", "{mac_ratio:.1f}x"), ("baseline", "{baseline_ms:.3f}"),
                              ("layer ms", "{layer_ms:.3f}"), ("speed-up", "{speedup:.2f}x")], rows)


if __name__ == "__main__":
    print(format_table(rows()))
