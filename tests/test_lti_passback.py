"""Grade passback (autograder/lti/) against a real LTI 1.3 platform: `lti1p3platform` from
PyPI on 127.0.0.1 (tests/lti_platform.py), which checks the tool's signed token request
against the tool's registered public key and serves the Assignment and Grade Services. No
hub here: the course directory holds what `backprop-kit hub --lti` writes and what a launch
would have recorded (the end-to-end test does both for real)."""

import json
import time

import jwt
import pytest
from click.testing import CliRunner

from autograder.cli import main
from autograder.config import ConfigError
from autograder.lti.ags import AgsClient, ToolKey, client_assertion
from autograder.lti.config import load_lti_config
from autograder.lti.outbox import Entry, Outbox
from autograder.lti.passback import LAUNCHES_FILE, LINEITEMS_FILE, Score, lti_dir, post_scores, push
from autograder.lti.setup import write_tool_half
from tests.lti_platform import LEARNER, LmsPlatform, LmsUser, new_key_pem

STUDENTS = {"alice": "lms-1001", "bob": "lms-1002"}  # hub user -> the platform's user id (sub)


@pytest.fixture
def platform():
    with LmsPlatform() as p:
        for login, sub in STUDENTS.items():
            p.state.users[sub] = LmsUser(sub, login, [LEARNER])
        yield p


def make_course(tmp_path, platform, *, register_key=True, launched=True):
    """A course folder as `hub --lti` leaves it, after alice's and bob's launches."""
    course, out = tmp_path / "course", tmp_path / "hub"
    course.mkdir()
    out.mkdir()
    config_file = tmp_path / "lti.yaml"
    config_file.write_text(platform.config_yaml())
    lti_dir(course).mkdir()
    (lti_dir(course) / "tool-key.pem").write_text(new_key_pem("tool")[0])  # kept by `hub --lti`
    tool = write_tool_half(load_lti_config(config_file), course, out, None)
    if register_key:  # what course staff paste into the LMS: the JWKS `hub --lti` wrote
        platform.tool_jwks = json.loads(tool.jwks_file.read_text())
    if launched:
        (lti_dir(course) / LAUNCHES_FILE).write_text(
            json.dumps({"users": STUDENTS, "lineitems_url": platform.lineitems_url})
        )
    return course


def results(platform):
    """The platform's own record: line item label -> {user id: score given}."""
    return {
        platform.state.lineitems[item]["label"]: {u: s["scoreGiven"] for u, s in by_user.items()}
        for item, by_user in platform.state.scores.items()
    }


