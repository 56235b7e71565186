"""``make bench``: time every lecture and solution notebook, the grading of each solution, and real int8 kernels.

Notebooks run sequentially so that the two cores are not shared between timings. The budget column checks the
course's rule that each lecture and each solution runs in under 60 seconds on a 2-core CPU. The int8 table (module 02)
times a 1024-wide two-layer MLP with fp32 weights against PyTorch's real int8 paths at batch 1 and 64. Each module's
own speed claims live in tools/bench_<module>.py (rows() and format_table(rows)), found and run here in turn; the
share table says how many seconds of `make test` each module costs.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import logging
import os
import platform
import sys
import warnings
from pathlib import Path
from xml.etree import ElementTree

import torch
from torch import nn

from compresslab.measure import latency_ms, torch_threads
from tools.notebooks import BUILD, ROOT, execute, sources
from tools.tables import text_table


def grade_labs() -> list[str]:
    from autograder.grade import labs

    return labs()

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
    from tools.kernels import AsyncIpcKernelManager

    rows = []
    for lab in grade.labs():
        grade.reference_payloads(lab)
        solution = ROOT / "solutions" / f"{lab}.py"
        report = grade.grade(solution, lab)
        student = splice.extract_student_code(splice.read_submission(solution), grade.task_functions(lab))
        nb = splice.build_graded_notebook(lab, student, load_tests(lab), secrets.token_hex(8))
        start = time.perf_counter()
        NotebookClient(nb, timeout=120, kernel_name="python3", kernel_manager_class=AsyncIpcKernelManager).execute()
        direct = time.perf_counter() - start
        rows.append({"lab": lab, "grade_s": round(report.seconds, 1), "direct_s": round(direct, 1),
                     "ratio": round(report.seconds / direct, 2), "score": report.score})
        print(f"  graded {lab} in {report.seconds:.1f} s (direct run {direct:.1f} s)", file=sys.stderr)
    return rows


BATCH_SIZE = 20
EMPTY_SUBMISSION = "# %%\nx = 1\n"


def batch_rows(lab: str, jobs: int | None = None) -> list[dict[str, object]]:
    """Seconds per submission for a batch of 20 empty submissions (the fixed cost of a grading) and of 20 copies of
    the reference solution (a full grading), each graded by ``python -m autograder batch`` with ``jobs`` jobs."""
    import subprocess
    import tempfile
    import time

    from autograder import grade

    jobs = jobs or grade.default_jobs()
    grade.reference_payloads(lab)
    rows = []
    for kind, text in (("empty", EMPTY_SUBMISSION), ("solution", (ROOT / "solutions" / f"{lab}.py").read_text())):
        with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
            folder = Path(tmp) / "submissions"
            folder.mkdir()
            for i in range(BATCH_SIZE):
                (folder / f"student{i:02d}.py").write_text(text)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "autograder", "batch", str(folder), "--lab", lab, "--jobs",
                            str(jobs), "--out", str(Path(tmp) / "out")], cwd=ROOT, check=True,
                           capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            seconds = time.perf_counter() - start
        rows.append({"lab": lab, "submissions": kind, "count": BATCH_SIZE, "jobs": jobs,
                     "seconds": round(seconds, 1), "per_submission_s": round(seconds / BATCH_SIZE, 2)})
        print(f"  batch of {BATCH_SIZE} {kind} submissions of {lab}: {seconds:.1f} s", file=sys.stderr)
    return rows


def recorded_timings() -> dict[str, object]:
    """What the last `make test` and `validate` recorded in build/timings (seconds by part, per mutant)."""
    folder = BUILD / "timings"
    parts = {}
    for name in ("make-test.tsv",):
        path = folder / name
        if path.exists():
            parts.update(line.split("\t") for line in path.read_text().splitlines() if "\t" in line)
    venv = ROOT / ".venv" / "install-seconds.tsv"
    if venv.exists():
        parts.update(line.split("\t") for line in venv.read_text().splitlines() if "\t" in line)
    validate = [json.loads(p.read_text()) for p in sorted(folder.glob("validate-*.json"))] if folder.exists() else []
    return {"make_test_seconds": {k: int(v) for k, v in parts.items()}, "validate": validate}


def _junit_seconds(path: Path) -> dict[str, float]:
    """Seconds per test file in a pytest --junitxml report: {file stem: summed testcase times}."""
    if not path.exists():
        return {}
    seconds: dict[str, float] = {}
    for case in ElementTree.parse(path).iter("testcase"):  # make test writes junit_family=xunit1, which names files
        stem = Path(case.get("file", "")).stem
        seconds[stem] = seconds.get(stem, 0.0) + float(case.get("time", 0.0))
    return seconds


def module_shares(folder: Path | None = None) -> list[dict[str, object]]:
    """Each module's share of the last `make test`, in seconds of work by part (from build/timings and
    build/executed): its unit tests, its lecture and solution runs, its lab under nbval and its validate."""
    folder = folder or BUILD / "timings"
    unit = _junit_seconds(folder / "unit.xml")
    labs = _junit_seconds(folder / "labs.xml")
    record = BUILD / "executed" / "seconds.json"
    executed = json.loads(record.read_text()) if record.exists() else {}
    rows = []
    for solution in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.py")):
        slug = solution.stem
        short = slug.split("_", 1)[1]
        validate_file = folder / f"validate-{slug}.json"
        validate = json.loads(validate_file.read_text())["seconds"] if validate_file.exists() else 0.0
        row = {"module": slug, "unit_s": round(unit.get(f"test_{short}", 0.0), 1),
               "lecture_s": executed.get(f"lectures/{slug}", 0.0), "solution_s": executed.get(f"solutions/{slug}", 0.0),
               "lab_nbval_s": round(labs.get(slug, 0.0), 1), "validate_s": round(validate, 1)}
        row["total_s"] = round(sum(v for k, v in row.items() if k.endswith("_s")), 1)
        rows.append(row)
    return rows


def format_shares(rows: list[dict[str, object]]) -> str:
    """A plain-text table of module_shares, with the budget of 120 s of work per module."""
    parts = ("unit", "lecture", "solution", "lab_nbval", "validate", "total")
    columns = [("module", "{module}"), *((part, "{" + part + "_s:.1f}") for part in parts),
               ("within 120 s", lambda r: "yes" if r["total_s"] <= 120 else "NO")]
    return text_table("share of make test by module (seconds of work; make test runs two at once, so its wall time "
                      "is less)", columns, rows)


def module_benches() -> list[tuple[str, object]]:
    """The modules' own benchmarks, tools/bench_<module>.py, each with rows() and format_table(rows)."""
    found = []
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        found.append((path.stem.removeprefix("bench_"), importlib.import_module(f"tools.{path.stem}")))
    return found


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
    with torch_threads(threads):
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
    return rows


