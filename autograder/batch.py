"""Grade a folder of submissions in parallel and write a gradebook.

Each student is a file (``alice.ipynb``) or a folder (``alice/lab.ipynb``) directly under the input folder. Results go
to OUT/<student>/results.json as each student finishes (atomically), so an interrupted batch loses nothing and a
rerun skips finished students unless ``force``. OUT/gradebook.csv is rebuilt from every results.json at the end.
"""

from __future__ import annotations

import csv
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder.grade import GradeReport, TestResult, grade, write_results
from autograder.spec import load_tests
from compresslab.utils import progress

SUBMISSION_SUFFIXES = (".ipynb", ".py")
SAFE_NAME = re.compile(r"[^A-Za-z0-9_.@-]+")


def find_submissions(folder: Path) -> dict[str, Path | None]:
    """Student name -> their submission file (None when a student's folder holds no .ipynb or .py)."""
    found: dict[str, Path | None] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        student = SAFE_NAME.sub("_", entry.stem if entry.is_file() else entry.name)
        if entry.is_file():
            found[student] = entry
        elif entry.is_dir():
            files = sorted(p for p in entry.rglob("*") if p.is_file() and p.suffix in SUBMISSION_SUFFIXES)
            found[student] = files[0] if files else None
    return found


def _grade_one(path: Path | None, lab: str, hide: list[Path]) -> GradeReport:
    if path is None:
        report = GradeReport(lab=lab, submission="(none)")
        report.notes.append("no submission: no .ipynb or .py file was found in this student's folder")
        report.results = [TestResult(t, False, "not run: no submission") for t in load_tests(lab)]
        return report
    try:
        return grade(path, lab, hide=hide)
    except Exception as err:  # a grader fault on one submission must not stop the batch
        report = GradeReport(lab=lab, submission=str(path))
        report.notes.append(f"the grader failed on this submission ({type(err).__name__}: {err}); regrade it")
        report.results = [TestResult(t, False, "not run: grader error") for t in load_tests(lab)]
        return report


def write_gradebook(out: Path, lab: str) -> Path:
    """OUT/gradebook.csv from every OUT/<student>/results.json: student, score, max_score, a column per test."""
    names = [t.name for t in load_tests(lab)]
    rows = []
    for results in sorted(out.glob("*/results.json")):
        data = json.loads(results.read_text())
        scores = {t["name"]: t["score"] for t in data.get("tests", [])}
        output = data.get("output", "")
        status = ("grader error" if "the grader failed" in output else
                  "unreadable" if "could not be read" in output or "no submission" in output else "graded")
        rows.append([results.parent.name, data["score"], data["max_score"], *[scores.get(n, 0) for n in names],
                     status])
    path = out / "gradebook.csv"
    tmp = out / f".gradebook.{os.getpid()}.tmp"
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "score", "max_score", *names, "status"])
        writer.writerows(rows)
    os.replace(tmp, path)
    return path


def batch(folder: Path, lab: str, out: Path, jobs: int = 2, force: bool = False) -> Path:
    """Grade every submission under ``folder`` with ``jobs`` in parallel; return the gradebook path."""
    submissions = find_submissions(folder)
    todo = {s: p for s, p in submissions.items() if force or not (out / s / "results.json").exists()}
    hide = [folder.resolve(), out.resolve()]  # a kernel must not see other students' work or results
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_grade_one, path, lab, hide): student for student, path in todo.items()}
        for future in progress(as_completed(futures), desc="grading", total=len(futures)):
            write_results(future.result(), out / futures[future])
    return write_gradebook(out, lab)
