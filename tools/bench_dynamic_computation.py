"""Module 09's rows of ``make bench``: early exits that skip blocks against the full forward, one CPU thread.

The model is lecture 09's: a 64-256-256-256 MLP with a linear exit head after each block, trained on the 8x8 digits
with the exit losses weighted (1, 1, 1), 20 epochs of Adam (seed 0). The threshold is chosen the lecture's way: the
lowest-cost maximum-probability threshold whose validation accuracy is within 0.5 points of the last exit's. Each
row times, on the test digits, the full forward (every block and the last head) against an early-exit forward that
runs block i only on the samples that have not left before it, the way the lab's ``early_exit_predict`` must; it
also reports the MACs ratio the exits promise. Each time is compresslab.measure.latency_ms's median of repeats.
Usage: ``python -m tools.bench_dynamic_computation``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from compresslab.data import load_digits_dataset, make_loaders
from compresslab.measure import count_macs, latency_ms

THREADS = 1
REPEATS = 30
HIDDEN = 256
EPOCHS = 20
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
BATCHES = (360, 64)


class MultiExitMLP(nn.Module):
    """Lecture 09's model: Linear+ReLU blocks, a Linear exit head after each."""

    def __init__(self, hidden: int = HIDDEN, depth: int = 3):
        super().__init__()
        widths = [64] + [hidden] * depth
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(a, b), nn.ReLU()) for a, b in zip(widths, widths[1:])])
        self.exits = nn.ModuleList([nn.Linear(hidden, 10) for _ in range(depth)])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for block, head in zip(self.blocks, self.exits):
            x = block(x)
            out.append(head(x))
        return out


def full_forward(model: MultiExitMLP, x: torch.Tensor) -> torch.Tensor:
    """The static network: every block, then the last head only."""
    for block in model.blocks:
        x = block(x)
    return model.exits[-1](x).argmax(1)


def early_exit(model: MultiExitMLP, x: torch.Tensor, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(predictions, exit index); block i runs only on the samples still left (maximum-probability rule)."""
    n = x.shape[0]
    pred, exits = torch.zeros(n, dtype=torch.int64), torch.zeros(n, dtype=torch.int64)
    left, h, last = torch.arange(n), x, len(model.blocks) - 1
    for i, (block, head) in enumerate(zip(model.blocks, model.exits)):
        h = block(h)
        probs = torch.softmax(head(h), dim=1)
        leave = torch.ones(len(left), dtype=torch.bool) if i == last else probs.max(1).values >= threshold
        pred[left[leave]], exits[left[leave]] = probs[leave].argmax(1), i
        left, h = left[~leave], h[~leave]
        if len(left) == 0:
            break
    return pred, exits


def trained_model() -> tuple[MultiExitMLP, object]:
    """Lecture 09's multi-exit MLP, trained the same way, and the digits."""
    digits = load_digits_dataset()
    loaders = make_loaders(digits, batch_size=64)
    torch.manual_seed(0)
    model = MultiExitMLP()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loaders["train"].generator.manual_seed(0)
    for _ in range(EPOCHS):
        for xb, yb in loaders["train"]:
            opt.zero_grad()
            sum(nn.functional.cross_entropy(z, yb) for z in model(xb)).backward()
            opt.step()
    return model.eval(), digits


def rows() -> list[dict[str, object]]:
    """One row per batch of test digits: full forward against early exits at the lecture's threshold."""
    previous = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    out: list[dict[str, object]] = []
    try:
        model, digits = trained_model()
        widths = [64] + [HIDDEN] * 3
        stage = np.array([a * b + b * 10 for a, b in zip(widths, widths[1:])])
        full_macs = count_macs(nn.Sequential(*model.blocks, model.exits[-1]), (64,))
        x_val, y_val = digits.val.tensors()
        x_test, y_test = digits.test.tensors()
        with torch.no_grad():
            val_last = float((model(x_val)[-1].argmax(1) == y_val).float().mean())
            ok = []
            for t in THRESHOLDS:
                pred, ex = early_exit(model, x_val, t)
                if float((pred == y_val).float().mean()) >= val_last - 0.005:
                    ok.append((float(np.cumsum(stage)[ex.numpy()].mean()), t))
        threshold = min(ok)[1] if ok else THRESHOLDS[-1]
        for batch in BATCHES:
            x = x_test[:batch]
            with torch.no_grad():
                _, ex = early_exit(model, x, threshold)
            t_full = latency_ms(lambda x=x: full_forward(model, x), repeats=REPEATS)
            t_early = latency_ms(lambda x=x: early_exit(model, x, threshold), repeats=REPEATS)
            out.append({"case": "early exits", "model": f"64-{HIDDEN}x3-10, 3 exits", "batch": batch,
                        "threshold": threshold, "macs_ratio": round(float(np.cumsum(stage)[ex.numpy()].mean())
                                                                    / full_macs, 3),
                        "full_ms": round(t_full, 4), "early_ms": round(t_early, 4),
                        "speedup": round(t_full / t_early, 2), "threads": THREADS})
    finally:
        torch.set_num_threads(previous)
    return out


def format_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table: one line per batch, full forward time, early-exit time, MACs ratio and speed-up."""
    lines = [f"dynamic computation (module 09), {rows[0]['threads']} thread(s), max-prob threshold "
             f"{rows[0]['threshold']}, median ms",
             f"{'case':<12} {'model':<22} {'batch':>6} {'full':>9} {'early':>9} {'MACs':>7} {'speed-up':>9}"]
    for r in rows:
        lines.append(f"{r['case']:<12} {r['model']:<22} {r['batch']:>6} {r['full_ms']:>9.3f} {r['early_ms']:>9.3f} "
                     f"{r['macs_ratio']:>7.1%} {r['speedup']:>8.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_table(rows()))
