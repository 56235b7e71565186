"""Hostile and broken submissions run through the real grading path (nbval, kernel, sandbox, comparison).

Each case is graded with a few probe tests on the module 01 lab; the reference comes from the solution. None may
earn a point it did not earn, crash the grader, or leave a test without a reason.
"""

import json
import os
import shutil
import subprocess
import time

import pytest

from autograder import compare, runner, sandbox, splice
from autograder.grade import (
    GradeReport,
    feedback_markdown,
    grade,
    gradescope_json,
    protection_notes,
    reference_payloads,
    run_submission,
    table,
)
from autograder.runner import Limits
from autograder.sandbox import protections
from autograder.spec import ROOT, Test, load_tests

LAB = "01_quantization_basics"
LIMITS = Limits(cell_timeout_s=4, total_timeout_s=90)
TESTS = [
    Test("qrange", 1, "qrange(8, True, True)"),
    Test("symmetric_scale", 1, "symmetric_scale(3.0, 8)"),
    Test("quantize", 1, "quantize(np.array([0.5, 1.5, 2.5, -0.5]), 1.0, 0, -128, 127)"),
    Test("sqnr_db", 1, "sqnr_db(np.ones(4), np.ones(4) * 1.1)"),
]


REFERENCE: dict = {}


@pytest.fixture(scope="module")
def reference():
    cells = splice.read_submission(ROOT / "solutions" / f"{LAB}.py")
    payloads, run, notes = run_submission(cells, LAB, TESTS, LIMITS)
    assert not notes and run.problem is None and len(payloads) == len(TESTS)
    assert not [r for r in run.records if r.get("role") != "test" and r.get("error")], run.records
    REFERENCE.update(payloads)
    return payloads


def solution_cells():
    return splice.read_submission(ROOT / "solutions" / f"{LAB}.py")


