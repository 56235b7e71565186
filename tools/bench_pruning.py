"""Module 04's rows of ``make bench``: a 64-h-h-10 MLP against its structurally pruned half, one CPU thread.

For each hidden width h the half model, built by the reference solution's shrink_mlp, keeps the half of each hidden
layer's neurons of largest L1 norm (rows of one Linear, columns of the next), a physically smaller dense model; both run
a batch of 256. A last row times a 1024x1024 weight at 90% unstructured sparsity, dense against torch's CSR product.
Each time is compresslab.measure.latency_ms's median of repeats.
Usage: ``python -m tools.bench_pruning``.
"""

from __future__ import annotations

import warnings

import torch

from compresslab.measure import latency_ms, torch_threads
from compresslab.models import mlp
from tools.nbload import load_solution
from tools.tables import text_table

THREADS = 1
REPEATS = 20
BATCH = 256
WIDTHS = (100, 300, 1000)


def rows() -> list[dict[str, object]]:
    """One row per width (full MLP against the halved one), then dense against CSR at 90% sparsity."""
    torch.manual_seed(0)
    out: list[dict[str, object]] = []
    with torch_threads(THREADS):
        sol = load_solution("04_pruning")
        x = torch.randn(BATCH, 64)
        for h in WIDTHS:
            full = mlp([64, h, h, 10], seed=0).eval()
            half = sol.shrink_mlp(full, 0.5).eval()
            t_full = latency_ms(lambda full=full: full(x), repeats=REPEATS)
            t_half = latency_ms(lambda half=half: half(x), repeats=REPEATS)
            out.append({"case": "half the neurons", "model": f"64-{h}-{h}-10 -> 64-{h // 2}-{h // 2}-10",
                        "batch": BATCH, "baseline_ms": round(t_full, 4), "pruned_ms": round(t_half, 4),
                        "speedup": round(t_full / t_half, 2), "threads": THREADS})
        w = torch.randn(1024, 1024)
        w[w.abs() < w.abs().flatten().kthvalue(round(0.9 * w.numel())).values] = 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w_csr = w.to_sparse_csr()
        xb = torch.randn(1024, BATCH)
        t_dense = latency_ms(lambda: w @ xb, repeats=REPEATS)
        t_csr = latency_ms(lambda: w_csr @ xb, repeats=REPEATS)
        out.append({"case": "90% sparse, CSR", "model": "1024x1024 weight", "batch": BATCH,
                    "baseline_ms": round(t_dense, 4), "pruned_ms": round(t_csr, 4),
                    "speedup": round(t_dense / t_csr, 2), "threads": THREADS})
    return out


def format_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table: one line per case, dense time, pruned time and the measured speed-up."""
    title = f"pruning (module 04), {rows[0]['threads']} thread(s), batch {rows[0]['batch']}, median ms"
    return text_table(title, [("case", "{case}"), ("model", "{model}"), ("dense", "{baseline_ms:.3f}"),
                              ("pruned", "{pruned_ms:.3f}"), ("speed-up", "{speedup:.2f}x")], rows)


if __name__ == "__main__":
    print(format_table(rows()))
