"""Grade one submission: build the graded notebook, run it, compare with the reference, write the results."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import jupytext

from autograder import compare, splice
from autograder.runner import Limits, RunResult, run_notebook
from autograder.spec import PUBLIC_DIR, ROOT, TESTS_DIR, Test, load_tests, public_path, read_public

CACHE = ROOT / "build" / "autograder"
DEFAULT_LIMITS = Limits()
GRADESCOPE_VISIBILITY = {"visible": "visible", "hidden": "after_published"}


@dataclass
class TestResult:
    test: Test
    passed: bool
    message: str

    @property
    def score(self) -> float:
        return self.test.points if self.passed else 0.0


def _mistake(result: TestResult) -> str:
    """The likely mistake to show, or "" (a task not started yet has no mistake to name)."""
    if result.passed or result.message.startswith("raised NotImplementedError"):
        return ""
    return result.test.mistake


@dataclass
class GradeReport:
    lab: str
    submission: str
    results: list[TestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.results), 6)

    @property
    def max_score(self) -> float:
        return round(sum(r.test.points for r in self.results), 6)


def task_functions(lab: str) -> list[str]:
    """Every stubbed function of the lab, in order."""
    names: list[str] = []
    for cell in jupytext.read(splice.lab_path(lab)).cells:
        if cell.cell_type == "code":
            names += splice.stub_functions(cell.source)
    return names


def labs() -> list[str]:
    """Every lab that has hidden tests, or in a student release public checks."""
    found = [p.stem for p in TESTS_DIR.glob("[0-9][0-9]_*.py")] + [p.stem for p in PUBLIC_DIR.glob("[0-9][0-9]_*.json")]
    return sorted(set(found))


def _payloads(run: RunResult, tests: list[Test], nonce: str) -> dict[str, dict]:
    """Test name -> the first well-formed result its own cell published."""
    found: dict[str, dict] = {}
    for record in run.records:
        if record.get("role") != "test":
            continue
        index = record.get("index")
        for text in record.get("results", []):
            try:
                payload = json.loads(text)
            except (TypeError, ValueError):
                continue
            if isinstance(payload, dict) and payload.get("nonce") == nonce and payload.get("index") == index:
                found.setdefault(tests[index].name, payload)
                break
    return found


def _fingerprint(lab: str) -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "solutions" / f"{lab}.py", splice.lab_path(lab), TESTS_DIR / f"{lab}.py",
                 Path(splice.__file__), Path(splice.__file__).parent / "kernel_preamble.py"):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def run_submission(cells: list[str], lab: str, tests: list[Test], limits: Limits,
                   hide: list[Path] = ()) -> tuple[dict[str, dict], RunResult, list[str]]:
    """Run the tests on the task code found in ``cells``; return payloads by test name, the run, and notes."""
    student = splice.extract_student_code(cells, task_functions(lab))
    nonce = secrets.token_hex(8)
    nb = splice.build_graded_notebook(lab, student, tests, nonce)
    run = run_notebook(nb, limits, list(hide))
    return _payloads(run, tests, nonce), run, list(student.problems)


def reference_payloads(lab: str, limits: Limits = DEFAULT_LIMITS) -> dict[str, dict]:
    """The reference solution's result for every test of ``lab``, cached under build/autograder by content hash.

    In a student release, which has no solutions/, the results of the public tests come from the public file.
    """
    if not (ROOT / "solutions" / f"{lab}.py").exists() and public_path(lab).exists():
        return read_public(lab)["reference"]
    path = CACHE / f"reference-{lab}-{_fingerprint(lab)}.json"
    if path.exists():
        return json.loads(path.read_text())
    tests = load_tests(lab)
    cells = splice.read_submission(ROOT / "solutions" / f"{lab}.py")
    payloads, run, notes = run_submission(cells, lab, tests, limits)
    missing = [t.name for t in tests if t.name not in payloads]
    notes += _cell_notes(run)
    if missing or notes or run.problem:
        raise RuntimeError(f"the reference solution of {lab} did not produce every result: missing {missing}; "
                           f"{notes} {run.problem or ''}")
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payloads))
    os.replace(tmp, path)
    return payloads


def _cell_notes(run: RunResult) -> list[str]:
    notes = []
    for record in run.records:
        if record.get("role") in ("task", "setup", "preamble") and record.get("error"):
            what = ("the cell defining " + ", ".join(record.get("functions", []))
                    if record.get("role") == "task" else "a setup cell of the lab")
            notes.append(f"{what} raised {record['error']}")
    if run.problem:
        notes.append(run.problem)
    return notes


def grade(submission: Path, lab: str, public: bool = False, limits: Limits = DEFAULT_LIMITS,
          hide: list[Path] = (), only: Collection[str] | None = None) -> GradeReport:
    """Grade ``submission`` for ``lab`` (with only the tests named in ``only``, if given); never raises for anything
    the submission does."""
    start = time.monotonic()
    tests = [t for t in load_tests(lab, public) if only is None or t.name in only]
    reference = reference_payloads(lab, limits)
    report = GradeReport(lab=lab, submission=str(submission))
    try:
        cells = splice.read_submission(submission)
    except splice.SubmissionError as err:
        report.notes.append(f"The submission could not be read: {err}")
        report.results = [TestResult(t, False, "not run: the submission could not be read") for t in tests]
        report.seconds = time.monotonic() - start
        return report
    payloads, run, notes = run_submission(cells, lab, tests, limits, hide)
    report.notes = notes + _cell_notes(run)
    if not run.isolated:
        report.notes.append(f"Grading ran without isolation: {run.not_isolated_because}.")
    errors = {tests[r["index"]].name: r.get("error") for r in run.records if r.get("role") == "test"}
    for test in tests:
        ours = payloads.get(test.name)
        if ours is None:
            reason = errors.get(test.name) or "the kernel stopped before this test ran"
            result = TestResult(test, False, f"no result: {reason}")
        else:
            verdict = compare.judge(ours, reference[test.name], test)
            note = f" ({errors[test.name]})" if errors.get(test.name) and not verdict.passed else ""
            result = TestResult(test, verdict.passed, verdict.message + note)
        report.results.append(result)
    report.seconds = time.monotonic() - start
    return report


def gradescope_json(report: GradeReport) -> dict:
    """results.json in Gradescope's schema."""
    tests = []
    for r in report.results:
        output = r.message
        if _mistake(r):
            output += f"\nLikely mistake: {_mistake(r)}"
        if r.test.visibility == "visible":
            output += f"\nTest code:\n{r.test.code.strip()}"
        tests.append({"name": r.test.name, "score": r.score, "max_score": r.test.points,
                      "status": "passed" if r.passed else "failed", "output": output,
                      "visibility": GRADESCOPE_VISIBILITY[r.test.visibility]})
    output = "\n".join(report.notes) if report.notes else "All tests ran."
    return {"score": report.score, "max_score": report.max_score, "execution_time": round(report.seconds, 2),
            "output": output, "tests": tests}


