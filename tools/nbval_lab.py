"""pytest plugin for nbval runs of the generated labs: a cell tagged ``raises-exception`` must raise
NotImplementedError (a stub), not any other error, and must not pass silently.

nbval alone accepts any exception from such a cell, so a lab whose check cell fails with a NameError would pass.
Loaded with ``-p tools.nbval_lab``; that check only acts on notebooks in a folder named ``labs``. The plugin also
starts nbval's kernels over private ipc sockets (tools.kernels says why: over TCP, two workers can race for a port).
"""

from __future__ import annotations

import nbval.kernel
import pytest

from tools.kernels import IpcKernelManager


def pytest_configure(config: pytest.Config) -> None:
    # nbval builds its kernel manager from this module attribute and offers no option to choose the transport.
    nbval.kernel.KernelManager = IpcKernelManager


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    result = yield
    cell = getattr(item, "cell", None)
    if cell is None or item.path.parent.name != "labs" or "raises-exception" not in cell.metadata.get("tags", []):
        return result
    errors = [out for out in (item.test_outputs or []) if out.get("output_type") == "error"]
    if not errors:
        raise AssertionError("this lab cell is tagged raises-exception but ran without error: it should call an "
                             "unimplemented task and raise NotImplementedError")
    if errors[0]["ename"] != "NotImplementedError":
        raise AssertionError(f"this lab cell should raise NotImplementedError from a stub, but raised "
                             f"{errors[0]['ename']}: {errors[0]['evalue']}")
    return result
