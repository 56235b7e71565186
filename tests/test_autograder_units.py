"""Fast tests of the autograder's parts that need no kernel: reading submissions, splicing, comparing."""

import json

import nbformat
import numpy as np
import pytest

from autograder import compare, splice
from autograder.spec import Test

LAB = "01_quantization_basics"


def enc(value):
    """Encode like the kernel preamble does, for the types these tests use."""
    import numpy as np

    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, tuple):
        return {"tuple": [enc(v) for v in value]}
    array = np.asarray(value)
    data = [x if np.isfinite(x) else {"float": repr(float(x))} for x in array.astype(float).ravel().tolist()] \
        if array.dtype.kind == "f" else array.ravel().tolist()
    return {"array": {"dtype": str(array.dtype), "shape": list(array.shape), "data": data}}


def ok(value):
    return {"ok": True, "value": enc(value)}


def test_exact_arrays_pass_and_a_one_lsb_difference_fails_with_its_index():
    import numpy as np

    t = Test("t", 1, "0")
    ref = ok(np.array([0, 2, 2], dtype=np.int32))
    assert compare.judge(ok(np.array([0, 2, 2], dtype=np.int32)), ref, t).passed
    verdict = compare.judge(ok(np.array([0, 2, 3], dtype=np.int32)), ref, t)
    assert not verdict.passed and "index (2,)" in verdict.message and "expected 2" in verdict.message


def test_dtype_shape_and_tolerance_rules():
    import numpy as np

    ref = ok(np.array([1.0, np.nan, np.inf], dtype=np.float32))
    exact = Test("t", 1, "0", check_dtype=True)
    assert compare.judge(ok(np.array([1.0, np.nan, np.inf], dtype=np.float32)), ref, exact).passed
    assert "dtype float32" in compare.judge(ok(np.array([1.0, np.nan, np.inf])), ref, exact).message
    assert "shape" in compare.judge(ok(np.array([1.0, np.nan])), ref, exact).message
    assert not compare.judge(ok(np.array([1.0, 0.0, np.inf], dtype=np.float32)), ref, exact).passed
    loose = Test("t", 1, "0", rtol=1e-3)
    assert compare.judge(ok(np.array([1.0005, np.nan, np.inf], dtype=np.float32)), ref, loose).passed


def test_errors_must_match_type_and_name_the_argument():
    t = Test("t", 1, "0", error_match="bits")
    ref = {"ok": False, "error": "ValueError", "message": "bits must be between 2 and 16", "is_exception": True}
    good = {"ok": False, "error": "ValueError", "message": "bits=1 is out of range", "is_exception": True}
    vague = {"ok": False, "error": "ValueError", "message": "bad input", "is_exception": True}
    wrong = {"ok": False, "error": "TypeError", "message": "bits", "is_exception": True}
    assert compare.judge(good, ref, t).passed
    assert "does not mention 'bits'" in compare.judge(vague, ref, t).message
    assert "expected ValueError" in compare.judge(wrong, ref, t).message
    assert "returned (0, 255)" in compare.judge(ok((0, 255)), ref, t).message


def test_unsupported_and_malformed_results_never_pass():
    t = Test("t", 1, "0")
    ref = ok((1, 2))
    for forged in ({"ok": True, "value": {"unsupported": "AlwaysEqual"}}, {"ok": True, "value": "(1, 2)"},
                   {"ok": True, "value": {"tuple": [{"int": "1"}]}}, {"ok": True}, {}):
        assert not compare.judge(forged, ref, t).passed


def test_numbers_compare_across_int_and_float_encodings():
    t = Test("t", 1, "0")
    assert compare.judge(ok(2), ok(2.0), t).passed
    assert not compare.judge(ok(3), ok(2.0), t).passed


def test_test_cell_returns_the_last_expression():
    source = splice.test_cell_source(3, Test("t", 1, "x = 2\nx * 21"))
    namespace = {"__autograder_report": lambda index, fn, names: namespace.setdefault("got", (index, fn()))}
    exec(source, namespace)
    assert namespace["got"] == (3, 42)


def test_spec_rejects_bad_tests():
    with pytest.raises(ValueError, match="points"):
        Test("t", 0, "1")
    with pytest.raises(ValueError, match="visibility"):
        Test("t", 1, "1", visibility="secret")
    with pytest.raises(ValueError, match="parse"):
        Test("t", 1, "def (")


