"""PrivateSubmit: nbgrader's filesystem `submit`, but a submission only its student and the
course account can read.

nbgrader's own submit leaves each submission in the exchange's inbound as a 0777 folder of
0644 files, hidden from other students only by a random name. Its release makes inbound
0733 with the set-group-id bit, owned by the course account: every folder and file made in
it belongs to the course account's group. So a submission made 0770 / 0640 there is the
student's and the course account's, and nobody else's, even knowing the exact path; collect
(as the course account, by that group) works as before.

The copy is made inside a private staging folder (0700) in inbound and moved to its real name
only when its modes are final, so no moment exists where another account could read it.
Students' servers use it through nbgrader's global config written by `backprop-kit hub`
(`c.ExchangeFactory.submit`)."""

import os
import re
import secrets
import shutil
import stat
import tempfile

from nbgrader.exchange.default.list import ExchangeList
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import get_username
from traitlets import Unicode

from ..bpkit.i18n import speaking
from ..words import _
from .assignments_tab import SubmitRefused

SUBMISSION_DIR_MODE = 0o770  # the student and the course account's group: collect reads, staff may remove
SUBMISSION_FILE_MODE = 0o640
STAGING_PREFIX = ".submitting-"  # nbgrader's collect and list only match '<student>+<assignment>+*'


def inbound_problem(inbound_path, own_gids):
    """Why a submission in `inbound_path` could not be both private and collectable, or None."""
    st = os.stat(inbound_path)
    if not st.st_mode & stat.S_ISGID:
        return (
            f"the exchange's inbound {inbound_path} lacks the set-group-id bit, so a private submission would "
            f"not belong to the course account's group; the course staff run `sudo chmod g+s {inbound_path}`"
        )
    if st.st_gid in own_gids:
        return (
            f"you are in the group of the exchange's inbound {inbound_path} (gid {st.st_gid}), which must be "
            "the course account's own: other students in it could read your submission; ask the course staff"
        )
    return None


