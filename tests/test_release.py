"""``make release``: the student copy holds no solutions, hidden tests or mutants, and its public checks still grade."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.grade import labs
from autograder.spec import load_tests
from tools.release import build_release

ROOT = Path(__file__).resolve().parents[1]
LAB = "01_quantization_basics"


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("course") / "release"
    build_release(out, site=False)  # the student site is built and checked by `make site-check`
    return out


def release_text(release: Path) -> str:
    return "\n".join(p.read_text() for p in release.rglob("*") if p.is_file())


def test_the_release_has_no_solutions_hidden_tests_or_mutants(release):
    assert not (release / "solutions").exists()
    assert not (release / "autograder" / "tests").exists() and not (release / "autograder" / "mutants").exists()
    assert {p.name for p in (release / "labs").iterdir()} == {p.name for p in (ROOT / "labs").glob("[0-9]*.py")}
    text = release_text(release)
    for lab in labs():
        for test in load_tests(lab):
            if test.visibility == "hidden":  # names may coincide with PyTorch's; code and mistakes are unique
                assert test.code.strip() not in text, f"the code of hidden test {test.name} leaked into the release"
                assert test.mistake not in text, f"the mistake text of hidden test {test.name} leaked"


def test_each_lab_ships_exactly_its_visible_tests_with_reference_results(release):
    for lab in labs():
        record = json.loads((release / "autograder" / "public" / f"{lab}.json").read_text())
        visible = [t.name for t in load_tests(lab) if t.visibility == "visible"]
        assert [t["name"] for t in record["tests"]] == visible
        assert sorted(record["reference"]) == sorted(visible)


def test_make_check_works_in_the_release_and_full_grading_is_refused(release, tmp_path):
    submission = tmp_path / "mine.py"
    shutil.copy(ROOT / "solutions" / f"{LAB}.py", submission)
    command = [sys.executable, "-m", "autograder", "grade", str(submission), "--lab", LAB, "--out", str(tmp_path)]
    checked = subprocess.run(command + ["--public"], cwd=release, capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == results["max_score"] > 0, results["output"]
    assert len(results["tests"]) == len(load_tests(LAB, public=True))
    refused = subprocess.run(command, cwd=release, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "grade with --public" in refused.stderr


def test_the_release_refuses_to_overwrite_a_folder_that_is_not_a_release(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not a course release"):
        build_release(tmp_path)
    assert (tmp_path / "precious.txt").exists()
