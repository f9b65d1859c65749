"""An LTI 1.3 platform (an LMS's side) for the tests, on 127.0.0.1: `lti1p3platform` from PyPI
does the protocol — the OIDC login initiation, the signed launch (id_token), the
client-credentials token endpoint that checks the tool's signed assertion against the tool's
public key, and the Assignment and Grade Services endpoints with their bearer-token check.
What is here is only what that library leaves to its host: an HTTP server (the standard
library's), where line items and scores are kept (a dict), and switches a test turns to make
the platform misbehave (sign with another key, send another audience, an expired token,
refuse token requests, be down). Its users are the course's roster, served through the Names and
Role Provisioning Service (NRPS)."""

from __future__ import annotations

import functools
import html
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlparse

from jwcrypto.jwk import JWK
from lti1p3platform.exceptions import LtiServiceException
from lti1p3platform.lineitem import TLineItem
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import AssignmentsGradesService, NamesRoleProvisioningService, TPage

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


@functools.cache
def new_key_pem(which: str = "platform") -> tuple[str, str]:
    """An RSA key pair, made once per test process for each name (making one costs CPU)."""
    key = JWK.generate(kty="RSA", size=2048)
    return key.export_to_pem(private_key=True, password=None).decode(), key.export_to_pem().decode()


@dataclass
class LmsUser:
    user_id: str  # the platform's own id: `sub`
    login: str
    roles: list[str]
    name: str = ""
    status: str = "Active"  # NRPS: Active, Inactive or Deleted
    email: str = ""


@dataclass
class Faults:
    """What the platform does wrong, when a test asks."""

    rogue_key: bool = False  # sign launches with a key its JWKS does not hold
    audience: str | None = None  # launches addressed to another client id (aud)
    expired: bool = False  # launches whose id_token has already expired
    refuse_tokens: bool = False  # the token endpoint answers 401
    busy_scores: int = 0  # this many score posts answered 503 before the platform takes one


@dataclass
class PlatformState:
    users: dict[str, LmsUser] = field(default_factory=dict)
    lineitems: dict[str, dict] = field(default_factory=dict)
    scores: dict[str, dict[str, dict]] = field(default_factory=dict)  # line item id -> user id -> score
    token_requests: int = 0
    faults: Faults = field(default_factory=Faults)


class _Request(Request):
    def build_metadata(self, request) -> TRequest:
        return request


