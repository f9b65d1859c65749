"""`backprop-kit hub` and `add-student` before any hub runs: the ids nbgrader cannot handle,
the roster CSV, and each layout mistake, refused with one line naming what to fix."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.bpkit import i18n
from autograder.hub import layout, names, roster
from autograder.hub.hubconfig import check_layout, spawn_problem
from autograder.hub.settings import HubSettings

KIT = Path(sys.prefix) / "bin" / "backprop-kit"


@pytest.mark.parametrize(
    "name, why",
    [
        ("ann+1", "'+'"),
        ("ann lee", "a space"),
        ("ann/lee", "a slash"),
        ("", "empty"),
        ("-ann", "starts with '-'"),
        ("ann!", "'!'"),
        ("a" * 65, "65 characters"),
    ],
)
def test_names_nbgrader_cannot_handle_are_refused_saying_why(name, why):
    with pytest.raises(names.StudentIdError) as e:
        names.check(name, "roster.csv: line 3")
    assert why in str(e.value) and str(e.value).startswith("roster.csv: line 3: ")


@pytest.mark.parametrize("name", ["ann", "ann.lee", "ann_lee-2", "a@example.org", "A1"])
def test_ordinary_login_names_are_student_ids(name):
    assert names.check(name) == name


def test_a_roster_csv_is_read_in_nbgraders_import_format(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("id, first_name, last_name, email\nann,Ann,Lee,ann@example.org\nben,,,\n")
    assert roster.read_csv(path) == [
        roster.Student("ann", "Ann", "Lee", "ann@example.org"),
        roster.Student("ben"),
    ]


def test_a_roster_csv_with_a_bad_id_or_no_id_column_names_the_line(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("id,first_name\nann,Ann\nben+2,Ben\n")
    with pytest.raises(
        roster.RosterError,
        match=r"roster.csv: line 3: 'ben\+2' is not a valid nbgrader student id: it contains a '\+'",
    ):
        roster.read_csv(path)
    path.write_text("student,first_name\nann,Ann\n")
    with pytest.raises(
        roster.RosterError,
        match="line 1: a roster needs a column 'id'.*found student, first_name",  # noqa: RUF043
    ):
        roster.read_csv(path)


@pytest.fixture
def open_tmp():
    """A folder every account can enter (pytest's tmp_path sits in a 0700 folder)."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="bpkit-hub-setup-"))
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_a_folder_on_the_way_that_others_cannot_enter_is_named(open_tmp):
    private = open_tmp / "private"
    (private / "course").mkdir(parents=True)
    os.chmod(private, 0o700)
    why = layout.unreachable(private / "course", layout.ANYONE)
    assert why == f"any student cannot enter {private} (mode 0700, owner {Path(private).owner()})"
    os.chmod(private, 0o711)
    assert layout.unreachable(private / "course", layout.ANYONE) is None


def test_the_exchange_missing_or_not_writable_by_everyone_says_the_command_that_fixes_it(open_tmp):
    exchange = open_tmp / "exchange"
    assert (
        f"the exchange {exchange} does not exist: create it with `sudo mkdir -p {exchange} && sudo chmod 1777 {exchange}`"
        in layout.exchange_problem(exchange)
    )
    exchange.mkdir()
    os.chmod(exchange, 0o755)
    assert "is not writable by every account: students cannot submit" in layout.exchange_problem(exchange)
    assert f"run `sudo chmod 1777 {exchange}`" in layout.exchange_problem(exchange)
    layout.make_exchange(exchange)
    assert layout.exchange_problem(exchange) is None and exchange.stat().st_mode & 0o7777 == 0o1777


def test_a_course_directory_open_to_other_accounts_is_refused(tmp_path):
    os.chmod(tmp_path, 0o755)
    assert "is open to every account: students could read the solutions" in layout.open_to_others(tmp_path)
    os.chmod(tmp_path, 0o750)
    assert layout.open_to_others(tmp_path) is None


def test_a_hub_layout_problem_is_told_in_korean(open_tmp):
    private = open_tmp / "private"
    (private / "course").mkdir(parents=True)
    os.chmod(private, 0o700)
    settings = HubSettings(
        course_id="cs231n",
        course_dir=str(private / "course"),
        course_account="no-such-account-bpk",
        exchange=str(open_tmp / "exchange"),
        bin_dir=str(Path(sys.prefix) / "bin"),
        out_dir="/srv/hub",
    )
    with i18n.speaking("ko"):
        why = layout.unreachable(private / "course", layout.ANYONE)
        problems = check_layout(settings)
        missing_exchange = layout.exchange_problem(open_tmp / "exchange")
    assert why == f"모든 학생은(는) {private} (mode 0700, 소유자 {private.owner()})에 들어갈 수 없습니다"
    assert (
        "강의 계정 'no-such-account-bpk'이(가) 없습니다: `sudo useradd --create-home no-such-account-bpk`로 "
        "만드세요"
    ) in problems
    assert missing_exchange.startswith(f"exchange {open_tmp / 'exchange'}가 없습니다: `sudo mkdir -p")
    with i18n.speaking("en"):
        assert layout.unreachable(private / "course", layout.ANYONE).startswith("any student cannot enter")


def settings(tmp_path):
    return HubSettings(
        course_id="cs231n",
        course_dir=str(tmp_path),
        course_account="grader-cs231n",
        exchange=str(tmp_path / "exchange"),
        bin_dir=str(Path(sys.prefix) / "bin"),
        out_dir="/srv/hub",
    )


def test_a_hub_user_who_is_no_valid_id_or_not_in_the_course_group_is_told_what_to_do(tmp_path):
    s = settings(tmp_path)
    assert spawn_problem("ann", ["nbgrader-cs231n"], s) is None
    assert spawn_problem("ta", ["formgrade-cs231n"], s) is None
    not_in_group = spawn_problem("ann", ["nbgrader-other"], s)
    assert "ann is not in the course group nbgrader-cs231n" in not_in_group
    assert "sudo backprop-kit add-student ann --hub /srv/hub" in not_in_group
    assert "is not a valid nbgrader student id (it contains a '+'" in spawn_problem(
        "ann+x", ["nbgrader-cs231n"], s
    )


def test_hub_outside_a_course_directory_says_where_to_run_it(tmp_path):
    done = subprocess.run(
        [KIT, "hub", "--out", str(tmp_path / "hub")], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{tmp_path} is not a course made by `backprop-kit init`" in done.stderr


@pytest.mark.e2e  # builds a course with nbgrader's generate_assignment
def test_hub_refuses_a_layout_the_course_account_and_students_cannot_use(tmp_path):
    """A course made by init under a 0700 folder (pytest's own tmp is one), a course account that
    does not exist: every problem listed, one line each, nothing started."""
    course = tmp_path / "course"
    done = subprocess.run(
        [KIT, "init", str(course)], cwd=Path(__file__).parent.parent, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [
            KIT,
            "hub",
            "--out",
            str(tmp_path / "hub"),
            "--course-account",
            "no-such-account-bpk",
            "--exchange",
            str(tmp_path / "exchange"),
            "--instructor",
            "ta",
        ],
        cwd=course,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert (
        "the course account 'no-such-account-bpk' does not exist: create it with `sudo useradd" in done.stderr
    )
    assert "students could read the solutions" in done.stderr or "cannot enter" in done.stderr
    if os.geteuid() != 0:
        assert "does not exist: create it with `sudo mkdir -p" in done.stderr
    else:  # as root the exchange is made, with the mode it needs
        assert (tmp_path / "exchange").stat().st_mode & 0o7777 == 0o1777
    bad = subprocess.run(
        [KIT, "hub", "--out", str(tmp_path / "hub"), "--instructor", "t a"],
        cwd=course,
        capture_output=True,
        text=True,
    )
    assert (
        bad.returncode == 1
        and "--instructor: 't a' is not a valid nbgrader student id: it contains a space" in bad.stderr
    )


def test_add_student_refuses_an_id_nbgrader_cannot_handle(tmp_path):
    (tmp_path / "backprop-kit-hub.json").write_text(settings(tmp_path).dump())
    done = subprocess.run(
        [KIT, "add-student", "ann lee", "--hub", str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "add-student: 'ann lee' is not a valid nbgrader student id: it contains a space" in done.stderr


def test_a_gradebook_student_nbgrader_cannot_handle_stops_the_hub_naming_the_fix():
    """Someone added 'ann lee' to the gradebook by hand: the hub does not start with it."""
    with pytest.raises(roster.RosterError) as e:
        roster.checked_ids([roster.Student("ann"), roster.Student("ann lee")], "the gradebook of /srv/course")
    assert str(e.value).startswith(
        "the gradebook of /srv/course: 'ann lee' is not a valid nbgrader student id: it contains a space"
    )
    assert "nbgrader db student remove 'ann lee'" in str(e.value)


def test_a_course_account_whose_group_holds_others_is_refused_naming_them(tmp_path):
    """Submissions reach the course account through its primary group (0770/0640): a student in
    that group could read everyone's work, so the layout check names who is in it and the fix."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        if os.environ.get("CI"):
            pytest.fail("CI=true: this test creates system accounts, as root with useradd")
        pytest.skip("creates system accounts: needs root and useradd")
    from autograder.hub.hubconfig import check_layout

    account, student, group = "bpk-grader-g", "bpk-student-g", "bpk-shared-g"
    made = []
    try:
        subprocess.run(["groupadd", group], check=True)
        for name in (account, student):
            subprocess.run(["useradd", "--no-create-home", "--gid", group, name], check=True)
            made.append(name)
        s = HubSettings(
            course_id="cs231n",
            course_dir=str(tmp_path),
            course_account=account,
            exchange=str(tmp_path / "exchange"),
            bin_dir=str(Path(sys.prefix) / "bin"),
            out_dir="/srv/hub",
        )
        assert layout.sharing_the_group_of(layout.Account.named(account)) == (group, [student])
        problem = [p for p in check_layout(s) if f"group {group} also holds {student}" in p]
        assert problem and f"sudo usermod -g {account}-private {account}" in problem[0], check_layout(s)
        # With a group of its own the complaint goes.
        subprocess.run(["groupadd", f"{account}-private"], check=True)
        subprocess.run(["usermod", "-g", f"{account}-private", account], check=True)
        assert layout.sharing_the_group_of(layout.Account.named(account)) == (f"{account}-private", [])
        assert not [p for p in check_layout(s) if "also holds" in p]
    finally:
        for name in made:
            subprocess.run(["userdel", name], check=False)
        for name in (group, f"{account}-private"):
            subprocess.run(["groupdel", name], check=False, stderr=subprocess.DEVNULL)


def test_a_course_config_that_replaces_formgraders_template_is_named_with_its_fix(tmp_path):
    """An older `backprop-kit init` set the feedback template on every HTMLExporter, formgrader's
    too: its Manual Grading failed on each submission. The hub names the file and the fix; the
    template init writes today sets it on the feedback exporter alone."""
    from autograder.course import PACKAGE_DIR
    from autograder.hub.hubconfig import course_config_problems

    today = (PACKAGE_DIR / "templates" / "nbgrader_config.py").read_text()
    assert "c.HTMLExporter." not in today and "c.FeedbackExporter.template_file" in today
    (tmp_path / "nbgrader_config.py").write_text(today)
    assert course_config_problems(tmp_path) == []
    (tmp_path / "nbgrader_config.py").write_text(
        today.replace("c.FeedbackExporter.template_file", "c.HTMLExporter.template_file")
    )
    [problem] = course_config_problems(tmp_path)
    assert f"{tmp_path / 'nbgrader_config.py'} sets c.HTMLExporter.template_file" in problem
    assert f"rerun `backprop-kit init {tmp_path}`" in problem
