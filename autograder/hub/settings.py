"""HubSettings: every fact the hub's configuration is built from, kept in one JSON file
(`backprop-kit-hub.json` beside jupyterhub_config.py) that `backprop-kit hub` writes and the
hub reads at each start."""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

SETTINGS_FILE = "backprop-kit-hub.json"
ROSTER_TOKEN_FILE = "roster-api-token"  # root only: lets `backprop-kit add-student` tell the running hub
NBGRADER_CONFIG_DIR = "nbgrader"  # nbgrader's global config for students' servers and the formgrader
# Read before it by students' servers only: no formgrader, course list or create-assignment there.
STUDENT_CONFIG_DIR = "students"
STUDENT_LAB_SETTINGS_DIR = "lab-settings"  # in STUDENT_CONFIG_DIR: JupyterLab's overrides.json for students
ROSTER_SERVICE = "backprop-kit-roster"
# Names of a course's groups, as nbgrader's JupyterHubAuthPlugin reads them.
INSTRUCTOR_GROUP, STUDENT_GROUP = "formgrade-{course_id}", "nbgrader-{course_id}"


@dataclass(frozen=True)
class HubSettings:
    course_id: str
    course_dir: str  # the course made by `backprop-kit init`: the formgrader service's folder
    course_account: str  # the system account the formgrader service runs as
    exchange: str  # nbgrader's exchange root
    bin_dir: str  # the kit's environment: jupyterhub-singleuser for students and formgrader
    out_dir: str  # this folder: the hub's own state (database, cookie secret) and nbgrader's global config
    instructors: tuple = ()
    authenticator: str = "pam"  # JupyterHub's authenticator_class: "pam", or any entry point or class path
    service_port: int = 9999  # the formgrader service, on 127.0.0.1
    hub_port: int = 8081  # the hub's own API, on 127.0.0.1
    proxy_api_port: int = 8001  # configurable-http-proxy's API, on 127.0.0.1
    extra: dict = field(default_factory=dict)

    @property
    def instructor_group(self):
        return INSTRUCTOR_GROUP.format(course_id=self.course_id)

    @property
    def student_group(self):
        return STUDENT_GROUP.format(course_id=self.course_id)

    @property
    def nbgrader_config_dir(self):
        return Path(self.out_dir) / NBGRADER_CONFIG_DIR

    @property
    def student_config_dir(self):
        return Path(self.out_dir) / STUDENT_CONFIG_DIR

    @property
    def roster_token_file(self):
        return Path(self.out_dir) / ROSTER_TOKEN_FILE

    def dump(self):
        return json.dumps({**asdict(self), "instructors": list(self.instructors)}, indent=2) + "\n"

    @classmethod
    def load(cls, out_dir):
        path = Path(out_dir) / SETTINGS_FILE
        data = json.loads(path.read_text())
        return cls(**{**data, "instructors": tuple(data.get("instructors", ()))})
