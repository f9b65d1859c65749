"""The kit's own course (course.yaml as shipped), built by `init` once per test run and copied
for each module that needs one: `init` is some 9 s of CPU (`nbgrader generate_assignment` as a
process, its gradebook's alembic), and seven modules build this very course only to read its
release or to grade a student of their own in it.

A module that changes course.yaml, or tests `init` itself (tests/test_course.py,
tests/test_instructor_start.py), builds its own."""

import re
import shutil
from pathlib import Path

from once_per_run import shared_once_per_run


def _build(folder: Path) -> dict:
    from autograder.config import load_course
    from autograder.course import REPO_ROOT, init

    init(
        folder / "course",
        load_course(REPO_ROOT / "course.yaml"),
        REPO_ROOT / "course.yaml",
        log=lambda m: None,
    )
    return {}


def kit_course(tmp_path_factory, into: Path) -> Path:
    """A course directory of its own at `into` (made; its parent may exist), as
    `backprop-kit init into` makes it from the kit's course.yaml: the course holds no absolute
    path and no link, so a copy is the course `init` would have made there."""
    built = shared_once_per_run(tmp_path_factory, "kit-course", _build)
    shutil.copytree(built / "course", into, symlinks=True)
    return into


# course.yaml's second assignment, `network` (assignments/network.py), with its comment lines.
NETWORK_ENTRY = re.compile(r"(?ms)^  # The lecture's second half.*?^    notebooks: \[network\]\n")


def first_assignment_only(course_yaml_text: str) -> str:
    """The kit's course.yaml without its `network` assignment, as an instructor who drops it has
    it: for a test about the first assignment, or whose own assignments/ folder has no
    network.py (notebooks are read from that folder alone, never half from the kit's)."""
    text, found = NETWORK_ENTRY.subn("", course_yaml_text)
    assert found == 1, "course.yaml's network entry moved: update tests/kit_course.py's NETWORK_ENTRY"
    return text
