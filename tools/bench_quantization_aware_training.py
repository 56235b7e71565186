"""Module 03's rows of ``make bench``: what fake quantization costs a training step, one CPU thread.

The lecture's MLP (64-64-64-10) and a wider one (64-512-512-10) take one Adam step (forward, backward, update) on a
batch of 64 digits-shaped inputs: in float32, with PyTorch's fake quantizers on every Linear's weight and input at 4
bits (fixed scales, as in the lecture's QAT), and with PyTorch's learnable (LSQ) fake quantizer. Each time is the
median of repeated steps. Usage: ``python -m tools.bench_quantization_aware_training``.
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from compresslab.models import mlp

THREADS = 1
REPEATS = 30
BATCH = 64
BITS = 4
WIDTHS = (64, 512)


class _FakeQuantLinear(nn.Linear):
    """A Linear with 4-bit fake-quantized weight and input: fixed scales, or learned (LSQ) steps."""

    def __init__(self, layer: nn.Linear, learnable: bool):
        super().__init__(layer.in_features, layer.out_features)
        self.load_state_dict(layer.state_dict())
        self.learnable = learnable
        self.wq, self.aq = (-(2 ** (BITS - 1)) + 1, 2 ** (BITS - 1) - 1), (0, 2**BITS - 1)
        if learnable:
            self.w_step, self.a_step = nn.Parameter(torch.tensor([0.05])), nn.Parameter(torch.tensor([0.1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.learnable:
            zero = torch.zeros(1)
            w = torch._fake_quantize_learnable_per_tensor_affine(self.weight, self.w_step, zero, *self.wq, 0.01)
            x = torch._fake_quantize_learnable_per_tensor_affine(x, self.a_step, zero, *self.aq, 0.01)
        else:
            scale = max(self.weight.detach().abs().max().item() / self.wq[1], 1e-8)
            w = torch.fake_quantize_per_tensor_affine(self.weight, scale, 0, *self.wq)
            x = torch.fake_quantize_per_tensor_affine(x, max(x.detach().max().item(), 1e-8) / self.aq[1], 0, *self.aq)
        return nn.functional.linear(x, w, self.bias)


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
    previous = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    out: list[dict[str, object]] = []
    try:
        x, y = torch.rand(BATCH, 64), torch.randint(0, 10, (BATCH,))
        for h in WIDTHS:
            base = mlp([64, h, h, 10], seed=0)
            times = {"float": _step_ms(base, x, y)}
            for name, learnable in (("qat", False), ("lsq", True)):
                model = nn.Sequential(*[_FakeQuantLinear(m, learnable) if isinstance(m, nn.Linear) else m
                                        for m in mlp([64, h, h, 10], seed=0)])
                times[name] = _step_ms(model, x, y)
            out.append({"model": f"64-{h}-{h}-10", "batch": BATCH, "bits": BITS, "float_ms": round(times["float"], 4),
                        "qat_ms": round(times["qat"], 4), "lsq_ms": round(times["lsq"], 4),
                        "qat_slowdown": round(times["qat"] / times["float"], 2),
                        "lsq_slowdown": round(times["lsq"] / times["float"], 2), "threads": THREADS})
    finally:
        torch.set_num_threads(previous)
    return out


def format_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table: one line per model, the median step times and the slowdowns against float."""
    lines = [f"quantization-aware training (module 03), {rows[0]['threads']} thread(s), batch {rows[0]['batch']}, "
             f"{rows[0]['bits']} bits, median ms per Adam step",
             f"{'model':<16} {'float':>9} {'QAT':>9} {'LSQ':>9} {'QAT/float':>10} {'LSQ/float':>10}"]
    for r in rows:
        lines.append(f"{r['model']:<16} {r['float_ms']:>9.3f} {r['qat_ms']:>9.3f} {r['lsq_ms']:>9.3f} "
                     f"{r['qat_slowdown']:>9.2f}x {r['lsq_slowdown']:>9.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_table(rows()))
