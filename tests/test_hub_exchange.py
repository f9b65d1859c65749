"""nbgrader's exchange as the hub sets it up, with real system accounts and nbgrader's own
commands: the course account releases, two students fetch and submit through the kit's
PrivateSubmit (named in the hub's nbgrader config, as students' servers read it), the course
account collects. Student B cannot list or read A's submission even knowing its exact path;
the course account collects both. nbgrader's default submit (0777 folder, 0644 files) would
let B read it: the last test shows that, so the first one would fail without the kit's class."""

import os
import shutil
import stat
from pathlib import Path

import nbformat
import pytest
from hub_course import ACCOUNT_PREFIX, BIN, accounts, new_base, random_password, require_hub_machine, run

pytestmark = pytest.mark.e2e  # nbgrader's own commands on a submission

GRADER, ANN, BEN = f"{ACCOUNT_PREFIX}-xg", f"{ACCOUNT_PREFIX}-xa", f"{ACCOUNT_PREFIX}-xb"
COURSE_ID, ASSIGNMENT = "course-x", "ps1"
TEMPLATE = Path(__file__).resolve().parent.parent / "autograder" / "hub" / "templates" / "nbgrader_config.py"


def write_config(folder, submit_class=None):
    """The hub's nbgrader global config for this exchange, without JupyterHub's auth plugin
    (no hub here: every account has access)."""
    # No on-submit rules: an empty rules_file leaves submit as nbgrader's, plus privacy.
    text = TEMPLATE.read_text().format(
        course_id=COURSE_ID, exchange=str(folder.parent / "exchange"), rules_file=""
    )
    text = text.replace("from nbgrader.auth import JupyterHubAuthPlugin\n", "")
    text = text.replace("c.Authenticator.plugin_class = JupyterHubAuthPlugin\n", "")
    if submit_class is not None:
        text = text.replace('"autograder.hub.exchange.PrivateSubmit"', repr(submit_class))
    assert "ExchangeFactory.submit" in text
    folder.mkdir(exist_ok=True)
    (folder / "nbgrader_config.py").write_text(text)
    os.chmod(folder, 0o755)


def nbgrader(user, base, *args, config="nbgrader", cwd=None):
    env = {
        "JUPYTER_CONFIG_PATH": str(base / config),
        "HOME": os.path.expanduser(f"~{user}"),
        "PATH": f"{BIN}:/usr/bin:/bin",
    }
    return run(
        ["env", *(f"{k}={v}" for k, v in env.items()), BIN / "nbgrader", *args],
        user=user,
        cwd=cwd or env["HOME"],
        check=False,
    )


def try_as(user, code):
    return run([BIN / "python", "-c", code], user=user, check=False, cwd="/")


@pytest.fixture(scope="module")
def exchange_course():
    require_hub_machine()
    base = new_base()
    try:
        with accounts([GRADER, ANN, BEN], random_password()):
            exchange = base / "exchange"
            exchange.mkdir(mode=0o777)
            os.chmod(exchange, 0o1777)  # as `backprop-kit hub` makes it
            write_config(base / "nbgrader")
            write_config(
                base / "nbgrader-default", submit_class="nbgrader.exchange.default.submit.ExchangeSubmit"
            )
            course = base / "course"
            (course / "release" / ASSIGNMENT).mkdir(parents=True)
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("answer = 42")])
            nbformat.write(nb, course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
            (course / "nbgrader_config.py").write_text("c = get_config()\n")
            run(["chown", "-R", f"{GRADER}:{GRADER}", str(course)])
            os.chmod(course, 0o700)
            done = nbgrader(GRADER, base, "release_assignment", ASSIGNMENT, cwd=course)
            assert done.returncode == 0, done.stdout + done.stderr
            for student in (ANN, BEN):
                for args in (("fetch_assignment", ASSIGNMENT), ("submit", ASSIGNMENT)):
                    done = nbgrader(student, base, *args)
                    assert done.returncode == 0, f"{student} {args}: {done.stdout}{done.stderr}"
            yield base, course, exchange / COURSE_ID / "inbound"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def submission_of(inbound, student):
    found = sorted(inbound.glob(f"{student}+{ASSIGNMENT}+*"))
    assert len(found) == 1, (student, found, sorted(p.name for p in inbound.iterdir()))
    return found[0]


def test_a_student_cannot_list_or_read_anothers_submission_even_knowing_its_path(exchange_course):
    base, course, inbound = exchange_course
    ann = submission_of(inbound, ANN)
    said = try_as(
        BEN,
        f"""import os
for what, do in [("inbound", lambda: os.listdir({str(inbound)!r})), ("folder", lambda: os.listdir({str(ann)!r})),
                 ("notebook", lambda: open({str(ann / (ASSIGNMENT + ".ipynb"))!r}).read()),
                 ("secret", lambda: open({str(ann / "submission_secret.txt")!r}).read())]:
    try:
        do(); print("READ", what)
    except PermissionError:
        print("denied", what)""",
    )
    assert said.stdout.split("\n")[:4] == [
        "denied inbound",
        "denied folder",
        "denied notebook",
        "denied secret",
    ], said
    # What makes it so: the course account's group, nobody else's bits.
    st = ann.stat()
    assert stat.S_IMODE(st.st_mode) & 0o007 == 0 and st.st_gid == inbound.stat().st_gid, oct(st.st_mode)
    assert not list(inbound.glob(".submitting-*")), "a staging folder was left behind"


def test_the_course_account_collects_every_private_submission(exchange_course):
    base, course, inbound = exchange_course
    done = nbgrader(GRADER, base, "collect", ASSIGNMENT, cwd=course)
    assert done.returncode == 0, done.stdout + done.stderr
    for student in (ANN, BEN):
        collected = course / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert "answer = 42" in collected.read_text()


def test_the_student_keeps_their_own_copy_and_can_list_what_they_submitted(exchange_course):
    base, course, inbound = exchange_course
    listed = nbgrader(ANN, base, "list", "--cached")
    assert listed.returncode == 0 and f"{COURSE_ID} {ANN} {ASSIGNMENT}" in listed.stdout + listed.stderr, (
        listed
    )


def test_nbgraders_own_submit_is_readable_by_another_student_who_knows_the_path(exchange_course):
    """Why the kit's class: without it the same read succeeds (so the first test can fail)."""
    base, course, inbound = exchange_course
    done = nbgrader(ANN, base, "submit", ASSIGNMENT, config="nbgrader-default")
    assert done.returncode == 0, done.stdout + done.stderr
    newest = max(inbound.glob(f"{ANN}+{ASSIGNMENT}+*"), key=lambda p: p.stat().st_mtime)
    said = try_as(BEN, f"print(len(open({str(newest / (ASSIGNMENT + '.ipynb'))!r}).read()) > 0)")
    assert said.stdout.strip() == "True", said
