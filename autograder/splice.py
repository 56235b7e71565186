"""Build the notebook that is graded: the lab's own cells, the student's task code spliced in, then the tests.

Nothing else from the submission is trusted: not its check cells, outputs, metadata, kernelspec or tags. From the
submission we take, for each task function of the lab, the student's last top-level definition of it, plus the
imports and helper definitions that sit in the same cells (students often write a helper next to a task).
"""

from __future__ import annotations

import ast
import functools
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode

from autograder.spec import ROOT, Test

MIME = "application/vnd.compresslab.autograder+json"
MAX_SUBMISSION_BYTES = 20_000_000
PREAMBLE = (Path(__file__).parent / "kernel_preamble.py").read_text()


class SubmissionError(ValueError):
    """The submission cannot be read at all (not a notebook, empty, too large); the message tells the student why."""


class RefusedSubmission(SubmissionError):
    """The submission is not a plain file (a symbolic link): grading it could grade something else."""


@dataclass
class StudentCode:
    """What was taken from a submission, and what was wrong with it."""

    definitions: dict[str, str] = field(default_factory=dict)  # task function name -> its last definition
    support: dict[str, str] = field(default_factory=dict)  # task function name -> imports and helpers of its cell
    problems: list[str] = field(default_factory=list)


def read_submission(path: Path) -> list[str]:
    """The sources of the code cells of a .ipynb or Jupytext .py submission."""
    if path.is_symlink():
        raise RefusedSubmission(f"{path.name!r} is a symbolic link; hand in the notebook file itself")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as err:
        raise SubmissionError(f"{path.name!r} could not be opened ({err.strerror})") from err
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SubmissionError(f"{path.name!r} is not a file")
        data = os.read(fd, MAX_SUBMISSION_BYTES + 1)
    finally:
        os.close(fd)
    if not data:
        raise SubmissionError("the submission is empty")
    if len(data) > MAX_SUBMISSION_BYTES:
        raise SubmissionError(f"the submission is larger than the limit of {MAX_SUBMISSION_BYTES:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SubmissionError("the submission is not a text file (not UTF-8); hand in the .ipynb or .py lab") from err
    if path.suffix == ".ipynb":
        try:
            raw = json.loads(text)
        except RecursionError as err:
            raise SubmissionError("the .ipynb file is nested too deeply to be a notebook") from err
        except json.JSONDecodeError as err:
            raise SubmissionError(f"the .ipynb file is not valid JSON (line {err.lineno}): was it saved fully?"
                                  ) from err
        if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
            raise SubmissionError("the .ipynb file has no list of cells: it is not a Jupyter notebook")
        sources = []
        for number, cell in enumerate(raw["cells"], start=1):
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                source = cell.get("source", "")
                if isinstance(source, list) and all(isinstance(line, str) for line in source):
                    source = "".join(source)
                if not isinstance(source, str):
                    raise SubmissionError(f"cell {number} of the .ipynb file has a source that is not text")
                sources.append(source)
        return sources
    if path.suffix == ".py":
        try:
            nb = jupytext.reads(text, fmt="py:percent")
        except Exception as err:  # jupytext's errors on odd input are not documented
            raise SubmissionError(f"the .py file could not be read as a notebook ({type(err).__name__})") from err
        return [cell.source for cell in nb.cells if cell.cell_type == "code"]
    raise SubmissionError(f"a submission must be a .ipynb or .py file, got {path.name!r}")


def stub_functions(lab_cell_source: str) -> list[str]:
    """Names of the top-level functions/classes of a lab cell whose body raises NotImplementedError (the stubs)."""
    names = []
    for node in ast.parse(lab_cell_source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and any(
                isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call) and isinstance(n.exc.func, ast.Name)
                and n.exc.func.id == "NotImplementedError" for n in ast.walk(node)):
            names.append(node.name)
    return names


def _python_source(cell_source: str) -> str:
    """Cell source with IPython syntax (magics, !commands) turned into Python."""
    return TransformerManager().transform_cell(cell_source)


def _segment(source: str, node: ast.stmt) -> str:
    lines = source.splitlines()
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "\n".join(lines[start - 1:node.end_lineno])


def extract_student_code(cells: list[str], task_names: list[str]) -> StudentCode:
    """For each task name, the student's last definition, and the imports and helper defs of its cell."""
    found = StudentCode()
    wanted = set(task_names)
    for number, raw in enumerate(cells, start=1):
        try:
            source = _python_source(raw)
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
            line = getattr(err, "lineno", "?")
            found.problems.append(f"code cell {number} has a syntax error (line {line}): {getattr(err, 'msg', err)}; "
                                  "the functions in it were not graded")
            continue
        defined = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        tasks_here = [n.name for n in defined if n.name in wanted]
        if not tasks_here:
            continue
        support = [_segment(source, n) for n in tree.body
                   if isinstance(n, (ast.Import, ast.ImportFrom)) or (n in defined and n.name not in wanted)]
        for node in defined:
            if node.name in wanted:
                found.definitions[node.name] = _segment(source, node)
                found.support[node.name] = "\n\n".join(support)
    missing = [name for name in task_names if name not in found.definitions]
    if missing and len(missing) == len(task_names):
        found.problems.append("the submission defines none of this lab's functions (" + ", ".join(missing)
                              + "): was it written for another lab?")
    elif missing:
        found.problems.append("no definition found for " + ", ".join(missing))
    return found


def _code_cell(source: str, role: str, **extra: object) -> NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={"autograder": {"role": role, **extra}})