def format_int8_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table of int8 timings: one line per path and batch size."""
    width, threads = rows[0]["width"], rows[0]["threads"]
    return text_table(f"int8 vs fp32: MLP {width} -> {width} -> {width} (ReLU between), {threads} thread(s), median ms",
                      [("path", "{path}"), ("batch", "{batch}"), ("ms", "{ms:.3f}"), ("speed-up", "{speedup:.2f}x"),
                       ("max |error|", "{max_abs_error:.5f}")], rows)


def format_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table of notebook timings."""
    return text_table("notebooks, run one at a time", [("notebook", "{notebook}"), ("seconds", "{seconds:.1f}"),
                                                       ("budget", "{budget_s:.0f} s"),
                                                       ("within", lambda r: "yes" if r["ok"] else "NO")], rows)


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
    print("\n" + text_table("grading the reference solution", [
        ("lab", "{lab}"), ("seconds", "{grade_s:.1f}"), ("direct run", "{direct_s:.1f}"), ("ratio", "{ratio:.2f}"),
        ("< 1.5x and < 20 s", lambda r: "yes" if r["ratio"] < 1.5 and r["grade_s"] < 20 else "NO")], grading))
    batches = [row for lab in grade_labs() for row in batch_rows(lab)]
    print("\n" + text_table(
        f"grading in a batch ({BATCH_SIZE} submissions, python -m autograder batch, {batches[0]['jobs']} jobs; "
        "an empty lab's time is the fixed cost per grading, budget 1 s)",
        [("lab", "{lab}"), ("submissions", "{submissions}"), ("seconds", "{seconds:.1f}"),
         ("per submission", "{per_submission_s:.2f} s")], batches))
    timings = recorded_timings()
    if timings["validate"]:
        print("\n" + text_table("validate (from its last run)", [
            ("lab", "{lab}"), ("mutants", "{mutants}"), ("seconds", "{seconds:.1f}"),
            ("per graded submission", "{seconds_per_submission:.2f} s")], timings["validate"]))
    if timings["make_test_seconds"]:
        print("\nmake test by part (from its last run): " + ", ".join(
            f"{part} {seconds} s" for part, seconds in timings["make_test_seconds"].items()))
    shares = module_shares()
    print("\n" + format_shares(shares))
    int8 = int8_rows()
    print("\n" + format_int8_table(int8))
    modules = {}
    for name, bench_module in module_benches():
        modules[name] = bench_module.rows()
        print("\n" + bench_module.format_table(modules[name]))
    BUILD.mkdir(exist_ok=True)
    (BUILD / "bench.json").write_text(json.dumps({"notebooks": rows, "grading": grading, "batches": batches,
                                                  **timings, "module_shares": shares, "int8": int8,
                                                  **modules}, indent=2))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