@pytest.mark.parametrize("content, suffix, message", [
    ("", ".ipynb", "empty"),
    ("{not json", ".ipynb", "not valid JSON"),
    ('{"cells": 3}', ".ipynb", "no list of cells"),
    ("print(1)", ".txt", "must be a .ipynb or .py"),
])
def test_unreadable_submissions_get_a_reason(tmp_path, content, suffix, message):
    path = tmp_path / f"sub{suffix}"
    path.write_text(content)
    with pytest.raises(splice.SubmissionError, match=message):
        splice.read_submission(path)


def test_binary_submission_is_refused(tmp_path):
    path = tmp_path / "sub.ipynb"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(splice.SubmissionError, match="not a text file"):
        splice.read_submission(path)


def test_student_code_takes_last_definitions_with_their_helpers_and_reports_syntax_errors():
    cells = ["import numpy as np\ndef qrange(bits, signed, narrow=False):\n    return 1\nprint('noise')",
             "def _helper():\n    return 2\ndef qrange(bits, signed, narrow=False):\n    return _helper()",
             "def quantize(:\n    pass", "%matplotlib inline\ndef sqnr_db(x, x_hat):\n    return 0.0"]
    found = splice.extract_student_code(cells, ["qrange", "quantize", "sqnr_db"])
    assert "return _helper()" in found.definitions["qrange"] and "def _helper" in found.support["qrange"]
    assert "print('noise')" not in found.support["qrange"] + found.definitions["qrange"]
    assert "sqnr_db" in found.definitions
    assert any("code cell 3 has a syntax error" in p for p in found.problems)
    assert any("no definition found for quantize" in p for p in found.problems)


def test_graded_notebook_ignores_the_submissions_own_checks_tags_and_slow_cells(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("def qrange(bits, signed, narrow=False):\n    return (0, 1)",
                                          metadata={"tags": ["raises-exception", "nbval-skip"]}),
                nbformat.v4.new_code_cell("assert True  # the student's own 'check'")]
    path = tmp_path / "sub.ipynb"
    path.write_text(json.dumps(nb))
    student = splice.extract_student_code(splice.read_submission(path), ["qrange"])
    graded = splice.build_graded_notebook(LAB, student, [Test("t", 1, "qrange(8, True)")], nonce="n")
    sources = [c.source for c in graded.cells]
    assert not any("the student's own" in s for s in sources)
    assert all(not c.metadata.get("tags") for c in graded.cells)
    roles = [c.metadata["autograder"]["role"] for c in graded.cells]
    assert roles[0] == "preamble" and roles[-1] == "test" and "task" in roles
    assert sum("return (0, 1)" in s for s in sources) == 1


# ---------------------------------------------------------------- batch and Gradescope input


def test_symlinks_are_refused_never_followed(tmp_path):
    from autograder.batch import find_submissions
    from autograder.spec import ROOT

    folder = tmp_path / "subs"
    (folder / "eve").mkdir(parents=True)
    (folder / "alice.py").write_text("# %%\nx = 1\n")
    (folder / "mallory.py").symlink_to(ROOT / "solutions" / f"{LAB}.py")
    (folder / "trudy.py").symlink_to(folder / "alice.py")
    (folder / "eve" / "lab.py").symlink_to(ROOT / "solutions" / f"{LAB}.py")
    found = find_submissions(folder)
    assert found["alice"].path == folder / "alice.py" and found["alice"].status == "graded"
    for student in ("mallory", "trudy", "eve"):
        assert found[student].path is None and found[student].status == "refused", student
        assert "symbolic link" in found[student].note


def test_a_symlinked_submission_is_refused_by_grading_itself(tmp_path):
    from autograder.spec import ROOT

    link = tmp_path / "lab.py"
    link.symlink_to(ROOT / "solutions" / f"{LAB}.py")
    with pytest.raises(splice.RefusedSubmission, match="symbolic link"):
        splice.read_submission(link)


