"""The grader's words: the `backprop_kit` catalog (autograder/locale/), in the course's language.

Everything the grader, the reports and the CLI show to a TA, an instructor or a student reading
feedback is written here once in English, as the message id, and translated when shown:

    from ..words import _
    _("The cell {name} was missing; the assignment's version was put back.").format(name=...)

Every grader process speaks its course's language from the moment it reads course.yaml
(`speak(course)`): nbgrader's converters (autograder/grading/submitted_files.py), `backprop-kit
autograde` and its grading processes, `report`, `gradescope` and the CLI. Words only: no id,
point or score depends on it. Misconception titles and hints are the student's catalog's
(`bpkit`), so one text has one translation wherever it is shown.
"""

from __future__ import annotations

from pathlib import Path

from .bpkit.i18n import N_, STUDENT_WORDS, Domain, in_force, use

STAFF_DOMAIN = "backprop_kit"
STAFF_LOCALE = Path(__file__).with_name("locale")
STAFF_WORDS = Domain(STAFF_DOMAIN, STAFF_LOCALE)

_ = STAFF_WORDS.gettext
ngettext = STAFF_WORDS.ngettext
student_words = STUDENT_WORDS.gettext  # a misconception's explanation and hint, as the student reads them

__all__ = ["N_", "STAFF_WORDS", "_", "in_force", "ngettext", "speak", "student_words"]


def speak(course) -> None:
    """From now on this process speaks `course`'s language (a loaded course.yaml)."""
    use(getattr(course, "language", "en"))