class PrivateSubmit(ExchangeSubmit):
    # The hub's on-submit rules (autograder/hub/on_submit.py), set by the hub's nbgrader config.
    rules_file = Unicode("", help="on-submit.json written by `backprop-kit hub`").tag(config=True)

    def copy_files(self):
        self.refuse_over_the_rules()
        why = inbound_problem(self.inbound_path, set(os.getgroups()) | {os.getegid()})
        if why:
            # Still submitted, as nbgrader does it (readable by whoever learns its name), so nothing is lost.
            self.log.warning("backprop-kit: %s. Submitting the way nbgrader does by default.", why)
            return super().copy_files()
        self.init_release()
        submission_secret = secrets.token_hex(64)
        dest_path = os.path.join(self.inbound_path, self.assignment_filename)
        self.log.info(f"Source: {self.src_path}")
        self.log.info(f"Destination: {dest_path}")
        self.check_filename_diff()

        staging = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.inbound_path)  # 0700, the course's group
        try:
            inner = os.path.join(staging, self.assignment_filename)
            self.do_copy(self.src_path, inner)
            # copytree gave `inner` the mode of the student's folder, dropping the set-group-id
            # bit (which a non-member cannot set again): a file made in it now would be the
            # student's group. Made in the staging folder (still set-group-id), then moved in.
            for name in self._write_stamps(staging, submission_secret):
                os.rename(os.path.join(staging, name), os.path.join(inner, name))
            self.set_perms(inner, fileperms=SUBMISSION_FILE_MODE, dirperms=SUBMISSION_DIR_MODE)
            self._keep_collectable(inner, os.stat(self.inbound_path).st_gid)
            os.rename(inner, dest_path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

        # The student's own copy, as nbgrader keeps it (in their home): fetch_feedback reads its secret.
        cache_name = (
            self.assignment_filename.rsplit("+", 1)[0] if self.add_random_string else self.assignment_filename
        )
        cache_path = os.path.join(self.cache_path, cache_name)
        os.makedirs(self.cache_path, exist_ok=True)
        self.do_copy(self.src_path, cache_path)
        self._write_stamps(cache_path, submission_secret)
        self.log.info(
            f"Submitted as: {self.coursedir.course_id} {self.coursedir.assignment_id} {self.timestamp!s}"
        )

    def refuse_over_the_rules(self):
        """An attempt over the assignment's limit, or inside its cooldown, is refused before
        anything is copied: the Assignments tab shows why and when the next is possible. (The
        grading service, as the course account, enforces the same from its own records.)"""
        from . import on_submit

        if not self.rules_file:
            return
        status_dir, rules = on_submit.read_rules(os.path.dirname(self.rules_file))
        rule = rules.get(self.coursedir.assignment_id)
        if rule is None:
            return
        # As nbgrader's own submit names the submission: --student, else the account's name.
        student = self.coursedir.student_id if self.coursedir.student_id != "*" else get_username()
        status = on_submit.read_status(status_dir, student).get(self.coursedir.assignment_id, {})
        with speaking(on_submit.rules_language(os.path.dirname(self.rules_file))):
            why = on_submit.refusal(rule, status, on_submit.now())
            if not why:
                return
            # The command line's words (nbgrader submit prints the log); the Assignments tab
            # (assignments_tab.py) shows the exception's text alone, under nbgrader's "Assignment
            # not submitted:", in a box that scrolls sideways: a sentence a line.
            self.log.error(
                _("{assignment}: not submitted: {why}").format(
                    assignment=self.coursedir.assignment_id, why=why
                )
            )
            raise SubmitRefused("\n".join(re.split(r"(?<=[;.])\s+", f"{why}.")))

    def _write_stamps(self, path, submission_secret):
        """timestamp.txt and submission_secret.txt in `path`, as nbgrader writes them; their names."""
        stamps = {"timestamp.txt": self.timestamp, "submission_secret.txt": submission_secret}
        for name, text in stamps.items():
            with open(os.path.join(path, name), "w") as fh:
                fh.write(text)
        return list(stamps)

    def _keep_collectable(self, path, course_gid):
        """Anything not in the course account's group (a folder whose set-group-id bit was lost)
        is left readable as nbgrader leaves it, with a warning: collect must never miss a file."""
        for dirname, dirnames, filenames in os.walk(path):
            for name in [*dirnames, *filenames]:
                entry = os.path.join(dirname, name)
                if os.lstat(entry).st_gid != course_gid:
                    self.log.warning(
                        "backprop-kit: %s is not in the course account's group; "
                        "leaving it readable so that collect gets it",
                        entry,
                    )
                    os.chmod(entry, 0o755 if os.path.isdir(entry) else 0o644)


class OnSubmitList(ExchangeList):
    """nbgrader's list, with what the grading service says about a student's newest submission of
    an on-submit assignment: the Assignments tab shows it after the submission's time (which is
    the text nbgrader's JupyterLab extension shows there): being graded and the queue position,
    graded (then *Fetch Feedback*), or when the next attempt is possible."""

    rules_file = Unicode("", help="on-submit.json written by `backprop-kit hub`").tag(config=True)

    def parse_assignments(self):
        assignments = super().parse_assignments()
        if not (self.cached and self.rules_file):
            return assignments
        from . import on_submit

        status_dir, rules = on_submit.read_rules(os.path.dirname(self.rules_file))
        for group in assignments:
            rule = rules.get(group.get("assignment_id"))
            if rule is None or not group.get("submissions"):
                continue
            status = on_submit.read_status(status_dir, group["student_id"]).get(group["assignment_id"], {})
            newest = group["submissions"][-1]
            with speaking(on_submit.rules_language(os.path.dirname(self.rules_file))):
                said = on_submit.progress(rule, status, newest, on_submit.now())
            if said:
                newest["timestamp"] = f"{newest['timestamp']} — {said}"
        return assignments
