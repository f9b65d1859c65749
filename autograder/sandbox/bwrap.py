"""The bubblewrap sandbox that student code runs in during grading, and its resource limits.

Policy (see `wrap`): no network, its own pid namespace with bwrap as the reaper (every
process student code starts, detached ones included, dies with the sandbox), no
capabilities, an unprivileged identity, a read-only filesystem holding only what Python
needs, and one writable scratch directory. The grader's own packages (the reference
solutions, the hidden checks) and whatever the caller hides are simply not there.

Two ways of becoming unprivileged, chosen by `wrap(..., uid=...)`:

* uid=<a number> (needs root, the normal case when grading): bwrap runs privileged and
  `setpriv` turns the sandboxed command into that host uid, with no capabilities and
  no_new_privs. `new_sandbox_uid()` gives a fresh number nobody else uses, so the student's
  processes own nothing of the host's, and RLIMIT_NPROC (counted per host uid) caps just
  this sandbox: a fork bomb stops at `Limits.processes`.
* uid=None: a user namespace (`--unshare-user --uid 65534`). The sandbox sees itself as
  nobody, but on the host it is whoever ran bwrap: as root that is uid 0 without
  capabilities, which the kernel exempts from RLIMIT_NPROC (no fork-bomb cap) and which
  still owns root's files, hence the short allow-list of /etc. Used when not root (then
  it is the only way, and `process_cap` caps the sandbox at what the grader's uid already
  runs plus `Limits.processes`) and by callers that do not pass a uid.
"""

import functools
import importlib.util
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import limits as limits_module
from . import seccomp

log = logging.getLogger("backprop-kit")

KiB, MiB, GiB = 1024, 1024**2, 1024**3
NOBODY = 65534
# Host uids handed to sandboxes: far above any real account, below 2**31 (some tools treat
# larger uids as negative). Collisions between concurrent graders are negligible.
SANDBOX_UID_RANGE = (1_500_000_000, 2_000_000_000)
TMPFS_BYTES = 64 * MiB  # /tmp and /dev/shm inside: tmpfs memory is not covered by RLIMIT_AS

UNAVAILABLE = (
    "bubblewrap (bwrap) is not installed: install the Debian package bubblewrap, "
    "or set grading.require_sandbox: false in course.yaml to grade without a sandbox"
)
NO_FILTER = (
    "the sandbox's seccomp filter cannot be used here ({reason}): install the Debian package "
    "libseccomp2, or set grading.require_sandbox: false in course.yaml to grade without it"
)
UNSANDBOXED_WARNING = (
    "backprop-kit: %s. Grading continues WITHOUT a sandbox: student code runs "
    "with your rights (resource limits still apply)."
)


class SandboxUnavailable(RuntimeError):
    """The sandbox is required (grading.require_sandbox: true) but bwrap cannot be used."""

    def __init__(self, message=UNAVAILABLE):
        super().__init__(message)


# ---------------------------------------------------------------- is bwrap usable?


def bwrap_path():
    """The bwrap executable, or None."""
    found = shutil.which("bwrap")
    if found:
        return found
    return "/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None


def setpriv_path():
    return shutil.which("setpriv") or ("/usr/bin/setpriv" if os.access("/usr/bin/setpriv", os.X_OK) else None)


def new_sandbox_uid():
    """A fresh host uid for one sandbox, or None when this process cannot hand out uids
    (not root, or no setpriv): the sandbox then uses a user namespace instead."""
    if os.geteuid() != 0 or not setpriv_path():
        return None
    while True:
        uid = random.SystemRandom().randrange(*SANDBOX_UID_RANGE)
        if not processes_of_uid(uid):  # unused right now (a clash is already unlikely)
            return uid


@functools.lru_cache(maxsize=1)
def sandbox_available():
    """bwrap is installed and can actually build this sandbox here (a container may forbid
    the namespaces it needs). Checked once per process, by running /bin/true inside, under the
    seccomp filter when there is one; a bwrap that builds the sandbox but cannot load the
    filter leaves the sandbox usable without it (seccomp.unavailable says so)."""
    if not bwrap_path():
        return False
    with_filter = seccomp.open_program()
    try:
        works, said = _probe(with_filter)
    finally:
        if with_filter is not None:
            os.close(with_filter)
    if works or with_filter is None:
        return works
    works, _said = _probe(None)
    if works:
        seccomp.unavailable(f"bwrap could not load it: {said[-200:]}")
    return works


