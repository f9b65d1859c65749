"""What run_autograder starts on Gradescope: grade one submission, write results/results.json.

    python -m autograder.gradescope.run             grade $AUTOGRADER_ROOT/submission
    python -m autograder.gradescope.run --prepare   build the one-student course (setup.sh)

The bundle's course (source/course: nbgrader_config.py, course.yaml, source/<assignment>/)
is copied to a fresh folder; the submission goes into submitted/<student id>/<assignment>/
through autograder.intake.copy_submission (only regular files travel); then plain
`nbgrader autograde` grades it there, exactly as in the TA's course. Whatever happens, a
results.json is written: Gradescope shows its output to the student."""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from ..course import nbgrader_environment
from ..grading.naming import NotebookChoice
from ..grading.report import read_report, report_path
from ..intake import copy_submission, read_record
from ..words import _, speak
from .results import failure_json, results_json

# nbgrader makes folders named after the id, and the id picks the student's numbers.
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


class Failure(Exception):
    """Nothing could be graded; the message is for the student (and the instructor)."""


def autograder_root():
    return Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))


def bundle_info(root):
    return json.loads((root / "source" / "bundle.json").read_text())


def nbgrader(course_dir, *args):
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course_dir,
        capture_output=True,
        text=True,
        env=nbgrader_environment(),
    )
    print(f"$ nbgrader {' '.join(args)}  (exit {done.returncode})\n{done.stdout}{done.stderr}", flush=True)
    return done


def prepare(course_dir, assignment):
    """nbgrader generate_assignment in the bundle's course, once: it fills the gradebook with
    the assignment's cells (hidden tests included), which autograde restores locked cells from."""
    if (course_dir / "gradebook.db").is_file() and (course_dir / "release" / assignment).is_dir():
        return
    done = nbgrader(course_dir, "generate_assignment", assignment, "--force")
    if done.returncode != 0:
        raise Failure(
            _(
                "The autograder could not set up the assignment (nbgrader generate_assignment failed). "
                "This is not your fault: please tell your instructor."
            )
        )


def submitter_id(root, field):
    """The student id Gradescope gives for the submitter, from the field course.yaml names."""
    path = root / "submission_metadata.json"
    try:
        meta = json.loads(path.read_text())
        users = meta["users"]
        user = users[0]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
        raise Failure(
            _(
                "The autograder cannot read who submitted ({file}: {error}). Please tell your instructor."
            ).format(file=path.name, error=f"{type(e).__name__} {e}")
        ) from None
    value = user.get(field) if isinstance(user, dict) else None
    if value is None or str(value).strip() == "":
        keys = ", ".join(sorted(user)) if isinstance(user, dict) else "none"
        raise Failure(
            _(
                "Gradescope has no {field} for your account, and your numbers depend on it, so nothing "
                "could be graded. Please tell your instructor. (Instructors: set "
                "gradescope.student_id_field in course.yaml to one of the fields Gradescope sends: {keys}; "
                "or fill in the students' {name} in the Gradescope roster.)"
            ).format(field=repr(field), keys=keys, name=field)
        )
    student = str(value).strip()
    if not STUDENT_ID.match(student):
        raise Failure(
            _(
                "Your {field} {student} cannot be used as an nbgrader student id (letters, digits and "
                ". _ @ + - only). Please tell your instructor."
            ).format(field=field, student=repr(student))
        )
    others = [str(u.get(field, "?")) for u in users[1:] if isinstance(u, dict)]
    note = (
        _(
            "A group submission: graded with the numbers of {student} (the first member), not those of "
            "{others}."
        ).format(student=student, others=", ".join(others))
        if others
        else ""
    )
    return student, note


def take_submission(root, course_dir, assignment, student, max_file_bytes=None):
    """Copy the submission in; returns messages for the student about what happened to their files.
    Which file is which notebook `nbgrader autograde` decides, by the kit's one rule
    (autograder.grading.naming.choose_notebooks): see `choice_messages`."""
    target = course_dir / "submitted" / student / assignment
    kwargs = {} if max_file_bytes is None else {"max_file_bytes": max_file_bytes}
    intake = copy_submission(root / "submission", target, **kwargs)
    return [_("Not graded: {file}").format(file=r) for r in intake.refused]


def choice_messages(course_dir, assignment, notebooks, student):
    """What nbgrader autograde recorded about the submission's notebooks (intake record): the
    files graded under the assignment's name, or Failure when nothing could be graded."""
    choice = NotebookChoice.from_record(read_record(course_dir, assignment, student))
    if choice is None:
        return []
    if choice.not_graded:
        raise Failure(
            _(
                "Your submission must contain {notebooks}; nothing could be graded: {why}. Upload the "
                "notebook(s) you worked in and submit again."
            ).format(notebooks=", ".join(f"{nb}.ipynb" for nb in notebooks), why=choice.not_graded)
        )
    return choice.notes()


def gradebook_scores(course_dir, assignment, student):
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return {}
        return {(nb.name, g.name): float(g.score or 0) for nb in submission.notebooks for g in nb.grades}


def grade(root):
    from ..config import ConfigError, load_course
    from ..grading.hooks import unreadable

    info = bundle_info(root)
    assignment, notebooks = info["assignment"], info["notebooks"]
    template = root / "source" / "course"
    try:
        course = load_course(template / "course.yaml")
    except ConfigError as e:
        print(e)
        raise Failure(_("The autograder's course.yaml is not valid. Please tell your instructor.")) from None
    speak(course)  # what results.json says, in the course's language (nbgrader autograde speaks it too)
    student, group_note = submitter_id(root, course.gradescope.student_id_field)
    prepare(template, assignment)
    with tempfile.TemporaryDirectory(prefix="bpkit-gradescope-") as work:
        course_dir = Path(work) / "course"
        shutil.copytree(
            template, course_dir, ignore=shutil.ignore_patterns("submitted", "autograded", "feedback")
        )
        messages = [m for m in [group_note] if m]
        messages += take_submission(root, course_dir, assignment, student)
        nbgrader(course_dir, "autograde", assignment, "--student", student)
        messages += choice_messages(course_dir, assignment, notebooks, student)
        reports = []
        for notebook in notebooks:
            report = read_report(report_path(course_dir, assignment, student, notebook))
            if report is None:
                why = unreadable(course_dir / "submitted" / student / assignment / f"{notebook}.ipynb")
                messages.append(
                    _("{notebook}.ipynb could not be graded: {why}.").format(notebook=notebook, why=why)
                    if why
                    else _(
                        "{notebook}.ipynb could not be graded. Your instructor can see nbgrader's log."
                    ).format(notebook=notebook)
                )
            else:
                reports.append(report)
        scores = gradebook_scores(course_dir, assignment, student)
    return results_json(student, reports, scores, course.gradescope.visibility, messages)


def write_results(root, results):
    path = root / "results" / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m autograder.gradescope.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--prepare", action="store_true", help="only build the one-student course (setup.sh)")
    args = parser.parse_args(argv)
    root = autograder_root()
    if args.prepare:
        prepare(root / "source" / "course", bundle_info(root)["assignment"])
        return 0
    try:
        results = grade(root)
    except Failure as e:
        results = failure_json(str(e))
    except Exception:  # the student still gets a results.json that says what happened
        traceback.print_exc()
        results = failure_json(
            _(
                "The autograder failed on this submission (this is not a grade). Please tell your "
                "instructor; they can see the details in the autograder's output."
            )
        )
    print(f"results.json: score {results['score']}, {len(results['tests'])} tests", flush=True)
    write_results(root, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
