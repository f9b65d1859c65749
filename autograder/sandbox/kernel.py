"""The student's notebook kernel, started inside the sandbox.

What makes ipykernel work under bubblewrap (see docs/ARCHITECTURE.md): IPC sockets in the
scratch directory, because the sandbox has its own network namespace; /bin/sh as the
kernel's parent, because ipykernel exits when its parent is pid 1; HOME, IPYTHONDIR and
TMPDIR inside the scratch directory. As root the kernel runs as a fresh host uid of its
own, so RLIMIT_NPROC caps how many processes it can start (a fork bomb stops there).
"""

import os
import subprocess
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Any, Bool, Dict, Int, List, Unicode

from . import bwrap, seccomp
from .limits import Limits


class SandboxedKernelManager(AsyncKernelManager):
    """An ipykernel under the sandbox's policy, for nbclient / nbgrader's Execute.

    What makes ipykernel work in there: IPC sockets in a directory the
    sandbox can write (it has its own network namespace, so TCP ports of the grader are
    unreachable); /bin/sh as the kernel's parent (ipykernel exits when its parent is pid 1);
    HOME, IPYTHONDIR, TMPDIR in the scratch directory. Interrupts are sent as messages: a
    SIGINT to the process group would reach bwrap and end the sandbox instead.
    """

    limits = Any(Limits(), help="a limits.Limits: memory, output, processes (a kernel has no CPU cap)")
    scratch = Unicode("", help="the kernel's working directory, the sandbox's only writable one")
    hide = List(Unicode(), help="paths the kernel must not see (the grader's packages always are)")
    require_sandbox = Bool(False, help="refuse to start without bubblewrap")
    sandbox_env = Dict(help="extra environment variables for the kernel")
    sandbox_uid = Int(-1, help="the host uid of the sandbox; -1: a fresh one (as root)")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"
        self._sandboxed = bwrap.require(self.require_sandbox)
        if self.sandbox_uid < 0:
            self.sandbox_uid = (bwrap.new_sandbox_uid() or -1) if self._sandboxed else -1

    def _uid(self):
        return self.sandbox_uid if self.sandbox_uid >= 0 else None

    def _prepare_scratch(self):
        """The scratch directory and all in it become the sandbox user's (the caller may
        have copied helpers there with any owner and mode)."""
        if not self.scratch:  # never the grader's working directory: it would be handed to the sandbox
            raise ValueError("SandboxedKernelManager needs a scratch directory (scratch=...)")
        scratch = Path(self.scratch).resolve()
        if self._uid() is not None:
            for top, dirs, files in os.walk(scratch):  # never following symlinks a kernel may have left
                for name in [top, *(os.path.join(top, n) for n in dirs + files)]:
                    os.lchown(name, self._uid(), self._uid())
        bwrap.give_scratch(scratch, self._uid())
        ipc = scratch / ".ipc"
        ipc.mkdir(exist_ok=True)
        bwrap.give_scratch(ipc, self._uid())
        if self._uid() is None:
            ipc.chmod(0o777)  # user-namespace mode: the sandbox's nobody is this user, or root
        self.ip = str(ipc / "kernel")
        self.connection_file = str(ipc / "kernel.json")
        return scratch

    async def _async_pre_start_kernel(self, **kw):
        self._prepare_scratch()  # before the connection file is written
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        scratch = Path(self.scratch).resolve()
        uid = self._uid()
        if uid is not None and os.path.exists(self.connection_file):
            os.chown(self.connection_file, uid, uid)  # written 0600 by us; the kernel must read it
        self.kernel_spec.interrupt_mode = "message"
        # `; exit $?` keeps the shell alive as the kernel's parent.
        cmd = ["/bin/sh", "-c", '"$@"; exit $?', "sh", *kernel_cmd]
        filter_fd = seccomp.open_program() if self._sandboxed else None  # bwrap loads it (--seccomp)
        cmd, kw["env"] = bwrap.sandboxed_command(
            cmd,
            scratch,
            required=self._sandboxed,
            uid=uid,
            hide=self.hide,
            env=self.sandbox_env,
            seccomp_fd=filter_fd,
        )
        if filter_fd is not None:
            kw["pass_fds"] = (filter_fd,)
        kw["cwd"] = str(scratch)
        kw["preexec_fn"] = bwrap.preexec(self.limits, processes=bwrap.process_cap(self.limits, uid))
        # Not the grader's own stdout/stderr: student code can write to fds 1 and 2 directly.
        # stderr goes to an unlinked file (capped by RLIMIT_FSIZE), for bwrap's own errors.
        self._stderr_log = tempfile.TemporaryFile(prefix="bpkit-kernel-")  # noqa: SIM115
        kw["stdout"], kw["stderr"] = subprocess.DEVNULL, self._stderr_log
        try:
            return await super()._async_launch_kernel(cmd, **kw)
        finally:
            if filter_fd is not None:
                os.close(filter_fd)


def sandboxed_kernel_manager_factory(limits, scratch, hide=(), require_sandbox=False, env=None):
    """A SandboxedKernelManager subclass with these settings built in, for places that take a
    class and instantiate it themselves: nbclient's NotebookClient and nbgrader's Execute
    (`kernel_manager_class=...`; they call it with kernel_name= and config= only). Kernels of
    one factory share one sandbox uid, so files a dead kernel wrote stay usable by the next."""
    settings = {
        "limits": limits,
        "scratch": str(scratch),
        "hide": [str(h) for h in hide],
        "require_sandbox": bool(require_sandbox),
        "sandbox_env": dict(env or {}),
    }
    if bwrap.require(require_sandbox):
        settings["sandbox_uid"] = bwrap.new_sandbox_uid() or -1

    class BoundSandboxedKernelManager(SandboxedKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**{**settings, **kwargs})

    return BoundSandboxedKernelManager
