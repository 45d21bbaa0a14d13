"""Kernels for the runs: over Unix sockets, and collected so a watchdog can kill them."""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager

from jupyter_client.manager import AsyncKernelManager
from traitlets import CaselessStrEnum

# Kernel managers started in this thread while a caller collects them: a batch's watchdog
# must kill the kernel of a run past its timeout, and papermill gives no handle on it.
_STARTED = threading.local()


class IPCKernelManager(AsyncKernelManager):
    """A kernel reached over Unix sockets instead of TCP.

    ipykernel 7 warns that a TCP kernel sends code and outputs unencrypted; with health data on
    shared compute nodes no other user of the node should be able to connect. The sockets live
    in a private temporary folder (mode 0700), not in the working directory.
    """

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)
    # Variables added to the kernel's environment (see :meth:`with_env`).
    extra_env: dict = {}

    @classmethod
    def with_env(cls, env: dict) -> type:
        """A manager class whose kernels get ``env`` on top of this process's environment.
        A class per run, not ``os.environ``: runs of one Dask worker share its process."""
        return type(cls.__name__, (cls,), {"extra_env": {**cls.extra_env, **env}})

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        registry = getattr(_STARTED, "managers", None)
        if registry is not None:
            registry.append(self)
        self._socket_dir = None
        if self.transport == "ipc":
            self._socket_dir = tempfile.mkdtemp(prefix="ipeval-kernel-")
            self.ip = os.path.join(self._socket_dir, "kernel")

    async def _async_pre_start_kernel(self, **kw):
        if self.extra_env:
            kw["env"] = {**(kw.get("env") or os.environ), **self.extra_env}
        return await super()._async_pre_start_kernel(**kw)

    pre_start_kernel = _async_pre_start_kernel

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._socket_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


@contextmanager
def collecting_kernels():
    """The kernel managers that runs in this thread start, as a list filled while they run."""
    _STARTED.managers = started = []
    try:
        yield started
    finally:
        _STARTED.managers = None


def kill_kernels(managers) -> int:
    """Kill the process groups of these kernels (SIGKILL); returns how many were alive.
    The kernel's client then sees a dead kernel and papermill stops the run."""
    killed = 0
    for km in list(managers):
        provisioner = getattr(km, "provisioner", None)
        pgid, pid = getattr(provisioner, "pgid", None), getattr(provisioner, "pid", None)
        try:
            if pgid:
                os.killpg(pgid, signal.SIGKILL)
            elif pid:
                os.kill(pid, signal.SIGKILL)
            else:
                continue
            killed += 1
        except ProcessLookupError:
            pass
    return killed


