"""``python -m autograder validate``: the grader is checked against known answers before it grades anyone.

For a lab: the reference solution scores full marks; the untouched generated lab scores 0 on every test without
crashing the grader; every mutant in autograder/mutants/<lab>/ (a deliberately wrong solution) loses points, on each
test its docstring names after "Caught by:". A mutant is graded on those tests only, which keeps validation of
every lab inside the test suite's time budget.
"""

from __future__ import annotations

import ast
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from autograder.grade import GradeReport, default_jobs, grade, reference_payloads
from autograder.paste import lecture_pasted_source
from autograder.spec import ROOT

MUTANTS = ROOT / "autograder" / "mutants"
TIMINGS = ROOT / "build" / "timings"
MIN_MUTANTS = 12


@dataclass(frozen=True)
class Mutant:
    path: Path
    mistake: str
    caught_by: tuple[str, ...]


def read_mutant(path: Path) -> Mutant:
    """The mistake (first docstring line) and the test names after "Caught by:" of a mutant file."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    mistake = doc.splitlines()[0] if doc else ""
    caught: list[str] = []
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Caught by:"):
            first = line.removeprefix("Caught by:").strip()
            caught += [first] if first else []
            caught += [rest.strip() for rest in lines[i + 1:] if rest.strip()]
    if not mistake or not caught:
        raise ValueError(f"{path}: the docstring needs a first line naming the mistake and a 'Caught by:' list")
    return Mutant(path, mistake, tuple(caught))


def mutants(lab: str) -> list[Mutant]:
    return [read_mutant(p) for p in sorted((MUTANTS / lab).glob("*.py"))]


def _grade_mutant(lab: str, mutant: Mutant) -> GradeReport:
    """Grade the solution with the mutant's functions in place of its own, on the tests the mutant names."""
    solution = (ROOT / "solutions" / f"{lab}.py").read_text()
    with tempfile.TemporaryDirectory(prefix="autograder-mutant-") as tmp:
        path = Path(tmp) / f"{lab}.py"
        path.write_text(f"{solution}\n\n# %%\n{mutant.path.read_text()}")
        return grade(path, lab, only=set(mutant.caught_by))


def validate(lab: str, jobs: int | None = None) -> bool:
    """Print what each check found and a closing count; True when every check holds."""
    outcomes: list[bool] = []

    def check(condition: bool, message: str) -> None:
        outcomes.append(condition)
        print(f"  [{'ok' if condition else 'FAIL'}] {message}")

    jobs = jobs or default_jobs()
    print(f"validate {lab}")
    found = mutants(lab)
    reference_payloads(lab)  # once, before the parallel gradings that all need it
    start = time.monotonic()
    # The solution and the untouched lab run every test; a mutant needs only the tests that must catch it.
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        whole = [pool.submit(grade, ROOT / folder / f"{lab}.py", lab) for folder in ("solutions", "labs")]
        reports = list(pool.map(lambda m: _grade_mutant(lab, m), found))
        solution, untouched = whole[0].result(), whole[1].result()
    seconds = time.monotonic() - start
    print(f"  graded the solution, the untouched lab and {len(found)} mutants in {seconds:.1f} s with {jobs} jobs "
          f"({seconds / (len(found) + 2):.2f} s per submission)")
    TIMINGS.mkdir(parents=True, exist_ok=True)
    (TIMINGS / f"validate-{lab}.json").write_text(json.dumps(
        {"lab": lab, "seconds": round(seconds, 2), "mutants": len(found), "jobs": jobs,
         "seconds_per_submission": round(seconds / (len(found) + 2), 3)}))
    failed = [r.test.name for r in solution.results if not r.passed]
    check(solution.score == solution.max_score == 100,
          f"reference solution scores {solution.score:g} / {solution.max_score:g}" + (f"; failed {failed}" if failed
                                                                                        else ""))
    passed = [r.test.name for r in untouched.results if r.passed]
    check(untouched.score == 0, f"untouched lab scores {untouched.score:g}" + (f"; passed {passed}" if passed else ""))
    check(len(found) >= MIN_MUTANTS, f"{len(found)} mutants (at least {MIN_MUTANTS} required)")
    names = {r.test.name for r in solution.results}
    for mutant, report in zip(found, reports):
        results = {r.test.name: r for r in report.results}
        unknown = [n for n in mutant.caught_by if n not in names]
        missed = [n for n in mutant.caught_by if n in results and results[n].passed]
        good = report.score < report.max_score and not unknown and not missed
        detail = f"{report.score:g} / {report.max_score:g}"
        if unknown:
            detail += f"; names unknown tests {unknown}"
        if missed:
            detail += f"; passes {missed}"
        check(good, f"mutant {mutant.path.stem} ({mutant.mistake}): {detail}")
    # The lab must ask for more than the lecture shows: its code pasted into the task cells scores at most 33.
    with tempfile.TemporaryDirectory(prefix="autograder-pasted-") as tmp:
        (Path(tmp) / f"{lab}.py").write_text(lecture_pasted_source(lab))
        pasted = grade(Path(tmp) / f"{lab}.py", lab)
    check(pasted.score <= 33, f"lecture pasted scores {pasted.score:g} / {pasted.max_score:g} (at most 33 allowed)")
    # A plain closing line, as CI reads it; the lab was named at the top of this block.
    print(f"validate: {sum(outcomes)} passed, {len(outcomes) - sum(outcomes)} failed")
    return all(outcomes)
