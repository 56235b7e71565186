"""Module 09's rows of ``make bench``: early exits that skip blocks against the full forward, one CPU thread.

The code timed is the reference solution's own (solutions/09_dynamic_computation.py, loaded without its slow cells):
its MultiExitMLP (64-256-256-256, a linear exit head after each block) trained on the 8x8 digits with its
multi_exit_loss, weights (1, 1, 1), 20 epochs of Adam (seed 0), as lecture 09 trains it; its threshold_sweep picks the
lowest-cost maximum-probability threshold whose validation accuracy is within 0.5 points of the last exit's; and its
early_exit_predict, which runs block i only on the samples that have not left before it, is timed on the test digits
against the full forward (every block and the last head). Each row also reports the MACs ratio the exits promise.
Each time is compresslab.measure.latency_ms's median of repeats. Usage: ``python -m tools.bench_dynamic_computation``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from compresslab.data import load_digits_dataset, make_loaders
from compresslab.measure import count_macs, latency_ms, torch_threads
from tools.nbload import load_solution
from tools.tables import text_table

THREADS = 1
REPEATS = 30
HIDDEN = 256
EPOCHS = 20
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
BATCHES = (360, 64)


def trained_model(sol) -> tuple[nn.Module, object]:
    """The solution's multi-exit MLP trained as lecture 09 trains it, and the digits."""
    digits = load_digits_dataset()
    loaders = make_loaders(digits, batch_size=64)
    torch.manual_seed(0)
    model = sol.MultiExitMLP(64, (HIDDEN,) * 3, 10)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loaders["train"].generator.manual_seed(0)
    for _ in range(EPOCHS):
        for xb, yb in loaders["train"]:
            opt.zero_grad()
            sol.multi_exit_loss(model(xb), yb, [1.0, 1.0, 1.0]).backward()
            opt.step()
    return model.eval(), digits


def rows() -> list[dict[str, object]]:
    """One row per batch of test digits: full forward against early exits at the lecture's threshold."""
    out: list[dict[str, object]] = []
    with torch_threads(THREADS):
        sol = load_solution("09_dynamic_computation")
        model, digits = trained_model(sol)
        stages = model.macs_per_exit()
        backbone = nn.Sequential(*model.blocks, model.exits[-1])  # the static network: no early heads
        full_macs = count_macs(backbone, (64,))
        x_val, y_val = digits.val.tensors()
        x_test, _ = digits.test.tensors()
        with torch.no_grad():
            val_probs = [torch.softmax(z, 1).double().numpy() for z in model(x_val)]
        val_last = float(np.mean(val_probs[-1].argmax(1) == y_val.numpy()))
        ok = [(macs, t) for t, acc, macs in sol.threshold_sweep(val_probs, y_val.numpy(), list(THRESHOLDS), stages)
              if acc >= val_last - 0.005]
        threshold = min(ok)[1] if ok else THRESHOLDS[-1]
        for batch in BATCHES:
            x = x_test[:batch]
            _, ex = sol.early_exit_predict(model, x, threshold)
            with torch.no_grad():
                t_full = latency_ms(lambda x=x: backbone(x).argmax(1), repeats=REPEATS)
            t_early = latency_ms(lambda x=x: sol.early_exit_predict(model, x, threshold), repeats=REPEATS)
            out.append({"case": "early exits", "model": f"64-{HIDDEN}x3-10, 3 exits", "batch": batch,
                        "threshold": threshold,
                        "macs_ratio": round(sol.average_macs(ex.numpy(), stages) / full_macs, 3),
                        "full_ms": round(t_full, 4), "early_ms": round(t_early, 4),
                        "speedup": round(t_full / t_early, 2), "threads": THREADS})
    return out


def format_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table: one line per batch, full forward time, early-exit time, MACs ratio and speed-up."""
    title = (f"dynamic computation (module 09), {rows[0]['threads']} thread(s), max-prob threshold "
             f"{rows[0]['threshold']}, median ms")
    return text_table(title, [("case", "{case}"), ("model", "{model}"), ("batch", "{batch}"), ("full", "{full_ms:.3f}"),
                              ("early", "{early_ms:.3f}"), ("MACs", "{macs_ratio:.1%}"),
                              ("speed-up", "{speedup:.2f}x")], rows)


if __name__ == "__main__":
    print(format_table(rows()))