def feedback_markdown(report: GradeReport) -> str:
    """A readable summary for the student."""
    lines = [f"# Lab {report.lab}: {report.score:g} / {report.max_score:g} points", ""]
    if report.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in report.notes] + [""]
    lines += ["## Tests", "", "| test | points | result |", "|---|---|---|"]
    lines += [f"| {r.test.name} | {r.score:g} / {r.test.points:g} | {'passed' if r.passed else 'failed'} |"
              for r in report.results]
    failed = [r for r in report.results if not r.passed]
    if failed:
        lines += ["", "## What went wrong", ""]
        for r in failed:
            lines += [f"### {r.test.name}", "", r.message]
            if _mistake(r):
                lines += ["", f"Likely mistake: {_mistake(r)}"]
            if r.test.visibility == "visible":
                lines += ["", "```python", r.test.code.strip(), "```"]
            lines.append("")
    return "\n".join(lines) + "\n"


def table(report: GradeReport) -> str:
    """The plain-text table the CLI prints."""
    width = max([len(r.test.name) for r in report.results] + [4])
    rows = [f"{'test':<{width}}  {'points':>11}  result", f"{'-' * width}  {'-' * 11}  ------"]
    rows += [f"{r.test.name:<{width}}  {r.score:>5g} / {r.test.points:<3g}  {'passed' if r.passed else 'FAILED'}"
             for r in report.results]
    rows.append(f"{'total':<{width}}  {report.score:>5g} / {report.max_score:<3g}  ({report.seconds:.1f} s)")
    return "\n".join(rows)


def write_results(report: GradeReport, out: Path) -> None:
    """results.json and feedback.md in ``out``, each written atomically."""
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (("results.json", json.dumps(gradescope_json(report), indent=2)),
                       ("feedback.md", feedback_markdown(report))):
        tmp = out / f".{name}.{os.getpid()}.tmp"
        tmp.write_text(text)
        os.replace(tmp, out / name)
