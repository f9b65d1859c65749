"""The hub's LTI authenticator (autograder/lti/login.py) on a launch that
jupyterhub-ltiauthenticator has already verified (signature, issuer, audience, expiry, state):
what a course adds — one use per nonce, the deployment, the roles, the hub user's name. The
end-to-end test (test_lti_end_to_end.py) sends real launches through the real hub."""

import asyncio
import logging

import pytest
from tornado import web
from traitlets.config import Config

from autograder.hub.settings import HubSettings
from autograder.lti.login import CourseLTI13Authenticator, short_role
from autograder.lti.setup import configure_authenticator

ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


def authenticator(tmp_path, **lti):
    settings = HubSettings(
        course_id="cs231n",
        course_dir=str(tmp_path / "course"),
        course_account="grader-cs231n",
        exchange=str(tmp_path / "exchange"),
        bin_dir="/usr/bin",
        out_dir=str(tmp_path),
        extra={
            "lti": {
                "issuer": "https://lms.example.edu",
                "client_id": "bpk-tool",
                "deployment_id": "1",
                "authorize_url": "https://lms.example.edu/authorize",
                "jwks_url": "https://lms.example.edu/jwks",
                "hub_user": "login",
                "login_parameter": "login",
                "instructor_roles": ["Instructor", "TeachingAssistant"],
                **lti,
            }
        },
    )
    c = Config()
    configure_authenticator(c, settings)
    assert c.JupyterHub.authenticator_class == "autograder.lti.login.CourseLTI13Authenticator"
    return CourseLTI13Authenticator(config=c)


def launch(nonce="n-1", roles=(LEARNER,), login="alice", deployment="1", **extra):
    return {
        "nonce": nonce,
        "sub": "lms-1001",
        ROLES: list(roles),
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": deployment,
        "https://purl.imsglobal.org/spec/lti/claim/custom": {"login": login} if login else {},
        **extra,
    }


def authenticate(a, token):
    return asyncio.run(a.authenticate(None, token))


def refused(a, token, caplog):
    with caplog.at_level(logging.WARNING), pytest.raises(web.HTTPError) as caught:
        authenticate(a, token)
    assert caught.value.status_code == 403
    assert f"launch refused: {caught.value.log_message}" in caplog.text  # one line names what was wrong
    return caught.value.log_message


def test_the_config_reaches_the_authenticator(tmp_path):
    a = authenticator(tmp_path)
    assert a.issuer == "https://lms.example.edu" and a.client_id == {"bpk-tool"}
    assert a.jwks_endpoint == "https://lms.example.edu/jwks" and a.deployment_id == "1"
    assert a.student_group == "nbgrader-cs231n" and a.instructor_group == "formgrade-cs231n"


def test_a_learner_and_an_instructor_are_told_apart(tmp_path):
    a = authenticator(tmp_path)
    student = authenticate(a, launch())
    assert student["name"] == "alice" and student["backprop_kit_lti"]["staff"] is False
    assert a.check_allowed("alice", student)
    staff = authenticate(a, launch(nonce="n-2", roles=[INSTRUCTOR], login="prof"))
    assert staff["backprop_kit_lti"]["staff"] is True
    assert not a.check_allowed("mallory", None)  # a login that did not come from a launch


def test_a_replayed_launch_is_refused(tmp_path, caplog):
    a = authenticator(tmp_path)
    authenticate(a, launch(nonce="once"))
    assert "replayed launch" in refused(a, launch(nonce="once"), caplog)
    # and after a restart of the hub: the used nonces are kept in a root-only file
    assert "replayed launch" in refused(authenticator(tmp_path), launch(nonce="once"), caplog)
    assert oct((tmp_path / "lti-nonces.json").stat().st_mode & 0o777) == "0o600"


def test_another_deployment_no_course_role_or_no_login_is_refused(tmp_path, caplog):
    a = authenticator(tmp_path)
    assert "deployment '2'" in refused(a, launch(nonce="a", deployment="2"), caplog)
    assert "neither a learner's" in refused(
        a, launch(nonce="b", roles=["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"]), caplog
    )
    assert "custom parameter 'login'" in refused(a, launch(nonce="c", login=None), caplog)
    assert "not a valid nbgrader student id" in refused(a, launch(nonce="d", login="../root"), caplog)


def test_the_hub_user_can_be_the_lms_user_id(tmp_path):
    a = authenticator(tmp_path, hub_user="user_id")
    assert authenticate(a, launch(login=None))["name"] == "lms-1001"


@pytest.mark.parametrize(
    "uri, name",
    [
        (INSTRUCTOR, "Instructor"),
        (
            "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
            "TeachingAssistant",
        ),
        ("Learner", "Learner"),
    ],
)
def test_role_uris_are_read_by_their_short_name(uri, name):
    assert short_role(uri) == name


def test_a_refused_launch_is_told_in_the_courses_language_and_logged_in_english(tmp_path, caplog):
    from autograder.bpkit import i18n

    a = authenticator(tmp_path)
    authenticate(a, launch(nonce="ko-once"))
    with i18n.speaking("ko"), caplog.at_level(logging.WARNING), pytest.raises(web.HTTPError) as caught:
        authenticate(a, launch(nonce="ko-once"))
    assert "재전송된 실행 요청입니다" in caught.value.jupyterhub_message
    assert "launch refused: replayed launch: its nonce was already used" in caplog.text


def library_refusal(token_claims):
    """The HTTPError jupyterhub-ltiauthenticator's launch handler raises for this id_token, made
    as the handler makes it: the library's validator decodes, its error becomes a 400."""
    import jwt
    from ltiauthenticator.lti13.error import ValidationError
    from ltiauthenticator.lti13.validator import LTI13LaunchValidator

    encoded = jwt.encode(token_claims, "k" * 32, algorithm="HS256")
    try:
        try:
            LTI13LaunchValidator().verify_and_decode_jwt(
                encoded,
                issuer="https://lms.example.edu",
                audience="bpk-tool",
                jwks_endpoint="",
                jwks_algorithms=["HS256"],
                options={"verify_signature": False, "verify_exp": True},
            )
        except ValidationError as e:
            raise web.HTTPError(400, str(e)) from e  # as the library's handler raises it
    except web.HTTPError as error:
        return error
    raise AssertionError("the library took the token")


def test_an_expired_launch_is_told_in_the_kits_words_in_english_and_korean():
    from autograder.bpkit import i18n
    from autograder.lti.login import refusal_words

    error = library_refusal({"iss": "https://lms.example.edu", "aud": "bpk-tool", "exp": 1_000_000_000})
    assert error.log_message == "Signature has expired"  # the log line keeps the library's words
    assert refusal_words(error).startswith("This launch from the LMS has expired")
    with i18n.speaking("ko"):
        korean = refusal_words(error)
    assert "만료" in korean and "LMS에서 강의를 다시 여세요" in korean, korean


def test_a_launch_without_its_browsers_cookies_and_an_unknown_failure_say_what_to_do():
    from autograder.lti.login import refusal_words

    assert "another browser" in refusal_words(web.HTTPError(400, "OAuth state missing from cookies"))
    unknown = refusal_words(web.HTTPError(400, "Unable to find a signing key"))
    assert "(Unable to find a signing key)" in unknown and "tell the course staff" in unknown
