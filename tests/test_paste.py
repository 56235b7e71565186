"""The "lecture pasted" submission that validate grades: fast checks, no grading."""

import ast

import pytest

from autograder.paste import _cells, lecture_pasted_source
from autograder.spec import ROOT

LABS = ["01_quantization_basics", "02_calibration_ptq"]


@pytest.mark.parametrize("lab", LABS)
def test_pasted_source_parses_and_keeps_the_lab_cells(lab):
    pasted = lecture_pasted_source(lab)
    ast.parse(pasted)
    lab_source = (ROOT / "labs" / f"{lab}.py").read_text()
    assert len(_cells(pasted)) == len(_cells(lab_source))
    for cell in _cells(lab_source):
        assert cell.rstrip("\n") in pasted


@pytest.mark.parametrize("lab", LABS)
def test_pasted_source_holds_the_lectures_definitions_of_graded_names(lab):
    pasted = lecture_pasted_source(lab)
    lecture = (ROOT / "lectures" / f"{lab}.py").read_text()
    lab_tree = ast.parse((ROOT / "labs" / f"{lab}.py").read_text())
    lab_names = {n.name for n in lab_tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    lecture_defs = {n.name: ast.get_source_segment(lecture, n) for n in ast.parse(lecture).body
                    if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    shared = lab_names & set(lecture_defs)
    assert shared, "the lab and the lecture share no graded name: nothing to paste"
    for name in shared:
        assert lecture_defs[name] in pasted, f"the lecture's {name} is not pasted"


def test_pasted_cell_carries_the_helpers_it_uses():
    pasted = lecture_pasted_source("01_quantization_basics")
    cell = next(c for c in _cells(pasted) if "def qrange" in c and "Pasted from the lecture" in c)
    assert "def _check_bits" in cell and "import numpy as np" in cell