def _probe(seccomp_fd):
    """(bwrap ran /bin/true in the sandbox, what it said)."""
    with tempfile.TemporaryDirectory(prefix="bpkit-probe-") as scratch:
        uid = new_sandbox_uid()
        give_scratch(scratch, uid)
        try:
            done = subprocess.run(
                wrap(["/bin/true"], scratch, uid=uid, check=False, seccomp_fd=seccomp_fd),
                capture_output=True,
                timeout=20,
                env=bwrap_environment(),
                pass_fds=() if seccomp_fd is None else (seccomp_fd,),
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, str(e)
        said = done.stderr.decode(errors="replace").strip()
        if done.returncode != 0:
            log.debug("bwrap probe failed: %s", said[:500])
        return done.returncode == 0, said


_warned = False


def require(required):
    """True when grading runs sandboxed. Raises SandboxUnavailable when the sandbox is
    required but cannot be used; otherwise warns once and returns False."""
    global _warned
    if sandbox_available():
        if required and seccomp.why_unavailable():
            raise SandboxUnavailable(NO_FILTER.format(reason=seccomp.why_unavailable()))
        return True
    if required:
        raise SandboxUnavailable()
    if not _warned:
        log.warning(UNSANDBOXED_WARNING, UNAVAILABLE)
        _warned = True
    return False


def grader_private_paths():
    """Real directories of the installed `solutions` and `autograder` packages, wherever
    they are (an editable install points outside the virtual environment). `wrap` always
    hides them."""
    paths = []
    for name in ("solutions", "autograder"):
        spec = importlib.util.find_spec(name)
        for location in (spec.submodule_search_locations or []) if spec else []:
            paths.append(Path(location).resolve())
    return paths


# ---------------------------------------------------------------- the command line

# Only what Python, numpy and ipykernel read. In the user-namespace mode the sandbox owns
# root's files, so a whole /etc would expose /etc/shadow and private keys to it.
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "passwd",
    "group",
    "nsswitch.conf",
    "hosts",
    "host.conf",
    "mime.types",
    "os-release",
    "alternatives",
    "locale.alias",
)


def python_roots():
    """The trees the interpreter and the virtual environment live in (real paths)."""
    return sorted(
        {
            Path(sys.base_prefix).resolve(),
            Path(sys.prefix).resolve(),
            Path(sys.executable).resolve().parent.parent,
            Path(sys.exec_prefix).resolve(),
        }
    )


def site_dirs():
    """The grader's site-packages directories (numpy lives there), for `python -S`."""
    import site

    return [str(Path(p).resolve()) for p in site.getsitepackages() if os.path.isdir(p)]


def sandbox_environment(scratch, env=None):
    """The sandbox's whole environment: built from scratch, never inherited."""
    scratch = str(scratch)
    return {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": scratch,
        "TMPDIR": scratch,
        "USER": "student",
        "LOGNAME": "student",
        "IPYTHONDIR": f"{scratch}/.ipython",
        "MPLCONFIGDIR": f"{scratch}/.matplotlib",
        "JUPYTER_RUNTIME_DIR": f"{scratch}/.jupyter/runtime",
        "JUPYTER_CONFIG_DIR": f"{scratch}/.jupyter",
        "JUPYTER_DATA_DIR": f"{scratch}/.jupyter/data",
        # One BLAS thread: a grading machine's cores are shared.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "LANG": "C.UTF-8",
        **{str(k): str(v) for k, v in (env or {}).items()},
    }


def bwrap_environment():
    """What bwrap itself runs with (its --clearenv keeps it from the sandbox anyway)."""
    return {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}


def _pairs(binds):
    """Bind arguments as (source, destination) pairs of absolute paths."""
    out = []
    for bind in binds:
        src, dest = (bind, bind) if isinstance(bind, (str, os.PathLike)) else bind
        out.append((str(Path(src).resolve()), str(Path(dest).absolute())))
    return out


