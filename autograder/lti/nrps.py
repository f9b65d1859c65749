"""The course's roster from the LMS: LTI Advantage's Names and Role Provisioning Services.

`backprop-kit lti roster --hub OUT` reads the context's memberships (the URL a launch brought,
kept in the course's `lti/launches.json`, or `platform.memberships_url` in the LTI config), with
a client-credentials token for NRPS's read-only scope signed by the tool's key, page by page
(the `Link: <…>; rel="next"` header of NRPS 2.0, or a `next` field in the body as some platforms
send). Each active member becomes what their first launch would make them:

- a learner: the gradebook (with the names and email the LMS shares), the hub's user and the
  students' course group (autograder/hub/students.py, as `backprop-kit add-student`);
- an instructor or TA (`tool.instructor_roles`): the hub's user and the formgrader group.

Their LMS user id is recorded as a launch records it, so grades reach the LMS for a learner who
has not launched yet. Which hub user a member is follows `tool.hub_user`: `user_id` and `email`
are in every membership; a `login` comes only with a launch (a custom parameter), so a member
who never launched is listed as waiting for their first launch. Members the LMS marks Inactive
or Deleted are not added, and never removed here: their grades stay in the gradebook."""

from __future__ import annotations

import json
import re
import urllib.error
from dataclasses import dataclass, field

from ..hub import names
from .ags import SCOPE_MEMBERSHIPS, AgsClient, AgsError, ToolKey
from .login import short_role
from .passback import KEY_FILE, LAUNCHES_FILE, TOOL_FILE, lti_dir, write_launches

MEMBERSHIPS_MEDIA = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 1000  # a platform whose `next` never ends is a platform fault, not a big class


@dataclass
class Member:
    user_id: str
    roles: set[str]  # short names: Learner, Instructor, TeachingAssistant, …
    status: str = "Active"
    email: str | None = None
    given_name: str | None = None
    family_name: str | None = None


@dataclass
class Synced:
    """What one `lti roster` did, for its report."""

    learners: list[str] = field(default_factory=list)
    staff: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # no hub name until their first launch (LMS user ids)
    inactive: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # a member the kit cannot take, with why
    hub_told: bool = True  # False: the hub was not running; it reads the gradebook when it starts


def _next_link(header: str | None) -> str | None:
    for part in (header or "").split(","):
        found = re.match(r'\s*<([^>]+)>\s*;.*rel="?next"?', part)
        if found:
            return found.group(1)
    return None


def fetch_members(client: AgsClient, url: str) -> list[Member]:
    """Every membership of the context, all pages; AgsError names what the platform answered."""
    members: list[Member] = []
    page: str | None = url
    for _page in range(MAX_PAGES):
        if page is None:
            return members
        response = client._request("memberships", "GET", page, headers={**client._headers(MEMBERSHIPS_MEDIA)})
        if response.status_code != 200:
            raise AgsError(
                f"memberships: {page} answered {response.status_code}: {response.text[:200]}",
                transient=response.status_code >= 500,
            )
        try:
            body = response.json()
            for m in body["members"]:
                members.append(
                    Member(
                        user_id=str(m["user_id"]),
                        roles={short_role(str(r)) for r in m.get("roles", [])},
                        status=str(m.get("status") or "Active"),
                        email=m.get("email") or None,
                        given_name=m.get("given_name") or None,
                        family_name=m.get("family_name") or None,
                    )
                )
        except (ValueError, KeyError, TypeError):
            raise AgsError(
                f"memberships: {page} answered no NRPS membership container", transient=False
            ) from None
        page = _next_link(response.headers.get("Link")) or body.get("next")
    raise AgsError(f"memberships: {url} still had a next page after {MAX_PAGES} pages", transient=False)


def sync(settings, *, log=print) -> Synced:
    """Read the LMS's roster and add its members to the course (see the module's text)."""
    from ..hub.students import AddStudentError, add_student

    lti = settings.extra.get("lti") or {}
    folder = lti_dir(settings.course_dir)
    tool = json.loads((folder / TOOL_FILE).read_text())
    launches_path = folder / LAUNCHES_FILE
    launches = json.loads(launches_path.read_text()) if launches_path.exists() else {}
    url = tool.get("memberships_url") or launches.get("memberships_url")
    if not url:
        raise AgsError(
            "the course's memberships URL is not known yet: nobody has launched the tool from the LMS with "
            "the Names and Role Provisioning Service enabled, and the LTI config has no platform.memberships_url",
            transient=False,
        )
    client = AgsClient(
        key=ToolKey.read(folder / KEY_FILE),
        client_id=tool["client_id"],
        token_url=tool["token_url"],
        token_audience=tool["token_audience"],
        timeout=float(tool.get("timeout_seconds", 10)),
        scopes=(SCOPE_MEMBERSHIPS,),
    )
    members = fetch_members(client, url)
    hub_user = lti.get("hub_user") or tool.get("hub_user") or "login"
    staff_roles = set(lti.get("instructor_roles") or ("Instructor",))
    by_lms_id = {v: k for k, v in (launches.get("users") or {}).items()}
    done = Synced()
    users = dict(launches.get("users") or {})
    for m in members:
        if m.status != "Active":
            done.inactive.append(m.user_id)
            continue
        staff = bool(m.roles & staff_roles)
        if not staff and "Learner" not in m.roles:
            continue  # a role with no place in the course (a mentor, an observer)
        name = (
            m.user_id
            if hub_user == "user_id"
            else m.email
            if hub_user == "email"
            else by_lms_id.get(m.user_id)
        )
        if not name:
            done.waiting.append(m.user_id)
            continue
        why = names.problem(name)
        if why:
            done.refused.append(f"{name} ({why})")
            continue
        users[name] = m.user_id
        if staff:
            done.hub_told &= _join(settings, name, settings.instructor_group)
            done.staff.append(name)
            continue
        try:
            added = add_student(settings.out_dir, name, m.given_name, m.family_name, m.email)
        except AddStudentError as e:
            done.refused.append(f"{name} ({e})")
            continue
        done.hub_told &= added.hub_told
        done.learners.append(name)
    write_launches(launches_path, {**launches, "users": users}, settings.course_account)
    log(
        f"backprop-kit LTI: roster from {url}: {len(done.learners)} learner(s), {len(done.staff)} staff, "
        f"{len(done.waiting)} waiting for a first launch, {len(done.inactive)} inactive"
    )
    return done


def _join(settings, name: str, group: str) -> bool:
    """The hub's user `name` in `group`; False when the hub is not running."""
    from ..hub.students import user_in_group

    token = settings.roster_token_file.read_text().strip()
    try:
        user_in_group(settings, token, name, group)
        return True
    except urllib.error.HTTPError as e:  # running, and saying no: not a hub that is down
        raise AgsError(
            f"the hub on 127.0.0.1:{settings.hub_port} refused to put {name} in {group} ({e.code} {e.reason})",
            transient=False,
        ) from None
    except (urllib.error.URLError, ConnectionError, OSError):
        return False
