"""The sandbox's seccomp filters: the system calls student code never needs, refused with EPERM.

Built with libseccomp (PyPI's pyseccomp, a ctypes binding; Debian's python3-seccomp does not
import in a virtual environment's Python), never written as BPF by hand, and exported as BPF:

* "worker": what every worker runs under. A worker in a bwrap of its own gets it from bwrap
  (`--seccomp FD`, loaded just before bwrap executes the worker's command). A worker forked by
  the sandbox host loads it itself (host.py, `install_filter`), after its namespaces, mounts,
  uid and fresh session keyring are set up and before any helper or student code runs.
* "host": the sandbox host's own (bwrap `--seccomp`), as strict as a process can be that still
  has to build each worker's sandbox: it keeps unshare (never a user namespace), mount,
  open_tree/move_mount, sethostname and keyctl's "join a new session keyring" only. Filters
  stack: a hosted worker runs under both.

At least as strict as Docker's default profile for a container without capabilities, on every
call issue 32 names: the kernel's keys, new namespaces of any kind (clone's namespace flags
too; clone3, whose flags a filter cannot read, fails with ENOSYS as under Docker, and glibc
falls back to clone), mounts, ptrace and reading another process's memory, bpf,
perf_event_open, userfaultfd, io_uring, kexec and kernel modules. Calls of another
architecture (32-bit x86 from a 64-bit process) kill the process (libseccomp's default).

Where no filter can be had (the binding or libseccomp missing, a kernel or bwrap that refuses
it) grading says so once, in one line, and goes on without it; `grading.require_sandbox: true`
refuses instead (bwrap.require): a sandbox without its filter is not the sandbox required.
"""

import errno
import functools
import logging
import os
import tempfile

log = logging.getLogger("backprop-kit")

ENFORCED = True  # False only in tests: the mutation check that the filter is what holds

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x02000000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
NAMESPACE_FLAGS = (
    CLONE_NEWNS,
    CLONE_NEWCGROUP,
    CLONE_NEWUTS,
    CLONE_NEWIPC,
    CLONE_NEWUSER,
    CLONE_NEWPID,
    CLONE_NEWNET,
)
KEYCTL_JOIN_SESSION_KEYRING = 1

# Refused to every worker, by name (a name this libseccomp does not know is skipped: a kernel
# that old has no such call either).
DENIED = (
    # the kernel's keys: one student's keys, or the grader's session keyring, seen by the next
    "keyctl",
    "add_key",
    "request_key",
    # new namespaces (a user namespace would mount an uncapped tmpfs of its own), or joining one
    "unshare",
    "setns",
    # the shape of the filesystem
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "mount_setattr",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "open_by_handle_at",
    # another process's memory
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    # the kernel's own surfaces
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    # the machine's
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "syslog",
    "quotactl",
    "settimeofday",
    "clock_settime",
    "sethostname",
    "setdomainname",
    "iopl",
    "ioperm",
    "uselib",
    "lookup_dcookie",
)
# What the host needs from DENIED to build a worker's sandbox (host.py); each is narrowed by
# HOST_RULES where a filter can read the arguments.
HOST_NEEDS = ("unshare", "mount", "open_tree", "move_mount", "sethostname", "keyctl")


class Unavailable(RuntimeError):
    """No filter can be built here; the message says why."""


# One rule of a filter: the action (pyseccomp's ERRNO(...)), the system call's name and the
# argument comparisons (pyseccomp's Arg(...)) it applies under, none for every call.
Rule = tuple[object, str, tuple[object, ...]]


def _rules(library, kind) -> list[Rule]:
    """[(action, name, args)] of a filter of `kind`."""
    eperm = library.ERRNO(errno.EPERM)
    rules: list[Rule] = []
    denied = DENIED if kind == "worker" else [name for name in DENIED if name not in HOST_NEEDS]
    rules += [(eperm, name, ()) for name in denied]
    flags = NAMESPACE_FLAGS if kind == "worker" else (CLONE_NEWUSER,)
    rules += [(eperm, "clone", (library.Arg(0, library.MASKED_EQ, flag, flag),)) for flag in flags]
    rules.append((library.ERRNO(errno.ENOSYS), "clone3", ()))
    if kind == "host":
        rules.append((eperm, "unshare", (library.Arg(0, library.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER),)))
        rules.append((eperm, "keyctl", (library.Arg(0, library.NE, KEYCTL_JOIN_SESSION_KEYRING),)))
    return rules


@functools.lru_cache(maxsize=2)
def _built(kind):
    """The BPF program of `kind`, or Unavailable (cached: built once per process)."""
    try:
        import pyseccomp as library
    except (ImportError, OSError) as e:  # OSError: the binding loads libseccomp.so when imported
        return Unavailable(f"libseccomp cannot be loaded: {type(e).__name__}: {e}")
    try:
        program = library.SyscallFilter(library.ALLOW)
        try:  # a binary tree over the call numbers: some 7 comparisons per system call, not 50
            program.set_attr(library.Attr.CTL_OPTIMIZE, 2)
        except (OSError, AttributeError):  # libseccomp < 2.5: the linear filter, as strict
            pass
        for action, name, args in _rules(library, kind):
            try:
                library.resolve_syscall(library.system_arch(), name)
            except (OSError, ValueError):
                continue  # unknown to this libseccomp, so to its kernel's generation too
            program.add_rule(action, name, *args)
        with tempfile.TemporaryFile() as out:
            program.export_bpf(out)
            out.seek(0)
            return out.read()
    except (OSError, ValueError, AttributeError) as e:
        return Unavailable(f"libseccomp could not build the filter: {type(e).__name__}: {e}")


_said = False


def program(kind="worker"):
    """The BPF program of the `kind` filter ("worker" or "host"), or None when there is none
    to be had here (said once, in one line) or the filter is switched off (tests)."""
    if not ENFORCED or _broken:
        return None
    built = _built(kind)
    if isinstance(built, Unavailable):
        unavailable(str(built))
        return None
    return built


def why_unavailable():
    """Why no filter can be had here, or "" when one can (switched off counts as one can)."""
    if not ENFORCED:
        return ""
    built = _built("worker")
    return _broken or (str(built) if isinstance(built, Unavailable) else "")


_broken = ""  # why the filter cannot be used here, once that is known


def unavailable(reason):
    """Record, and say once, why grading goes on without a filter (the first reason found)."""
    global _said, _broken
    _broken = _broken or reason
    if not _said:
        log.warning(
            "backprop-kit: no seccomp filter for the sandbox (%s); grading goes on without one "
            "(grading.require_sandbox: true refuses instead)",
            _broken,
        )
        _said = True


def open_program(kind="worker"):
    """A descriptor to read the `kind` program from, from its start (bwrap's --seccomp reads it
    to its end, so each sandbox needs one of its own), or None. The caller closes it once the
    process it is handed to has started."""
    data = program(kind)
    if data is None:
        return None
    fd = os.memfd_create("bpkit-seccomp", 0)
    try:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        os.close(fd)
        raise
    return fd
