"""The on-submit rules a student's submit obeys (autograder/hub/on_submit.py), and course.yaml's
keys for them: an attempt over the limit or inside the cooldown is refused saying why and when."""

import datetime
import json

import pytest

from autograder.config import ConfigError, load_course
from autograder.course import REPO_ROOT
from autograder.hub import on_submit
from autograder.hub.on_submit import AttemptBook, Rules, refusal

AT = datetime.datetime(2026, 12, 7, 17, 0, tzinfo=datetime.timezone.utc)


def test_an_attempt_over_the_limit_is_refused_until_the_staff_grant_one():
    rules = Rules(attempts=2)
    assert refusal(rules, {"graded": 1}, AT) is None
    said = refusal(rules, {"graded": 2}, AT)
    assert "you have used all 2 attempts of this assignment; the last one is the one that counts" in said
    assert refusal(rules, {"graded": 2, "extra": 1}, AT) is None
    assert refusal(Rules(), {"graded": 50}, AT) is None  # no limit


def test_an_attempt_inside_the_cooldown_says_when_the_next_is_possible():
    rules = Rules(cooldown_minutes=30)
    last = "2026-12-07 16:45:00.000000 UTC"
    said = refusal(rules, {"graded": 1, "last_submitted": last}, AT)
    assert (
        "your next attempt is possible at 17:15 UTC, in about 15 min (30 min after each submission)" in said
    )
    assert refusal(rules, {"graded": 1, "last_submitted": last}, AT + datetime.timedelta(minutes=15)) is None


def test_rules_come_from_course_yaml_and_reach_the_students_servers(tmp_path):
    text = (REPO_ROOT / "course.yaml").read_text()
    (tmp_path / "course.yaml").write_text(
        text.replace(
            "    points: {}\n",
            "    points: {}\n    feedback: on-submit\n"
            "    on_submit: {attempts: 3, cooldown_minutes: 10, visibility: after_due_date}\n",
            1,
        )
    )
    rules = Rules.of_course(load_course(tmp_path / "course.yaml"))
    assert rules == {"backprop": Rules(3, 10, "after_due_date")}
    on_submit.write_rules(tmp_path, rules, "/srv/exchange", "cs231n")
    assert on_submit.read_rules(tmp_path) == ("/srv/exchange/cs231n/on-submit", rules)
    assert Rules.of_course(load_course(REPO_ROOT / "course.yaml")) == {}  # the default: after-release


@pytest.mark.parametrize(
    "on_submit_yaml, said",
    [
        ("{attempts: 0}", "assignments[0].on_submit.attempts"),
        ("{visiblity: visible}", "unknown key 'visiblity'; did you mean 'visibility'?"),
        ("{visibility: hidden}", "assignments[0].on_submit.visibility"),
        ("{cooldown_minutes: -1}", "assignments[0].on_submit.cooldown_minutes"),
    ],
)
def test_check_config_names_a_bad_on_submit_key(tmp_path, on_submit_yaml, said):
    text = (REPO_ROOT / "course.yaml").read_text()
    (tmp_path / "course.yaml").write_text(
        text.replace("    points: {}\n", f"    points: {{}}\n    on_submit: {on_submit_yaml}\n", 1)
    )
    with pytest.raises(ConfigError) as raised:
        load_course(tmp_path / "course.yaml")
    assert said in str(raised.value)


def test_the_attempt_book_keeps_what_was_graded_across_openings(tmp_path):
    with AttemptBook.open(tmp_path) as book:
        book.entry("backprop", "ann")["graded"].append("ann+backprop+t1+x")
    with AttemptBook.open(tmp_path) as book:
        assert book.seen("backprop", "ann") == {"ann+backprop+t1+x"}
    assert json.loads((tmp_path / "attempts.json").read_text())["backprop"]["ann"]["extra"] == 0


def test_the_assignments_tab_says_being_graded_with_the_queue_position_then_nothing_once_graded():
    from autograder.hub.on_submit import progress

    rules, newest = Rules(attempts=2), {"has_exchange_feedback": False}
    assert (
        progress(rules, {"state": "queued", "position": 3}, newest, AT)
        == "being graded: number 3 in the queue"
    )
    assert progress(rules, {"state": "grading"}, newest, AT) == "being graded now"
    assert progress(rules, {}, newest, AT) == "waiting to be graded"
    assert progress(rules, {"state": "graded", "graded": 1}, {"has_exchange_feedback": True}, AT) == ""
    last = progress(rules, {"state": "graded", "graded": 2}, {"has_exchange_feedback": True}, AT)
    assert last.startswith("no more attempts now: you have used all 2 attempts")
    # Graded, the exchange refused the page: the grade is kept, the feedback comes later.
    assert progress(rules, {"state": "unreleased", "graded": 1}, newest, AT) == (
        "graded, but its feedback could not be released yet: the course staff will release it"
    )


def test_two_submissions_waiting_in_one_batch_count_as_two_attempts(tmp_path):
    """A batch takes what waits: a student's second submission in it, over a limit of one, is
    refused and moved aside before anything is graded, as it would be one batch later."""
    from autograder.hub.on_submit import GradingService

    inbound, course = tmp_path / "exchange" / "cs231n" / "inbound", tmp_path / "course"
    on_submit.write_rules(tmp_path, {"backprop": Rules(attempts=1)}, str(tmp_path / "exchange"), "cs231n")
    service = GradingService(course, tmp_path, log=lambda line: None)
    waiting = []
    for stamp in ("2026-12-07 16:00:00.000000 UTC", "2026-12-07 16:00:05.000000 UTC"):
        folder = inbound / f"ann+backprop+{stamp}+x{len(waiting)}"
        folder.mkdir(parents=True)
        waiting.append(on_submit.Submission.parse(folder))
    kept = service._refuse_over_limit("backprop", waiting)
    assert kept == waiting[:1]
    assert (
        not waiting[1].folder.exists() and (service.state_dir / "refused" / waiting[1].folder.name).is_dir()
    )
    with AttemptBook.open(service.state_dir) as book:
        assert book.seen("backprop", "ann") == {waiting[1].folder.name}  # refused; the first is graded next


def test_a_korean_course_refuses_in_korean():
    from autograder.bpkit.i18n import speaking

    with speaking("ko"):
        said = refusal(Rules(attempts=1), {"graded": 1}, AT)
    assert said.startswith("이 과제의 제출 기회 1번을 모두 사용했습니다"), said
