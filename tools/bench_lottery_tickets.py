"""Module 05's rows of ``make bench``: what a lottery ticket costs to train on this CPU, one thread.

A ticket is a mask on a dense weight matrix, so each training step of a sparse ticket does the same dense matrix
products as the full network, plus the re-masking. The first rows time one epoch of Adam on the 8x8 digits (batch 64)
for mlp([64, 128, 128, 10]) with all weights kept and with 7.5% kept (masks from the reference solution's imp_round);
the last row times one training step of the same network built from the solution's SupermaskLinear layers (frozen
weights, a top-k of the scores each step) against plain Linear layers. Each time is compresslab.measure.latency_ms's
median of repeats (the timed functions turn gradients back on inside its no_grad block).
Usage: ``python -m tools.bench_lottery_tickets``.
"""

from __future__ import annotations

import torch
from torch import nn

from compresslab.data import load_digits_dataset
from compresslab.measure import latency_ms, torch_threads
from compresslab.models import mlp
from tools.nbload import load_solution
from tools.tables import text_table

THREADS = 1
REPEATS = 5
BATCH = 64
SIZES = [64, 128, 128, 10]


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


def rows() -> list[dict[str, object]]:
    """Epoch time dense vs a 7.5% ticket, then one step of a supermask network vs a plain one."""
    torch.manual_seed(0)
    out: list[dict[str, object]] = []
    with torch_threads(THREADS):
        sol = load_solution("05_lottery_tickets")
        x, y = load_digits_dataset().train.tensors()
        model = mlp(SIZES, seed=0)
        weights = [m.weight.detach() for m in model.modules() if isinstance(m, nn.Linear)]
        for keep in (1.0, 0.075):
            masks = sol.imp_round(weights, [torch.ones_like(w, dtype=torch.bool) for w in weights], 1 - keep,
                                  output_rate=1 - keep)
            ms = latency_ms(lambda masks=masks: _epoch(model, masks, x, y), repeats=REPEATS, warmup=1)
            out.append({"case": f"Adam epoch, {keep:.1%} kept", "model": "64-128-128-10 on the digits",
                        "batch": BATCH, "ms": round(ms, 3), "threads": THREADS})
        plain = mlp(SIZES, seed=0)
        supernet = nn.Sequential(sol.SupermaskLinear(64, 128), nn.ReLU(), sol.SupermaskLinear(128, 128), nn.ReLU(),
                                 sol.SupermaskLinear(128, 10))
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
    return out


def format_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table: one line per case with its median time, and the ratio of each pair."""
    title = f"lottery tickets (module 05), {rows[0]['threads']} thread(s), batch {rows[0]['batch']}, median ms"
    table = text_table(title, [("case", "{case}"), ("model", "{model}"), ("ms", "{ms:.3f}")], rows)
    return (f"{table}\na 7.5% ticket's epoch takes {rows[1]['ms'] / rows[0]['ms']:.2f}x the dense epoch (the masks "
            f"are dense); a supermask step takes {rows[3]['ms'] / rows[2]['ms']:.2f}x a plain step")


if __name__ == "__main__":
    print(format_table(rows()))