# ---- the config file ----------------------------------------------------------------------
def test_config_errors_name_the_line_and_the_key(tmp_path):
    path = tmp_path / "lti.yaml"
    path.write_text(
        "platform:\n"
        "  issuer: https://lms.example.edu\n"
        "  client_id: '42'\n"
        "  authorise_url: https://lms.example.edu/auth\n"
        "  jwks_url: lms.example.edu/jwks\n"
        "  token_url: https://lms.example.edu/token\n"
        "tool:\n"
        "  instructor_roles: [Instructer]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_lti_config(path)
    lines = str(caught.value).splitlines()
    assert f"{path}:1: platform.authorize_url: missing: the platform's OIDC authorization endpoint" in lines
    assert (
        f"{path}:4: platform.authorise_url: not a key of this section; did you mean 'authorize_url'?" in lines
    )
    assert any(line.startswith(f"{path}:5: platform.jwks_url: an http(s) URL is needed") for line in lines)
    assert any(
        line.startswith(
            f"{path}:8: tool.instructor_roles: 'Instructer' is not an LTI context role; did you mean 'Instructor'?"
        )
        for line in lines
    ), lines


def test_config_errors_are_told_in_the_courses_language(tmp_path):
    from autograder.bpkit import i18n

    path = tmp_path / "lti.yaml"
    path.write_text(
        "platform:\n  issuer: https://lms.example.edu\n  client_id: '42'\n  authorise_url: x\n"
        "  jwks_url: lms.example.edu/jwks\n  token_url: https://lms.example.edu/token\n"
        "tool:\n  instructor_roles: [Instructer]\n"
    )
    with i18n.speaking("ko"), pytest.raises(ConfigError) as caught:
        load_lti_config(path)
    lines = str(caught.value).splitlines()
    assert f"{path}:1: platform.authorize_url: 빠졌습니다: 플랫폼의 OIDC 인증 엔드포인트" in lines, lines
    assert f"{path}:4: platform.authorise_url: 이 섹션의 키가 아닙니다" in "\n".join(lines), lines
    assert any(line.startswith(f"{path}:5: platform.jwks_url: http(s) URL이 필요합니다") for line in lines), (
        lines
    )
    assert any("'Instructer'은(는) LTI context 역할이 아닙니다" in line for line in lines), lines


def test_config_that_is_no_mapping(tmp_path):
    path = tmp_path / "lti.yaml"
    path.write_text("- platform\n")
    with pytest.raises(
        ConfigError, match=r"lti.yaml:1: an LTI config is a mapping with a key 'platform'; found list"
    ):
        load_lti_config(path)


# ---- the tool's key and token request -------------------------------------------------------
def test_client_assertion_is_signed_by_the_tool_key_for_the_token_endpoint():
    key = ToolKey.generate()
    token = client_assertion(key, "bpk-tool", "https://lms.example.edu/token")
    public = jwt.PyJWK(key.public_jwk()).key
    claims = jwt.decode(token, public, algorithms=["RS256"], audience="https://lms.example.edu/token")
    assert claims["iss"] == claims["sub"] == "bpk-tool"
    assert 0 < claims["exp"] - time.time() <= 300
    assert jwt.get_unverified_header(token)["kid"] == key.kid == key.public_jwk()["kid"]
    assert client_assertion(key, "bpk-tool", "x") != client_assertion(
        key, "bpk-tool", "x"
    )  # a new jti each time
    with pytest.raises(jwt.InvalidSignatureError):
        other = ToolKey(new_key_pem("rogue")[0].encode())
        jwt.decode(
            token,
            jwt.PyJWK(other.public_jwk()).key,
            algorithms=["RS256"],
            audience="https://lms.example.edu/token",
        )


def test_the_key_is_made_once_and_kept(tmp_path, platform):
    (tmp_path / "course").mkdir()
    (tmp_path / "lti.yaml").write_text(platform.config_yaml())
    config = load_lti_config(tmp_path / "lti.yaml")
    made = write_tool_half(config, tmp_path / "course", tmp_path, None)
    key_file = lti_dir(tmp_path / "course") / "tool-key.pem"
    first = key_file.read_bytes()
    again = write_tool_half(config, tmp_path / "course", tmp_path, None)
    assert made.new_key and not again.new_key and key_file.read_bytes() == first
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert json.loads(made.jwks_file.read_text())["keys"][0]["kid"] == ToolKey(first).kid
    tool = json.loads((lti_dir(tmp_path / "course") / "tool.json").read_text())
    assert tool["token_audience"] == tool["token_url"] == f"{platform.url}/token"


# ---- passback --------------------------------------------------------------------------------
def test_scores_reach_the_platform_and_the_line_item_is_made_once(tmp_path, platform):
    course = make_course(tmp_path, platform)
    pushed = post_scores(course, "backprop", {"alice": Score(7.5, 10), "bob": Score(10, 10)})
    assert [e.student for e in pushed.sent] == ["alice", "bob"] and not pushed.kept
    assert results(platform) == {"backprop": {"lms-1001": 7.5, "lms-1002": 10.0}}
    assert Outbox(course).entries() == []

    post_scores(course, "backprop", {"alice": Score(9, 10)})  # alice's next attempt
    assert len(platform.state.lineitems) == 1
    assert results(platform) == {"backprop": {"lms-1001": 9.0, "lms-1002": 10.0}}
    assert list(json.loads((lti_dir(course) / LINEITEMS_FILE).read_text())) == ["backprop"]

    # read back through the platform's own AGS results service, with the tool's token
    item = next(iter(platform.state.lineitems))
    client = AgsClient(
        key=ToolKey.read(lti_dir(course) / "tool-key.pem"),
        client_id=platform.client_id,
        token_url=f"{platform.url}/token",
        token_audience=f"{platform.url}/token",
    )
    got = client.session.get(f"{item}/results", headers={"Authorization": f"Bearer {client.token()}"})
    assert got.status_code == 200, got.text
    assert {r["userId"]: r["scoreGiven"] for r in got.json()["content"]} == {
        "lms-1001": 9.0,
        "lms-1002": 10.0,
    }


def test_platform_down_loses_nothing_and_push_sends_it_later(tmp_path, platform, caplog):
    course = make_course(tmp_path, platform)
    platform.stop()
    started = time.monotonic()
    pushed = post_scores(course, "backprop", {"alice": Score(6, 10), "bob": Score(2, 10)})
    assert (
        time.monotonic() - started < 5
    )  # alice's two quick tries; bob is not tried against a platform just found down
    assert not pushed.sent and [e.student for e, _ in pushed.kept] == ["alice", "bob"]
    assert pushed.kept[0][1] == pushed.kept[1][1]
    entry = Outbox(course).get("backprop", "alice")
    assert entry.given == 6 and entry.tries == 1 and "could not be reached" in entry.last_error
    assert "alice's score for backprop not posted" in caplog.text and "could not be reached" in caplog.text

    status = CliRunner().invoke(main, ["lti", "status", "--course", str(course)])
    assert (
        status.exit_code == 1
        and "backprop alice: 6/10" in status.output
        and "could not be reached" in status.output
    )

    platform.restart()
    pushed = CliRunner().invoke(main, ["lti", "push", "--course", str(course)])
    assert pushed.exit_code == 0, pushed.output
    assert results(platform) == {"backprop": {"lms-1001": 6.0, "lms-1002": 2.0}}
    assert CliRunner().invoke(main, ["lti", "status", "--course", str(course)]).exit_code == 0


def test_a_refused_token_keeps_the_score_queued(tmp_path, platform):
    course = make_course(tmp_path, platform)
    platform.state.faults.refuse_tokens = True
    pushed = post_scores(course, "backprop", {"bob": Score(3, 10)})
    ((entry, why),) = pushed.kept
    assert "refused the tool's token request" in why and "401" in why
    assert platform.state.token_requests == 1  # refused is not "try again now"
    assert Outbox(course).get("backprop", "bob").last_error == why


def test_an_unregistered_tool_key_is_refused_by_the_platform(tmp_path, platform):
    course = make_course(tmp_path, platform)
    platform.tool_jwks = {
        "keys": [ToolKey(new_key_pem("rogue")[0].encode()).public_jwk()]
    }  # the LMS holds another key
    pushed = post_scores(course, "backprop", {"bob": Score(3, 10)})
    ((entry, why),) = pushed.kept
    assert "token request" in why and "400" in why and not platform.state.scores


def test_a_busy_platform_is_tried_again_with_backoff(tmp_path, platform):
    course = make_course(tmp_path, platform)
    platform.state.faults.busy_scores = 1
    pushed = post_scores(course, "backprop", {"alice": Score(8, 10)})
    assert [e.student for e in pushed.sent] == ["alice"] and results(platform) == {
        "backprop": {"lms-1001": 8.0}
    }


def test_a_student_who_never_launched_waits(tmp_path, platform):
    course = make_course(tmp_path, platform, launched=False)
    pushed = post_scores(course, "backprop", {"carol": Score(5, 10)})
    ((entry, why),) = pushed.kept
    assert "line items URL is not known yet" in why or "has not launched" in why
    (lti_dir(course) / LAUNCHES_FILE).write_text(
        json.dumps({"users": {"carol": "lms-7"}, "lineitems_url": platform.lineitems_url})
    )
    assert [e.student for e in push(course).sent] == ["carol"]


def test_background_delivery_returns_at_once(tmp_path, platform):
    course = make_course(tmp_path, platform)
    thread = post_scores(course, "backprop", {"alice": Score(1, 10)}, background=True)
    thread.join(10)
    assert results(platform) == {"backprop": {"lms-1001": 1.0}}


def test_a_course_without_lti_posts_nothing(tmp_path):
    assert post_scores(tmp_path, "backprop", {"alice": Score(1, 10)}) is None
    assert not (tmp_path / "lti").exists()


# ---- the queue -------------------------------------------------------------------------------
def test_the_latest_grading_wins_in_the_queue(tmp_path):
    outbox = Outbox(tmp_path)
    older = Entry("backprop", "alice", 4, 10, "2026-12-01T10:00:00+00:00")
    newer = Entry("backprop", "alice", 9, 10, "2026-12-01T11:00:00+00:00")
    outbox.put(newer)
    assert outbox.put(older) == newer  # a late writer of an older grading changes nothing
    outbox.update(older, tries=3)  # nor does a try of it
    outbox.remove(older)
    assert outbox.entries() == [newer]
    outbox.remove(newer)
    assert outbox.entries() == []


@pytest.mark.parametrize(
    "lineitem, scores",
    [
        # Canvas: no query string
        (
            "https://canvas.example.edu/api/lti/courses/7/line_items/31",
            "https://canvas.example.edu/api/lti/courses/7/line_items/31/scores",
        ),
        # Moodle: the tool's type id rides in the query string, which stays after /scores
        (
            "https://moodle.example.edu/mod/lti/services.php/2/lineitems/5/lineitem?type_id=1",
            "https://moodle.example.edu/mod/lti/services.php/2/lineitems/5/lineitem/scores?type_id=1",
        ),
    ],
)
def test_the_score_service_is_the_line_item_url_with_scores_before_the_query(lineitem, scores):
    from autograder.lti.ags import _scores_url

    assert _scores_url(lineitem) == scores


def test_each_grading_also_retries_the_queued_scores_whose_wait_is_over(tmp_path, platform):
    course = make_course(tmp_path, platform)
    outbox = Outbox(course)
    due = Entry(
        "backprop", "alice", 4, 10, "2026-12-01T10:00:00+00:00", tries=2, next_try="2026-12-01T10:08:00+00:00"
    )
    waiting = Entry(
        "backprop", "bob", 5, 10, "2026-12-01T10:00:00+00:00", tries=1, next_try="2999-01-01T00:00:00+00:00"
    )
    outbox.put(due)
    outbox.put(waiting)
    pushed = post_scores(course, "gates", {"alice": Score(2, 2)})
    assert sorted((e.assignment, e.student) for e in pushed.sent) == [
        ("backprop", "alice"),
        ("gates", "alice"),
    ]
    assert results(platform) == {"backprop": {"lms-1001": 4.0}, "gates": {"lms-1001": 2.0}}
    assert outbox.entries() == [waiting]  # its wait is not over: `lti push` sends it at once
    assert [e.student for e in push(course).sent] == ["bob"]
