"""``python -m autograder gradescope --lab NN_slug -o autograder.zip``: a Gradescope autograder for one lab.

The zip holds setup.sh and run_autograder at its root beside what grading needs: the autograder package,
compresslab, the lab, its solution, its hidden tests and mutants, the pinned requirements. Gradescope unpacks it to
/autograder/source, runs setup.sh once, then its copy /autograder/run_autograder per submission, which grades the first
.ipynb or .py under /autograder/submission into /autograder/results/results.json. $AUTOGRADER_HOME replaces
/autograder, and $AUTOGRADER_PYTHON the interpreter, so a test can run the same script in a temporary folder.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from autograder.spec import ROOT

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image.
set -euo pipefail
cd "${AUTOGRADER_HOME:-/autograder}/source"
if ! command -v python3.11 > /dev/null; then
  apt-get update && apt-get install -y python3.11 python3.11-venv
fi
# The grading kernel's sandbox; without it grading still runs and every results.json says what was not protected.
if ! command -v bwrap > /dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    apt-get update && apt-get install -y bubblewrap || echo "warning: could not install bubblewrap" >&2
  else
    echo "warning: bubblewrap is missing and cannot be installed here (needs root and apt-get)" >&2
  fi
fi
python3.11 -m venv .venv
.venv/bin/python -m pip install --quiet -r requirements.txt
.venv/bin/python -m pip install --quiet --no-deps -e .
.venv/bin/python -c "from autograder.grade import reference_payloads; reference_payloads('__LAB__')"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it always leaves a results.json behind.
set -uo pipefail
home="${AUTOGRADER_HOME:-/autograder}"
cd "$home/source"
python="${AUTOGRADER_PYTHON:-$home/source/.venv/bin/python}"
mkdir -p "$home/results"
"$python" -m autograder gradescope-run --lab __LAB__ --home "$home" \\
  || echo '{"score": 0, "output": "The autograder failed; please tell your instructor."}' > "$home/results/results.json"
"""


def pick_submission(folder: Path) -> Path | None:
    """The first plain .ipynb or .py file under ``folder`` in sorted order (symbolic links are never picked), or a
    symbolic link when nothing else is there, so that grading refuses it with a reason."""
    files, links = [], []
    for parent, _, names in os.walk(folder):  # never follows links to folders
        for name in names:
            path = Path(parent) / name
            if path.suffix in (".ipynb", ".py"):
                (links if path.is_symlink() else files).append(path)
    return min(files, default=None) or min(links, default=None)


def run(lab: str, home: Path) -> int:
    """Grade the submission under ``home``/submission into ``home``/results (what run_autograder calls)."""
    from autograder.grade import grade, write_results

    submission = pick_submission(home / "submission") or home / "submission"
    write_results(grade(submission, lab), home / "results")
    return 0


def _course_files(lab: str) -> list[Path]:
    files = [ROOT / name for name in ("requirements.txt", "pyproject.toml", "README.md", "jupytext.toml")]
    for package in ("autograder", "compresslab"):
        files += [p for p in sorted((ROOT / package).rglob("*.py"))
                  if "__pycache__" not in p.parts and (package != "autograder" or _belongs(p, lab))]
    files += [ROOT / "labs" / f"{lab}.py", ROOT / "solutions" / f"{lab}.py"]
    return files


def _belongs(path: Path, lab: str) -> bool:
    """Hidden tests and mutants of other labs stay out of this lab's package."""
    relative = path.relative_to(ROOT / "autograder").parts
    if relative[0] == "tests":
        return path.stem == lab
    if relative[0] == "mutants":
        return relative[1] == lab
    return True


def build_zip(lab: str, target: Path) -> Path:
    """Write the Gradescope autograder zip for ``lab`` to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16  # executable once unpacked
            bundle.writestr(info, text.replace("__LAB__", lab))
        for path in _course_files(lab):
            bundle.write(path, str(path.relative_to(ROOT)))
    return target
