"""Who can reach what on the hub's machine, read from the filesystem's modes.

The formgrader service runs as the course account; each student's server runs as the
student. Both must reach the kit's environment (every folder on the way traversable); only
the course account may enter the course directory (its source/ holds the solutions, its
gradebook everyone's grades); the exchange must be writable by everyone, with the sticky bit
so nobody removes another's folder. A problem is one line naming the folder and the fix."""

import grp
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from ..words import N_, _

EXCHANGE_MODE = 0o1777  # like /tmp: everyone may create, only the owner may remove


@dataclass(frozen=True)
class Account:
    """A system account as the kernel checks it: its uid and every group it is in."""

    name: str
    uid: int
    gids: frozenset

    @classmethod
    def named(cls, name):
        """The account, or None when no such system account exists."""
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return None
        return cls(name, entry.pw_uid, frozenset(os.getgrouplist(name, entry.pw_gid)))


ANYONE = Account(
    N_("any student"), -1, frozenset()
)  # what the "other" bits grant; its name translated where shown
# Why an account cannot use a folder, by the rwx bits it lacks there (0o1: enter a folder on the way).
CANNOT = {
    0o1: N_("{account} cannot enter {folder}"),
    0o4: N_("{account} cannot read {folder}"),
    0o5: N_("{account} cannot read {folder}"),
    0o7: N_("{account} cannot write in {folder}"),
}
CANNOT_USE = N_("{account} cannot use {folder}")


def _allows(st, account, bits):
    """Whether `account` has the rwx `bits` (0o4, 0o2, 0o1 combined) on a file with stat `st`."""
    if account.uid == 0:
        return True
    if st.st_uid == account.uid:
        return (st.st_mode >> 6) & bits == bits
    if st.st_gid in account.gids:
        return (st.st_mode >> 3) & bits == bits
    return st.st_mode & bits == bits


def _describe(path, st):
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    return _("{path} (mode {mode}, owner {owner})").format(
        path=path, mode=f"{stat.S_IMODE(st.st_mode):04o}", owner=owner
    )


def unreachable(path, account, need=0o5):
    """Why `account` cannot use `path` (every folder above it entered, `path` itself with the
    `need` bits: read+enter by default), or None when it can."""
    path = Path(path).resolve()
    for folder in [*reversed(path.parents), path]:
        try:
            st = folder.stat()
        except OSError as e:
            return _("{folder} cannot be read: {why}").format(folder=folder, why=e.strerror)
        bits = need if folder == path else 0o1
        if not _allows(st, account, bits):
            return _(CANNOT.get(bits, CANNOT_USE)).format(
                account=_(account.name), folder=_describe(folder, st)
            )
    return None


def open_to_others(path):
    """Why students could look inside `path` (any "other" permission bit), or None."""
    st = Path(path).stat()
    if st.st_mode & 0o007:
        return _(
            "{folder} is open to every account: students could read the solutions in source/ and the "
            "gradebook"
        ).format(folder=_describe(path, st))
    return None


def exchange_problem(path):
    """Why nbgrader's exchange at `path` would fail students or the course account, or None."""
    path = Path(path)
    if not path.is_dir():
        return _(
            "the exchange {path} does not exist: create it with `sudo mkdir -p {path} && sudo chmod {mode} "
            "{path}` (or run `backprop-kit hub` as root)"
        ).format(path=path, mode=f"{EXCHANGE_MODE:o}")
    st = path.stat()
    if stat.S_IMODE(st.st_mode) & 0o777 != 0o777:
        return _(
            "the exchange {folder} is not writable by every account: students cannot submit and the course "
            "account cannot release; run `sudo chmod {mode} {path}`"
        ).format(folder=_describe(path, st), mode=f"{EXCHANGE_MODE:o}", path=path)
    return unreachable(path, ANYONE, need=0o7)


def make_exchange(path):
    """Create the exchange with the mode it needs (root only: it usually lives in /usr/local/share)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, EXCHANGE_MODE)


def sharing_the_group_of(account: "Account") -> tuple[str, list[str]]:
    """The course account's primary group and the other accounts in it. Submissions reach the
    course account through that group (PrivateSubmit: 0770 folders, 0640 files), so anyone else
    in it could read every student's work."""
    entry = pwd.getpwnam(account.name)
    group = grp.getgrgid(entry.pw_gid)
    others = {p.pw_name for p in pwd.getpwall() if p.pw_gid == entry.pw_gid} | set(group.gr_mem)
    return group.gr_name, sorted(others - {account.name})
