"""What the simulated class and the bad-submissions class get: every grade, comment and report
entry, graded through `grade_submission` (the pipeline both commands share) in one small course.

tests/data/golden/class_results.json holds what the code at commit f20e71a gave (issue 31's branch
point, before the checks declared their asks and the sandbox lost its grading policy); the test
that reads it (test_same_results.py) proves the refactor changed no grade and no word. Made by

    .venv/bin/python tests/golden_class.py tests/data/golden/class_results.json

and to be made again only by a change that means to change what students get (say why in its commit).
"""

import json
import re
import sys
import tempfile
from pathlib import Path

import nbformat

from autograder import demo
from autograder.batch.pipeline import SubmissionJob, grade_submission
from autograder.batch.run import load_course_setup
from autograder.config import load_course
from autograder.course import init

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data
REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 10  # grading.timeout_seconds: a fork bomb on a machine at load 14 still finishes in it
# Where a sandbox's scratch directory or a worker's pid shows in a traceback: not the code's doing;
# nor the line of a released stub that raised (how the release writes a gate's cell, which the
# operation table's lane changed after the golden was recorded).
VARYING = [
    (re.compile(r"/tmp/[^\s'\"]*bpkit-run-[^/\s'\"]*"), "<scratch>"),
    (re.compile(r"\bpid \d+"), "pid <n>"),
    (re.compile(r"(replace this line with your code \(cell \w+), line \d+\)"), r"\1, line <n>)"),
]


def course(root: Path):
    """The kit's course (timeout TIMEOUT, sandbox required) built in root; its snapshot and
    source and release notebooks."""
    text = re.sub(r"(?m)^(\s*timeout_seconds:).*$", rf"\1 {TIMEOUT}", (REPO / "course.yaml").read_text())
    text = re.sub(r"(?m)^(\s*require_sandbox:).*$", r"\1 true", text)
    (root / "course.yaml").write_text(text)
    init(root / "kit", load_course(root / "course.yaml"), root / "course.yaml", log=lambda m: None)
    _config, _coursedir, _course, snapshot = load_course_setup(root / "kit", "backprop")
    source = nbformat.read(root / "kit" / "source" / "backprop" / "backprop.ipynb", as_version=4)
    release = nbformat.read(root / "kit" / "release" / "backprop" / "backprop.ipynb", as_version=4)
    return snapshot, source, release


def submissions(source, release) -> dict[str, bytes]:
    """{student: the notebook's bytes}: the simulated class, then the bad class (tests/submissions.py:
    not JSON, empty, a test cell deleted, a grade_id renamed, left untouched)."""
    handed = {
        student: nbformat.writes(simulated_class.fill(release, answers)).encode()
        for student, (_said, answers) in simulated_class.students(source).items()
    }
    good = simulated_class.fill(release, simulated_class.reference_answers(source))
    tampered = simulated_class.cells_tampered_with(good)
    handed |= {
        "fay": b"this is not json",
        "gus": b"",
        "ivy": nbformat.writes(tampered["deleted"]).encode(),
        "jon": nbformat.writes(tampered["renamed"]).encode(),
        "pat": nbformat.writes(release).encode(),
    }
    return handed


def steady(value):
    """`value` with what varies from run to run (VARYING) written the same way."""
    if isinstance(value, str):
        for pattern, said in VARYING:
            value = pattern.sub(said, value)
        return value
    if isinstance(value, dict):
        return {key: steady(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [steady(item) for item in value]
    return value


def results(snapshot, source, release) -> dict:
    """{student: {"grades", "comments", "report", "facts"}} of every submission, in JSON's terms."""
    graded = {}
    for student, data in submissions(source, release).items():
        done = grade_submission(snapshot, SubmissionJob(student, {"backprop": data}))
        result = done.notebooks["backprop"]
        graded[student] = steady(
            json.loads(
                json.dumps(
                    {
                        "error": result.error,
                        "grades": result.grades,
                        "comments": result.comments,
                        "report": result.report,
                        "facts": result.facts,
                    },
                    sort_keys=True,
                    default=str,
                )
            )
        )
    return graded


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="bpkit-golden-") as folder:
        recorded = results(*course(Path(folder)))
    Path(sys.argv[1]).parent.mkdir(parents=True, exist_ok=True)
    Path(sys.argv[1]).write_text(json.dumps(recorded, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"{len(recorded)} submissions recorded in {sys.argv[1]}")
