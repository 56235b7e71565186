"""Execute a graded notebook under nbval, in a child process, with the kernel in the sandbox; return the records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.sandbox import isolation
from autograder.spec import ROOT

KERNEL_NAME = "autograder-sandbox"


@dataclass(frozen=True)
class Limits:
    """Per-submission limits: seconds per test cell and per lab/task cell, seconds in all, memory, output bytes."""

    cell_timeout_s: int = 30
    setup_timeout_s: int = 120
    total_timeout_s: int = 240
    memory_mb: int = 4096
    max_output_bytes: int = 2_000_000


@dataclass
class RunResult:
    """What one execution left behind: a record per cell, wall time, and anything that went wrong as a whole."""

    records: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    problem: str | None = None
    isolated: bool = False
    not_isolated_because: str = ""


def _write_kernelspec(folder: Path, limits: Limits, hide: list[Path], isolated: bool) -> None:
    argv = [sys.executable, "-m", "autograder.sandbox", "--memory-mb", str(limits.memory_mb),
            "--cpu-seconds", str(limits.total_timeout_s)] + (["--drop-privileges"] if isolated else [])
    for path in hide:
        argv += ["--hide", str(path)]
    spec_dir = folder / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps(
        {"argv": [*argv, "{connection_file}"], "display_name": "autograder sandbox", "language": "python"}))


def run_notebook(nb: nbformat.NotebookNode, limits: Limits, hide: list[Path] = ()) -> RunResult:
    """Run every cell of ``nb`` in order under nbval; a crash or timeout ends the run, never the grader."""
    with tempfile.TemporaryDirectory(prefix="autograder-run-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o700)
        notebook = work / "graded.ipynb"
        nbformat.write(nb, notebook)
        isolated, why_not = isolation()
        _write_kernelspec(work / "jupyter", limits, [ROOT / "solutions", ROOT / "autograder", ROOT / "build", work,
                                                     *hide], isolated)
        record = work / "record.json"
        env = {**os.environ, "JUPYTER_PATH": str(work / "jupyter"), "AUTOGRADER_RECORD": str(record),
               "AUTOGRADER_MAX_OUTPUT": str(limits.max_output_bytes),
               "AUTOGRADER_SETUP_TIMEOUT": str(limits.setup_timeout_s), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
               "PYTHONPATH": str(ROOT), "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        command = [sys.executable, "-m", "pytest", str(notebook), "--nbval-lax",
                   f"--nbval-cell-timeout={limits.cell_timeout_s}", f"--nbval-kernel-name={KERNEL_NAME}",
                   "-p", "autograder.capture", "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:randomly",
                   "-q", "-o", "addopts=", "--rootdir", str(work)]
        result = RunResult(isolated=isolated, not_isolated_because=why_not)
        start = time.monotonic()
        process = subprocess.Popen(command, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            log, _ = process.communicate(timeout=limits.total_timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the kernel follows through its parent-death signal
            log, _ = process.communicate()
            result.problem = f"the submission ran past the total time limit of {limits.total_timeout_s} s"
        result.seconds = time.monotonic() - start
        if record.exists():
            result.records = json.loads(record.read_text())
        elif result.problem is None:
            tail = log.decode(errors="replace")[-1500:]
            result.problem = f"the notebook could not be run (exit code {process.returncode}): {tail}"
        return result
