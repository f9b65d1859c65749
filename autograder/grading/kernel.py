"""The student's notebook kernel, started inside the sandbox.

Three things make ipykernel work under bubblewrap (see docs/ARCHITECTURE.md):
IPC sockets in the scratch directory, because the sandbox has its own network namespace;
a shell as the kernel's parent, because ipykernel exits when its parent is pid 1; and
HOME/IPYTHONDIR/TMPDIR inside the scratch directory. The memory cap is set by that shell.
"""
import os
import shutil
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from .. import sandbox
from ..runner import sandbox_free_environment


class SandboxedKernelManager(AsyncKernelManager):
    def __init__(self, *, scratch, limits, kernel_env, sandboxed, **kwargs):
        super().__init__(**kwargs)
        self.scratch, self.limits, self.kernel_env, self.sandboxed = Path(scratch), limits, kernel_env, sandboxed
        ipc = self.scratch / ".kernel"
        ipc.mkdir(exist_ok=True)
        ipc.chmod(0o777)
        self.transport = "ipc"
        self.ip = str(ipc / "ipc")
        self.connection_file = str(ipc / "kernel.json")

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kilobytes = self.limits.memory_bytes // 1024
        # `; exit $?` keeps the shell alive as the kernel's parent.
        cmd = ["/bin/sh", "-c", f'ulimit -v {kilobytes}; "$@"; exit $?', "sh", *kernel_cmd]
        if self.sandboxed:
            cmd = sandbox.wrap(cmd, self.scratch, env=self.kernel_env)
            kw["env"] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        else:
            kw["env"] = {**sandbox_free_environment(), **self.kernel_env, "HOME": str(self.scratch)}
        kw["cwd"] = str(self.scratch)
        return await super()._async_launch_kernel(cmd, **kw)


def kernel_scratch(helper_dirs):
    """A private scratch directory holding copies of the helper folders (bpkit/)."""
    parent, scratch = sandbox.private_scratch("bpkit-kernel-")
    for name, path in helper_dirs.items():
        shutil.copytree(path, scratch / name, ignore=shutil.ignore_patterns("__pycache__"))
    return parent, scratch
