"""Grade a folder of submissions in parallel and write a gradebook.

Each student is a file (``alice.ipynb``) or a folder (``alice/lab.ipynb``) directly under the input folder. Results go
to OUT/<student>/results.json as each student finishes (atomically), so an interrupted batch loses nothing and a
rerun skips finished students unless ``force``. OUT/gradebook.csv is rebuilt from every results.json at the end.

Input cannot redirect grading: a symbolic link (a student entry, or a file inside a student's folder) is refused
with a status row, never followed; two entries whose names map to one student name stop the batch with an error
naming both, before anything is graded.
"""

from __future__ import annotations

import csv
import json
import os
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from autograder.grade import GradeReport, TestResult, clean, grade, reference_payloads, write_results
from autograder.spec import load_tests
from compresslab.utils import progress

SUBMISSION_SUFFIXES = (".ipynb", ".py")
UNSAFE = re.compile(r"[^\w.@-]+")


class BatchInputError(ValueError):
    """The submissions folder cannot be graded as it is (two entries for one student name)."""


@dataclass(frozen=True)
class Entry:
    """One student's submission: the file to grade, or why there is none."""

    path: Path | None
    status: str = "graded"
    note: str = ""


def student_name(entry: Path) -> str:
    """The gradebook name of a file or folder: its name (a file's without suffix), NFC-normalized, unsafe runs as _."""
    stem = entry.name[: -len(entry.suffix)] if entry.suffix in SUBMISSION_SUFFIXES else entry.name
    return UNSAFE.sub("_", unicodedata.normalize("NFC", stem)).strip("._") or "_"


def _folder_entry(folder: Path) -> Entry:
    links, files = [], []
    for parent, dirs, names in os.walk(folder):  # never follows links to folders
        for name in sorted(dirs):
            if os.path.islink(os.path.join(parent, name)):
                links.append(name)
        for name in sorted(names):
            path = Path(parent) / name
            if path.suffix in SUBMISSION_SUFFIXES:
                (links if path.is_symlink() else files).append(path)
    if files:
        return Entry(sorted(files)[0])
    if links:
        return Entry(None, "refused", "the folder holds only symbolic links; hand in the notebook file itself")
    return Entry(None, "no submission", "no submission: no .ipynb or .py file was found in this student's folder")


def find_submissions(folder: Path) -> dict[str, Entry]:
    """Student name -> their entry; raises BatchInputError when two entries map to one student name."""
    found: dict[str, Entry] = {}
    sources: dict[str, list[str]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        name = student_name(entry)
        sources.setdefault(name, []).append(entry.name)
        if entry.is_symlink():
            found[name] = Entry(None, "refused", f"{clean(entry.name)!r} is a symbolic link; hand in the notebook "
                                                 "file itself")
        elif entry.is_dir():
            found[name] = _folder_entry(entry)
        elif entry.is_file():
            found[name] = Entry(entry)
    collisions = {name: entries for name, entries in sources.items() if len(entries) > 1}
    if collisions:
        pairs = "; ".join(f"{' and '.join(repr(clean(e)) for e in entries)} are both student {name!r}"
                          for name, entries in collisions.items())
        raise BatchInputError(f"two submissions map to one gradebook name: {pairs}. Rename one and run again.")
    return found


def _grade_one(entry: Entry, lab: str, hide: list[Path]) -> GradeReport:
    if entry.path is None:
        report = GradeReport(lab=lab, submission="(none)", status=entry.status)
        report.notes.append(entry.note)
        report.results = [TestResult(t, False, f"not run: {entry.status}") for t in load_tests(lab)]
        return report
    try:
        return grade(entry.path, lab, hide=hide)
    except Exception as err:  # a grader fault on one submission must not stop the batch
        report = GradeReport(lab=lab, submission=str(entry.path), status="grader error")
        report.notes.append(clean(f"the grader failed on this submission ({type(err).__name__}: {err}); regrade it"))
        report.results = [TestResult(t, False, "not run: grader error") for t in load_tests(lab)]
        return report


def write_gradebook(out: Path, lab: str) -> Path:
    """OUT/gradebook.csv from every OUT/<student>/results.json: student, score, max_score, a column per test, and
    the status the grader recorded (graded, unreadable, no submission, refused, grader error)."""
    names = [t.name for t in load_tests(lab)]
    rows = []
    for results in sorted(out.glob("*/results.json")):
        data = json.loads(results.read_text())
        scores = {t["name"]: t["score"] for t in data.get("tests", [])}
        status = data.get("extra_data", {}).get("status", "grader error")
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
    todo = {s: e for s, e in submissions.items() if force or not (out / s / "results.json").exists()}
    hide = [folder.resolve(), out.resolve()]  # (without bubblewrap) a kernel must not see other students' work
    out.mkdir(parents=True, exist_ok=True)
    reference_payloads(lab)  # before any student's kernel starts
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_grade_one, entry, lab, hide): student for student, entry in todo.items()}
        for future in progress(as_completed(futures), desc="grading", total=len(futures)):
            write_results(future.result(), out / futures[future])
    return write_gradebook(out, lab)
