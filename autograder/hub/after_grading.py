"""after_grading(): what happens after the hub's grading service grades one student's submission
(on_submit.py, after the feedback is released). The grade is already in the gradebook; a course
launched from an LMS sends it there (LTI 1.3, autograder/lti/passback.py): queued on disk first,
then sent in the background, so grading never waits on the LMS and nothing is lost when it is
down (`backprop-kit lti status` / `lti push`). A course without LTI returns at once."""

from pathlib import Path


def after_grading(course_dir: Path, assignment: str, student: str, score: float, max_score: float) -> None:
    """Called by the grading service once per graded submission; it may raise (the service logs
    the error and goes on grading; the grade stays)."""
    from ..lti.passback import Score, configured, post_scores

    if configured(course_dir):
        post_scores(course_dir, assignment, {student: Score(score, max_score)}, background=True)
