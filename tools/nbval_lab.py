"""pytest plugin for nbval runs of the generated labs: a cell tagged ``raises-exception`` must raise
NotImplementedError (a stub), not any other error, and must not pass silently.

nbval alone accepts any exception from such a cell, so a lab whose check cell fails with a NameError would pass.
Loaded with ``-p tools.nbval_lab``; it only acts on notebooks in a folder named ``labs``.
"""

from __future__ import annotations

import pytest


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
