"""batch: one result per student, atomic and complete even when submissions are broken; a gradebook that agrees."""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB = "01_quantization_basics"


def test_batch_grades_everyone_and_its_gradebook_matches_the_results(tmp_path):
    submissions = tmp_path / "submissions"
    (submissions / "bob").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / f"{LAB}.py", submissions / "alice.py")
    (submissions / "bob" / "notes.txt").write_text("I forgot the notebook")
    (submissions / "carol.ipynb").write_text("{ this is not json")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder", "batch", str(submissions), "--lab", LAB, "--jobs", "2",
               "--out", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    results = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/results.json")}
    assert set(results) == {"alice", "bob", "carol"}
    assert results["alice"]["score"] == results["alice"]["max_score"] == 100
    assert results["bob"]["score"] == 0 and "no submission" in results["bob"]["output"]
    assert results["carol"]["score"] == 0 and "not valid JSON" in results["carol"]["output"]
    with open(out / "gradebook.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    for student, data in results.items():
        assert float(rows[student]["score"]) == data["score"]
        for test in data["tests"]:
            assert float(rows[student][test["name"]]) == test["score"]
    assert rows["carol"]["status"] == "unreadable" and rows["alice"]["status"] == "graded"

    alice = out / "alice" / "results.json"
    before = alice.stat().st_mtime_ns
    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0 and alice.stat().st_mtime_ns == before, "a rerun must skip finished students"


def test_usage_errors_exit_with_status_2(tmp_path):
    for args in (["grade", str(tmp_path / "missing.py"), "--lab", LAB], ["grade", "x.py", "--lab", "99_nope"],
                 ["batch", str(tmp_path / "nowhere"), "--lab", LAB, "--out", str(tmp_path)]):
        run = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT, capture_output=True, timeout=60)
        assert run.returncode == 2, (args, run.stderr)
