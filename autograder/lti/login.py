"""The hub's authenticator for a course launched from an LMS: JupyterHub's own
`jupyterhub-ltiauthenticator` (LTI 1.3), which checks the launch (the platform's signature
from its JWKS, issuer, audience, expiry and age, the OIDC state and the nonce against the
browser's cookie), with what a course adds:

- a launch is used once: its nonce is remembered until the launch would be too old anyway,
  so an id_token posted again (cookies and all) is refused;
- only the registered deployment, and only launches whose user holds a role of this course;
- the hub user is the login, the LMS's user id or the email, as the LTI config says, and must
  be an id nbgrader's exchange can carry;
- roles decide the course group (staff: formgrader; learners: the Assignments tab), and a
  learner's first launch puts them in the gradebook, the course's roster;
- the launch's user id and the course's line items URL are written to the course's
  `lti/launches.json`, which grade passback reads.

Every refusal is a 403 with the reason, and one log line naming it. A launch the library itself
refuses (expired, signed by another key, for another audience, its browser's cookies missing)
keeps the library's status and its log line, and the page says in the kit's words, in the
course's language, what happened and what to do (`CourseLTI13CallbackHandler`)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import jwt
import tornado.web as web
from ltiauthenticator.lti13.auth import LTI13Authenticator
from ltiauthenticator.lti13.constants import LTI13_CUSTOM_CLAIM
from ltiauthenticator.lti13.error import InvalidAudienceError
from ltiauthenticator.lti13.handlers import LTI13CallbackHandler
from traitlets import List, Unicode

from ..hub import names, roster
from ..words import N_, _
from .passback import LAUNCHES_FILE, lti_dir, write_launches

ROLES_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/roles"
DEPLOYMENT_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
NONCE_MAX_AGE = 3600  # longer than any launch the validator accepts (max_age 600 s)


def short_role(uri: str) -> str:
    """`http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor` -> `Instructor`."""
    return uri.replace("#", "/").rstrip("/").rsplit("/", 1)[-1]


# What the library's own refusals of a launch come with (tornado's log line keeps its English).
_COOKIE_REFUSALS = (
    "OAuth state missing from cookies",
    "OAuth state mismatch",
    "Missing nonce state cookie",
    "OAuth nonce mismatch",
)


def _caused_by(error: BaseException, kind: type) -> bool:
    """Whether `kind` is in `error`'s chain (the library re-raises jwt's errors as its own)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def refusal_words(error: web.HTTPError) -> str:
    """What the person who clicked the LMS's link reads about a launch the library refused."""
    detail = error.log_message or ""
    if _caused_by(error, jwt.ExpiredSignatureError):
        return _(
            "This launch from the LMS has expired: a launch is valid for a few minutes only. "
            "Open the course again from the LMS."
        )
    if _caused_by(error, InvalidAudienceError):
        return _(
            "This launch was meant for another tool (its audience is not this hub's client id). "
            "The course staff must check the tool's registration in the LMS."
        )
    if detail in _COOKIE_REFUSALS:
        return _(
            "This launch was already used, or was started in another browser or tab. "
            "Open the course again from the LMS, in this browser."
        )
    return _(
        "The LMS's launch could not be verified ({detail}). Open the course again from the LMS; "
        "if this happens again, tell the course staff."
    ).format(detail=detail or error.status_code)


class CourseLTI13CallbackHandler(LTI13CallbackHandler):
    """The library's launch handler, whose refusals JupyterHub shows as "400 : Signature has
    expired": the same status and log line, with the kit's page (a title and what to do)."""

    async def post(self):
        try:
            await super().post()
        except web.HTTPError as error:
            if getattr(error, "jupyterhub_message", None) is None:  # the kit's own carry their words
                error.jupyterhub_message = refusal_words(error)
            error.backprop_kit_title = _("The launch from the LMS was refused")
            raise


