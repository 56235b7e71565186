"""The nbval plugin for labs: a cell tagged raises-exception must raise NotImplementedError, nothing else."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_nbval_on_lab(tmp_path: Path, check_cell_source: str) -> subprocess.CompletedProcess:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell('def task():\n    raise NotImplementedError("Task 1: do it")'),
        nbformat.v4.new_code_cell(check_cell_source, metadata={"tags": ["raises-exception"]}),
        nbformat.v4.new_code_cell("print('after the task')"),
    ]
    (tmp_path / "labs").mkdir()
    nbformat.write(nb, tmp_path / "labs" / "99_demo.ipynb")
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path / "labs"), "--nbval-lax", "--nbval-current-env",
         "-p", "tools.nbval_lab", "-p", "no:cacheprovider", "-q", "-o", "addopts=", f"--rootdir={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("source, passes, message", [
    ("task()", True, ""),
    ("undefined_name", False, "raised NameError"),
    ("x = 1", False, "ran without error"),
])
def test_tagged_lab_cells_must_raise_not_implemented_error(tmp_path, source, passes, message):
    result = run_nbval_on_lab(tmp_path, source)
    assert (result.returncode == 0) == passes, result.stdout[-2000:]
    assert message in result.stdout