def test_cell_source(index: int, test: Test, task_names: list[str] = ()) -> str:
    """A test's code wrapped in a function whose return value is the code's last expression, then reported."""
    tree = ast.parse(test.code)
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        tree.body[-1] = ast.Return(tree.body[-1].value)
    body = ast.unparse(ast.fix_missing_locations(tree)) or "return None"
    indented = "\n".join("    " + line for line in body.splitlines())
    return (f"def __autograder_test():\n{indented}\n\n"
            f"__autograder_report({index}, __autograder_test, {list(task_names)!r})\n")


def lab_path(lab: str) -> Path:
    return ROOT / "labs" / f"{lab}.py"


def lab_notebook(lab: str) -> NotebookNode:
    """The generated lab as a notebook, parsed once per version of the file (a batch grades it many times)."""
    path = lab_path(lab)
    return _parsed(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _parsed(path: str, mtime_ns: int) -> NotebookNode:
    return jupytext.read(path)


@functools.lru_cache(maxsize=4096)
def _test_cell(index: int, test: Test, task_names: tuple[str, ...]) -> str:
    return test_cell_source(index, test, task_names)


def build_graded_notebook(lab: str, student: StudentCode | None, tests: list[Test], nonce: str) -> NotebookNode:
    """Lab cells (no slow cells, no check cells), task cells from ``student`` (None: the lab's stubs), then tests."""
    lab_nb = lab_notebook(lab)
    cells = [_code_cell(PREAMBLE.replace("__NONCE__", nonce).replace("__MIME__", MIME), "preamble")]
    task_names: list[str] = []
    for cell in lab_nb.cells:
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type != "code" or tags & {"slow", "raises-exception"}:
            continue
        stubs = stub_functions(cell.source)
        task_names += stubs
        if not stubs:
            cells.append(_code_cell(cell.source, "setup"))
            continue
        if student is None:
            cells.append(_code_cell(cell.source, "task", functions=stubs))
            continue
        # The lab's stubs first, so a missing function fails its own tests, not the notebook; then the student's
        # imports and helpers; then the student's task functions last, so no helper cell can shadow them.
        parts = [cell.source]
        for name in stubs:
            support = student.support.get(name, "")
            if support and support not in parts:
                parts.append(support)
        parts += [student.definitions[name] for name in stubs if name in student.definitions]
        cells.append(_code_cell("\n\n\n".join(parts), "task", functions=stubs))
    for index, test in enumerate(tests):
        cells.append(_code_cell(_test_cell(index, test, tuple(task_names)), "test", index=index))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb
