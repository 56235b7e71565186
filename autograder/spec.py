"""How a lab's hidden tests are declared: autograder/tests/NN_slug.py defines ``TESTS``, a list of ``Test``.

A test runs ``code`` in the kernel that executed the student's task cells. The value of its last expression (or the
exception it raised) is encoded as plain JSON inside the kernel and compared, in the grader's own process, with what
the same code returns on the reference solution. No expected value is typed by hand.

A student release has no hidden tests and no solutions. It has autograder/public/NN_slug.json instead: the visible
tests and the reference solution's results for them, written by ``make release``, so ``make check`` works there.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[1]
TESTS_DIR = ROOT / "autograder" / "tests"
PUBLIC_DIR = ROOT / "autograder" / "public"
LAB_POINTS = 100.0

# Prepended to the code of a lab's validation tests: what one call did, as a short string that names the argument.
OUTCOME = '''\
def outcome(fn, *args, names, **kwargs):
    """'ValueError naming <names>' when fn(*args, **kwargs) raises one, else what happened instead."""
    try:
        fn(*args, **kwargs)
    except ValueError as err:
        return f"ValueError naming {names!r}" if names in str(err) else f"ValueError not naming {names!r}: {err}"
    except Exception as err:
        return f"{type(err).__name__} instead of ValueError"
    return "returned without raising"

'''


@dataclass(frozen=True)
class Test:
    """One graded test.

    name: unique within the lab, shown to the student.
    points: what passing is worth; a lab's tests add up to 100.
    code: Python run in the kernel after the lab's cells; its last expression is the result. It must build its own
        inputs (seeded) and may use only the lab's functions and imports.
    visibility: "visible" tests also run under ``--public`` and show their code in the feedback; "hidden" ones show
        only their name, what was expected and what came back.
    rtol, atol: float tolerance |ours - reference| <= atol + rtol * |reference|; 0 and 0 mean bit-for-bit.
    check_dtype: compare NumPy dtypes exactly (else only their kind: integer, float, bool).
    error_match: when the reference raises, the student's error must be of the same type and its message must
        contain this text (for example the name of the bad argument).
    mistake: the likely mistake behind a failure, in words a student can act on.
    """

    __test__ = False  # not a pytest test class

    name: str
    points: float
    code: str
    visibility: Literal["visible", "hidden"] = "hidden"
    rtol: float = 0.0
    atol: float = 0.0
    check_dtype: bool = False
    error_match: str = ""
    mistake: str = ""

    def __post_init__(self) -> None:
        if self.points <= 0:
            raise ValueError(f"test {self.name!r}: points must be positive, got {self.points}")
        if self.visibility not in ("visible", "hidden"):
            raise ValueError(f"test {self.name!r}: visibility must be 'visible' or 'hidden', got {self.visibility!r}")
        if self.rtol < 0 or self.atol < 0:
            raise ValueError(f"test {self.name!r}: rtol and atol must be >= 0")
        try:
            ast.parse(self.code)
        except SyntaxError as err:
            raise ValueError(f"test {self.name!r}: code does not parse: {err}") from err


def load_tests(lab: str, public: bool = False) -> list[Test]:
    """The tests of ``lab`` (an NN_slug), checked: unique names, points adding up to 100; only visible ones if public.

    Where the hidden tests are absent (a student release), the visible tests come from the public file, and asking
    for every test raises FileNotFoundError.
    """
    path = TESTS_DIR / f"{lab}.py"
    if not path.exists():
        if not public_path(lab).exists():
            raise FileNotFoundError(f"no hidden tests for lab {lab!r} ({path} is missing)")
        if not public:
            raise FileNotFoundError(f"this copy of the course has only the public checks of lab {lab!r}: "
                                    "grade with --public")
        return [Test(**fields) for fields in read_public(lab)["tests"]]
    spec = importlib.util.spec_from_file_location(f"autograder_tests_{lab}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tests = list(module.TESTS)
    names = [t.name for t in tests]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{path.name}: duplicate test names {duplicates}")
    total = sum(t.points for t in tests)
    if abs(total - LAB_POINTS) > 1e-9:
        raise ValueError(f"{path.name}: points add up to {total}, not {LAB_POINTS}")
    return [t for t in tests if t.visibility == "visible"] if public else tests


def public_path(lab: str) -> Path:
    return PUBLIC_DIR / f"{lab}.json"


def public_record(tests: list[Test], reference: dict[str, dict]) -> dict:
    """What a student release ships for one lab: the visible tests and their reference results."""
    visible = [t for t in tests if t.visibility == "visible"]
    return {"tests": [dataclasses.asdict(t) for t in visible],
            "reference": {t.name: reference[t.name] for t in visible}}


def read_public(lab: str) -> dict:
    return json.loads(public_path(lab).read_text())
