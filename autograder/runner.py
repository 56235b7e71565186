"""Execute a graded notebook under nbval in a reusable worker process, with the kernel in the sandbox.

Each grading thread keeps one worker (``autograder.worker``), so pytest's and nbval's imports are paid once per
thread, not once per submission. Every grading still gets a fresh kernel in a fresh sandbox: its own folder, its own
ipc sockets and, for a root grader, its own uid.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from autograder import sandbox
from autograder.capture import Job
from autograder.spec import ROOT


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
    protections: sandbox.Protections | None = None


def worker_env() -> dict[str, str]:
    """The worker's environment: the grader's, less what could steer pytest or reach the kernel's command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "AUTOGRADER_", "JUPYTER", "JPY_"))}
    env.update(PYTHONPATH=str(ROOT), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
    return env


class Worker:
    """A child process running graded notebooks one after another; restarted after a kill."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "autograder.worker"], cwd=ROOT, env=worker_env(),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True, start_new_session=True)

    def run(self, job: Job, timeout_s: float) -> int | None:
        """Run ``job``; its pytest exit code, or None when it ran past ``timeout_s`` or the worker died."""
        if self.process is None or self.process.poll() is not None:
            self.process = self._start()
        try:
            self.process.stdin.write(json.dumps(asdict(job)) + "\n")
            self.process.stdin.flush()
        except OSError:
            self.kill()
            return None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if selector.select(timeout=timeout_s):
                line = self.process.stdout.readline()
                if line:
                    return int(json.loads(line)["exit"])
        self.kill()
        return None

    def kill(self) -> None:
        """End the worker and, through their parent-death signal, the kernels it started."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self.process = None


_workers = threading.local()
_all_workers: list[Worker] = []


def thread_worker() -> Worker:
    """This thread's worker, started on first use."""
    if getattr(_workers, "worker", None) is None:
        _workers.worker = Worker()
        _all_workers.append(_workers.worker)
    return _workers.worker


@atexit.register
def _stop_workers() -> None:
    for worker in _all_workers:
        worker.kill()


def run_notebook(nb: nbformat.NotebookNode, lab: str, limits: Limits, hide: list[Path] = ()) -> RunResult:
    """Run every cell of ``nb`` in order under nbval; a crash or timeout ends the run, never the grader."""
    protections = sandbox.protections()
    result = RunResult(protections=protections)
    with tempfile.TemporaryDirectory(prefix="autograder-run-") as tmp, sandbox.UidLease() as lease:
        work = Path(tmp)
        os.chmod(work, 0o700)
        notebook = work / "graded.ipynb"
        nbformat.write(nb, notebook)
        (work / "pytest.ini").write_text("[pytest]\n")
        sockets = sandbox.sockets_folder(lease.uid)
        try:
            hidden = [str(p) for p in (ROOT / "solutions", ROOT / "autograder", ROOT / "build", work, *hide)]
            argv = sandbox.kernel_argv(lab, ROOT, sockets, lease.uid, limits.memory_mb, limits.total_timeout_s,
                                       hidden)
            job = Job(notebook=str(notebook), record=str(work / "record.json"), sockets=sockets, kernel_argv=argv,
                      cell_timeout_s=limits.cell_timeout_s, setup_timeout_s=limits.setup_timeout_s,
                      max_output_bytes=limits.max_output_bytes)
            start = time.monotonic()
            code = thread_worker().run(job, limits.total_timeout_s)
            result.seconds = time.monotonic() - start
        finally:
            shutil.rmtree(sockets, ignore_errors=True)
        record = work / "record.json"
        if record.exists():
            result.records = [json.loads(line) for line in record.read_text().splitlines() if line.endswith("}")]
        if code is None and result.seconds >= limits.total_timeout_s:
            result.problem = f"the submission ran past the total time limit of {limits.total_timeout_s} s"
        elif code is None:
            result.problem = "the grading worker stopped unexpectedly; grade this submission again"
        elif not record.exists():
            log = work / "pytest.log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            result.problem = f"the notebook could not be run (exit code {code}): {tail}"
    return result