class LmsPlatform:
    def __init__(self, *, client_id="bpk-tool", deployment_id="1", context_id="cs231n-2026"):
        self.client_id, self.deployment_id, self.context_id = client_id, deployment_id, context_id
        self.private_pem, self.public_pem = new_key_pem("platform")
        self.rogue_private_pem, _ = new_key_pem("rogue")
        self.state = PlatformState()
        self.tool_jwks: dict | None = None
        self.tool_login_url = ""  # the tool's OIDC login initiation URL (the hub's /hub/lti13/oauth_login)
        self.tool_launch_url = ""  # target_link_uri
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.url
        self._thread: threading.Thread | None = None

    # ---- what the tool is told about the platform ----------------------------------------
    @property
    def lineitems_url(self):
        return f"{self.url}/api/lti/courses/{self.context_id}/line_items"

    @property
    def memberships_url(self):
        return f"{self.url}/api/lti/courses/{self.context_id}/memberships"

    def config_yaml(self) -> str:
        return (
            "platform:\n"
            f"  issuer: {self.issuer}\n"
            f'  client_id: "{self.client_id}"\n'
            f'  deployment_id: "{self.deployment_id}"\n'
            f"  authorize_url: {self.url}/authorize\n"
            f"  jwks_url: {self.url}/jwks\n"
            f"  token_url: {self.url}/token\n"
            "grades:\n"
            "  tries: 2\n"
            "  backoff_seconds: 0.05\n"
            "  timeout_seconds: 5\n"
        )

    # ---- running ----------------------------------------------------------------------------
    def start(self):
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Down: nothing listens on its port any more (a connection is refused)."""
        self.server.shutdown()
        self.server.server_close()

    def restart(self):
        """Up again on the same port, with everything it held."""
        self.server = ThreadingHTTPServer(("127.0.0.1", self.server.server_address[1]), self._handler())
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- lti1p3platform's hooks ------------------------------------------------------------
    def conf(self) -> LTI1P3PlatformConfAbstract:
        platform = self

        class Conf(LTI1P3PlatformConfAbstract):
            def init_platform_config(self, **kwargs):
                faults = platform.state.faults
                registration = (
                    Registration()
                    .set_iss(platform.issuer)
                    .set_client_id(platform.client_id)
                    .set_deployment_id(platform.deployment_id)
                    .set_oidc_login_url(platform.tool_login_url)
                    .set_launch_url(platform.tool_launch_url)
                    .set_platform_public_key(platform.public_pem)
                    .set_platform_private_key(
                        platform.rogue_private_pem if faults.rogue_key else platform.private_pem
                    )
                )
                if platform.tool_jwks:
                    registration.set_tool_key_set(platform.tool_jwks)
                self._registration = registration

            def get_registration_by_params(self, **kwargs):
                return self._registration

        return Conf()

    def ags(self, request: dict) -> AssignmentsGradesService:
        state = self.state

        class Service(AssignmentsGradesService):
            def find_lineitems(
                self, page=1, limit=None, line_item_id=None, resource_link_id=None, resource_id=None, tag=None
            ) -> TPage:
                items = [i for i in state.lineitems.values() if resource_id in (None, i.get("resourceId"))]
                return {"content": items, "has_next": False, "next": None}

            def find_lineitem(self, line_item_id) -> TLineItem:
                return state.lineitems[line_item_id]  # type: ignore[return-value]

            def create_lineitem(self, creation_data) -> TLineItem:
                n = len(state.lineitems) + 1
                item = {**creation_data, "id": f"{platform_url}/api/lti/courses/{ctx}/line_items/{n}"}
                state.lineitems[item["id"]] = item
                return item  # type: ignore[return-value]

            def update_lineitem(self, update_data):
                state.lineitems[update_data["id"]].update(update_data)
                return state.lineitems[update_data["id"]]

            def delete_lineitem(self, line_item_id):
                state.lineitems.pop(line_item_id, None)

            def update_score(self, line_item_id, score):
                if state.faults.busy_scores > 0:
                    state.faults.busy_scores -= 1
                    raise LtiServiceException("busy", 503)
                state.scores.setdefault(line_item_id, {})[str(score["userId"])] = dict(score)
                return UpdateScoreStatus.SUCCESS

            def get_results(self, line_item_id, page=1, limit=None, user_id=None) -> TPage:
                found = state.scores.get(line_item_id, {})
                return {"content": list(found.values()), "has_next": False, "next": None}

        platform_url, ctx = self.url, self.context_id
        return Service(_Request(request), self.conf(), self.lineitems_url)

    def nrps(self, request: dict) -> NamesRoleProvisioningService:
        state, platform = self.state, self

        class Service(NamesRoleProvisioningService):
            def get_member_data_page(self, page=1, limit=None, role=None, since=None) -> TPage:
                members = [
                    {
                        "user_id": u.user_id,
                        "roles": list(u.roles),
                        "status": u.status,
                        "name": u.name,
                        "given_name": u.name.partition(" ")[0],
                        "family_name": u.name.partition(" ")[2],
                        **({"email": u.email} if u.email else {}),
                    }
                    for u in state.users.values()
                ]
                return {"content": members, "has_next": False, "next": None}

            def get_context_by_id(self) -> Context:
                return Context(id=platform.context_id, label="CS231n", title="CS231n")

        return Service(_Request(request), self.conf(), self.memberships_url)

    def launch_form(self, preflight: dict) -> str:
        """The auto-submitting form an LMS answers the tool's authorization request with."""
        user = self.state.users[preflight["login_hint"]]

        class Launch(LTIAdvantageMessageLaunchAbstract):
            def render_launch_form(self, launch_data, **kwargs):
                fields = "".join(
                    f'<input type="hidden" name="{k}" value="{html.escape(str(v))}"/>'
                    for k, v in launch_data.items()
                    if k != "launch_url"
                )
                return (
                    f'<html><body onload="document.forms[0].submit()"><form method="post" '
                    f'action="{html.escape(launch_data["launch_url"])}">{fields}</form></body></html>'
                )

        launch = Launch(_Request({"get_data": preflight, "form_data": {}}), self.conf())
        launch.set_user_data(
            user.user_id, user.roles, full_name=user.name or user.login, preferred_username=user.login
        )
        launch.set_launch_context_claim(self.context_id, context_title="CS231n", context_label="CS231n")
        launch.set_resource_link_claim("backprop-hub")
        launch.set_custom_parameters_claim({"login": user.login})
        launch.set_ags(self.lineitems_url)
        launch.set_nrps(self.memberships_url)
        if self.state.faults.audience:  # signed for another tool: aud (and azp) name someone else
            launch.set_extra_claims({"aud": self.state.faults.audience, "azp": self.state.faults.audience})
        if self.state.faults.expired:
            # lti1p3platform adds iat/exp from a lifetime: a negative one is a token already expired
            launch.set_id_token_expiration(-120)
        return launch.lti_launch()

    def login_initiation_url(self, user_id: str) -> str:
        """Where an LMS sends a user who clicks the tool's link: the tool's OIDC login."""
        platform = self

        class Login(OIDCLoginAbstract):
            def set_lti_message_hint(self, **kwargs):
                self._lti_message_hint = "backprop-hub"

            def get_redirect(self, url):
                return url

        login = Login(_Request({}), platform.conf())
        login.set_lti_message_hint()
        return login.initiate_login(user_id)

    # ---- HTTP --------------------------------------------------------------------------------
    def _handler(self):
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # quiet: the test's output is for failures
                pass

            def _send(self, code, body, content_type="application/json", headers=()):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _request(self, method):
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                content_type = self.headers.get("Content-Type", "")
                is_json = "json" in content_type
                return parsed, {
                    "method": method,
                    "form_data": dict(parse_qsl(raw)) if raw and not is_json else {},
                    "get_data": dict(parse_qsl(parsed.query)),
                    "headers": dict(self.headers.items()),
                    "content_type": content_type,
                    "path": parsed.path,
                    "json": json.loads(raw) if raw and is_json else None,
                }

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

            def _route(self, method):
                parsed, request = self._request(method)
                path = parsed.path
                try:
                    if path == "/jwks":
                        return self._send(200, json.dumps(platform.conf().get_jwks()))
                    if path == "/authorize":
                        return self._send(
                            200,
                            platform.launch_form(request["get_data"] or request["form_data"]),
                            "text/html",
                        )
                    if path == "/launch":
                        url = platform.login_initiation_url(request["get_data"]["user"])
                        return self._send(302, "", headers=[("Location", url)])
                    if path == "/token":
                        platform.state.token_requests += 1
                        if platform.state.faults.refuse_tokens:
                            return self._send(401, json.dumps({"error": "invalid_client"}))
                        try:
                            return self._send(
                                200, json.dumps(platform.conf().get_access_token(request["form_data"]))
                            )
                        except Exception as e:  # a refused assertion is the tool's fault
                            return self._send(400, json.dumps({"error": "invalid_grant", "why": str(e)}))
                    return self._ags(path, method, request)
                except Exception as e:
                    return self._send(500, json.dumps({"error": f"{type(e).__name__}: {e}"}))

            def _ags(self, path, method, request):
                if path == urlparse(platform.memberships_url).path:
                    service_nrps = platform.nrps(request)
                    response = service_nrps.handle_resp(service_nrps.handle_get_members)
                    body = (
                        json.dumps(response.result)
                        if response.result is not None
                        else json.dumps({"message": response.message})
                    )
                    return self._send(response.code, body, response.media_type)
                base = urlparse(platform.lineitems_url).path
                service = platform.ags(request)
                item = re.fullmatch(re.escape(base) + r"/(\d+)(/scores|/results)?", path)
                if path == base:
                    handler = (
                        service.handle_get_lineitems if method == "GET" else service.handle_create_lineitem
                    )
                    response = service.handle_resp(handler)
                elif item:
                    line_item_id = f"{platform.url}{base}/{item.group(1)}"
                    handler = {
                        "/scores": service.handle_update_score,
                        "/results": service.handle_get_results,
                        None: service.handle_get_lineitem,
                    }[item.group(2)]
                    response = service.handle_resp(handler, line_item_id=line_item_id)
                else:
                    return self._send(404, json.dumps({"error": f"no such endpoint {path}"}))
                body = (
                    json.dumps(response.result)
                    if response.result is not None
                    else json.dumps({"message": response.message})
                )
                return self._send(response.code, body, response.media_type)

        return Handler


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def launch_query(platform: LmsPlatform, user_id: str) -> str:
    return f"{platform.url}/launch?{urlencode({'user': user_id})}"