def _inside(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


class _Mounts:
    """bwrap mount arguments, parents before children, with every directory bwrap would
    otherwise create as 0700 made 0755 (the unprivileged user must traverse it)."""

    def __init__(self):
        self.args, self.binds, self.made = [], [], {"/"}

    def _parents(self, dest):
        parts = Path(dest).parts[1:-1]
        for i in range(1, len(parts) + 1):
            parent = "/" + "/".join(parts[:i])
            if parent in self.made or any(_inside(parent, b) for b in self.binds):
                continue
            self.args += ["--perms", "0755", "--dir", parent]
            self.made.add(parent)

    def add(self, op, *paths, before=()):
        dest = paths[-1]
        self._parents(dest)
        self.args += [*before, op, *paths]
        self.made.add(dest)
        if op in ("--ro-bind", "--bind"):
            self.binds.append(dest)


def _system_mounts(mounts):
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            mounts.add("--symlink", os.readlink(top), top)
        elif os.path.isdir(top):
            mounts.add("--ro-bind", top, top)
    for name in ETC_FILES:
        if os.path.exists(f"/etc/{name}"):
            mounts.add("--ro-bind", f"/etc/{name}", f"/etc/{name}")


_MASK = None


def _mask_package():
    """A package whose import fails, bound over hidden package directories that sit inside
    a bound tree (an empty directory there would still import, as a namespace package)."""
    global _MASK
    if _MASK is None or not os.path.isfile(os.path.join(_MASK, "__init__.py")):
        _MASK = tempfile.mkdtemp(prefix="bpkit-mask-")
        with open(os.path.join(_MASK, "__init__.py"), "w") as f:
            f.write('raise ImportError("hidden while grading")\n')
        os.chmod(_MASK, 0o755)
        os.chmod(os.path.join(_MASK, "__init__.py"), 0o644)
        import atexit

        atexit.register(shutil.rmtree, _MASK, True)
    return _MASK


def _hide(mounts, hide, visible_roots):
    """Mask each hidden path that a bind would otherwise show. A hidden path outside every
    bound tree needs nothing: the sandbox's root is empty apart from the binds. (Binds
    *inside* a hidden directory, such as a virtual environment in the course directory,
    stay visible: Python needs them.)"""
    for path in sorted({str(Path(p).resolve()) for p in hide}):
        if not os.path.lexists(path) or not any(_inside(path, root) for root in visible_roots):
            continue
        if os.path.isdir(path):
            if os.path.isfile(os.path.join(path, "__init__.py")):
                mounts.args += ["--ro-bind", _mask_package(), path]
            else:
                mounts.args += [
                    "--perms",
                    "0000",
                    "--size",
                    str(64 * KiB),
                    "--tmpfs",
                    path,
                    "--remount-ro",
                    path,
                ]
        else:
            mounts.args += ["--ro-bind", "/dev/null", path]


# What the sandbox host (host.py) keeps to build each worker's sandbox: namespaces and mounts,
# then the worker's uid, and CAP_KILL for the parent-death signal that kills a worker (of another uid) with
# its parent. Each worker drops them all before any student code runs.
HOST_CAPABILITIES = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_KILL")


def wrap(
    argv,
    scratch,
    *,
    ro_binds=(),
    rw_binds=(),
    hide=(),
    env=None,
    share_net=False,
    uid=None,
    check=True,
    host=False,
    seccomp_fd=None,
):
    """The bwrap command line that runs argv inside the sandbox.

    scratch: the only writable host directory, and the working directory; HOME, TMPDIR,
    IPYTHONDIR, ... point into it. The sandbox's user must be able to write it (see
    `give_scratch`). ro_binds/rw_binds: extra paths or (source, destination) pairs. hide:
    paths that must not be visible (the grader's own packages are always added). env: added
    to the sandbox's environment, which is otherwise built from scratch. uid: see the module
    doc. host: the sandbox host's own sandbox (root, keeping HOST_CAPABILITIES; `scratch` is
    then the empty directory each worker binds its own scratch directory over). seccomp_fd: a
    descriptor of a seccomp program (seccomp.open_program) that bwrap loads before it starts
    argv; the caller passes it to the process (pass_fds) and closes it. Raises
    SandboxUnavailable when `check` and bwrap cannot be used here.
    """
    if check and not sandbox_available():
        raise SandboxUnavailable()
    scratch = str(Path(scratch).resolve())
    pythons = [
        str(p) for p in python_roots() if not any(_inside(str(p), s) for s in ("/usr", "/bin", "/lib"))
    ]
    # Namespaces one by one: --unshare-all would add a user namespace in uid mode, where
    # setpriv must become a host uid.
    namespaces = [
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        *([] if share_net else ["--unshare-net"]),
    ]
    if host:
        identity = ["--cap-drop", "ALL", *[arg for cap in HOST_CAPABILITIES for arg in ("--cap-add", cap)]]
        command = list(argv)
    elif uid is None:
        identity = [
            "--unshare-user",
            "--disable-userns",
            "--uid",
            str(NOBODY),
            "--gid",
            str(NOBODY),
            "--cap-drop",
            "ALL",
        ]
        command = list(argv)
    else:
        # Privileged bwrap keeps only what setpriv needs to drop to the uid; setpriv drops all.
        identity = [
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
            "--cap-add",
            "CAP_SETPCAP",
        ]
        command = [
            setpriv_path() or "/usr/bin/setpriv",
            f"--reuid={int(uid)}",
            f"--regid={int(uid)}",
            "--clear-groups",
            "--no-new-privs",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
            *argv,
        ]

    mounts = _Mounts()
    mounts.add("--proc", "/proc")
    for keys in ("/proc/keys", "/proc/key-users"):  # as Docker masks them: the keys the sandbox could view
        if os.path.exists(keys):  # a device bind: a plain or read-only one is nodev (unreadable, not empty)
            mounts.add("--dev-bind", "/dev/null", keys)
    mounts.add("--dev", "/dev")
    mounts.add("--tmpfs", "/dev/shm", before=["--perms", "1777", "--size", str(TMPFS_BYTES)])
    # /tmp before the binds: the virtual environment or the scratch directory may live below it.
    mounts.add("--tmpfs", "/tmp", before=["--perms", "1777", "--size", str(TMPFS_BYTES)])
    _system_mounts(mounts)
    binds = [("--ro-bind", p, p) for p in pythons] + [("--ro-bind", s, d) for s, d in _pairs(ro_binds)]
    binds += [("--bind", s, d) for s, d in _pairs(rw_binds)] + [("--bind", scratch, scratch)]
    for op, src, dest in sorted(binds, key=lambda b: len(Path(b[2]).parts)):  # parents first
        mounts.add(op, src, dest)
    _hide(mounts, [*grader_private_paths(), *hide], visible_roots=["/usr", *mounts.binds])

    args = [
        bwrap_path() or "bwrap",
        *namespaces,
        *identity,
        "--die-with-parent",
        "--new-session",
        *([] if seccomp_fd is None else ["--seccomp", str(seccomp_fd)]),
        "--hostname",
        "sandbox",
        *mounts.args,
        # The sandbox's own root and /dev read-only too (in user-namespace mode /dev would be a
        # writable, unbounded tmpfs): scratch, /tmp and /dev/shm stay the only writable places.
        "--remount-ro",
        "/dev",
        "--remount-ro",
        "/",
        "--chdir",
        scratch,
        "--clearenv",
    ]
    for key, value in sandbox_environment(scratch, env).items():
        args += ["--setenv", key, value]
    return args + ["--", *command]


def sandboxed_command(argv, scratch, *, required=False, uid=None, **wrap_kwargs):
    """(argv, env) to start a command under the sandbox, for subprocess.Popen(argv, env=env,
    preexec_fn=preexec(...)). Without a usable bwrap: SandboxUnavailable when `required`,
    else the command itself with the sandbox's environment (one warning per process; the
    caller's rlimits still apply, nothing else does)."""
    if require(required):
        return wrap(argv, scratch, uid=uid, **wrap_kwargs), bwrap_environment()
    return list(argv), sandbox_environment(scratch, wrap_kwargs.get("env"))


# ---------------------------------------------------------------- resource limits


def process_cap(limits, uid):
    """The RLIMIT_NPROC that caps one sandbox at limits.processes, or None where no cap is
    possible. The kernel counts processes and threads per host uid and exempts root: a
    sandbox with a uid of its own gets limits.processes; one running as the grader's own
    non-root uid (user-namespace mode, or no bwrap) gets that many on top of what the uid
    already runs; as root without a uid of its own (no setpriv) nothing can be capped.
    Computed by the parent: a preexec_fn should not scan /proc."""
    if not limits.processes:
        return None
    if uid is not None:
        return limits.processes
    if os.geteuid() != 0:
        return tasks_of_uid(os.getuid()) + limits.processes
    return None


def preexec(limits, *, extra_memory=0, processes=None):
    """A subprocess preexec_fn: its own session (so the grader can kill the whole group), then
    `limits.apply` (the one table of rlimits): address-space, file-size, open-file caps, no core
    dumps, and RLIMIT_NPROC = processes when given (see `process_cap`)."""

    def apply():
        try:
            os.setsid()
        except OSError:  # already a session leader (jupyter_client's start_new_session)
            pass
        limits_module.apply(limits, extra_memory=extra_memory, processes=processes)

    return apply


def limits_prefix(limits, *, extra_memory=0, processes=None):
    """The same limits as `preexec`, as a command prefix (util-linux's prlimit), or None where
    prlimit is missing. A process started without a preexec_fn is spawned with vfork instead
    of a copy of the grader's whole address space: some 10-25 ms of the grader's CPU per
    sandbox. Its own session comes from Popen's start_new_session."""
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return None
    options = limits_module.prlimit_args(limits, extra_memory=extra_memory, processes=processes)
    return [prlimit, *options, "--"]


def _status_of_uid(uid):
    """{pid: {"Uid": ..., "Threads": ...}} of the host processes whose real uid is `uid`."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if line.startswith(("Uid:", "Threads:")))
        except (OSError, ValueError):  # gone meanwhile
            continue
        if fields.get("Uid", "").split()[:1] == [str(uid)]:
            found[int(entry)] = fields
    return found


def processes_of_uid(uid):
    """Host pids whose real uid is `uid` (read from /proc)."""
    return list(_status_of_uid(uid))


def tasks_of_uid(uid):
    """Processes plus threads of `uid`: what RLIMIT_NPROC counts."""
    return sum(int(fields.get("Threads", "1").strip() or 1) for fields in _status_of_uid(uid).values())


def kill_uid(uid, timeout=5.0):
    """Kill every process of a sandbox's own uid and wait until none is left; True when none
    is. Killing bwrap already ends them all (its pid namespace dies with it), but that happens
    asynchronously, and this makes "nothing survives" a checked fact. Only for uids from
    new_sandbox_uid(): nothing else runs as them."""
    deadline = time.monotonic() + timeout
    while True:
        pids = processes_of_uid(uid)
        if not pids:
            return True
        if time.monotonic() > deadline:
            log.error("backprop-kit: processes of sandbox uid %s survive: %s", uid, pids)
            return False
        for pid in pids:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        time.sleep(0.01)


KEYCTL_NUMBERS = {"x86_64": 250, "aarch64": 219}  # keyctl has no libc wrapper (libkeyutils has one)
KEY_SPEC_PROCESS_KEYRING, KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING = -2, -4, -5
KEYCTL_GET_KEYRING_ID, KEYCTL_INVALIDATE, KEYCTL_GET_PERSISTENT = 0, 21, 22


def purge_keys(uid):
    """Remove every kernel key a sandbox's uid left behind: without the seccomp filter student
    code can add keys to its uid's own keyrings (user, user session, persistent), which the
    kernel keeps after its processes are gone, until reboot (a fresh uid per submission, each
    with keys). A fork of ours becomes the uid, invalidates those keyrings, and every key only
    they held goes with them (the kernel collects them at once). Not an exec: the uid may not
    be allowed to run our interpreter. Only for uids from new_sandbox_uid(), as root, once
    nothing of the sandbox is left; with the filter no key call gets through and there is
    nothing to purge. Never raises."""
    number = KEYCTL_NUMBERS.get(os.uname().machine)
    if number is None or os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pid = os.fork()
    if pid == 0:  # only system calls here: the grader may have threads
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            keys = [
                libc.syscall(number, KEYCTL_GET_KEYRING_ID, ctypes.c_long(spec), 0)  # 0: do not create
                for spec in (KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING)
            ]
            # Looked up into this fork's own process keyring, which dies with it.
            keys.append(
                libc.syscall(number, KEYCTL_GET_PERSISTENT, ctypes.c_long(-1), KEY_SPEC_PROCESS_KEYRING)
            )
            for key in keys:
                if key > 0:
                    libc.syscall(number, KEYCTL_INVALIDATE, ctypes.c_long(key))
        finally:
            os._exit(0)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


# ---------------------------------------------------------------- scratch directories


def give_scratch(scratch, uid):
    """Make `scratch` the sandbox user's: owned by `uid` in uid mode, mode 0711 (bwrap, root
    without CAP_DAC_OVERRIDE, must still be able to enter it to chdir there)."""
    if uid is not None:
        os.chown(scratch, uid, uid)
    os.chmod(scratch, 0o711)


def make_scratch(parent=None, prefix="bpkit-", uid=None):
    """(private, scratch): a directory only this process's user may enter (the caller
    deletes it with `remove_tree`), holding a fresh, empty scratch directory for a sandbox
    running as `uid` (None: the user-namespace mode, where the sandbox's nobody is this process's
    user). The runner puts the helpers in it (StudentRunner._populate), or in the scratch tmpfs
    (`ScratchTmpfs`) that a sandbox mounts over it in its own mount namespace."""
    private = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent)).resolve()
    scratch = private / "scratch"
    scratch.mkdir()
    if os.geteuid() == 0:
        unmount_stale_scratches(prefix)  # mounted in the grader's namespace by kits before this one
    give_scratch(scratch, uid)
    return private, scratch


# Tests turn it off to see the tests of the scratch's size cap fail (a mutation test).
TMPFS_SCRATCH = True
MS_NOSUID, MS_NODEV, MNT_DETACH, MS_REC, MS_PRIVATE = 2, 4, 2, 16384, 1 << 18
CLONE_NEWNS, AT_FDCWD, AT_EMPTY_PATH = 0x00020000, -100, 0x1000
# The new mount API (Linux 5.2): the same numbers on x86-64 and arm64.
SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_FSOPEN, SYS_FSCONFIG, SYS_FSMOUNT = 428, 429, 430, 431, 432
OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC, MOVE_MOUNT_F_EMPTY_PATH = 1, 0o2000000, 4
FSOPEN_CLOEXEC, FSMOUNT_CLOEXEC, FSCONFIG_SET_STRING, FSCONFIG_CMD_CREATE = 1, 1, 1, 6
MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x2, 0x4
_libc = None


def _mount_call(name, *args):
    global _libc
    import ctypes

    _libc = _libc or ctypes.CDLL(None, use_errno=True)
    call = getattr(_libc, name) if isinstance(name, str) else functools.partial(_libc.syscall, name)
    result = call(*args)
    if result < 0 or (isinstance(name, str) and result != 0):
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name} {args[1] if name == 'mount' else args[0]!r}: {os.strerror(errno)}")
    return result


class ScratchTmpfs:
    """A submission's scratch: a tmpfs of `size` bytes (and one inode per KiB of it: a tree of
    empty files is capped too) mounted nowhere (fsopen/fsmount), held by this descriptor. What
    student code may write to disk, counted in its cgroup's memory; filling it costs only that
    submission (ENOSPC). Each sandbox mounts a copy of it over its scratch directory inside its
    own mount namespace (`attach_copy`; a hosted worker through open_tree, see hosted.py), so the
    grader's mount table never holds it: once the grader has closed it (`close`) or died (even of
    kill -9: the kernel closes its descriptors), and every process of the sandbox is gone, the
    kernel frees it and everything in it, whatever its shape. The grader reads and writes it at
    `view` (/proc/<pid>/fd/<n>: only a process that holds the descriptor, or root, can follow it)."""

    def __init__(self, size):
        options = {"size": str(int(size)), "nr_inodes": str(max(1024, int(size) // 1024)), "mode": "0711"}
        fs = _mount_call(SYS_FSOPEN, b"tmpfs", FSOPEN_CLOEXEC)
        try:
            for key, value in options.items():
                _mount_call(SYS_FSCONFIG, fs, FSCONFIG_SET_STRING, key.encode(), value.encode(), 0)
            _mount_call(SYS_FSCONFIG, fs, FSCONFIG_CMD_CREATE, None, None, 0)
            self.fd = _mount_call(SYS_FSMOUNT, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
        finally:
            os.close(fs)
        self.view = Path(f"/proc/{os.getpid()}/fd/{self.fd}")

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def attach_copy(self, path):
        """In a child about to exec its sandbox (a preexec_fn: single-threaded, root): a mount
        namespace of its own, nothing in it propagating back, and a copy of the tmpfs mounted at
        `path`, which lives as long as that namespace's last process."""
        _mount_call("unshare", CLONE_NEWNS)
        _mount_call("mount", None, b"/", None, MS_REC | MS_PRIVATE, None)
        copy = _mount_call(SYS_OPEN_TREE, self.fd, b"", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)
        _mount_call(SYS_MOVE_MOUNT, copy, b"", AT_FDCWD, os.fsencode(str(path)), MOVE_MOUNT_F_EMPTY_PATH)
        os.close(copy)


