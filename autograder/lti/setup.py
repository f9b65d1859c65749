"""`backprop-kit hub --lti CONFIG`: both halves from one file.

- The tool's half, in the course directory's `lti/` (the course account's, 0700): `tool.json`
  (what grade passback needs: client id, token URL and audience, retry settings) and
  `tool-key.pem`, the tool's private key, made once and kept on every rerun so the LMS's
  registration stays valid.
- The hub's half, in the hub's settings (`extra["lti"]`): what the authenticator checks a
  launch against; and, beside jupyterhub_config.py, the tool's public key as the LMS asks for
  it (`lti-tool-jwks.json`, `lti-tool-public.pem`; the hub also serves the JWKS at
  /hub/lti13/jwks)."""

from __future__ import annotations

import json
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from .ags import ToolKey
from .config import LtiConfig
from .passback import KEY_FILE, TOOL_FILE, lti_dir

JWKS_FILE = "lti-tool-jwks.json"
PUBLIC_PEM_FILE = "lti-tool-public.pem"
NONCE_FILE = "lti-nonces.json"


@dataclass(frozen=True)
class ToolFiles:
    key: ToolKey
    jwks_file: Path
    public_pem_file: Path
    new_key: bool


def _own(path: Path, account: str | None):
    if account and os.geteuid() == 0:
        entry = pwd.getpwnam(account)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _write_private(path: Path, data: bytes, account: str | None):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
    _own(path, account)


def write_tool_half(config: LtiConfig, course_dir, out_dir, course_account: str | None) -> ToolFiles:
    folder = lti_dir(course_dir)
    folder.mkdir(exist_ok=True)
    os.chmod(folder, 0o700)
    _own(folder, course_account)
    key_path = folder / KEY_FILE
    new_key = not key_path.exists()
    if new_key:
        _write_private(key_path, ToolKey.generate().private_pem, course_account)
    key = ToolKey.read(key_path)
    tool = {
        "client_id": config.platform.client_id,
        "token_url": config.platform.token_url,
        "token_audience": config.token_audience,
        "lineitems_url": config.platform.lineitems_url,
        "memberships_url": config.platform.memberships_url,
        "hub_user": config.tool.hub_user,
        "tries": config.grades.tries,
        "backoff_seconds": config.grades.backoff_seconds,
        "timeout_seconds": config.grades.timeout_seconds,
    }
    _write_private(folder / TOOL_FILE, (json.dumps(tool, indent=1) + "\n").encode(), course_account)
    out = Path(out_dir)
    jwks_file, pem_file = out / JWKS_FILE, out / PUBLIC_PEM_FILE
    jwks_file.write_text(json.dumps({"keys": [key.public_jwk()]}, indent=1) + "\n")
    pem_file.write_bytes(key.public_pem())
    return ToolFiles(key, jwks_file, pem_file, new_key)


def hub_half(config: LtiConfig) -> dict:
    """What HubSettings keeps for the authenticator (JSON: the hub reads it at every start)."""
    return {
        "issuer": config.platform.issuer,
        "client_id": config.platform.client_id,
        "deployment_id": config.platform.deployment_id or "",
        "authorize_url": config.platform.authorize_url,
        "jwks_url": config.platform.jwks_url,
        "hub_user": config.tool.hub_user,
        "login_parameter": config.tool.login_parameter,
        "instructor_roles": list(config.tool.instructor_roles),
    }


def configure_authenticator(c, settings) -> None:
    """Set the hub's authenticator from the hub's half (hubconfig.configure calls it)."""
    lti = settings.extra["lti"]
    c.JupyterHub.authenticator_class = "autograder.lti.login.CourseLTI13Authenticator"
    a = c.CourseLTI13Authenticator
    a.issuer = lti["issuer"]
    a.client_id = {lti["client_id"]}
    a.authorize_url = lti["authorize_url"]
    a.jwks_endpoint = lti["jwks_url"]
    a.deployment_id = lti["deployment_id"]
    a.hub_user = lti["hub_user"]
    a.login_parameter = lti["login_parameter"]
    a.instructor_roles = lti["instructor_roles"]
    a.course_dir = settings.course_dir
    a.course_account = settings.course_account
    a.student_group = settings.student_group
    a.instructor_group = settings.instructor_group
    a.nonce_file = str(Path(settings.out_dir) / NONCE_FILE)
    a.tool_name = f"{settings.course_id} (backprop-kit)"
    from .jwks import JwksHandler

    c.JupyterHub.extra_handlers = [
        (r"/lti13/jwks", JwksHandler, {"path": str(Path(settings.out_dir) / JWKS_FILE)})
    ]
