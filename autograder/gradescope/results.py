"""Gradescope's results.json from the kit's per-student reports and nbgrader's scores.

Format (https://gradescope-autograders.readthedocs.io/en/latest/specs/): a top-level
score and output, and one test per graded cell with name, score, max_score, status,
output, tags and visibility."""

from ..words import _


def id_mismatch_message(report, student_id):
    if not report.get("id_mismatch"):
        return ""
    made_for = report.get("made_for") or _("another student id")
    return _(
        "{notebook}: this notebook was made for {made_for}, but it was submitted by {student}. It was graded "
        "with the numbers of {student}, so answers worked out for {made_for}'s numbers are marked wrong. Set "
        "STUDENT_ID in the first code cell to your own id (or download your own notebook), redo the "
        "hand-computed answers, and submit again."
    ).format(
        notebook=report.get("notebook", _("This notebook")), made_for=repr(made_for), student=repr(student_id)
    )


def submission_messages(report):
    """What the report says about the submission as a whole (files refused, an unreadable notebook)."""
    messages = []
    refused = report.get("refused_files") or []
    if refused:
        messages.append(
            _("Files not graded: {files}").format(
                files="; ".join(f"{r.get('path')}: {r.get('reason')}" for r in refused if isinstance(r, dict))
            )
        )
    if report.get("unreadable"):
        messages.append(f"{report.get('notebook')}: {report['unreadable']}")
    return messages


def test_entry(cell, score, visibility, notebook="", several_notebooks=False):
    names = [str(m) for m in cell.get("misconceptions", [])]
    output = str(cell.get("feedback", ""))
    if names:
        named = _("Named misconceptions: {ids}") if len(names) > 1 else _("Named misconception: {ids}")
        output += "\n\n" + named.format(ids=", ".join(names))
    max_score = float(cell.get("points", 0))
    return {
        "name": f"{notebook}: {cell['grade_id']}" if several_notebooks else str(cell["grade_id"]),
        "score": score,
        "max_score": max_score,
        "status": "passed" if score >= max_score else "failed",
        "output": output,
        "tags": names,
        "visibility": visibility,
    }


def results_json(student_id, reports, scores, visibility, messages=()):
    """reports: [report dict]; scores: {(notebook, grade_id): nbgrader's score}. The tests' scores are
    nbgrader's (what the gradebook holds); the report gives the rest."""
    several = len(reports) > 1
    tests, output = [], list(messages)
    for report in reports:
        notebook = report.get("notebook", "")
        output += [m for m in (id_mismatch_message(report, student_id), *submission_messages(report)) if m]
        for cell in report.get("cells", []):
            score = scores.get((notebook, cell["grade_id"]), float(cell.get("score", 0)))
            tests.append(test_entry(cell, float(score), visibility, notebook, several))
    return {
        "score": round(sum(t["score"] for t in tests), 3),
        "output": "\n\n".join(output),
        "stdout_visibility": "hidden",  # nbgrader's log is for the instructor
        "tests": tests,
    }


def failure_json(message):
    """A results.json that says why nothing could be graded (Gradescope needs one either way)."""
    return {"score": 0.0, "output": message, "stdout_visibility": "hidden", "tests": []}
