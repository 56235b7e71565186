"""Kernel managers for the course's own notebook runs (tools.notebooks, nbval over the labs, make bench).

Over TCP, jupyter_client finds free ports by binding and closing them, then hands the numbers to the kernel. Two
kernels started at the same moment by different processes (``make notebooks`` runs two) can be handed the same port,
and the second dies with "Address already in use" before it replies to kernel_info. Over ipc sockets in a folder of
its own, no kernel can take another's address. The grader starts its kernels the same way (autograder/capture.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from jupyter_client import AsyncKernelManager, KernelManager


class _PrivateIpcSockets:
    """Mixin: the kernel's sockets are ipc files in a fresh temporary folder, removed when the kernel shuts down."""

    def __init__(self, **kwargs) -> None:
        self._socket_dir = tempfile.mkdtemp(prefix="kernel-")
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", os.path.join(self._socket_dir, "k"))
        super().__init__(**kwargs)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._socket_dir, ignore_errors=True)


class IpcKernelManager(_PrivateIpcSockets, KernelManager):
    """jupyter_client's KernelManager over private ipc sockets (for nbval)."""


class AsyncIpcKernelManager(_PrivateIpcSockets, AsyncKernelManager):
    """jupyter_client's AsyncKernelManager over private ipc sockets (for nbclient's NotebookClient)."""
