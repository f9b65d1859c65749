"""The sandbox host: one bwrap sandbox per grading process that imports numpy once and forks
each submission's sandboxed worker from it, in namespaces, a uid and a scratch directory of
the worker's own.

STANDALONE, like worker.py (standard library, numpy, IPython, worker.py and protocol.py, the
last two copied beside this file into a read-only directory). autograder.sandbox.runner starts it as root, under
bwrap with the same read-only filesystem as a worker's own sandbox but no scratch directory,
keeping only the capabilities it needs to build a worker's sandbox (CAP_SYS_ADMIN for the
namespaces and mounts, CAP_SETUID/CAP_SETGID/CAP_SETPCAP to become the worker's uid):
`python -I -S -B host.py --site DIR ... --home PATH [--preimport MODULE ...] [--seccomp FILE]`, its
stdin a Unix socket to the grader; --preimport names what the course's helpers import (numpy's
and the standard library's modules), loaded once here too; --seccomp names the workers' seccomp
program (seccomp.py), which each worker loads once its sandbox is built. The host itself runs
under a filter of its own, loaded by bwrap.

Why: a sandbox started afresh per submission spends most of its start in Python's, numpy's
and IPython's imports (some 0.2 s of CPU, the largest fixed cost of grading one submission).
Here that is done once; what a submission gets is unchanged: a fresh fork, in new mount, pid, network, IPC
and UTS namespaces, with /proc, /tmp and /dev/shm of its own, its own scratch directory bound
at PATH (the only writable host directory), a fresh uid, no capabilities (bounding set
emptied), no_new_privs, a fresh empty session keyring, the workers' seccomp filter
(seccomp.py: loaded last, before any helper or student code), and the worker's resource
limits. The host runs no student code and holds nothing of any student's: it reads only the
grader's requests.

One message per line of the socket (SOCK_SEQPACKET), JSON:
  grader -> host  {"spawn": id, "uid": n, "limits": {...}, "preloads": [...], "cgroups": n}
                  with five descriptors (SCM_RIGHTS): the scratch directory (a detached bind
                  mount, open_tree), the worker's request pipe (read end), reply pipe (write end),
                  its log file, and the write end of a pipe that closes when the worker is gone;
                  then n cgroup.procs files of the submission's cgroup, which the worker joins
                  {"kill": id}
  host -> grader  {"ready": true} once, then {"spawned": id} or {"error": "..."} per spawn
Nothing of a student's passes through the host: the worker's environment (the student's id
among it) is the first thing on the worker's own request pipe, read by the worker after the
fork (`read_environment`). The host's heap, which every later worker starts as a copy of,
never held it; an order carries only a counter, a uid, the course's limits and helper names.
"""

import ctypes
import importlib
import json
import os
import re
import signal
import socket
import sys

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP = 1, 24, 38, 22
SECCOMP_MODE_FILTER, KEYCTL_JOIN_SESSION_KEYRING = 2, 1
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}  # keyctl has no libc wrapper (libkeyutils has one)
# open_tree and move_mount (Linux 5.2): their numbers are the same on x86-64 and arm64.
SYS_OPEN_TREE, SYS_MOVE_MOUNT, AT_FDCWD, MOVE_MOUNT_F_EMPTY_PATH = 428, 429, -100, 4
OPEN_TREE_CLONE, AT_RECURSIVE = 1, 0x8000
TMPFS_OPTIONS = "mode=1777,size=67108864"  # as bwrap.TMPFS_BYTES: tmpfs memory is not covered by RLIMIT_AS
LOWEST_UID = 100_000  # below it are system and people's accounts; the grader hands out uids from 1.5e9
FDS = 5  # scratch, requests, replies, log, alive; then one cgroup.procs per hierarchy of the submission's cgroup
MAX_CGROUP_FDS = 8
WORKER_FILTER = None  # the workers' seccomp program (BPF, built by the grader with libseccomp): --seccomp

libc = ctypes.CDLL(None, use_errno=True)


