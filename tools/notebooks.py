"""Build .ipynb files from the py:percent sources, execute them, and render them as HTML.

Usage: ``python -m tools.notebooks ipynb OUT_DIR`` writes an unexecuted .ipynb for every lecture, solution and lab
(the files nbval runs); ``python -m tools.notebooks course`` executes every lecture and solution into build/executed/
and renders build/site/ with an index page.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

from tools.kernels import AsyncIpcKernelManager

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


def execute(source: Path, timeout: int = 120) -> tuple[nbformat.NotebookNode, float]:
    """Execute a notebook top to bottom in a fresh kernel (``timeout`` seconds a cell; a cell that raises, unless
    tagged raises-exception, fails it); return it with its wall time in seconds."""
    nb = to_notebook(source)
    # The kernel inherits this: figures are embedded in the notebook (MPLBACKEND=Agg, set for tests, would drop them).
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", kernel_manager_class=AsyncIpcKernelManager,
                            resources={"metadata": {"path": str(source.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    return nb, seconds


def _source_key(source: Path) -> str:
    """What an executed copy depends on: the notebook's source and the helper package it imports."""
    digest = hashlib.sha256(source.read_bytes())
    for helper in sorted((ROOT / "compresslab").glob("*.py")):
        digest.update(helper.read_bytes())
    return digest.hexdigest()


def _execute_one(source: Path) -> tuple[str, float]:
    nb, seconds = execute(source)
    nb.metadata["course"] = {"source_key": _source_key(source), "seconds": round(seconds, 1)}
    target = BUILD / "executed" / source.parent.name / f"{source.stem}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return f"{source.parent.name}/{source.stem}", seconds


def _fresh(source: Path) -> float | None:
    """The recorded run time of an executed copy that is current for ``source``, else None."""
    target = BUILD / "executed" / source.parent.name / f"{source.stem}.ipynb"
    if not target.exists():
        return None
    meta = nbformat.read(target, as_version=4).metadata.get("course", {})
    return meta.get("seconds") if meta.get("source_key") == _source_key(source) else None


def execute_all(dirs: tuple[str, ...] = ("lectures", "solutions"), jobs: int = 2, reuse: bool = True) -> dict:
    """Execute every notebook of ``dirs`` into build/executed (failing on the first error), reusing current copies
    when ``reuse``; return and record {"<dir>/<slug>": seconds}."""
    todo, seconds = [], {}
    for source in sources(dirs):
        known = _fresh(source) if reuse else None
        if known is None:
            todo.append(source)
        else:
            seconds[f"{source.parent.name}/{source.stem}"] = known
    if jobs > 1:
        os.environ["OMP_NUM_THREADS"] = "1"  # parallel kernels: one thread each, or they fight over the cores
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        for name, took in pool.map(_execute_one, todo):
            seconds[name] = round(took, 1)
            print(f"executed {name} in {took:.1f} s")
    record = BUILD / "executed" / "seconds.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    recorded = json.loads(record.read_text()) if record.exists() else {}
    record.write_text(json.dumps({**recorded, **seconds}, indent=1, sort_keys=True))
    return seconds


def build_course(jobs: int = 2) -> Path:
    """Execute every lecture and solution (reusing current executed copies) and write the instructor site."""
    from tools.site import build_site

    execute_all(("lectures", "solutions"), jobs)
    return build_site(BUILD / "site")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ipynb = sub.add_parser("ipynb", help="write unexecuted .ipynb files for nbval")
    ipynb.add_argument("out_dir", type=Path)
    course = sub.add_parser("course", help="execute and render every lecture and solution")
    course.add_argument("--jobs", type=int, default=2)
    run = sub.add_parser("execute", help="execute every lecture and solution into build/executed, failing on errors")
    run.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    if args.command == "ipynb":
        for path in write_ipynb(sources(), args.out_dir):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    elif args.command == "execute":
        execute_all(("lectures", "solutions"), args.jobs, reuse=False)
    else:
        print(f"wrote {build_course(args.jobs).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
