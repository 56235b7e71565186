"""batch: one result per student, atomic and complete even when submissions are broken; a gradebook that agrees
with grading each submission alone."""

import csv
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jupytext
import pytest

from autograder.batch import find_submissions
from autograder.grade import feedback_markdown, grade, gradescope_json
from autograder.sandbox import protections

ROOT = Path(__file__).resolve().parents[1]
LAB = "01_quantization_basics"


HOSTILE = {
    "tamperer": "import numpy as np\nnp.array_equal = lambda *a, **k: True\n\n\n"
                "def qrange(bits, signed, narrow=False):\n    np.allclose = lambda *a, **k: True\n    return (0, 0)\n",
    "exiter": "def qrange(bits, signed, narrow=False):\n    import os\n    os._exit(3)\n",
    "segfaulter": "def qrange(bits, signed, narrow=False):\n    import ctypes\n    return ctypes.string_at(0)\n",
    "memory_bomb": "def sqnr_db(x, x_hat):\n    return bytearray(60 * 2**30)\n",
    "nan": "def sqnr_db(x, x_hat):\n    return float('nan')\n",
    "other_lab": "def calibrate_max(x):\n    return float(abs(x).max())\n",
}


def make_submissions(folder: Path) -> None:
    """20 students: good (.py, .ipynb, in a folder), wrong (7 mutants), hostile, broken and missing."""
    solution = (ROOT / "solutions" / f"{LAB}.py").read_text()
    (folder / "nobody_home").mkdir(parents=True)
    (folder / "nobody_home" / "notes.txt").write_text("I forgot the notebook")
    (folder / "alice.py").write_text(solution)
    jupytext.write(jupytext.reads(solution, fmt="py:percent"), folder / "bob.ipynb")
    (folder / "carol").mkdir()
    shutil.copy(ROOT / "labs" / f"{LAB}.py", folder / "carol" / "lab.py")
    for mutant in sorted((ROOT / "autograder" / "mutants" / LAB).glob("*.py"))[:7]:
        (folder / f"wrong_{mutant.stem}.py").write_text(f"{solution}\n\n# %%\n{mutant.read_text()}")
    for name, cell in HOSTILE.items():  # the hostile cell comes last, so it replaces the solution's function
        (folder / f"{name}.py").write_text(f"{solution}\n\n# %%\n{cell}" if name != "other_lab" else cell)
    (folder / "empty.py").write_text("")
    (folder / "carl.ipynb").write_text("{ this is not json")
    (folder / "syntax.py").write_text("# %%\ndef qrange(bits, signed narrow=False):\n    pass\n")


