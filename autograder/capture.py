"""pytest plugin for one graded notebook under nbval; it runs in the grader's worker process, never in the kernel.

- Starts the kernel with the job's sandboxed command, over ipc sockets in the job's private folder.
- Records, for every cell, its status, duration, error and the autograder results it published, as one JSON line
  appended to the job's record file after the cell, so a run killed at the total time limit keeps what it finished.
- Notices a dead kernel within a second instead of waiting for the cell timeout.
- Interrupts a cell whose output passes the job's byte limit (an output flood), drops the rest of its output and
  fails it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from queue import Empty

import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager
from nbval import kernel as nbval_kernel

MIME = "application/vnd.compresslab.autograder+json"
POLL_S = 0.5
MAX_RESULT_CHARS = 4_100_000  # what the preamble may publish for one test, plus room for its envelope


@dataclass(frozen=True)
class Job:
    """One graded notebook: where it is, where its record goes, its kernel command and its limits."""

    notebook: str
    record: str
    sockets: str
    kernel_argv: list[str]
    cell_timeout_s: float
    setup_timeout_s: float
    max_output_bytes: int


class KernelDied(RuntimeError):
    """The kernel process exited while a cell was running (os._exit, a crash, the memory limit)."""


class _SandboxSpecs(KernelSpecManager):
    """A kernel spec manager that knows one kernel: the job's sandboxed command."""

    def __init__(self, argv: list[str]) -> None:
        super().__init__()
        self._argv = argv

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        # interrupts travel as messages: bwrap starts the kernel in a session of its own, out of reach of signals
        return KernelSpec(argv=self._argv, display_name="autograder sandbox", language="python",
                          interrupt_mode="message", env={})


class Capture:
    """The plugin object for one job (``pytest.main(..., plugins=[Capture(job)])``)."""

    current: Capture | None = None

    def __init__(self, job: Job) -> None:
        self.job = job

    def start_kernel(self, startup_timeout: float, **kwargs: object) -> tuple[KernelManager, object]:
        km = KernelManager(kernel_name="autograder-sandbox", kernel_spec_manager=_SandboxSpecs(self.job.kernel_argv),
                           transport="ipc", ip=os.path.join(self.job.sockets, "k"))
        km.connection_file = os.path.join(self.job.sockets, "connection.json")
        km.write_connection_file()
        owner = os.stat(self.job.sockets).st_uid
        if owner != os.geteuid():  # a root grader hands the file to the kernel's own uid
            os.chown(km.connection_file, owner, owner)
        km.start_kernel(stderr=kwargs.get("stderr"))
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=startup_timeout)
        except RuntimeError:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
            raise
        return km, kc

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        kernel = getattr(getattr(item, "parent", None), "kernel", None)
        if kernel is not None:
            kernel._autograder_role = item.cell.metadata.get("autograder", {}).get("role", "test")
            kernel._autograder_output = 0  # the output limit is per cell
            kernel._autograder_flooded = False
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        cell = getattr(item, "cell", None)
        if cell is None or call.when != "call":
            return report
        meta = dict(cell.metadata.get("autograder", {}))
        results = []
        error = None
        for out in getattr(item, "test_outputs", None) or []:
            data = out.get("data", {})
            if out.get("output_type") == "display_data" and isinstance(data.get(MIME), str):
                if len(data[MIME]) <= MAX_RESULT_CHARS:
                    results.append(data[MIME])
            if out.get("output_type") == "error" and error is None:
                error = f"{out.get('ename')}: {out.get('evalue')}"[:2000]
        if call.excinfo is not None and error is None:
            error = _describe(call.excinfo)
        kernel = getattr(item.parent, "kernel", None)
        if getattr(kernel, "_autograder_flooded", False):
            results = []  # a flooding cell earns nothing, whatever it published
            error = f"the cell printed more than the limit of {self.job.max_output_bytes:,} bytes of output and was " \
                    "stopped"
        record = {**meta, "status": report.outcome, "seconds": round(call.duration, 3), "error": error,
                  "results": results[:3]}
        with open(self.job.record, "a") as f:  # a line per cell: a run killed at the time limit keeps what it did
            f.write(json.dumps(record) + "\n")
        return report


def _describe(excinfo) -> str:
    value = excinfo.value
    if isinstance(value, KernelDied):
        return str(value)
    text = str(value)
    if "Timeout" in text and "exceeded" in text:
        return "the cell ran past the time limit"
    if "Kernel dead" in text:
        return "the kernel was no longer running"
    return f"{type(value).__name__}: {text.splitlines()[0][:300] if text else ''}"


def _patch_nbval() -> None:
    """Route nbval's kernel start, replies and output through the current job's limits."""
    original_await_reply = nbval_kernel.RunningKernel.await_reply

    def start_new_kernel(startup_timeout=60, kernel_name="python", **kwargs):
        return Capture.current.start_kernel(startup_timeout, **kwargs)

    def await_reply(self, msg_id, timeout=None):
        job = Capture.current.job
        if timeout is not None and getattr(self, "_autograder_role", "test") != "test":
            timeout = max(timeout, job.setup_timeout_s)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise Empty
            try:
                return original_await_reply(self, msg_id, timeout=POLL_S if left is None else min(POLL_S, left))
            except Empty:
                if not self.km.is_alive():
                    raise KernelDied("the kernel died while running this cell (os._exit, a crash, or the "
                                     "memory limit)") from None

    def get_message(self, stream, timeout=None):
        # nbval's own version formats every message with pprint for a debug log that is off: a third of its time
        if stream == "iopub":
            msg = self.kc.get_iopub_msg(timeout=timeout)
        elif stream == "shell":
            msg = self.kc.get_shell_msg(timeout=timeout)
        else:
            raise ValueError(f"Invalid stream specified: {stream!r}")
        if stream == "iopub" and msg.get("msg_type") in ("stream", "display_data", "execute_result", "error"):
            self._autograder_output = getattr(self, "_autograder_output", 0) + len(json.dumps(msg["content"]))
            if self._autograder_output > Capture.current.job.max_output_bytes:
                if not getattr(self, "_autograder_flooded", False):
                    self._autograder_flooded = True
                    self.km.interrupt_kernel()  # a printing loop stops here; one that ignores SIGINT at the timeout
                if msg["msg_type"] in ("stream", "display_data", "execute_result"):
                    msg = {**msg, "msg_type": "stream", "content": {"name": "stdout", "text": ""}}
        return msg

    nbval_kernel.start_new_kernel = start_new_kernel
    nbval_kernel.RunningKernel.await_reply = await_reply
    nbval_kernel.RunningKernel.get_message = get_message


_patch_nbval()
