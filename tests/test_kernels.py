"""The course's own notebook runs start kernels over private ipc sockets, never over TCP ports that two parallel
runs could race for (tools/kernels.py)."""

import glob
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from tools.notebooks import execute

ROOT = Path(__file__).resolve().parents[1]
TRANSPORT = "import json, ipykernel\nprint(json.load(open(ipykernel.get_connection_file()))['transport'])"


def socket_dirs() -> set[str]:
    return set(glob.glob(str(Path(tempfile.gettempdir()) / "kernel-*")))


def test_executed_notebooks_use_ipc_and_remove_their_sockets(tmp_path):
    source = tmp_path / "99_demo.py"
    source.write_text(f"# %%\n{TRANSPORT}\n")
    before = socket_dirs()
    nb, _ = execute(source)
    assert nb.cells[0].outputs[0]["text"].strip() == "ipc"
    assert socket_dirs() - before == set()


def test_nbval_under_the_lab_plugin_uses_ipc(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(TRANSPORT.replace("print(", "assert 'ipc' == ("))]
    nbformat.write(nb, tmp_path / "99_demo.ipynb")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path), "--nbval-lax", "--nbval-current-env",
         "-p", "tools.nbval_lab", "-p", "no:cacheprovider", "-q", "-o", "addopts=", f"--rootdir={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 passed" in result.stdout
