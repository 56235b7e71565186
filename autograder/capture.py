"""pytest plugin loaded into the grading run of nbval (``-p autograder.capture``); it runs in the grader's process.

- Records, for every cell, its status, duration, error and the autograder results it published, into the JSON file
  named by $AUTOGRADER_RECORD, rewritten after each cell (by this process; the sandbox hides the path from the kernel).
- Notices a dead kernel within a second instead of waiting for the cell timeout.
- Interrupts a cell whose output passes $AUTOGRADER_MAX_OUTPUT bytes (an output flood), drops the rest of its output
  and fails it.
"""

from __future__ import annotations

import json
import os
import time
from queue import Empty

import pytest
from nbval import kernel as nbval_kernel

MIME = "application/vnd.compresslab.autograder+json"
POLL_S = 0.5
MAX_OUTPUT = int(os.environ.get("AUTOGRADER_MAX_OUTPUT", "2000000"))
# nbval has one cell timeout, given to the tests; lab and task cells (imports of torch) get this longer one.
SETUP_TIMEOUT_S = float(os.environ.get("AUTOGRADER_SETUP_TIMEOUT", "120"))
RECORDS: list[dict] = []


class KernelDied(RuntimeError):
    """The kernel process exited while a cell was running (os._exit, a crash, the memory limit)."""


def _patch_nbval() -> None:
    original_await_reply = nbval_kernel.RunningKernel.await_reply
    original_get_message = nbval_kernel.RunningKernel.get_message

    def await_reply(self, msg_id, timeout=None):
        if timeout is not None and getattr(self, "_autograder_role", "test") != "test":
            timeout = max(timeout, SETUP_TIMEOUT_S)
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
        msg = original_get_message(self, stream, timeout=timeout)
        if stream == "iopub" and msg.get("msg_type") in ("stream", "display_data", "execute_result", "error"):
            self._autograder_output = getattr(self, "_autograder_output", 0) + len(json.dumps(msg["content"]))
            if self._autograder_output > MAX_OUTPUT:
                if not getattr(self, "_autograder_flooded", False):
                    self._autograder_flooded = True
                    self.km.interrupt_kernel()  # a printing loop stops here; one that ignores SIGINT at the timeout
                if msg["msg_type"] in ("stream", "display_data", "execute_result"):
                    msg = {**msg, "msg_type": "stream", "content": {"name": "stdout", "text": ""}}
        return msg

    nbval_kernel.RunningKernel.await_reply = await_reply
    nbval_kernel.RunningKernel.get_message = get_message


_patch_nbval()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    kernel = getattr(getattr(item, "parent", None), "kernel", None)
    if kernel is not None:
        kernel._autograder_role = item.cell.metadata.get("autograder", {}).get("role", "test")
        kernel._autograder_output = 0  # the output limit is per cell
        kernel._autograder_flooded = False
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    cell = getattr(item, "cell", None)
    if cell is None or call.when != "call":
        return report
    meta = dict(cell.metadata.get("autograder", {}))
    results = []
    error = None
    for out in getattr(item, "test_outputs", None) or []:
        if out.get("output_type") == "display_data" and MIME in out.get("data", {}):
            results.append(out["data"][MIME])
        if out.get("output_type") == "error" and error is None:
            error = f"{out.get('ename')}: {out.get('evalue')}"
    if call.excinfo is not None and error is None:
        error = _describe(call.excinfo)
    kernel = getattr(item.parent, "kernel", None)
    if getattr(kernel, "_autograder_flooded", False):
        results = []  # a flooding cell earns nothing, whatever it published
        error = f"the cell printed more than the limit of {MAX_OUTPUT:,} bytes of output and was stopped"
    RECORDS.append({**meta, "status": report.outcome, "seconds": round(call.duration, 3), "error": error,
                    "results": results})
    _save()  # after every cell, so a run killed at the total time limit keeps what it finished
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


def _save() -> None:
    path = os.environ.get("AUTOGRADER_RECORD")
    if path:
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump(RECORDS, f)
        os.replace(tmp, path)