def scratch_tmpfs(size):
    """A ScratchTmpfs of `size` bytes, or None where none can be made (not root, an old kernel, a
    container that refuses it: said once; the scratch is then a plain directory)."""
    global _tmpfs_said
    if not (size and TMPFS_SCRATCH and os.geteuid() == 0):
        return None
    try:
        return ScratchTmpfs(size)
    except OSError as e:
        if not _tmpfs_said:
            log.warning(
                "backprop-kit: the scratch folder is a plain directory, not a tmpfs of its own (%s)", e
            )
            _tmpfs_said = True
        return None


_tmpfs_said = False


def unmount_scratch(scratch):
    """Detach a scratch tmpfs mounted in this namespace (by a kit before ScratchTmpfs; its memory
    is freed once no process holds a file of it open)."""
    if os.path.ismount(str(scratch)):
        try:
            _mount_call("umount2", os.fsencode(str(scratch)), MNT_DETACH)
        except OSError as e:
            log.error("backprop-kit: the scratch tmpfs %s could not be unmounted: %s", scratch, e)


def unmount_stale_scratches(prefix):
    """Scratch tmpfs left mounted by graders of an older kit no longer running (killed before they
    could unmount: their folder's name holds their pid), unmounted and removed. Today's scratch is
    never mounted here (ScratchTmpfs)."""
    pattern = re.compile(rf"/{re.escape(prefix)}(\d+)-[^/]+/scratch$")
    try:
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f if " - tmpfs " in line]
    except OSError:
        return
    for point in points:
        found = pattern.search(point)
        if found and not os.path.exists(f"/proc/{found.group(1)}"):
            unmount_scratch(point)
            remove_tree(os.path.dirname(point))


