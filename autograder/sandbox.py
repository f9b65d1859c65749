"""The bubblewrap sandbox that student code runs in during grading.

Policy: no network, its own pid namespace (every process student code starts dies with
the sandbox, detached ones included), no capabilities, an unprivileged uid, a read-only
filesystem holding only what Python needs, and one private writable scratch directory.
The course directory (gradebook, other submissions, source notebooks) and the grader's
own packages (the reference solutions, the hidden checks) are simply not there.
"""
import functools
import logging
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("backprop-kit")

NOBODY = 65534


class SandboxUnavailable(RuntimeError):
    pass


UNAVAILABLE = ("bubblewrap (bwrap) is not installed or cannot create a sandbox here: install the Debian "
               "package bubblewrap, or set grading.require_sandbox: false in course.yaml to grade without "
               "a sandbox (student code then runs with your rights).")


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 30.0
    memory_bytes: int = 2 * 1024**3
    output_bytes: int = 64 * 1024

    @classmethod
    def from_course(cls, grading):
        return cls(float(grading.timeout_seconds), grading.memory_mb * 1024**2, grading.output_kb * 1024)


@functools.lru_cache(maxsize=1)
def sandbox_available():
    """bwrap is installed and can actually make a sandbox on this machine."""
    if not shutil.which("bwrap"):
        return False
    try:
        done = subprocess.run(wrap(["/bin/true"], Path("/"), check=False), capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def require(required):
    """True when grading runs sandboxed; raises when the sandbox is required but missing."""
    if sandbox_available():
        return True
    if required:
        raise SandboxUnavailable(UNAVAILABLE)
    log.warning("backprop-kit: %s Grading continues UNSANDBOXED.", UNAVAILABLE)
    return False


def grader_private_paths():
    """Directories student code must never see: the reference solutions and the grader."""
    import autograder
    import solutions

    return [Path(m.__file__).resolve().parent for m in (solutions, autograder)]


# Inside the sandbox the user is root's files' owner (bwrap maps the sandbox uid to the
# grader's), so only what Python needs is mounted: no /etc/shadow, no home directories.
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf",
             "hosts", "mime.types", "os-release", "alternatives")


def _system_binds():
    args = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.exists():
            args += ["--ro-bind", top, top]
    for name in ETC_FILES:
        if os.path.lexists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    return args


def _python_binds():
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(sys.executable).resolve().parent.parent}
    args = []
    for root in sorted(roots):
        if not any(str(root).startswith(p) for p in ("/usr", "/etc")):
            args += ["--ro-bind", str(root), str(root)]
    return args, roots


def wrap(argv, scratch, *, env=None, check=True):
    """The bwrap command line that runs argv inside the sandbox, with `scratch` as the
    only writable directory and the working directory."""
    if check and not sandbox_available():
        raise SandboxUnavailable(UNAVAILABLE)
    scratch = str(Path(scratch).resolve())
    python_binds, roots = _python_binds()
    hide = []
    for private in grader_private_paths():
        if any(root in private.parents for root in roots):  # installed inside a bound tree
            hide += ["--tmpfs", str(private)]
    environment = {"PATH": "/usr/bin:/bin", "HOME": scratch, "TMPDIR": scratch, "IPYTHONDIR": f"{scratch}/.ipython",
                   "MPLCONFIGDIR": f"{scratch}/.mpl", "JUPYTER_RUNTIME_DIR": f"{scratch}/.jupyter",
                   "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                   "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8", **(env or {})}
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY),
            # /tmp first: the binds after it may live below /tmp (a virtual environment there).
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            *_system_binds(), *python_binds, *hide,
            *(["--bind", scratch, scratch] if scratch != "/" else []),
            "--remount-ro", "/",  # the sandbox's own root too: scratch is the only writable place
            "--chdir", scratch, "--clearenv"]
    for key, value in environment.items():
        args += ["--setenv", key, value]
    return args + ["--", *argv]


def limit_resources(limits, extra_memory=0):
    """A preexec_fn: memory and file-size caps, no core dumps, a session of its own."""
    def apply():
        os.setsid()
        memory = limits.memory_bytes + extra_memory
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        cap = max(8 * 1024**2, 16 * limits.output_bytes)
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))
    return apply


def private_scratch(prefix="bpkit-"):
    """A fresh directory the sandbox's unprivileged user can write, inside a root-only parent."""
    import tempfile

    parent = Path(tempfile.mkdtemp(prefix=prefix))
    scratch = parent / "scratch"
    scratch.mkdir()
    scratch.chmod(0o777)
    return parent, scratch
