"""Hostile and broken submissions run through the real grading path (nbval, kernel, sandbox, comparison).

Each case is graded with a few probe tests on the module 01 lab; the reference comes from the solution. None may
earn a point it did not earn, crash the grader, or leave a test without a reason.
"""

import time

import pytest

from autograder import compare, splice
from autograder.grade import run_submission
from autograder.runner import Limits
from autograder.sandbox import isolation
from autograder.spec import ROOT, Test

LAB = "01_quantization_basics"
LIMITS = Limits(cell_timeout_s=4, total_timeout_s=90)
TESTS = [
    Test("qrange", 1, "qrange(8, True, True)"),
    Test("symmetric_scale", 1, "symmetric_scale(3.0, 8)"),
    Test("quantize", 1, "quantize(np.array([0.5, 1.5, 2.5, -0.5]), 1.0, 0, -128, 127)"),
    Test("sqnr_db", 1, "sqnr_db(np.ones(4), np.ones(4) * 1.1)"),
]


@pytest.fixture(scope="module")
def reference():
    cells = splice.read_submission(ROOT / "solutions" / f"{LAB}.py")
    payloads, run, notes = run_submission(cells, LAB, TESTS, LIMITS)
    assert not notes and run.problem is None and len(payloads) == len(TESTS)
    assert not [r for r in run.records if r.get("role") != "test" and r.get("error")], run.records
    return payloads


def solution_cells():
    return splice.read_submission(ROOT / "solutions" / f"{LAB}.py")


def grade_cells(cells, reference):
    start = time.monotonic()
    payloads, run, notes = run_submission(cells, LAB, TESTS, LIMITS)
    verdicts = {t.name: compare.judge(payloads.get(t.name), reference[t.name], t) for t in TESTS}
    errors = {TESTS[r["index"]].name: r.get("error") for r in run.records if r.get("role") == "test"}
    return verdicts, errors, run, notes, time.monotonic() - start


TAMPERING = '''
import numpy as np
import builtins, json


class AlwaysEqual:
    def __eq__(self, other):
        return True
    def __repr__(self):
        return "(-127, 127)"


class LyingArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), bool)
    def tolist(self):
        return [0, 2, 2, 0]


np.array_equal = lambda *a, **k: True
np.allclose = lambda *a, **k: True
json.dumps = lambda *a, **k: '{"ok": true, "value": {"float": "0.023622047244094488"}}'
get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)
get_ipython().showtraceback = lambda *a, **k: None


def qrange(bits, signed, narrow=False):
    return AlwaysEqual()


def symmetric_scale(threshold, bits=8):
    from IPython.display import publish_display_data
    publish_display_data({"application/vnd.compresslab.autograder+json":
                          '{"nonce": "guess", "index": 1, "ok": true, "value": {"float": "0.023622047244094488"}}'})
    print("0.023622047244094488")
    raise ValueError("wrong on purpose")


def quantize(x, scale, zero_point, qmin, qmax):
    return np.array([1, 1, 3, 0], dtype=np.int32).view(LyingArray)


def sqnr_db(x, x_hat):
    open("results.json", "w").write('{"score": 100}')
    return 19.0
'''


def test_tampering_in_the_kernel_earns_nothing(reference):
    verdicts, *_ = grade_cells([TAMPERING], reference)
    assert not any(v.passed for v in verdicts.values()), verdicts


def test_the_reference_solution_passes_as_a_control(reference):
    verdicts, *_ = grade_cells(solution_cells(), reference)
    assert all(v.passed for v in verdicts.values()), verdicts


@pytest.mark.parametrize("body, reason", [
    ("while True:\n        pass", "time limit"),
    ("while True:\n        print('flood')", "limit"),
    ("import signal\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n    while True:\n        pass", "time limit"),
    ("print('x' * 5_000_000)\n    return 20.0", "output and was stopped"),
    ("return bytearray(60 * 2**30)", "MemoryError"),
    ("return float(input('x? '))", "StdinNotImplementedError"),
    ("import ctypes\n    return ctypes.string_at(0)", "died"),  # a segfault kills the kernel
])
def test_a_runaway_function_fails_alone_and_grading_goes_on(reference, body, reason):
    # sqnr_db is a leaf: no other graded function calls it, so the others must still pass
    cells = solution_cells() + [f"def sqnr_db(x, x_hat):\n    {body}\n"]
    verdicts, errors, run, _, seconds = grade_cells(cells, reference)
    assert not verdicts["sqnr_db"].passed
    assert reason in (errors.get("sqnr_db") or "") + verdicts["sqnr_db"].message, (errors, verdicts)
    assert seconds < LIMITS.total_timeout_s + 10
    assert all(v.passed for name, v in verdicts.items() if name != "sqnr_db"), verdicts


def test_a_dying_kernel_is_noticed_within_seconds(reference):
    cells = solution_cells() + ["def qrange(bits, signed, narrow=False):\n    import os\n    os._exit(1)\n"]
    verdicts, errors, run, _, seconds = grade_cells(cells, reference)
    assert not any(v.passed for v in verdicts.values())
    assert "died" in errors["qrange"]
    assert run.seconds < 30


def test_syntax_errors_and_missing_functions_lose_only_their_tests(reference):
    cells = [c for c in solution_cells() if "def sqnr_db" not in c] + ["def quantize(x:\n    pass"]
    verdicts, _, _, notes, _ = grade_cells(cells, reference)
    assert verdicts["qrange"].passed and verdicts["quantize"].passed
    assert not verdicts["sqnr_db"].passed and "NotImplementedError" in verdicts["sqnr_db"].message
    assert any("syntax error" in n for n in notes) and any("sqnr_db" in n for n in notes)


TRANSFORMERS = '''
import ast


class Truthy(ast.NodeTransformer):
    """What fools in-kernel graders: later cells lose their asserts and raises and return True."""

    def visit_Assert(self, node):
        return ast.Pass()

    def visit_Raise(self, node):
        return ast.Pass()

    def visit_Return(self, node):
        return ast.copy_location(ast.Return(ast.Constant(True)), node)


def qrange(bits, signed, narrow=False):
    shell = get_ipython()
    shell.ast_transformers.append(Truthy())
    shell.input_transformers_post.append(lambda lines: [line.replace("raise", "pass #") for line in lines])
    return (0, 0)
'''


def test_ast_and_input_transformers_earn_nothing(reference):
    # Transformers can change what a test's code returns, never what it is compared with. (Forging the exact answer
    # of a visible test is no better than typing it into the function; hidden tests use inputs nobody has seen.)
    verdicts, errors, run, notes, _ = grade_cells([TRANSFORMERS], reference)
    assert [name for name, v in verdicts.items() if v.passed] == []
    assert all(v.message for v in verdicts.values())


WRONG_TYPES = '''
import numpy as np


def qrange(bits, signed, narrow=False):
    return "(-127, 127)"


def symmetric_scale(threshold, bits=8):
    return float("nan")


def quantize(x, scale, zero_point, qmin, qmax):
    return [0, 2, 2, 0]


def sqnr_db(x, x_hat):
    return None
'''


def test_wrong_return_types_and_nan_fail_with_what_came_back(reference):
    verdicts, *_ = grade_cells([WRONG_TYPES], reference)
    assert not any(v.passed for v in verdicts.values()), verdicts
    assert "'(-127, 127)'" in verdicts["qrange"].message or "str" in verdicts["qrange"].message
    assert "nan" in verdicts["symmetric_scale"].message
    assert "(a list)" in verdicts["quantize"].message and "(a NumPy array)" in verdicts["quantize"].message
    assert "None" in verdicts["sqnr_db"].message


def test_a_submission_for_another_lab_is_told_so(reference):
    other = "def calibrate_max(x):\n    return float(abs(x).max())\n"
    verdicts, _, _, notes, _ = grade_cells([other], reference)
    assert not any(v.passed for v in verdicts.values())
    assert any("another lab" in note for note in notes), notes


SPY = '''
def sqnr_db(x, x_hat):
    import os
    found = [os.getuid()]
    for path in ("solutions/01_quantization_basics.py", "autograder/tests/01_quantization_basics.py"):
        try:
            found.append(len(open(os.path.join(ROOT_DIR, path)).read()))
        except OSError as err:
            found.append(type(err).__name__)
    return found
'''


@pytest.mark.skipif(not isolation()[0], reason=f"no isolation on this machine: {isolation()[1]}")
def test_an_isolated_kernel_runs_as_nobody_and_cannot_read_solutions_or_hidden_tests():
    tests = [Test("spy", 1, "sqnr_db(None, None)")]
    payloads, run, _ = run_submission([SPY.replace("ROOT_DIR", repr(str(ROOT)))], LAB, tests, LIMITS)
    assert run.isolated
    assert payloads["spy"]["value"] == {"list": [{"int": "65534"}, {"str": "FileNotFoundError"},
                                                 {"str": "FileNotFoundError"}]}
