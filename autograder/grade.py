"""Grade one submission: build the graded notebook, run it, compare with the reference, write the results."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from autograder import compare, sandbox, splice
from autograder.runner import Limits, RunResult, run_notebook
from autograder.spec import PUBLIC_DIR, ROOT, TESTS_DIR, Test, load_tests, public_path, read_public

CACHE = ROOT / "build" / "autograder"
DEFAULT_LIMITS = Limits()
GRADESCOPE_VISIBILITY = {"visible": "visible", "hidden": "after_published"}
MAX_MESSAGE = 400
MAX_NOTE = 600
QUOTE_WINDOW = 32  # a message holding this many characters of a test's code in a row quotes the test
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
MACHINE_ERRORS = frozenset(["MemoryError", "KeyboardInterrupt", "SystemExit", "ResultTooLarge"])
STATUSES = ("graded", "unreadable", "no submission", "refused", "grader error")


def clean(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` with control characters escaped (no terminal escape sequence survives) and capped at ``limit``."""
    text = CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit:,} more characters)"


class Redactor:
    """Withholds any message that quotes the code of a test (a transformer can raise with the cell's source)."""

    def __init__(self, tests: list[Test]) -> None:
        self.windows = {t.code[i:i + QUOTE_WINDOW] for t in tests for i in range(max(1, len(t.code) - QUOTE_WINDOW
                                                                                 + 1))}

    def __call__(self, text: str) -> str:
        if any(text[i:i + QUOTE_WINDOW] in self.windows for i in range(max(1, len(text) - QUOTE_WINDOW + 1))):
            return "(not shown: the message quoted the code of a test)"
        return text


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
    status: str = "graded"  # one of STATUSES, set by the grader, never from anything a student wrote
    public: bool = False
    protections: sandbox.Protections | None = None

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.results), 6)

    @property
    def max_score(self) -> float:
        return round(sum(r.test.points for r in self.results), 6)


def default_jobs() -> int:
    """Gradings to run at once: one per core, plus one to fill the time kernels spend waiting on each other."""
    return (os.cpu_count() or 1) + 1


def task_functions(lab: str) -> list[str]:
    """Every stubbed function of the lab, in order."""
    names: list[str] = []
    for cell in splice.lab_notebook(lab).cells:
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
        if not isinstance(index, int) or not 0 <= index < len(tests):
            continue
        for text in record.get("results", []):
            payload = compare.parse_payload(text)
            if payload is not None and payload.get("nonce") == nonce and payload.get("index") == index:
                found.setdefault(tests[index].name, {k: v for k, v in payload.items() if k not in ("nonce", "index")})
                break
    return found


def reference_key(lab: str) -> str:
    """What the reference results depend on: the solution, the lab, its tests, the engine and the helpers offered."""
    digest = hashlib.sha256()
    files = [ROOT / "solutions" / f"{lab}.py", splice.lab_path(lab), TESTS_DIR / f"{lab}.py",
             *sorted((ROOT / "autograder").glob("*.py")),
             *[Path(p) for p in sandbox.course_files(ROOT, lab).values()]]
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _digest(payloads: dict) -> str:
    return hashlib.sha256(json.dumps(payloads, sort_keys=True).encode()).hexdigest()


def run_submission(cells: list[str], lab: str, tests: list[Test], limits: Limits,
                   hide: list[Path] = ()) -> tuple[dict[str, dict], RunResult, list[str]]:
    """Run the tests on the task code found in ``cells``; return payloads by test name, the run, and notes."""
    student = splice.extract_student_code(cells, task_functions(lab))
    nonce = secrets.token_hex(8)
    nb = splice.build_graded_notebook(lab, student, tests, nonce)
    run = run_notebook(nb, lab, limits, list(hide))
    return _payloads(run, tests, nonce), run, list(student.problems)


