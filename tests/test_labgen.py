import textwrap
from pathlib import Path

import jupytext
import pytest

from tools import labgen
from tools.tags import ALLOWED_TAGS, TagError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for d in ("lectures", "solutions", "labs") for p in (ROOT / d).glob("[0-9][0-9]_*.py"))


def make_solution(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "99_demo.py"
    path.write_text(textwrap.dedent(body).lstrip())
    return path


def cells_of(text: str):
    return jupytext.reads(text, fmt="py:percent").cells


GOOD = '''
    # %% [markdown]
    # # Demo lab

    # %%
    import math

    # %%
    def double(x: float) -> float:
        """Twice x."""
        ### BEGIN SOLUTION
        ### HINT: Task 1: multiply by two.
        return 2 * x
        ### END SOLUTION

    # %%
    def quadruple(x: float) -> float:
        return double(double(x))

    # %%
    assert double(2) == 4, "double(2) should be 4"

    # %% tags=["slow"]
    print(quadruple(math.pi))

    # %% tags=["solution"]
    print("only in the solution")

    # %% [markdown] tags=["answer"]
    # The reference answer.

    # %%
    print("no stub here")
'''


def test_region_becomes_a_raise_with_the_hint_at_the_marker_indentation(tmp_path):
    lab = labgen.generate_lab(make_solution(tmp_path, GOOD))
    assert '    raise NotImplementedError("Task 1: multiply by two.")' in lab
    assert "return 2 * x" not in lab and "### " not in lab
    assert '"""Twice x."""' in lab


def test_solution_cells_are_dropped_and_answers_get_a_placeholder(tmp_path):
    cells = cells_of(labgen.generate_lab(make_solution(tmp_path, GOOD)))
    assert not any("only in the solution" in c.source for c in cells)
    answers = [c for c in cells if "answer" in c.metadata.get("tags", [])]
    assert [c.source for c in answers] == [labgen.ANSWER_PLACEHOLDER]


def test_cells_calling_a_stub_directly_or_indirectly_are_tagged_raises_exception(tmp_path):
    cells = cells_of(labgen.generate_lab(make_solution(tmp_path, GOOD)))
    tagged = {c.source.splitlines()[0] for c in cells if "raises-exception" in c.metadata.get("tags", [])}
    assert tagged == {'assert double(2) == 4, "double(2) should be 4"', "print(quadruple(math.pi))"}


def test_the_generated_lab_runs_and_raises_only_in_tagged_cells(tmp_path):
    cells = cells_of(labgen.generate_lab(make_solution(tmp_path, GOOD)))
    namespace: dict = {}
    for cell in (c for c in cells if c.cell_type == "code"):
        expect = "raises-exception" in cell.metadata.get("tags", [])
        if expect:
            with pytest.raises(NotImplementedError, match="Task 1"):
                exec(cell.source, namespace)
        else:
            exec(cell.source, namespace)


@pytest.mark.parametrize("body, message", [
    ("# %%\ndef f():\n    ### BEGIN SOLUTION\n    ### HINT: h\n    return 1\n", r"99_demo.py:3: .* never closed"),
    ("# %%\ndef f():\n    ### BEGIN SOLUTION\n    ### HINT: h\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n",
     r"99_demo.py:5: nested .* line 3"),
    ("# %%\ndef f():\n    return 1\n    ### END SOLUTION\n", r"99_demo.py:4: .* without a matching"),
    ("# %%\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", r"99_demo.py:3: .* no '### HINT"),
    ("# %%\ndef f():\n    ### BEGIN SOLUTION\n    ### HINT: h\n    x = 1\n\n# %%\n    ### END SOLUTION\n",
     r"99_demo.py:3: .* not closed before the next cell \(line 7\)"),
    ("# %%\ndef f():\n    pass  ### BEGIN SOLUTION\n", r"99_demo.py:3: .* stand alone"),
])
def test_broken_markers_fail_with_file_and_line(tmp_path, body, message):
    with pytest.raises(labgen.LabGenError, match=message):
        labgen.generate_lab(make_solution(tmp_path, body))


def test_a_task_that_no_later_cell_checks_is_refused(tmp_path):
    body = "# %%\ndef f():\n    ### BEGIN SOLUTION\n    ### HINT: Task 1: h\n    return 1\n    ### END SOLUTION\n"
    with pytest.raises(labgen.LabGenError, match=r"\['f'\] are never called"):
        labgen.generate_lab(make_solution(tmp_path, body))


def test_unknown_tags_are_refused(tmp_path):
    with pytest.raises(TagError, match="slwo"):
        labgen.generate_lab(make_solution(tmp_path, '# %% tags=["slwo"]\nx = 1\n'))


@pytest.mark.parametrize("solution", labgen.solution_files(), ids=lambda p: p.stem)
def test_committed_lab_equals_a_freshly_generated_one(solution):
    lab = labgen.lab_path(solution)
    assert lab.exists(), f"{lab} is missing: run `make labs`"
    assert lab.read_text() == labgen.generate_lab(solution), f"{lab} is stale: run `make labs` and commit it"


def test_every_solution_has_a_lab_and_a_lecture():
    for solution in labgen.solution_files():
        assert (ROOT / "labs" / solution.name).exists()
        assert (ROOT / "lectures" / solution.name).exists()


@pytest.mark.parametrize("path", sorted((ROOT / "labs").glob("*.py")), ids=lambda p: p.stem)
def test_no_solution_marker_survives_in_a_lab(path):
    text = path.read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "### HINT"):
        assert marker not in text, f"{path.name} still contains {marker!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_cell_tag_is_on_the_allow_list(path):
    for cell in jupytext.read(path).cells:
        unknown = set(cell.metadata.get("tags", [])) - set(ALLOWED_TAGS)
        assert not unknown, f"{path.name}: unknown tags {unknown}"


def test_tags_are_written_even_when_the_solution_has_none(tmp_path):
    body = ("# %%\ndef f():\n    ### BEGIN SOLUTION\n    ### HINT: Task 1: h\n    return 1\n    ### END SOLUTION\n"
            "\n# %%\nf()\n")
    lab = labgen.generate_lab(make_solution(tmp_path, body))
    assert '# %% tags=["raises-exception"]\nf()' in lab
