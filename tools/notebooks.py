"""Build .ipynb files from the py:percent sources, execute them, and render them as HTML.

Usage: ``python -m tools.notebooks ipynb OUT_DIR`` writes an unexecuted .ipynb for every lecture, solution and lab
(the files nbval runs); ``python -m tools.notebooks course`` executes every lecture and solution into build/executed/
and renders build/site/ with an index page.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
SOURCE_DIRS = ("lectures", "solutions", "labs")
KERNEL_SPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def sources(dirs: tuple[str, ...] = SOURCE_DIRS) -> list[Path]:
    """Every NN_slug.py under ``dirs``, in directory then module order."""
    return [path for d in dirs for path in sorted((ROOT / d).glob("[0-9][0-9]_*.py"))]


def to_notebook(source: Path) -> nbformat.NotebookNode:
    """Read a py:percent file as a notebook with the current environment's Python kernel."""
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = dict(KERNEL_SPEC)
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write_ipynb(sources_: list[Path], out_dir: Path) -> list[Path]:
    """Write ``out_dir/<dir>/<slug>.ipynb`` for each source and return the paths."""
    written = []
    for source in sources_:
        target = out_dir / source.parent.name / f"{source.stem}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(to_notebook(source), target)
        written.append(target)
    return written


def execute(source: Path, timeout: int = 300) -> tuple[nbformat.NotebookNode, float]:
    """Execute a notebook top to bottom in a fresh kernel; return it with its wall time in seconds."""
    nb = to_notebook(source)
    # The kernel inherits this: figures are embedded in the notebook (MPLBACKEND=Agg, set for tests, would drop them).
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(source.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    return nb, seconds


def render_html(nb: nbformat.NotebookNode) -> str:
    """A standalone HTML page (MathJax for the math, images inline); cells tagged hide-input show output only."""
    exporter = HTMLExporter(template_name="lab")
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={"hide-input"}), enabled=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def _execute_and_render(source: Path) -> tuple[str, str, float]:
    nb, seconds = execute(source)
    executed = BUILD / "executed" / source.parent.name / f"{source.stem}.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, executed)
    page = BUILD / "site" / source.parent.name / f"{source.stem}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render_html(nb))
    return source.parent.name, source.stem, seconds


def title_of(source: Path) -> str:
    """The first markdown heading of a notebook, without the leading #s."""
    for line in source.read_text().splitlines():
        if line.startswith("# #"):
            return line.lstrip("# ").strip()
    return source.stem


def index_page(rows: list[tuple[str, str, float]]) -> str:
    """The course index: one row per module with links to its rendered lecture and solution."""
    by_slug: dict[str, dict[str, float]] = {}
    for kind, slug, seconds in rows:
        by_slug.setdefault(slug, {})[kind] = seconds
    lines = []
    for slug, kinds in sorted(by_slug.items()):
        links = " · ".join(f'<a href="{kind}/{slug}.html">{kind[:-1]}</a> ({kinds[kind]:.0f} s)'
                           for kind in ("lectures", "solutions") if kind in kinds)
        title = html.escape(title_of(ROOT / "lectures" / f"{slug}.py"))
        lines.append(f"<tr><td>{slug[:2]}</td><td>{title}</td><td>{links}</td></tr>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Neural Network Compression from Scratch</title>
<style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;line-height:1.5}}
td,th{{padding:.3rem .8rem;text-align:left;border-bottom:1px solid #ddd}}</style></head>
<body><h1>Neural Network Compression from Scratch</h1>
<p>Each lecture and reference solution below was executed top to bottom when this site was built;
the times are that run's wall-clock seconds.</p>
<table><tr><th>#</th><th>Module</th><th>Pages</th></tr>
{chr(10).join(lines)}
</table></body></html>
"""


def build_course(jobs: int = 2) -> Path:
    """Execute every lecture and solution, render each, and write build/site/index.html."""
    todo = sources(("lectures", "solutions"))
    if jobs > 1:
        os.environ["OMP_NUM_THREADS"] = "1"  # parallel kernels: one thread each, or they fight over the cores
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        rows = list(pool.map(_execute_and_render, todo))
    for kind, slug, seconds in rows:
        print(f"{kind}/{slug}: {seconds:.1f} s")
    index = BUILD / "site" / "index.html"
    index.write_text(index_page(rows))
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ipynb = sub.add_parser("ipynb", help="write unexecuted .ipynb files for nbval")
    ipynb.add_argument("out_dir", type=Path)
    course = sub.add_parser("course", help="execute and render every lecture and solution")
    course.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    if args.command == "ipynb":
        for path in write_ipynb(sources(), args.out_dir):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    else:
        print(f"wrote {build_course(args.jobs).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
