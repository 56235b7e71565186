"""The "lecture pasted" submission: what a student gets by copying the lecture's code into the lab.

For each task cell of a lab (a cell that raises ``NotImplementedError``), every graded function or class that the
lecture also defines is pasted after the cell's stub, with the lecture's imports and the lecture helpers and constants
it uses (transitively), in the lecture's order. The later definition wins when the notebook runs, so the stubs that
the lecture does not cover stay unanswered. ``validate`` grades this submission: a lab whose answers are in the
reading scores high, and the check fails above a third of the points.
"""

from __future__ import annotations

import ast
import re

from autograder.spec import ROOT

CELL = re.compile(r"^# %%.*$", re.MULTILINE)


def _cells(source: str) -> list[str]:
    """The cells of a py:percent file, each starting with its ``# %%`` marker line (the header is cell 0)."""
    starts = [m.start() for m in CELL.finditer(source)]
    bounds = [0, *starts, len(source)]
    return [source[a:b] for a, b in zip(bounds, bounds[1:]) if source[a:b]]


def _defined(node: ast.stmt) -> set[str]:
    """The top-level names a statement binds (functions, classes, assigned constants)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {t.id for t in targets if isinstance(t, ast.Name)}
    return set()


def _used(node: ast.AST) -> set[str]:
    """The free names a definition reads: loads, less its arguments and the names it assigns."""
    local = {a.arg for n in ast.walk(node) if isinstance(n, ast.arguments)
             for a in [*n.posonlyargs, *n.args, *n.kwonlyargs, n.vararg, n.kwarg] if a is not None}
    local |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    if isinstance(node, ast.Assign | ast.AnnAssign):
        local = set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - local


def _lecture_definitions(lecture: str) -> tuple[list[str], dict[str, tuple[int, ast.stmt, str]]]:
    """The lecture's import statements and, per top-level name, (position, node, source) of its last definition."""
    tree = ast.parse(lecture)
    imports: list[str] = []
    defs: dict[str, tuple[int, ast.stmt, str]] = {}
    for position, node in enumerate(tree.body):
        segment = ast.get_source_segment(lecture, node, padded=False) or ""
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.decorator_list:
            first = min(d.lineno for d in node.decorator_list)
            segment = "\n".join(lecture.splitlines()[first - 1:node.end_lineno])
        if isinstance(node, ast.Import | ast.ImportFrom):
            if segment not in imports:
                imports.append(segment)
        for name in _defined(node):
            defs[name] = (position, node, segment)
    return imports, defs


def _closure(names: set[str], defs: dict[str, tuple[int, ast.stmt, str]]) -> list[str]:
    """The lecture sources of `names` and of every lecture definition they use, in the lecture's order."""
    seen: set[str] = set()
    todo = [n for n in names if n in defs]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [n for n in _used(defs[name][1]) if n in defs and n not in seen]
    ordered = sorted({defs[n][0]: defs[n][2] for n in seen}.items())
    return [segment for _, segment in ordered]


def lecture_pasted_source(lab: str) -> str:
    """A Jupytext py:percent submission: lab `lab` with the lecture's same-named definitions in its task cells."""
    lab_source = (ROOT / "labs" / f"{lab}.py").read_text()
    imports, defs = _lecture_definitions((ROOT / "lectures" / f"{lab}.py").read_text())
    out: list[str] = []
    for cell in _cells(lab_source):
        out.append(cell)
        if not cell.startswith("# %%") or "[markdown]" in cell.splitlines()[0] or "NotImplementedError" not in cell:
            continue
        body = "\n".join(cell.splitlines()[1:])
        try:
            graded = {name for node in ast.parse(body).body for name in _defined(node)}
        except SyntaxError:
            continue
        pasted = _closure(graded & set(defs), defs)
        if pasted:
            code = "\n".join(imports) + "\n\n\n" + "\n\n\n".join(pasted)
            out[-1] = cell.rstrip("\n") + "\n\n\n# Pasted from the lecture:\n" + code + "\n\n\n"
    return "".join(out)