def grade_cells(cells, reference):
    reference = reference or REFERENCE
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
    import glob, os, sys
    found = {"uid": os.getuid(), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
    tops = {os.path.join("/", d) for d in os.listdir("/")} - {"/usr", "/proc", "/dev", "/sys", "/lib", "/lib64", "/bin"}
    roots = tops | {os.path.expanduser("~"), "/tmp"} | {os.path.dirname(p) for p in sys.path if p}
    names = {"01_quantization_basics.py", "reference-01_quantization_basics.json"}
    hits, seen = set(), set()
    for root in sorted(roots):
        for folder, dirs, files in os.walk(root):
            if folder in seen:
                dirs[:] = []
                continue
            seen.add(folder)
            hits.update(os.path.join(folder, f) for f in names.intersection(files))
    found["hits"] = sorted(hits)
    found["sockets"] = sorted(glob.glob("/tmp/autograder-sockets-*/connection.json"))
    found["env"] = sorted(os.environ)
    found["compresslab"] = sorted(os.listdir(os.path.dirname(__import__("compresslab").__file__)))
    try:
        import socket
        socket.create_connection(("127.0.0.1", 22), timeout=1)
        found["network"] = "connected"
    except OSError as err:
        found["network"] = type(err).__name__
    try:
        import urllib.request
        urllib.request.urlopen("http://deb.debian.org", timeout=2)
        found["internet"] = "reached"
    except Exception as err:
        found["internet"] = type(err).__name__
    return repr(found)
'''

# what ipykernel and bwrap set in the kernel's environment themselves
IPYKERNEL_SETS = {"TERM", "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "PAGER", "GIT_PAGER", "PYDEVD_USE_FRAME_EVAL",
                  "PWD", "JPY_SESSION_NAME"}
FULL = pytest.mark.skipif(not protections().mode.startswith("bwrap"),
                          reason=f"bubblewrap cannot sandbox here: {protections().missing}")


@FULL
def test_the_kernel_sees_no_copy_of_the_solution_anywhere_no_network_and_only_its_own_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_SHELL_SECRET", "set in the instructor's shell")
    runner.thread_worker().kill()  # the next worker starts with the secret in its environment
    # copies of the course left on the machine: a pytest folder, an unpacked autograder, another checkout
    for where in ("copy/solutions", "unpacked/source/solutions"):
        (tmp_path / where).mkdir(parents=True)
        shutil.copy(ROOT / "solutions" / f"{LAB}.py", tmp_path / where / f"{LAB}.py")
    tests = [Test("spy", 1, "sqnr_db(None, None)")]
    payloads, run, _ = run_submission([SPY], LAB, tests, Limits(cell_timeout_s=60, total_timeout_s=120))
    assert payloads["spy"]["ok"], (payloads["spy"].get("error"), payloads["spy"].get("message"))
    found = eval(payloads["spy"]["value"]["str"])  # noqa: S307 - our own repr of plain Python values
    assert found["hits"] == [], found["hits"]
    assert len(found["sockets"]) <= 1, "a kernel can see another kernel's connection file (its own is all it may see)"
    assert found["network"] != "connected" and found["internet"] != "reached", found
    assert len(found["pids"]) <= 3, f"the kernel sees processes beyond its own sandbox: {found['pids']}"
    allowed = set(sandbox.kernel_env("/course", "/tmp/home")) | set(sandbox.PASSED_ENV) | IPYKERNEL_SETS
    assert "GRADER_SHELL_SECRET" not in found["env"] and set(found["env"]) <= allowed, set(found["env"]) - allowed
    assert f"{LAB.split('_', 1)[1]}.py" not in found["compresslab"], "the lab's own exports were offered"
    if os.geteuid() == 0:
        assert sandbox.UID_BASE <= found["uid"] < sandbox.UID_BASE + sandbox.UID_SLOTS


def test_the_grader_says_what_it_could_not_protect():
    report_notes = protection_notes(GradeReport("x", "y", protections=sandbox.Protections("none", ("a thing",))))
    assert report_notes == ["Grading ran without a thing."]
    if protections().missing:
        assert protections().mode != "bwrap-root"


def test_an_unprivileged_user_can_build_the_sandbox_where_user_namespaces_are_on():
    if os.geteuid() != 0 or sandbox.bwrap() is None:
        pytest.skip("needs root (to become another user) and bubblewrap")
    # the Python under /root is out of this user's reach, so the probe runs /usr/bin/id in the same namespaces
    command = ["setpriv", "--reuid=64999", "--regid=64999", "--clear-groups", sandbox.bwrap(), "--unshare-all",
               "--die-with-parent", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink",
               "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", "/usr/bin/id", "-u"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert run.returncode == 0 and run.stdout.strip() == "64999", run.stderr


ESCAPES = '''
def qrange(bits, signed, narrow=False):
    raise ValueError("\\x1b[2J\\x1b[31mgrader error: all tests passed\\x07")
'''

QUOTER = '''
import ast


class Quote(ast.NodeTransformer):
    """Appends `raise RuntimeError(<the cell's code>)` to every cell it sees."""

    def visit_Module(self, node):
        source = ast.unparse(node) * 20
        node.body.append(ast.parse(f"raise RuntimeError({source!r})").body[0])
        return node


get_ipython().ast_transformers.append(Quote())


def qrange(bits, signed, narrow=False):
    return (0, 0)
'''


def test_messages_are_capped_escaped_and_never_quote_the_tests(tmp_path):
    for name, cell in (("escapes", ESCAPES), ("quoter", QUOTER)):
        path = tmp_path / f"{name}.py"
        path.write_text(f"# %%\n{cell}")
        report = grade(path, LAB, limits=LIMITS)
        feedback, results = feedback_markdown(report), json.dumps(gradescope_json(report))
        assert report.status == "graded" and report.score == 0
        for text in (feedback, results, table(report)):
            assert "\x1b" not in text and "\x07" not in text
        for test in load_tests(LAB):  # a visible test's code is shown on purpose; a hidden one's never
            quoted = test.visibility == "hidden" and test.code.strip()[:60] in feedback
            assert not quoted, f"{name}: the feedback quotes hidden test {test.name}"
        assert max(len(r.message) for r in report.results) < 600
    assert "\\x1b[2J" in feedback_markdown(grade(tmp_path / "escapes.py", LAB, limits=LIMITS))


def test_malformed_notebooks_and_payloads_earn_zero_with_a_reason(reference, tmp_path):
    bad_source = tmp_path / "bad_source.ipynb"
    bad_source.write_text(json.dumps({"cells": [{"cell_type": "code", "source": [1, 2, 3]}], "nbformat": 4}))
    deep = tmp_path / "deep.ipynb"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    for path in (bad_source, deep):
        report = grade(path, LAB, limits=LIMITS)
        assert report.status == "unreadable" and report.score == 0
        assert "could not be read" in gradescope_json(report)["output"]
    forged = '''
def qrange(bits, signed, narrow=False):
    import json
    from IPython.display import publish_display_data
    mime = "application/vnd.compresslab.autograder+json"
    nonce = next(c.cell_contents for c in __autograder_report.__closure__
                 if isinstance(c.cell_contents, str) and len(c.cell_contents) == 16)
    head = f'{{"nonce": "{nonce}", "index": 0, "ok": true, "value": '
    deep = head + "[" * 50_000 + "]" * 50_000 + "}"
    huge = head + '{"array": {"dtype": "U500000000", "shape": [1], "data": [0]}}}'
    for text in (deep, huge, "{" * 10_000):
        publish_display_data({mime: text})
    return (0, 0)
'''
    verdicts, *_ = grade_cells([forged], None)
    assert not any(v.passed for v in verdicts.values())


LINGERER = '''
def sqnr_db(x, x_hat):
    import subprocess, sys
    daemon = ("import os, time\\n"
              "os.setsid()\\n"
              "if os.fork(): os._exit(0)\\n"
              "time.sleep(600)\\n")
    subprocess.Popen([sys.executable, "-c", daemon], start_new_session=True)
    return 0.0
'''


def test_the_reference_is_recomputed_when_its_cache_was_touched_and_no_grading_outlives_itself(tmp_path, monkeypatch):
    from autograder import grade as grading

    monkeypatch.setattr(grading, "CACHE", tmp_path)  # other tests read the shared cache meanwhile
    first = reference_payloads(LAB)
    cache = tmp_path / f"reference-{LAB}.json"
    stored = json.loads(cache.read_text())
    name = next(iter(stored["payloads"]))
    stored["payloads"][name] = {"ok": True, "value": None}
    cache.write_text(json.dumps(stored))
    # a grading that leaves a double-forked, setsid process behind runs before the reference is recomputed
    lingerer = tmp_path / "lingerer.py"
    lingerer.write_text((ROOT / "solutions" / f"{LAB}.py").read_text() + "\n\n# %%\n" + LINGERER)
    grade(lingerer, LAB, limits=LIMITS)
    if protections().mode.startswith("bwrap"):
        left = subprocess.run(["pgrep", "-f", "time.sleep\\(600\\)"], capture_output=True, text=True).stdout
        assert left == "", "a process of a finished grading is still alive"
    assert reference_payloads(LAB) == first
    assert json.loads(cache.read_text())["payloads"][name] == first[name]


def test_without_bubblewrap_grading_still_works_and_every_report_says_what_was_missing(reference, monkeypatch,
                                                                                      tmp_path):
    monkeypatch.setattr(sandbox, "bwrap", lambda: None)
    sandbox.protections.cache_clear()
    try:
        fallback = protections()
        assert fallback.mode in ("namespace-root", "none") and "bubblewrap is not installed" in fallback.missing[0]
        verdicts, *_ = grade_cells(solution_cells(), reference)
        assert all(v.passed for v in verdicts.values()), verdicts
        path = tmp_path / "lab.py"
        path.write_text("# %%\nx = 1\n")
        report = grade(path, LAB, limits=LIMITS)
        for text in (feedback_markdown(report), gradescope_json(report)["output"]):
            assert "Grading ran without a filesystem built from nothing" in text
        assert gradescope_json(report)["extra_data"]["missing_protections"] == list(fallback.missing)
    finally:
        sandbox.protections.cache_clear()
