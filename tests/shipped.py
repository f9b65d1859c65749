"""bpkit/ as a release ships it, imported from a release folder (for the tests of the
student-side helpers: self-checks and Validate)."""

import contextlib
import importlib
import sys

from autograder.config import load_course
from autograder.course import REPO_ROOT, assemble_bpkit


@contextlib.contextmanager
def shipped_bpkit_module(folder, module, language=None):
    """`bpkit.<module>` imported from a fresh copy of the shipped bpkit/ in `folder`; the
    import is undone afterwards so other tests see no stale bpkit. `language`: a course in that
    language (its catalog shipped too), else course.yaml's."""
    course = load_course(REPO_ROOT / "course.yaml")
    if language is not None:
        course = course.model_copy(update={"language": language})
    assemble_bpkit(folder / "bpkit", course, course.assignments[0])
    sys.path.insert(0, str(folder))
    try:
        _forget_bpkit()
        yield importlib.import_module(f"bpkit.{module}")
    finally:
        sys.path.remove(str(folder))
        _forget_bpkit()


def _forget_bpkit():
    for name in [m for m in sys.modules if m == "bpkit" or m.startswith("bpkit.")]:
        del sys.modules[name]