def _checked(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def mount(source, target, fstype, flags, data=None):
    _checked(
        libc.mount(
            source and source.encode(),
            target.encode(),
            fstype and fstype.encode(),
            ctypes.c_ulong(flags),
            data and data.encode(),
        ),
        f"mount {target}",
    )


def prctl(option, value):
    _checked(libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


# ---------------------------------------------------------------- in the worker (before any student code)


def enter_sandbox(order, fds, home, worker):
    """Become the submission's worker: pid 1 of the namespaces the parent made, with its own
    mounts, limits and uid, and nothing of the host's privileges left. Any failure ends the
    process before student code could run (the grader then reports that the worker did not start)."""
    scratch, requests, replies, log, alive = fds
    os.setsid()
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted here reaches the host's namespace
    for tmp in ("/tmp", "/dev/shm"):
        fresh_tmpfs(tmp)
    attach(scratch, home)  # the grader's detached bind mount of this submission's scratch directory
    mount(None, home, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this pid namespace's processes only
    for keys in ("/proc/keys", "/proc/key-users"):  # masked as in bwrap.wrap
        if os.path.exists(keys):
            mount("/dev/null", keys, None, MS_BIND)
    socket.sethostname("sandbox")
    spawn = order["limits"]  # the zygote's limits: the same table bwrap.preexec applies
    worker.limits_module.apply(
        worker.limits_module.Limits.from_wire(spawn["limits"]),
        extra_memory=int(spawn["extra_memory"]),
        processes=spawn["processes"],
    )
    become(int(order["uid"]))
    join_fresh_keyring()  # after the uid change: the keyring is the worker's uid's, gone with its processes
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after the uid change, which clears it: die with the host's fork
    os.chdir(home)
    for target, fd in ((0, requests), (1, replies), (2, log)):
        os.dup2(fd, target)
    keep = {0, 1, 2, alive}
    for fd in os.listdir("/proc/self/fd"):
        if int(fd) not in keep:
            try:
                os.close(int(fd))
            except OSError:
                pass
    os.environ.clear()
    os.environ.update(read_environment(0))
    if "numpy.random" in sys.modules:  # a fresh process would seed its own (random reseeds at fork itself)
        sys.modules["numpy.random"].seed()
    if WORKER_FILTER is not None:  # last: everything above needed calls it refuses
        install_filter(WORKER_FILTER)
    return alive


ENVIRONMENT_DIGITS = 8  # the length of the environment's JSON, in decimal, before it (hosted.py)


def read_exactly(fd, size):
    data = bytearray()
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise EOFError("the grader closed the request pipe before the environment")
        data += chunk
    return bytes(data)


def read_environment(fd):
    """The worker's environment, which the grader wrote first on its request pipe: its length,
    then JSON. Read exactly, so the requests after it stay in the pipe for the worker."""
    size = int(read_exactly(fd, ENVIRONMENT_DIGITS))
    env = json.loads(read_exactly(fd, size))
    if type(env) is not dict:
        raise ValueError("the environment is not a JSON object")
    return {str(k): str(v) for k, v in env.items()}


def join_fresh_keyring():
    """A new, empty, anonymous session keyring instead of the one inherited from the grader (a
    TA's login session has one): what one student could leave there, or find of the TA's,
    never reaches another. The worker's filter then refuses every call on keys."""
    number = SYS_KEYCTL.get(os.uname().machine)
    if number is None:
        return  # another architecture: the filter alone keeps keys out of reach
    if libc.syscall(number, KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"keyctl join session keyring: {os.strerror(errno)}")


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_filter(program):
    """Load a seccomp program (BPF as libseccomp exported it: 8-byte instructions) into this
    process and everything it starts; no_new_privs is set already (`become`)."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    _checked(
        libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog), 0, 0),
        "seccomp filter",
    )


def attach(tree, path):
    """Mount a detached mount tree (open_tree's descriptor) at `path`."""
    _checked(
        libc.syscall(SYS_MOVE_MOUNT, tree, b"", AT_FDCWD, path.encode(), MOVE_MOUNT_F_EMPTY_PATH),
        f"move_mount {path}",
    )


def detach_copy(path):
    """A detached copy of the mounts at and below `path` (open_tree)."""
    fd = libc.syscall(SYS_OPEN_TREE, AT_FDCWD, path.encode(), OPEN_TREE_CLONE | AT_RECURSIVE)
    _checked(0 if fd >= 0 else -1, f"open_tree {path}")
    return fd


def mounts_below(top):
    """The outermost mount points strictly below `top` in this mount namespace."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = re.sub(
                r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4]
            )  # \040: a space
            if point.startswith(top.rstrip("/") + "/"):
                points.append(point)
    return [p for p in points if not any(p.startswith(q + "/") for q in points)]


def fresh_tmpfs(top):
    """An empty tmpfs of this worker's own at `top` (the host's is every worker's), with what the
    host's sandbox bound below it bound there again: a virtual environment or the grader's
    temporary folders may live below /tmp, as bwrap.wrap allows."""
    kept = [(point, detach_copy(point)) for point in mounts_below(top)]
    mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, TMPFS_OPTIONS)
    for point, tree in kept:
        os.makedirs(point, mode=0o755, exist_ok=True)
        attach(tree, point)
        os.close(tree)


def become(uid):
    """The fresh uid, with no capabilities and no way back: the bounding set emptied, then the
    uid changed (which clears the permitted and effective sets), then checked. Only a uid far
    above every account's (bwrap.SANDBOX_UID_RANGE) is taken: root, or any real account, never."""
    if not LOWEST_UID <= uid < 2**31:
        raise PermissionError(f"uid {uid} is not a sandbox's own")
    for cap in range(64):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError:  # past the last capability this kernel knows
            break
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    clear_capabilities()  # the inheritable set survives a uid change (bwrap set it to the host's)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    with open("/proc/self/status") as f:
        status = dict(line.split(":", 1) for line in f if ":" in line)
    for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        if int(status.get(field, "0").strip() or "0", 16) != 0:
            raise PermissionError(f"{field} is not empty after the uid change")
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != uid:
        raise PermissionError("the uid did not change")


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def clear_capabilities():
    """Empty the effective, permitted and inheritable sets (capset, version 3: two words each)."""
    header, data = CapHeader(0x20080522, 0), (CapData * 2)()
    _checked(libc.capset(ctypes.byref(header), data), "capset")


def say_failure(log_fd, error):
    """Why a worker could not start, in its log (the grader quotes the log's end)."""
    import traceback

    try:
        os.write(
            log_fd,
            (
                f"backprop-kit sandbox host: the worker could not start: {error!r}\n"
                + "".join(traceback.format_exception(error))[-1500:]
            ).encode(),
        )
    except OSError:
        pass


def start_worker(order, fds, home, worker):
    """The fork of the host that becomes pid 1 of its own namespaces (its parent waits for it,
    as bwrap waits for its command)."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the host gone (the grader gone): so is this
    for procs in fds[FDS:]:  # join the submission's cgroup (the grader made it; "0": this process)
        os.write(procs, b"0")  # before the worker exists: all it starts is inside
        os.close(procs)
    fds = fds[:FDS]
    _checked(
        libc.unshare(
            CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP
        ),
        "unshare",
    )
    pid = os.fork()
    if pid == 0:
        try:
            alive = enter_sandbox(order, fds, home, worker)
            worker.serve_forever(order.get("preloads") or [], True, keep_fds=(alive,))
        except BaseException as e:
            say_failure(fds[3], e)
        finally:
            os._exit(71)
    for fd in fds[:-1]:
        os.close(fd)
    # `alive` stays open here until the worker is reaped, which is once every process of its pid
    # namespace is gone: its end of file tells the grader that nothing of the sandbox is left.
    while True:
        try:
            os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            break
    os._exit(0)


# ---------------------------------------------------------------- the host


def serve(control, home, worker):
    children: dict = {}  # spawn id -> pid of the fork that waits for that worker
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forks are reaped by the kernel
    control.send(json.dumps({"ready": True}).encode())
    while True:
        message, ancillary, _flags, _address = control.recvmsg(
            1 << 16, socket.CMSG_SPACE((FDS + MAX_CGROUP_FDS) * 4)
        )
        if not message:
            os._exit(0)  # the grader is gone
        fds = []
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds += list(memoryview(data).cast("i"))
        try:
            order = json.loads(message)
            if "kill" in order:
                pid = children.pop(order["kill"], None)
                if pid is not None:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                continue
            wanted = FDS + int(order.get("cgroups", 0))
            if len(fds) != wanted:
                raise ValueError(f"{len(fds)} descriptors, not {wanted}")
            pid = os.fork()
            if pid == 0:
                try:
                    control.close()
                    start_worker(order, fds, home, worker)
                except BaseException as e:
                    say_failure(fds[3], e)
                finally:
                    os._exit(70)
            children[order["spawn"]] = pid
            reply = {"spawned": order["spawn"]}
        except Exception as e:  # the grader's bug: say so, keep serving
            reply = {"error": f"{type(e).__name__}: {e}"[:500]}
        finally:
            for fd in fds:
                os.close(fd)
        control.send(json.dumps(reply).encode())


def main():
    global WORKER_FILTER
    args, sites, home, preimports = iter(sys.argv[1:]), [], None, []
    for arg in args:
        if arg == "--site":
            sites.append(next(args))
        elif arg == "--home":
            home = next(args)
        elif arg == "--preimport":
            preimports.append(next(args))
        elif arg == "--seccomp":
            with open(next(args), "rb") as f:
                WORKER_FILTER = f.read()
    sys.path.extend(sites)
    import numpy  # noqa: F401  (once, here: every worker and every fork of it starts with it loaded)

    for name in preimports:  # what the course's helpers import (the grader read their files): loaded once
        try:
            importlib.import_module(name)
        except Exception:  # a helper that needs it says so in the worker, as it would without the host
            pass

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves our own directory out
    import worker

    del sys.path[0]
    worker.load_ipython()
    worker.load_protocol()
    control = socket.socket(fileno=os.dup(0))
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.close(null)
    serve(control, home, worker)


if __name__ == "__main__":
    main()
