"""LTI Advantage's Assignment and Grade Services, the tool's side: a client-credentials token
(IMS Security Framework §4.1: a JWT signed with the tool's private key, by PyJWT), the line
item of an assignment found or created, a score posted.

Every failure is an AgsError whose message says what was refused by whom, and whether trying
again later can help (`transient`): a platform that is down, slow or busy (5xx, 429) can;
a refused key or a line item the platform will not make cannot until someone changes something."""

from __future__ import annotations

import functools
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import jwt
import requests
from jwcrypto.jwk import JWK

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_MEMBERSHIPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = (SCOPE_LINEITEM, SCOPE_SCORE, SCOPE_RESULT)
LINEITEM_MEDIA = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_MEDIA = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_MEDIA = "application/vnd.ims.lis.v1.score+json"


class AgsError(Exception):
    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class ToolKey:
    """The tool's RSA key: the private half signs token requests, the public half (a JWK with
    its RFC 7638 thumbprint as `kid`) is what the LMS is given."""

    private_pem: bytes

    @classmethod
    def generate(cls) -> ToolKey:
        return cls(JWK.generate(kty="RSA", size=2048).export_to_pem(private_key=True, password=None))

    @classmethod
    def read(cls, path) -> ToolKey:
        return cls(Path(path).read_bytes())

    @property
    def _jwk(self) -> JWK:
        return _loaded(self.private_pem)

    @property
    def kid(self) -> str:
        return self._jwk.thumbprint()

    def public_jwk(self) -> dict:
        public = json.loads(self._jwk.export_public())
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def public_pem(self) -> bytes:
        return self._jwk.export_to_pem()


@functools.lru_cache(maxsize=8)
def _loaded(private_pem: bytes) -> JWK:
    """Loading an RSA private key checks it, at about a tenth of a second of CPU: once per key."""
    return JWK.from_pem(private_pem)


def client_assertion(key: ToolKey, client_id: str, audience: str, lifetime: int = 300) -> str:
    now = int(time.time())
    # Keyword names, not string keys: the JWT claim names happen to be operation symbols
    # (tests/test_operation_literals.py).
    claims = dict(
        iss=client_id,
        sub=client_id,
        aud=audience,
        iat=now,
        exp=now + lifetime,
        jti=uuid.uuid4().hex,  # each assertion once: a platform may refuse a replayed one
    )
    signing_key = key._jwk.get_op_key("sign")  # the loaded key: PyJWT would load the PEM again
    return jwt.encode(claims, signing_key, algorithm="RS256", headers={"kid": key.kid})


def _refused(what: str, url: str, response: requests.Response) -> AgsError:
    transient = response.status_code >= 500 or response.status_code in (408, 425, 429)
    body = " ".join(response.text.split())[:200]
    return AgsError(
        f"{what}: {url} answered {response.status_code} {response.reason}" + (f": {body}" if body else ""),
        transient=transient,
    )


def _scores_url(lineitem_url: str) -> str:
    """The score service is the line item's URL with /scores added to its path (AGS §3.4),
    before any query string (Canvas's line item URLs carry none, Moodle's do)."""
    base, _, query = lineitem_url.partition("?")
    return base.rstrip("/") + "/scores" + (f"?{query}" if query else "")


class AgsClient:
    def __init__(
        self,
        *,
        key: ToolKey,
        client_id: str,
        token_url: str,
        token_audience: str,
        timeout: float = 10,
        scopes: tuple[str, ...] = AGS_SCOPES,  # what the token is asked for (the roster asks NRPS's)
    ):
        self.key, self.client_id, self.scopes = key, client_id, scopes
        self.token_url, self.token_audience, self.timeout = token_url, token_audience, timeout
        self.session = requests.Session()
        self._token: tuple[str, float] | None = None

    def _request(self, what: str, method: str, url: str, **kwargs) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as e:
            raise AgsError(
                f"{what}: the platform at {url} could not be reached ({type(e).__name__})", transient=True
            ) from None

    def token(self) -> str:
        if self._token and self._token[1] > time.monotonic() + 30:
            return self._token[0]
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": client_assertion(self.key, self.client_id, self.token_audience),
            "scope": " ".join(self.scopes),
        }
        response = self._request("token request", "POST", self.token_url, data=form)
        if response.status_code != 200:
            raise _refused(
                "the platform refused the tool's token request (is the tool's key registered?)",
                self.token_url,
                response,
            )
        try:
            answer = response.json()
            token = str(answer["access_token"])
        except (ValueError, KeyError, TypeError):
            raise AgsError(
                f"token request: {self.token_url} answered without an access_token", transient=False
            ) from None
        self._token = (token, time.monotonic() + float(answer.get("expires_in", 3600)))
        return token

    def _headers(self, accept: str, content_type: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": accept}
        return {**headers, "Content-Type": content_type} if content_type else headers

    def find_or_create_lineitem(
        self, lineitems_url: str, resource_id: str, label: str, maximum: float
    ) -> str:
        """The URL of the line item for `resource_id` (the assignment's name), made if there is none."""
        response = self._request(
            "line items",
            "GET",
            lineitems_url,
            params={"resource_id": resource_id},
            headers=self._headers(LINEITEMS_MEDIA),
        )
        if response.status_code != 200:
            raise _refused("listing the course's line items", lineitems_url, response)
        try:
            items = response.json()
            items = items.get("content", items) if isinstance(items, dict) else items  # lti1p3platform pages
            found = [i["id"] for i in items if i.get("resourceId") == resource_id]
        except (ValueError, AttributeError, KeyError, TypeError):
            raise AgsError(
                f"listing line items: {lineitems_url} answered no list of line items", transient=False
            ) from None
        if found:
            return str(found[0])
        body = {"scoreMaximum": maximum, "label": label, "resourceId": resource_id, "tag": "backprop-kit"}
        response = self._request(
            "new line item",
            "POST",
            lineitems_url,
            json=body,
            headers=self._headers(LINEITEM_MEDIA, LINEITEM_MEDIA),
        )
        if response.status_code not in (200, 201):
            raise _refused(f"creating the line item for {resource_id}", lineitems_url, response)
        try:
            return str(response.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise AgsError(
                f"new line item: {lineitems_url} answered without its id", transient=False
            ) from None

    def post_score(
        self, lineitem_url: str, user_id: str, given: float, maximum: float, timestamp: datetime
    ) -> None:
        body = {
            "userId": user_id,
            "scoreGiven": given,
            "scoreMaximum": maximum,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            # the grading's own time: a score posted again later never replaces a newer one
            "timestamp": timestamp.astimezone(timezone.utc).isoformat(),
        }
        url = _scores_url(lineitem_url)
        response = self._request(
            "score", "POST", url, json=body, headers=self._headers(SCORE_MEDIA, SCORE_MEDIA)
        )
        if response.status_code == 409:
            return  # the platform holds a newer score for this student: nothing to send
        if response.status_code not in (200, 201, 202, 204):
            raise _refused(f"posting {user_id}'s score", url, response)