def reference_payloads(lab: str, limits: Limits = DEFAULT_LIMITS) -> dict[str, dict]:
    """The reference solution's result for every test of ``lab``.

    Computed in the same sandbox as a student's kernel, before any student's kernel of the run starts, and cached in
    build/autograder/ under a key covering the solution, the lab, the tests, the engine and the helpers; the cache
    is used only when its key and the digest of its results check out. In a student release, which has no
    solutions/, the results of the public tests come from the public file.
    """
    if not (ROOT / "solutions" / f"{lab}.py").exists() and public_path(lab).exists():
        return read_public(lab)["reference"]
    key = reference_key(lab)
    path = CACHE / f"reference-{lab}.json"
    try:
        cached = json.loads(path.read_text())
        if cached["key"] == key and cached["digest"] == _digest(cached["payloads"]):
            return cached["payloads"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    tests = load_tests(lab)
    cells = splice.read_submission(ROOT / "solutions" / f"{lab}.py")
    payloads, run, notes = run_submission(cells, lab, tests, limits)
    missing = [t.name for t in tests if t.name not in payloads]
    # a reference that ran out of memory or time is the machine's failure, not an answer to compare with
    broken = {name: p["error"] for name, p in payloads.items() if p.get("error") in MACHINE_ERRORS}
    notes += _cell_notes(run, lab)
    if missing or broken or notes or run.problem:
        raise RuntimeError(f"the reference solution of {lab} did not produce every result: missing {missing}; "
                           f"failed on this machine {broken}; {notes} {run.problem or ''}")
    CACHE.mkdir(parents=True, exist_ok=True)
    os.chmod(CACHE, 0o700)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"key": key, "digest": _digest(payloads), "payloads": payloads}))
    os.replace(tmp, path)
    return payloads


OWN_EXPORT = re.compile(r"No module named '(compresslab\.\w+)'")


def _cell_notes(run: RunResult, lab: str) -> list[str]:
    notes = []
    for record in run.records:
        if record.get("role") in ("task", "setup", "preamble") and record.get("error"):
            what = ("the cell defining " + ", ".join(str(f) for f in record.get("functions", []))
                    if record.get("role") == "task" else "a setup cell of the lab")
            notes.append(f"{what} raised {record['error']}")
            own = OWN_EXPORT.search(str(record["error"]))
            if own and record.get("role") == "task":
                notes.append(f"{own.group(1)} holds the lecture's code for this lab (or a later one), so grading "
                             f"does not offer it: write the task functions yourself; the cell that imports it earns "
                             f"nothing")
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
    protections = sandbox.protections()
    report = GradeReport(lab=lab, submission=str(submission), public=public, protections=protections)
    try:
        cells = splice.read_submission(submission)
    except splice.SubmissionError as err:
        report.status = "refused" if isinstance(err, splice.RefusedSubmission) else "unreadable"
        report.notes.append(clean(f"The submission could not be read: {err}", MAX_NOTE))
        report.results = [TestResult(t, False, "not run: the submission could not be read") for t in tests]
        report.seconds = time.monotonic() - start
        return report
    payloads, run, notes = run_submission(cells, lab, tests, limits, hide)
    redact = Redactor(load_tests(lab, public))
    report.notes = [clean(redact(n), MAX_NOTE) for n in notes + _cell_notes(run, lab)]
    errors = {tests[r["index"]].name: r.get("error") for r in run.records
              if r.get("role") == "test" and isinstance(r.get("index"), int) and 0 <= r["index"] < len(tests)}
    for test in tests:
        ours = payloads.get(test.name)
        if ours is None:
            reason = errors.get(test.name) or "the kernel stopped before this test ran"
            passed, message = False, f"no result: {reason}"
        else:
            verdict = compare.judge(ours, reference[test.name], test)
            note = f" ({errors[test.name]})" if errors.get(test.name) and not verdict.passed else ""
            passed, message = verdict.passed, verdict.message + note
        report.results.append(TestResult(test, passed, clean(redact(message))))
    report.seconds = time.monotonic() - start
    return report


def protection_notes(report: GradeReport) -> list[str]:
    """What the sandbox could not give this grading, one sentence each."""
    if report.protections is None or report.protections.complete:
        return []
    return [f"Grading ran without {what}." for what in report.protections.missing]


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
    notes = report.notes + protection_notes(report)
    output = "\n".join(notes) if notes else "All tests ran."
    protections = report.protections
    extra = {"status": report.status, "public": report.public,
             "isolation": protections.mode if protections else "unknown",
             "missing_protections": list(protections.missing) if protections else []}
    return {"score": report.score, "max_score": report.max_score, "execution_time": round(report.seconds, 2),
            "output": output, "tests": tests, "extra_data": extra}


def feedback_markdown(report: GradeReport) -> str:
    """A readable summary for the student."""
    if report.public:
        lines = [f"# Lab {report.lab}, visible checks: {report.score:g} / {report.max_score:g} points", "",
                 f"The visible checks carry {report.max_score:g} of the lab's 100 points; hidden tests grade the "
                 "rest when you hand the lab in.", ""]
    else:
        lines = [f"# Lab {report.lab}: {report.score:g} / {report.max_score:g} points", ""]
    notes = report.notes + protection_notes(report)
    if notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
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
