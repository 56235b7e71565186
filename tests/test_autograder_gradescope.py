"""The Gradescope package: run_autograder in a temporary folder laid out like Gradescope's /autograder."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from autograder.gradescope import build_zip

ROOT = Path(__file__).resolve().parents[1]
LAB = "01_quantization_basics"


def test_run_autograder_grades_the_submission_into_results_json(tmp_path):
    bundle = build_zip(LAB, tmp_path / "autograder.zip")
    home = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        assert {"setup.sh", "run_autograder"} <= set(names)
        assert not any(n.startswith("autograder/tests/") and not n.endswith(f"{LAB}.py") for n in names)
        assert f"solutions/{LAB}.py" in names and "compresslab/data.py" in names
        z.extractall(home / "source")
    shutil.copy(home / "source" / "run_autograder", home / "run_autograder")  # as Gradescope does
    os.chmod(home / "run_autograder", 0o755)
    (home / "submission").mkdir()
    shutil.copy(ROOT / "solutions" / f"{LAB}.py", home / "submission" / "lab.py")
    env = {**os.environ, "AUTOGRADER_HOME": str(home), "AUTOGRADER_PYTHON": sys.executable}
    run = subprocess.run([str(home / "run_autograder")], env=env, capture_output=True, text=True, timeout=600)
    results = json.loads((home / "results" / "results.json").read_text())
    assert results["score"] == results["max_score"] == 100, run.stdout + run.stderr
    assert {t["visibility"] for t in results["tests"]} <= {"visible", "after_published"}

    (home / "submission" / "lab.py").unlink()
    run = subprocess.run([str(home / "run_autograder")], env=env, capture_output=True, text=True, timeout=600)
    results = json.loads((home / "results" / "results.json").read_text())
    assert results["score"] == 0 and "could not be read" in results["output"]
