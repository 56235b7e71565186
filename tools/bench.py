"""``make bench``: time every lecture and solution notebook, the grading of each solution, and real int8 kernels.

Notebooks run sequentially so that the two cores are not shared between timings. The budget column checks the
course's rule that each lecture and each solution runs in under 60 seconds on a 2-core CPU. The int8 table (module 02)
times a 1024-wide two-layer MLP with fp32 weights against PyTorch's real int8 paths at batch 1 and 64.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import platform
import sys
import warnings

import torch
from torch import nn

from compresslab.measure import latency_ms
from tools.notebooks import BUILD, ROOT, execute, sources

BUDGET_S = 60.0
INT8_WIDTH = 1024
INT8_BATCHES = (1, 64)
INT8_THREADS = 1  # one core: stable medians on a shared 2-core machine, and the same setting as the lecture


def notebook_rows(dirs: tuple[str, ...]) -> list[dict[str, object]]:
    """One row per notebook: its path, wall-clock seconds and whether it is inside the budget."""
    rows = []
    for source in sources(dirs):
        _, seconds = execute(source)
        rows.append({"notebook": str(source.relative_to(ROOT)), "seconds": round(seconds, 1),
                     "budget_s": BUDGET_S, "ok": seconds < BUDGET_S})
        print(f"  ran {source.relative_to(ROOT)} in {seconds:.1f} s", file=sys.stderr)
    return rows


def grading_rows() -> list[dict[str, object]]:
    """Per lab: seconds to grade the reference solution, against executing the same graded notebook directly.

    The direct run (one kernel start plus every graded cell, through nbclient) is the floor; the grader adds nbval,
    the sandbox and the comparison on top. The reference results are computed first, so neither timing includes them.
    """
    import secrets
    import time

    from nbclient import NotebookClient

    from autograder import grade, splice
    from autograder.spec import load_tests

    rows = []
    for lab in grade.labs():
        grade.reference_payloads(lab)
        solution = ROOT / "solutions" / f"{lab}.py"
        report = grade.grade(solution, lab)
        student = splice.extract_student_code(splice.read_submission(solution), grade.task_functions(lab))
        nb = splice.build_graded_notebook(lab, student, load_tests(lab), secrets.token_hex(8))
        start = time.perf_counter()
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
        direct = time.perf_counter() - start
        rows.append({"lab": lab, "grade_s": round(report.seconds, 1), "direct_s": round(direct, 1),
                     "ratio": round(report.seconds / direct, 2), "score": report.score})
        print(f"  graded {lab} in {report.seconds:.1f} s (direct run {direct:.1f} s)", file=sys.stderr)
    return rows


def significant(value: float, digits: int = 4) -> float:
    """value rounded to `digits` significant digits (never to 0 unless it is 0), for the JSON report."""
    return float(f"{value:.{digits}g}")


def wide_mlp(width: int = INT8_WIDTH, seed: int = 0) -> nn.Sequential:
    """Linear(width, width) -> ReLU -> Linear(width, width) with seeded weights, in eval mode."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width)).eval()


def int8_variants(model: nn.Module) -> dict[str, nn.Module]:
    """The fp32 model and three int8 copies: torch.ao dynamic, torchao int8 dynamic and torchao int8 weight-only."""
    os.environ.setdefault("TORCHAO_FORCE_SKIP_LOADING_SO_FILES", "1")  # no C++ extensions to load on a CPU build
    logging.getLogger("torchao").setLevel(logging.ERROR)
    logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig, quantize_

    variants = {"fp32": model}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization and its quantized dtypes are deprecated
        variants["torch.ao dynamic int8"] = torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(model), {nn.Linear}, dtype=torch.qint8)
    for label, config in [("torchao int8 dynamic", Int8DynamicActivationInt8WeightConfig()),
                          ("torchao int8 weight-only", Int8WeightOnlyConfig())]:
        quantized = copy.deepcopy(model)
        quantize_(quantized, config)
        variants[label] = quantized
    return variants


def int8_rows(width: int = INT8_WIDTH, batches: tuple[int, ...] = INT8_BATCHES, threads: int = INT8_THREADS,
              repeats: int = 20, warmup: int = 3) -> list[dict[str, object]]:
    """Per int8 path and batch size: median ms, speed-up over fp32 and max |output - fp32 output|, at `threads`."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model = wide_mlp(width)
        variants = int8_variants(model)
        rows = []
        for batch in batches:
            x = torch.randn(batch, width, generator=torch.Generator().manual_seed(batch))
            with torch.no_grad():
                reference = model(x)
            timings = {label: latency_ms(lambda m=m, x=x: m(x), repeats=repeats, warmup=warmup)
                       for label, m in variants.items()}
            for label, m in variants.items():
                with torch.no_grad():
                    error = (m(x) - reference).abs().max().item()
                rows.append({"path": label, "batch": batch, "ms": significant(timings[label]),
                             "speedup": significant(timings["fp32"] / timings[label]),
                             "max_abs_error": significant(error), "width": width, "threads": threads})
    finally:
        torch.set_num_threads(previous)
    return rows


def format_int8_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table of int8 timings: one line per path and batch size."""
    width, threads = rows[0]["width"], rows[0]["threads"]
    lines = [f"int8 vs fp32: MLP {width} -> {width} -> {width} (ReLU between), {threads} thread(s), median ms",
             f"{'path':<26} {'batch':>5} {'ms':>10} {'speed-up':>9} {'max |error|':>12}"]
    for r in rows:
        lines.append(f"{r['path']:<26} {r['batch']:>5} {r['ms']:>10.3f} {r['speedup']:>8.2f}x "
                     f"{r['max_abs_error']:>12.5f}")
    return "\n".join(lines)


def format_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table of notebook timings."""
    width = max(len(str(r["notebook"])) for r in rows)
    lines = [f"{'notebook':<{width}}  {'seconds':>8}  {'budget':>7}  within",
             f"{'-' * width}  {'-' * 8}  {'-' * 7}  ------"]
    for r in rows:
        lines.append(f"{r['notebook']:<{width}}  {r['seconds']:>8.1f}  {r['budget_s']:>6.0f}s  "
                     f"{'yes' if r['ok'] else 'NO'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dirs", nargs="+", default=["lectures", "solutions"])
    args = parser.parse_args(argv)
    os.environ["CI"] = "1"  # no progress bars inside timed runs
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    rows = notebook_rows(tuple(args.dirs))
    print(format_table(rows))
    grading = grading_rows()
    print("\ngrading the reference solution      seconds   direct run   ratio   budget")
    for r in grading:
        print(f"{r['lab']:<34}  {r['grade_s']:>7.1f}   {r['direct_s']:>10.1f}   {r['ratio']:>5.2f}   "
              f"< 1.5x and < 20 s: {'yes' if r['ratio'] < 1.5 and r['grade_s'] < 20 else 'NO'}")
    int8 = int8_rows()
    print("\n" + format_int8_table(int8))
    BUILD.mkdir(exist_ok=True)
    (BUILD / "bench.json").write_text(json.dumps({"notebooks": rows, "grading": grading, "int8": int8}, indent=2))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
