"""Generate the student labs (labs/NN_slug.py) from the reference solutions (solutions/NN_slug.py).

- A region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes ``raise NotImplementedError("<hint>")``,
  the hint taken from the ``### HINT:`` line that opens the region.
- Code cells tagged ``solution`` are dropped; markdown cells tagged ``answer`` keep the tag and get a placeholder.
- Every code cell that calls a stubbed function, directly or through another function of the lab, is tagged
  ``raises-exception``, so the untouched lab runs under nbval with each task raising NotImplementedError.

Usage: ``python -m tools.labgen`` writes labs/; ``python -m tools.labgen --check`` fails when labs/ is stale.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext
from nbformat import NotebookNode

from tools.tags import check_tags

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END, HINT = "### BEGIN SOLUTION", "### END SOLUTION", "### HINT:"
MARKER = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>### (?:BEGIN|END) SOLUTION|### HINT:)(?P<rest>.*)$")
CELL_START = re.compile(r"^# %%")
ANSWER_PLACEHOLDER = "**Your answer:** replace this line with your answer, quoting numbers from your own plot."


class LabGenError(ValueError):
    """The solution file breaks a marker rule; the message names the file and line."""


@dataclass(frozen=True)
class Region:
    """One solution region: the lines it spans in the file (1-based, inclusive) and its hint."""

    begin: int
    end: int
    hint: str


def find_regions(text: str, where: str) -> list[Region]:
    """Check the markers of a py:percent file line by line and return its regions in order."""
    regions: list[Region] = []
    open_line: int | None = None
    hint: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if open_line is not None and CELL_START.match(line):
            raise LabGenError(f"{where}:{open_line}: solution region is not closed before the next cell "
                              f"(line {number})")
        match = MARKER.match(line)
        if match is None:
            if BEGIN in line or END in line or HINT in line:
                raise LabGenError(f"{where}:{number}: a solution marker must stand alone on its line")
            continue
        marker = match["marker"]
        if marker == BEGIN:
            if open_line is not None:
                raise LabGenError(f"{where}:{number}: nested {BEGIN} (the region opened at line {open_line} "
                                  "is still open)")
            if match["rest"].strip():
                raise LabGenError(f"{where}:{number}: nothing may follow {BEGIN} on its line")
            open_line, hint = number, None
        elif marker == HINT:
            if open_line is None or number != open_line + 1:
                raise LabGenError(f"{where}:{number}: {HINT} must be the first line inside a solution region")
            hint = match["rest"].strip()
            if not hint:
                raise LabGenError(f"{where}:{number}: empty hint")
        else:
            if open_line is None:
                raise LabGenError(f"{where}:{number}: {END} without a matching {BEGIN}")
            if hint is None:
                raise LabGenError(f"{where}:{open_line}: solution region has no '{HINT} ...' line after {BEGIN}")
            regions.append(Region(open_line, number, hint))
            open_line = None
    if open_line is not None:
        raise LabGenError(f"{where}:{open_line}: {BEGIN} is never closed by {END}")
    return regions


def stub_source(source: str) -> tuple[str, int]:
    """Replace each region of one code cell by a raise at the marker's indentation; return (source, regions)."""
    out: list[str] = []
    count = 0
    lines = source.split("\n")
    i = 0
    while i < len(lines):
        match = MARKER.match(lines[i])
        if match is None or match["marker"] != BEGIN:
            out.append(lines[i])
            i += 1
            continue
        hint = MARKER.match(lines[i + 1])["rest"].strip()
        out.append(f"{match['indent']}raise NotImplementedError({json.dumps(hint, ensure_ascii=False)})")
        while MARKER.match(lines[i]) is None or MARKER.match(lines[i])["marker"] != END:
            i += 1
        i += 1
        count += 1
    return "\n".join(out), count


def _names_used(nodes: list[ast.stmt], descend_into_defs: bool) -> set[str]:
    """Names loaded in ``nodes``; bodies of nested defs and classes only when ``descend_into_defs``."""
    names: set[str] = set()
    stack: list[ast.AST] = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        if not descend_into_defs and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            # A def runs only its decorators and defaults now; its body runs when called.
            stack.extend(node.decorator_list)
            if not isinstance(node, ast.ClassDef):
                stack.extend(node.args.defaults + [d for d in node.args.kw_defaults if d is not None])
            continue
        stack.extend(ast.iter_child_nodes(node))
    return names


