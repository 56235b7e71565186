"""Module 05's rows of ``make bench``: what a lottery ticket costs to train on this CPU, one thread.

A ticket is a mask on a dense weight matrix, so each training step of a sparse ticket does the same dense matrix
products as the full network, plus the re-masking. The first rows time one epoch of Adam on the 8x8 digits (batch 64)
for mlp([64, 128, 128, 10]) with all weights kept and with 7.5% kept; the last row times one training step of the
same network built from supermask layers (frozen weights, a top-k of the scores each step) against plain Linear
layers. Each time is compresslab.measure.latency_ms's median of repeats (the timed functions turn gradients back on
inside its no_grad block). Usage: ``python -m tools.bench_lottery_tickets``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from compresslab.data import load_digits_dataset
from compresslab.measure import latency_ms
from compresslab.models import mlp

THREADS = 1
REPEATS = 5
BATCH = 64
SIZES = [64, 128, 128, 10]


def _masks(model: nn.Module, keep: float) -> list[torch.Tensor]:
    """Masks keeping the `keep` fraction of largest |w| in each Linear weight."""
    out = []
    for m in model.modules():
        if isinstance(m, nn.Linear):
            k = max(1, round(keep * m.weight.numel()))
            threshold = m.weight.detach().abs().flatten().kthvalue(m.weight.numel() - k + 1).values
            out.append(m.weight.detach().abs() >= threshold)
    return out


@torch.enable_grad()
def _epoch(model: nn.Module, masks: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    for start in range(0, len(x), BATCH):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[start:start + BATCH]), y[start:start + BATCH]).backward()
        opt.step()
        with torch.no_grad():
            for w, m in zip(weights, masks):
                w.mul_(m)


class _TopHalf(nn.Module):
    """A supermask layer: frozen weight, learned scores, the top half of the scores kept (straight-through)."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        bound = 1 / math.sqrt(n_in)
        self.register_buffer("weight", torch.rand(n_out, n_in) * 2 * bound - bound)
        self.scores = nn.Parameter(torch.rand(n_out, n_in) * 2 * bound - bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.scores.numel() // 2
        hard = torch.zeros(self.scores.numel())
        hard[torch.topk(self.scores.detach().flatten(), k).indices] = 1.0
        hard = hard.view(self.scores.shape)
        return nn.functional.linear(x, self.weight * (hard + self.scores - self.scores.detach()))


def rows() -> list[dict[str, object]]:
    """Epoch time dense vs a 7.5% ticket, then one step of a supermask network vs a plain one."""
    previous = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    out: list[dict[str, object]] = []
    try:
        x, y = load_digits_dataset().train.tensors()
        model = mlp(SIZES, seed=0)
        for keep in (1.0, 0.075):
            masks = _masks(model, keep)
            ms = latency_ms(lambda masks=masks: _epoch(model, masks, x, y), repeats=REPEATS, warmup=1)
            out.append({"case": f"Adam epoch, {keep:.1%} kept", "model": "64-128-128-10 on the digits",
                        "batch": BATCH, "ms": round(ms, 3), "threads": THREADS})
        plain = mlp(SIZES, seed=0)
        supernet = nn.Sequential(_TopHalf(64, 128), nn.ReLU(), _TopHalf(128, 128), nn.ReLU(), _TopHalf(128, 10))
        xb, yb = x[:BATCH], y[:BATCH]
        for name, net in (("plain step", plain), ("supermask step", supernet)):
            opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-2)

            @torch.enable_grad()
            def step(net=net, opt=opt) -> None:
                opt.zero_grad()
                nn.functional.cross_entropy(net(xb), yb).backward()
                opt.step()

            out.append({"case": name, "model": "64-128-128-10, one batch", "batch": BATCH,
                        "ms": round(latency_ms(step, repeats=50, warmup=5), 4), "threads": THREADS})
    finally:
        torch.set_num_threads(previous)
    return out


def format_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table: one line per case with its median time, and the ratio of each pair."""
    lines = [f"lottery tickets (module 05), {rows[0]['threads']} thread(s), batch {rows[0]['batch']}, median ms",
             f"{'case':<24} {'model':<30} {'ms':>10}"]
    for r in rows:
        lines.append(f"{r['case']:<24} {r['model']:<30} {r['ms']:>10.3f}")
    lines.append(f"a 7.5% ticket's epoch takes {rows[1]['ms'] / rows[0]['ms']:.2f}x the dense epoch (the masks are "
                 f"dense); a supermask step takes {rows[3]['ms'] / rows[2]['ms']:.2f}x a plain step")
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_table(rows()))
