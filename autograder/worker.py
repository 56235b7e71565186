"""A grading worker: one process that has paid pytest's and nbval's imports runs graded notebook after notebook.

``python -m autograder.worker`` reads one job per line on stdin (the fields of ``capture.Job`` as JSON), runs the
notebook under nbval with the ``capture`` plugin, and answers ``{"exit": N}`` on the protocol stream. pytest's own
output goes to the job's log file. Student code never runs here: it runs in the sandboxed kernel, which this process
drives. The grader kills a worker whose job runs past its total time limit and starts a new one.
"""

from __future__ import annotations

import json
import os
import sys

# pytest's built-in plugins that a graded notebook never uses
UNUSED_PLUGINS = ("cacheprovider", "doctest", "junitxml", "pastebin", "stepwise", "unittest", "faulthandler",
                  "unraisableexception", "threadexception")  # the last two run gc.collect() at every session end


def pytest_args(job) -> list[str]:
    folder = os.path.dirname(job.notebook)
    disabled = [arg for name in UNUSED_PLUGINS for arg in ("-p", f"no:{name}")]
    return [job.notebook, "--nbval-lax", f"--nbval-cell-timeout={job.cell_timeout_s}", "-p", "nbval.plugin",
            *disabled, "--noconftest", "-q", "-c", os.path.join(folder, "pytest.ini"), "--rootdir", folder,
            "-o", "addopts="]


def _reap() -> None:
    """Collect every finished child (killed kernels), so none lingers as a zombie holding its uid's slot."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main() -> int:
    jobs = os.fdopen(os.dup(0), "r")
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # nothing pytest reads or prints may touch the protocol streams
        os.dup2(devnull, fd)
    import pytest

    from autograder.capture import Capture, Job

    for line in jobs:
        job = Job(**json.loads(line))
        log = os.open(os.path.join(os.path.dirname(job.notebook), "pytest.log"),
                      os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        Capture.current = Capture(job)
        try:
            code = int(pytest.main(pytest_args(job), plugins=[Capture.current]))
        except BaseException as err:  # noqa: B036 - report it and go on with the next job
            print(f"worker: {type(err).__name__}: {err}", file=sys.stderr)
            code = -1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
        _reap()
        protocol.write(json.dumps({"exit": code}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
