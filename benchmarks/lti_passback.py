"""What grade passback costs a grading, against an LTI 1.3 platform on 127.0.0.1
(`lti1p3platform` from PyPI, tests/lti_platform.py), side by side:

  * up:   post_scores() of N students' scores to a running platform (queue on disk, one
          client-credentials token, the line item made once, N score posts);
  * down: the same with the platform down (every score tried `grades.tries` times with
          doubling waits, then left queued): how long a grading is held up at most;
  * push: `lti push`'s work once the platform is back (the queue sent again).

CPU seconds are this process's (user+sys; the platform's server threads run in it too), wall
seconds are shown beside them; a busy machine stretches wall time, not CPU.

    .venv/bin/python benchmarks/lti_passback.py [N]
"""

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from lti_platform import LEARNER, LmsPlatform, LmsUser

from autograder.lti.config import load_lti_config
from autograder.lti.passback import LAUNCHES_FILE, Score, lti_dir, post_scores, push
from autograder.lti.setup import write_tool_half


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(label, fn):
    c, w = cpu(), time.monotonic()
    result = fn()
    print(f"{label:<6} {cpu() - c:8.3f} s CPU {time.monotonic() - w:8.3f} s wall")
    return result


def main(n=50):
    with tempfile.TemporaryDirectory() as tmp, LmsPlatform() as platform:
        course, out = Path(tmp) / "course", Path(tmp) / "hub"
        course.mkdir()
        out.mkdir()
        (Path(tmp) / "lti.yaml").write_text(platform.config_yaml())
        tool = write_tool_half(load_lti_config(Path(tmp) / "lti.yaml"), course, out, None)
        platform.tool_jwks = json.loads(tool.jwks_file.read_text())
        users = {f"s{i:03d}": f"lms-{i}" for i in range(n)}
        for login, sub in users.items():
            platform.state.users[sub] = LmsUser(sub, login, [LEARNER])
        (lti_dir(course) / LAUNCHES_FILE).write_text(
            json.dumps({"users": users, "lineitems_url": platform.lineitems_url})
        )
        scores = {s: Score(i % 11, 10) for i, s in enumerate(users)}
        print(f"{n} scores; grades.tries 2, backoff 0.05 s (tests/lti_platform.py's config)")
        up = timed("up", lambda: post_scores(course, "backprop", scores))
        assert len(up.sent) == n, up.kept[:1]
        platform.stop()
        down = timed("down", lambda: post_scores(course, "backprop2", scores))
        assert len(down.kept) == n
        platform.restart()
        again = timed("push", lambda: push(course))
        assert len(again.sent) == n, again.kept[:1]


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