def test_colliding_names_stop_the_batch_naming_both_and_distinct_names_stay_distinct(tmp_path):
    from autograder.batch import BatchInputError, find_submissions

    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("Zoë Li.py", "Zoé Li.py", "Zoe\u0308 Li.ipynb"):  # the last is "Zoë" written decomposed
        (folder / name).write_text("{}")
    with pytest.raises(BatchInputError) as err:
        find_submissions(folder)
    assert "Zoë Li.py" in str(err.value) and "Zoe\u0308 Li.ipynb" in str(err.value)
    (folder / "Zoe\u0308 Li.ipynb").unlink()
    assert sorted(find_submissions(folder)) == ["Zoé_Li", "Zoë_Li"]
    for clash in (("x.py", "x.ipynb"), ("y.py", "y")):
        sub = tmp_path / clash[0]
        sub.mkdir()
        (sub / clash[0]).write_text("{}")
        (sub / clash[1]).mkdir() if "." not in clash[1] else (sub / clash[1]).write_text("{}")
        with pytest.raises(BatchInputError) as err:
            find_submissions(sub)
        assert clash[0] in str(err.value) and clash[1] in str(err.value)


def test_gradescope_picks_a_plain_file_whatever_its_name_and_never_a_link(tmp_path):
    from autograder.gradescope import pick_submission

    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "a.py").symlink_to("/etc/passwd")
    (folder / "b\nc.py").write_text("# %%\nx = 1\n")
    assert pick_submission(folder) == folder / "b\nc.py"
    (folder / "b\nc.py").unlink()
    assert pick_submission(folder) == folder / "a.py"  # only a link: grading refuses it with a reason
    (folder / "a.py").unlink()
    assert pick_submission(folder) is None


# ---------------------------------------------------------------- output that cannot leak or crash


def test_clean_escapes_control_characters_and_caps():
    from autograder.grade import clean

    text = clean("\x1b[31mred\x07 and a newline\nkept" + "x" * 1000, limit=50)
    assert "\x1b" not in text and "\x07" not in text and "\\x1b[31m" in text and "\n" in text
    assert len(text) < 100 and "more characters" in text


def test_the_redactor_withholds_a_message_quoting_a_test():
    from autograder.grade import Redactor

    test = Test("t", 1, "secret_inputs = np.arange(1234, 5678) * 0.125\nquantize(secret_inputs, 0.1, 0, -8, 7)")
    redact = Redactor([test])
    assert redact("raised ValueError: bits must be 2..16") == "raised ValueError: bits must be 2..16"
    assert "not shown" in redact("RuntimeError: " + test.code[5:60])


def test_payloads_are_parsed_with_limits_on_size_depth_and_dtype():
    deep = '{"ok": true, "value": ' + "[" * 5000 + "]" * 5000 + "}"
    assert compare.parse_payload(deep) is None
    assert compare.parse_payload("x" * 5_000_000) is None and compare.parse_payload(None) is None
    forged = {"ok": True, "value": {"array": {"dtype": "U500000000", "shape": [2], "data": [0, 0]}}}
    verdict = compare.judge(forged, ok(np.array([1, 2])), Test("t", 1, "0"))
    assert not verdict.passed and "could not be read" in verdict.message
    huge = {"ok": True, "value": {"array": {"dtype": "float64", "shape": [10**9], "data": [0]}}}
    assert not compare.judge(huge, ok(np.array([1.0])), Test("t", 1, "0")).passed


def test_a_failed_call_is_named_with_its_inputs():
    ref = {"ok": True, "value": {"list": [enc(1), enc(2)]}, "calls": ["f(array(shape=(3,), ...))", "f(7)"]}
    ours = {"ok": True, "value": {"list": [enc(1), enc(3)]}}
    verdict = compare.judge(ours, ref, Test("t", 1, "0"))
    assert verdict.message.startswith("call 2 of 2, f(7):"), verdict.message
    raised = {"ok": False, "error": "TypeError", "message": "boom", "is_exception": True, "calls": ["f(1)"]}
    assert "in call 1, f(array(shape=(3,), ...))" in compare.judge(raised, ref, Test("t", 1, "0")).message


def test_a_reference_that_ran_out_of_memory_is_refused_not_cached(tmp_path, monkeypatch):
    from autograder import grade as grading
    from autograder.runner import RunResult

    tests = grading.load_tests(LAB)
    fake = {t.name: {"ok": True, "value": None} for t in tests}
    fake[tests[0].name] = {"ok": False, "error": "MemoryError", "message": "", "is_exception": True}
    monkeypatch.setattr(grading, "CACHE", tmp_path)
    monkeypatch.setattr(grading, "run_submission", lambda *a, **k: (fake, RunResult(), []))
    with pytest.raises(RuntimeError, match="failed on this machine"):
        grading.reference_payloads(LAB)
    assert not list(tmp_path.iterdir())
