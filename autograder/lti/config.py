"""The LTI config file: one YAML file, both halves of the registration (what the LMS told the
course staff, what the hub and grade passback need), read by `backprop-kit hub --lti CONFIG`.

    platform:                 # what the LMS shows once the tool is registered there
      issuer: https://canvas.instructure.com
      client_id: "10000000000042"
      deployment_id: "17:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"   # optional
      authorize_url: https://sso.canvaslms.com/api/lti/authorize_redirect
      jwks_url: https://sso.canvaslms.com/api/lti/security/jwks
      token_url: https://sso.canvaslms.com/login/oauth2/token
    tool:                     # optional: how the hub reads a launch
      hub_user: login         # login | user_id | email
      instructor_roles: [Instructor, TeachingAssistant, Administrator]
    grades:                   # optional: how passback retries
      tries: 3
      backoff_seconds: 1

A problem is one line `file:line: key: message`, as course.yaml's are."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..config.errors import ConfigError, Problem, format_loc, suggest
from ..words import N_, _


def _url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(_("an http(s) URL is needed, found {value}").format(value=repr(value)))
    return value


class PlatformSection(BaseModel):
    """What the LMS gives the course staff when the tool is registered there."""

    model_config = ConfigDict(extra="forbid")
    issuer: str = Field(description=N_("the platform's issuer (the `iss` of its launches)"))
    client_id: str = Field(description=N_("the tool's client id at the platform"))
    deployment_id: str | None = Field(
        None, description=N_("the deployment's id; launches of other deployments are refused")
    )
    authorize_url: str = Field(description=N_("the platform's OIDC authorization endpoint"))
    jwks_url: str = Field(description=N_("the platform's public keys (JWKS)"))
    token_url: str = Field(description=N_("the platform's OAuth2 token endpoint (grade passback)"))
    token_audience: str | None = Field(
        None, description=N_("the `aud` of the tool's token request; default: token_url")
    )
    lineitems_url: str | None = Field(
        None,
        description=N_("the course's line items (AGS); default: the one the latest launch carried"),
    )
    memberships_url: str | None = Field(
        None,
        description=N_(
            "the course's roster (NRPS context memberships); default: the one the latest launch carried"
        ),
    )

    @field_validator(
        "issuer",
        "authorize_url",
        "jwks_url",
        "token_url",
        "token_audience",
        "lineitems_url",
        "memberships_url",
    )
    @classmethod
    def _urls(cls, value):
        return None if value is None else _url(value)


# LTI 1.3's context roles (https://www.imsglobal.org/spec/lti/v1p3/#role-vocabularies), by
# their short names: a launch's role URI ends with `#Name` or `/Name`.
CONTEXT_ROLES = ("Learner", "Instructor", "TeachingAssistant", "ContentDeveloper", "Mentor", "Administrator")


class ToolSection(BaseModel):
    """How the hub reads a launch."""

    model_config = ConfigDict(extra="forbid")
    hub_user: Literal["login", "user_id", "email"] = Field(
        "login",
        description=N_(
            "which of the launch's facts is the hub user: the login (custom parameter "
            "`login`), the LMS's user id (`sub`) or the email"
        ),
    )
    login_parameter: str = Field(
        "login", description=N_("the custom parameter that carries the login (hub_user: login)")
    )
    instructor_roles: list[str] = Field(
        ["Instructor", "TeachingAssistant", "Administrator"],
        description=N_("the context roles whose launches make course staff (formgrader)"),
    )

    @field_validator("instructor_roles")
    @classmethod
    def _roles(cls, roles):
        for role in roles:
            if role not in CONTEXT_ROLES:
                hint = suggest(role, CONTEXT_ROLES, N_(" (one of {names})"))
                raise ValueError(
                    _("{role} is not an LTI context role{hint}").format(role=repr(role), hint=hint)
                )
        return roles


class GradesSection(BaseModel):
    """How passback retries a score the platform did not take."""

    model_config = ConfigDict(extra="forbid")
    tries: int = Field(
        3, ge=1, le=10, description=N_("tries per score at each grading before it waits in the queue")
    )
    backoff_seconds: float = Field(
        1.0, ge=0, le=60, description=N_("the wait before the 2nd try; doubled each try")
    )
    timeout_seconds: float = Field(10.0, gt=0, le=120, description=N_("one request's timeout"))


class LtiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: PlatformSection
    tool: ToolSection = ToolSection()
    grades: GradesSection = GradesSection()

    @property
    def token_audience(self) -> str:
        return self.platform.token_audience or self.platform.token_url


# Each section's model, by where it stands in the file: what an unknown or missing key is told.
_SECTIONS: dict[tuple[int | str, ...], type[BaseModel]] = {
    (): LtiConfig,
    ("platform",): PlatformSection,
    ("tool",): ToolSection,
    ("grades",): GradesSection,
}


def _line_of(node, loc) -> int | None:
    """The line (1-based) of the key at `loc` in the composed YAML, or of its closest parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == part), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def load_lti_config(path) -> LtiConfig:
    """The checked config; ConfigError with one `file:line: key: message` per problem."""
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([Problem(shown, None, "", _("cannot be read: {why}").format(why=e))]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigError(
            [
                Problem(
                    shown,
                    mark.line + 1 if mark else None,
                    "",
                    _("not valid YAML: {why}").format(why=getattr(e, "problem", e)),
                )
            ]
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            [
                Problem(
                    shown,
                    1,
                    "",
                    _("an LTI config is a mapping with a key 'platform'; found {found}").format(
                        found=type(data).__name__
                    ),
                )
            ]
        )
    try:
        return LtiConfig.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            section = _SECTIONS.get(loc[:-1])  # where the key was, or was missing from
            if err["type"] == "extra_forbidden" and section is not None:
                message = _("not a key of this section") + suggest(
                    str(loc[-1]), section.model_fields, N_(" ({names})")
                )
            elif err["type"] == "missing":
                field = section.model_fields.get(str(loc[-1])) if section else None
                message = (
                    _("missing: {what}").format(what=_(field.description))
                    if field and field.description
                    else _("missing")
                )
            problems.append(Problem(shown, _line_of(node, loc), format_loc(loc), message))
        raise ConfigError(problems) from None
