"""``make release``: the course as students get it, in one folder (``python -m tools.release OUT``).

It holds the lectures, the generated labs, compresslab, the grading engine with each lab's public checks, the README
and the environment files, and a Makefile with the student's targets (lab, check, course). It holds no solutions,
no hidden tests and no mutants: each lab's public checks travel as autograder/public/NN_slug.json, the visible tests
with the reference solution's results for them, so ``make check`` grades without the solution.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from autograder.grade import labs, reference_payloads
from autograder.spec import load_tests, public_record

ROOT = Path(__file__).resolve().parents[1]
MARKER = ".course-release"
TOP_FILES = ("README.md", "requirements.txt", "environment.yml", "pyproject.toml", "jupytext.toml", ".gitignore")
TREES = {"lectures": "[0-9][0-9]_*.py", "labs": "[0-9][0-9]_*.py", "compresslab": "*.py", "autograder": "*.py"}
TOOLS = ("__init__.py", "notebooks.py", "site.py", "common.mk")


def release_files() -> dict[str, Path]:
    """Path in the release -> the course file it is copied from."""
    files = {name: ROOT / name for name in TOP_FILES}
    files["Makefile"] = ROOT / "tools" / "student.mk"
    for tree, pattern in TREES.items():
        files.update({f"{tree}/{p.name}": p for p in sorted((ROOT / tree).glob(pattern))})
    files.update({f"tools/{name}": ROOT / "tools" / name for name in TOOLS})
    return files


def _fresh_folder(out: Path) -> None:
    """Empty ``out`` for a new release, refusing to delete a folder that is not an earlier release."""
    if out.exists():
        if not (out / MARKER).exists() and any(out.iterdir()):
            raise SystemExit(f"error: {out} exists and is not a course release; choose an empty or new folder")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("written by `make release`; the next release replaces this folder\n")


def build_release(out: Path, site: bool = True) -> list[str]:
    """Write the student release to ``out`` (with its site, the lectures executed, unless not ``site``); return the
    relative paths written."""
    _fresh_folder(out)
    written = []
    for relative, source in release_files().items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        written.append(relative)
    for lab in labs():
        record = public_record(load_tests(lab), reference_payloads(lab))
        relative = f"autograder/public/{lab}.json"
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_text(json.dumps(record, indent=1))
        written.append(relative)
    if site:
        from tools.notebooks import execute_all
        from tools.site import build_site

        execute_all(("lectures",))
        build_site(out / "site", student=True)
        written += [str(p.relative_to(out)) for p in sorted((out / "site").rglob("*")) if p.is_file()]
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the release folder, for example build/release")
    args = parser.parse_args(argv)
    written = build_release(args.out)
    print(f"wrote {len(written)} files to {args.out}: no solutions, hidden tests or mutants; the site is "
          f"{args.out / 'site' / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
