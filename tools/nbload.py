"""Import a py:percent notebook as a module, so tests can call the functions it defines."""

from __future__ import annotations

import contextlib
import io
import types
from collections.abc import Iterable
from pathlib import Path

import jupytext

from tools.tags import check_tags


def code_cells(path: str | Path, skip_tags: Iterable[str] = ("slow",)) -> list[str]:
    """Sources of the code cells of ``path`` in order, leaving out cells with any tag in ``skip_tags``."""
    nb = jupytext.read(path)
    skip = set(skip_tags)
    sources = []
    for cell in nb.cells:
        tags = set(cell.metadata.get("tags", []))
        check_tags(tags, where=str(path))
        if cell.cell_type == "code" and not tags & skip:
            sources.append(cell.source)
    return sources


def load_module(path: str | Path, skip_tags: Iterable[str] = ("slow",), name: str | None = None) -> types.ModuleType:
    """Execute the code cells of a notebook (skipping ``skip_tags``) in a fresh module and return it.

    IPython magics are not supported: the cell must be plain Python.
    """
    path = Path(path)
    module = types.ModuleType(name or path.stem, f"Loaded from {path}")
    module.__file__ = str(path)
    for index, source in enumerate(code_cells(path, skip_tags)):
        exec(compile(source, f"{path}[cell {index}]", "exec"), module.__dict__)
    return module


def load_solution(slug: str) -> types.ModuleType:
    """The reference solution ``solutions/<slug>.py`` as a module: its checks run quietly, its slow cells skipped.

    For ``make bench``, which times the course's own graded code rather than a copy of it.
    """
    path = Path(__file__).resolve().parents[1] / "solutions" / f"{slug}.py"
    with contextlib.redirect_stdout(io.StringIO()):
        return load_module(path, name=f"solution_{slug[:2]}")