class CourseLTI13Authenticator(LTI13Authenticator):
    callback_handler = CourseLTI13CallbackHandler
    course_dir = Unicode(config=True, help="the course directory (its lti/ folder gets what launches tell)")
    course_account = Unicode(config=True, help="the account that owns the course directory")
    student_group = Unicode(config=True)
    instructor_group = Unicode(config=True)
    deployment_id = Unicode("", config=True, help="the only deployment whose launches are taken (empty: any)")
    instructor_roles = List(Unicode(), config=True, help="context roles that make course staff")
    hub_user = Unicode("login", config=True, help="login | user_id | email")
    login_parameter = Unicode("login", config=True, help="the custom parameter holding the login")
    nonce_file = Unicode(config=True, help="where used nonces are kept across restarts (root only)")

    _lock = threading.Lock()

    def _refuse(self, message: str, **fields):
        """Stop the launch: the log line in English (for whoever reads the hub's log), the page
        in the course's language (for the student or TA who clicked the link)."""
        self.log.warning("backprop-kit LTI: launch refused: %s", message.format(**fields))
        shown = _(message).format(**fields)
        refused = web.HTTPError(403, shown)
        refused.jupyterhub_message = shown  # what JupyterHub's error page shows
        raise refused

    def _first_use(self, nonce: str) -> bool:
        with self._lock:
            path = Path(self.nonce_file) if self.nonce_file else None
            now = time.time()
            try:
                seen = json.loads(path.read_text()) if path and path.exists() else {}
            except ValueError:
                seen = {}
            seen = {n: t for n, t in seen.items() if t > now - NONCE_MAX_AGE}
            if nonce in seen:
                return False
            seen[nonce] = now
            if path:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    json.dump(seen, f)
            return True

    def _hub_name(self, token: dict) -> str:
        if self.hub_user in ("user_id", "email"):
            claim = "sub" if self.hub_user == "user_id" else "email"
            name = token.get(claim)
            if not name:
                self._refuse(
                    N_(
                        "the launch has no claim {claim}, which names the hub user (LTI config: tool.hub_user)"
                    ),
                    claim=claim,
                )
        else:
            name = (token.get(LTI13_CUSTOM_CLAIM) or {}).get(self.login_parameter)
            if not name:
                self._refuse(
                    N_(
                        "the launch has no custom parameter {parameter!r}, which names the hub user: the LMS's "
                        "settings of this tool must set it to the user's login"
                    ),
                    parameter=self.login_parameter,
                )
        why = names.problem(str(name))
        if why:
            self._refuse(
                N_("the hub user {name!r} from the launch is not a valid nbgrader student id ({why})"),
                name=str(name),
                why=why,
            )
        return str(name)

    async def authenticate(self, handler, data=None):
        token = data or {}
        if not token.get("nonce") or not self._first_use(str(token["nonce"])):
            self._refuse(
                N_("replayed launch: its nonce was already used; open the course again from the LMS")
            )
        deployment = token.get(DEPLOYMENT_CLAIM)
        if self.deployment_id and deployment != self.deployment_id:
            self._refuse(
                N_("launch from deployment {deployment!r}; this hub takes deployment {expected!r} only"),
                deployment=deployment,
                expected=self.deployment_id,
            )
        roles = {short_role(str(r)) for r in token.get(ROLES_CLAIM, [])}
        staff = bool(roles & set(self.instructor_roles))
        if not staff and "Learner" not in roles:
            self._refuse(
                N_("the launch's roles ({roles}) are neither a learner's nor one of {staff}"),
                roles=", ".join(sorted(roles)) or "-",
                staff=", ".join(self.instructor_roles),
            )
        name = self._hub_name(token)
        given, family = token.get("given_name"), token.get("family_name")
        if not (given or family) and token.get("name"):  # a platform that sends the full name only
            given, _space, family = str(token["name"]).partition(" ")
        return {
            "name": name,
            "auth_state": None,
            "backprop_kit_lti": {
                "staff": staff,
                "user_id": str(token.get("sub", "")),
                "given_name": given or None,
                "family_name": family or None,
                "email": token.get("email"),
                "lineitems": (token.get(AGS_CLAIM) or {}).get("lineitems"),
                "memberships": (token.get(NRPS_CLAIM) or {}).get("context_memberships_url"),
            },
        }

    def check_allowed(self, username, authentication=None):
        """A launch this authenticator took (right deployment, a course role) is the allow list."""
        return bool(authentication and authentication.get("backprop_kit_lti"))

    async def run_post_auth_hook(self, handler, authentication):
        authentication = await super().run_post_auth_hook(handler, authentication)
        launch = authentication.get("backprop_kit_lti") or {}
        name = authentication["name"]
        if not launch.get("staff"):
            from ..reports.collect import db_url

            roster.add_to_gradebook(
                db_url(self.course_dir),
                [
                    roster.Student(
                        name, launch.get("given_name"), launch.get("family_name"), launch.get("email")
                    )
                ],
            )
        self._join_group(handler, name, self.instructor_group if launch.get("staff") else self.student_group)
        self._remember(name, launch)
        return authentication

    def _join_group(self, handler, name: str, group_name: str):
        from jupyterhub import orm

        user = handler.find_user(name) or handler.user_from_username(name)
        group = orm.Group.find(handler.db, group_name)
        if group is None:
            group = orm.Group(name=group_name)
            handler.db.add(group)
        if group not in user.orm_user.groups:
            user.orm_user.groups.append(group)
            self.log.info("backprop-kit LTI: %s joins %s", name, group_name)
        handler.db.commit()

    def _remember(self, name: str, launch: dict):
        """The user's LMS id and the course's line items, for grade passback (the course
        account's file: root writes it, then hands it over)."""
        folder = lti_dir(self.course_dir)
        path = folder / LAUNCHES_FILE
        with self._lock:
            try:
                known = json.loads(path.read_text())
            except (FileNotFoundError, ValueError):
                known = {}
            users = {**known.get("users", {}), name: launch.get("user_id", "")}
            known = {**known, "users": users}
            if launch.get("lineitems"):
                known["lineitems_url"] = launch["lineitems"]
            if launch.get("memberships"):  # `backprop-kit lti roster` reads the LMS's roster there
                known["memberships_url"] = launch["memberships"]
            write_launches(path, known, self.course_account)