def _top_level_defs(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    return [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def _is_stub_raise(node: ast.AST) -> bool:
    return (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
            and isinstance(node.exc.func, ast.Name) and node.exc.func.id == "NotImplementedError")


def tag_raising_cells(cells: list[NotebookNode], stubbed_cells: set[int], where: str) -> None:
    """Tag ``raises-exception`` on the code cells that call a stub; fail if some stub is never called."""
    trees: dict[int, ast.Module] = {}
    for index, cell in enumerate(cells):
        if cell.cell_type == "code":
            try:
                trees[index] = ast.parse(cell.source)
            except SyntaxError as err:
                raise LabGenError(f"{where}: cell {index} is not valid Python after stubbing: {err}") from err
    stubs: dict[str, int] = {}
    raising_at_top: set[int] = set()
    for index in stubbed_cells:
        tree = trees[index]
        for node in tree.body:
            defines_stub = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and any(
                _is_stub_raise(n) for n in ast.walk(node))
            if defines_stub:
                stubs[node.name] = index
            elif any(_is_stub_raise(n) for n in ast.walk(node)):
                raising_at_top.add(index)
    tainted = set(stubs)
    changed = True
    while changed:
        changed = False
        for tree in trees.values():
            for node in _top_level_defs(tree):
                if node.name not in tainted and _names_used(node.body, descend_into_defs=True) & tainted:
                    tainted.add(node.name)
                    changed = True
    checked: set[str] = set()
    for index, tree in trees.items():
        used = _names_used(tree.body, descend_into_defs=False) & tainted
        if used or index in raising_at_top:
            tags = cells[index].metadata.setdefault("tags", [])
            if "raises-exception" not in tags:
                tags.append("raises-exception")
        checked |= {name for name in used if name in stubs and stubs[name] < index}
    unchecked = sorted(set(stubs) - checked)
    if unchecked:
        raise LabGenError(f"{where}: task function(s) {unchecked} are never called by a later cell; "
                          "add a visible check cell after each task")


def generate_lab(solution: Path) -> str:
    """The lab for ``solution`` as py:percent text."""
    where = str(solution.relative_to(ROOT) if solution.is_relative_to(ROOT) else solution)
    text = solution.read_text()
    find_regions(text, where)
    nb = jupytext.reads(text, fmt="py:percent")
    cells: list[NotebookNode] = []
    stubbed: set[int] = set()
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        check_tags(tags, where)
        if "solution" in tags:
            if cell.cell_type != "code":
                raise LabGenError(f"{where}: the 'solution' tag is for code cells; use 'answer' on markdown")
            continue
        if "answer" in tags:
            if cell.cell_type != "markdown":
                raise LabGenError(f"{where}: the 'answer' tag is for markdown cells")
            cell.source = ANSWER_PLACEHOLDER
        if cell.cell_type == "code":
            cell.source, count = stub_source(cell.source)
            if count:
                stubbed.add(len(cells))
        cells.append(cell)
    tag_raising_cells(cells, stubbed, where)
    nb.cells = cells
    # Keep tags even when the solution had none (jupytext would otherwise infer a filter that drops them).
    nb.metadata.setdefault("jupytext", {}).update(cell_metadata_filter="tags,-all", notebook_metadata_filter="-all")
    return jupytext.writes(nb, fmt="py:percent")


def lab_path(solution: Path) -> Path:
    """labs/NN_slug.py for solutions/NN_slug.py."""
    return ROOT / "labs" / solution.name


def solution_files() -> list[Path]:
    """Every solutions/NN_slug.py in module order."""
    return sorted((ROOT / "solutions").glob("[0-9][0-9]_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a committed lab differs from a fresh one")
    args = parser.parse_args(argv)
    stale = []
    for solution in solution_files():
        target = lab_path(solution)
        fresh = generate_lab(solution)
        current = target.read_text() if target.exists() else ""
        if fresh == current:
            continue
        if args.check:
            stale.append(target)
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), fresh.splitlines(True),
                                                       str(target), "generated", n=1))
        else:
            target.parent.mkdir(exist_ok=True)
            target.write_text(fresh)
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print(f"\n{len(stale)} lab(s) are stale; run `make labs` and commit the result.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
