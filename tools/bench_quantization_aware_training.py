"""Module 03's rows of ``make bench``: what fake quantization costs a training step, one CPU thread.

The lecture's MLP (64-64-64-10) and a wider one (64-512-512-10) take one Adam step (forward, backward, update) on a
batch of 64 digits-shaped inputs: in float32, prepared for QAT at 4 bits by the reference solution's prepare_qat
(fixed-scale fake quantization of every Linear's weight and input), and with the solution's LsqQuantizer (learned
steps) on every Linear's weight and input. Each time is the median of repeated steps.
Usage: ``python -m tools.bench_quantization_aware_training``.
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from compresslab.measure import torch_threads
from compresslab.models import mlp
from tools.nbload import load_solution
from tools.tables import text_table

THREADS = 1
REPEATS = 30
BATCH = 64
BITS = 4
WIDTHS = (64, 512)


class _LsqLinear(nn.Module):
    """A Linear whose weight and input go through the solution's LsqQuantizer (signed weights, unsigned inputs)."""

    def __init__(self, sol, layer: nn.Linear):
        super().__init__()
        self.layer = layer
        self.wq, self.aq = sol.LsqQuantizer(BITS, signed=True), sol.LsqQuantizer(BITS, signed=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(self.aq(x), self.wq(self.layer.weight), self.layer.bias)


def _step_ms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Median milliseconds of one Adam step of model on (x, y)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for i in range(REPEATS + 3):
        start = time.perf_counter()
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        if i >= 3:  # warm-up steps are not counted
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def rows() -> list[dict[str, object]]:
    """One row per width: float, fixed-scale QAT and LSQ training steps, and the slowdowns."""
    torch.manual_seed(0)
    out: list[dict[str, object]] = []
    with torch_threads(THREADS):
        sol = load_solution("03_quantization_aware_training")
        x, y = torch.rand(BATCH, 64), torch.randint(0, 10, (BATCH,))
        for h in WIDTHS:
            base = mlp([64, h, h, 10], seed=0)
            times = {"float": _step_ms(base, x, y)}
            times["qat"] = _step_ms(sol.prepare_qat(mlp([64, h, h, 10], seed=0), BITS, BITS), x, y)
            lsq = nn.Sequential(*[_LsqLinear(sol, m) if isinstance(m, nn.Linear) else m
                                  for m in mlp([64, h, h, 10], seed=0)])
            times["lsq"] = _step_ms(lsq, x, y)
            out.append({"model": f"64-{h}-{h}-10", "batch": BATCH, "bits": BITS, "float_ms": round(times["float"], 4),
                        "qat_ms": round(times["qat"], 4), "lsq_ms": round(times["lsq"], 4),
                        "qat_slowdown": round(times["qat"] / times["float"], 2),
                        "lsq_slowdown": round(times["lsq"] / times["float"], 2), "threads": THREADS})
    return out


def format_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table: one line per model, the median step times and the slowdowns against float."""
    title = (f"quantization-aware training (module 03), {rows[0]['threads']} thread(s), batch {rows[0]['batch']}, "
             f"{rows[0]['bits']} bits, median ms per Adam step")
    return text_table(title, [("model", "{model}"), ("float", "{float_ms:.3f}"), ("QAT", "{qat_ms:.3f}"),
                              ("LSQ", "{lsq_ms:.3f}"), ("QAT/float", "{qat_slowdown:.2f}x"),
                              ("LSQ/float", "{lsq_slowdown:.2f}x")], rows)


if __name__ == "__main__":
    print(format_table(rows()))