REMOVE_SECONDS = 120.0  # rm walks a million entries in well under that


def remove_tree(path):
    """Remove a folder student code wrote into, whatever its shape; True when nothing is left.
    Not shutil.rmtree: it recurses in Python, so a tree 3,000 levels deep raises RecursionError
    (not an OSError: `ignore_errors` does not catch it) and leaves the tree on disk. coreutils'
    rm walks with fts: no recursion limit, relative to open directories (no PATH_MAX), never
    following a link, and --one-file-system keeps it off anything mounted inside. Run after
    every process of the sandbox is gone (`kill_uid`), so nothing reshapes the tree meanwhile."""
    path = str(path)
    if not os.path.lexists(path):
        return True
    try:
        done = subprocess.run(
            [shutil.which("rm") or "/bin/rm", "-rf", "--one-file-system", "--", path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=REMOVE_SECONDS,
            env=bwrap_environment(),
        )
        said = done.stderr.decode(errors="replace").strip()[:300]
    except (OSError, subprocess.TimeoutExpired) as e:
        said = f"{type(e).__name__}: {e}"
    if os.path.lexists(path):
        log.error("backprop-kit: %s could not be removed: %s", path, said or "no message")
        return False
    return True


def log_tail(path, size=2000):
    """The end of a sandbox's start-up log (bwrap's and Python's own errors), for a message."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - size))
            return f.read().decode("utf-8", "replace").strip() or "no message"
    except OSError:
        return "no message"