def test_batch_of_20_mixed_submissions_loses_nothing_and_matches_single_grading(tmp_path):
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    make_submissions(submissions)
    students = find_submissions(submissions)
    assert len(students) == 20
    command = [sys.executable, "-m", "autograder", "batch", str(submissions), "--lab", LAB, "--jobs", "2",
               "--out", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    results = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/results.json")}
    assert set(results) == set(students)
    assert results["alice"]["score"] == results["bob"]["score"] == results["alice"]["max_score"] == 100
    assert max(r["score"] for name, r in results.items() if name not in ("alice", "bob")) < 100
    assert results["nobody_home"]["score"] == 0 and "no submission" in results["nobody_home"]["output"]
    assert results["carl"]["score"] == 0 and "not valid JSON" in results["carl"]["output"]
    assert "another lab" in results["other_lab"]["output"]

    with open(out / "gradebook.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(results)
    for student, data in results.items():
        assert float(rows[student]["score"]) == data["score"]
        for test in data["tests"]:
            assert float(rows[student][test["name"]]) == test["score"]
    assert rows["carl"]["status"] == "unreadable" and rows["alice"]["status"] == "graded"
    assert rows["nobody_home"]["status"] == "no submission"

    # Single grading, same scores and the same feedback: grading is deterministic.
    def single(item):
        student, path = item
        if path is None:
            return student, None
        return student, grade(path, LAB)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for student, report in pool.map(single, ((s, e.path) for s, e in students.items())):
            if report is None:
                continue
            alone = gradescope_json(report)
            batched = results[student]
            assert alone["score"] == batched["score"], student
            assert [t | {"output": ""} for t in alone["tests"]] == [t | {"output": ""} for t in batched["tests"]]
            assert feedback_markdown(report) == (out / student / "feedback.md").read_text(), student

    alice = out / "alice" / "results.json"
    before = alice.stat().st_mtime_ns
    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0 and alice.stat().st_mtime_ns == before, "a rerun must skip finished students"


def test_usage_errors_exit_with_status_2(tmp_path):
    for args in (["grade", str(tmp_path / "missing.py"), "--lab", LAB], ["grade", "x.py", "--lab", "99_nope"],
                 ["batch", str(tmp_path / "nowhere"), "--lab", LAB, "--out", str(tmp_path)]):
        run = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT, capture_output=True, timeout=60)
        assert run.returncode == 2, (args, run.stderr)


# Two hostile students graded beside two honest ones. The spy looks for the other kernels' connection files, sockets
# and processes, listens on loopback, and leaves a process behind that tries to kill and rewrite later kernels; the
# hog fills its process limit and keeps it full.
SPY = '''
def qrange(bits, signed, narrow=False):
    import glob, os, signal, socket, subprocess, sys
    own = os.path.dirname(sys.argv[sys.argv.index("-f") + 1])
    seen = [p for p in glob.glob("/tmp/autograder-sockets-*/*") + glob.glob("/tmp/*/connection.json")
            if not p.startswith(own)] + glob.glob("/home/*") + glob.glob("/root/*")
    others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, 2, os.getpid())]
    daemon = (
        "import os, signal, time\\n"
        "os.setsid()\\n"
        "if os.fork(): os._exit(0)\\n"
        "time.sleep(3)\\n"
        "end = time.time() + 120\\n"
        "while time.time() < end:\\n"
        "    for pid in range(2, 4 * 10**6, 1):\\n"
        "        if pid > 40000: break\\n"
        "        try: os.kill(pid, signal.SIGKILL) if pid != os.getpid() else None\\n"
        "        except OSError: pass\\n"
        "    open('/tmp/marker-outlived', 'w').write('alive')\\n"
        "    time.sleep(0.2)\\n")
    subprocess.Popen([sys.executable, "-c", daemon], start_new_session=True)
    for port in range(1, 1000):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.01).close()
            seen.append(port)
        except OSError:
            pass
    return (len(seen), len(others))
'''

HOG = '''
def qrange(bits, signed, narrow=False):
    import os, time
    children = 0
    try:
        while children < 5000:
            if os.fork() == 0:
                time.sleep(300)
                os._exit(0)
            children += 1
    except OSError:
        pass
    return (children, 0)
'''


def test_hostile_students_in_one_parallel_batch_cannot_touch_the_honest_ones(tmp_path):
    solution = (ROOT / "solutions" / f"{LAB}.py").read_text()
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    submissions.mkdir()
    # sorted order puts a hostile student before each honest one, so with two jobs they run side by side
    (submissions / "a_spy.py").write_text(f"{solution}\n\n# %%\n{SPY}")
    (submissions / "b_honest.py").write_text(solution)
    (submissions / "c_hog.py").write_text(f"{solution}\n\n# %%\n{HOG}")
    (submissions / "d_honest.py").write_text(solution)
    command = [sys.executable, "-m", "autograder", "batch", str(submissions), "--lab", LAB, "--jobs", "2",
               "--out", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    results = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/results.json")}
    assert results["b_honest"]["score"] == results["d_honest"]["score"] == 100, results
    assert results["a_spy"]["score"] < 100 and results["c_hog"]["score"] < 100
    if not protections().mode.startswith("bwrap"):
        pytest.skip(f"without bubblewrap the rest is not protected: {protections().missing}")
    # nothing of the gradings is left: no process they started, no marker written outside the sandbox
    leftover = subprocess.run(["ps", "-eo", "uid=,args="], capture_output=True, text=True).stdout.splitlines()
    assert not [p for p in leftover if "marker-outlived" in p or "time.sleep(300)" in p or "os.setsid" in p]
    assert not Path("/tmp/marker-outlived").exists()
