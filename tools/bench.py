"""``make bench``: time every lecture and solution notebook, one at a time, and the grading of each solution.

Notebooks run sequentially so that the two cores are not shared between timings. The budget column checks the
course's rule that each lecture and each solution runs in under 60 seconds on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys

import torch

from tools.notebooks import BUILD, ROOT, execute, sources

BUDGET_S = 60.0


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
    BUILD.mkdir(exist_ok=True)
    (BUILD / "bench.json").write_text(json.dumps({"notebooks": rows, "grading": grading}, indent=2))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
