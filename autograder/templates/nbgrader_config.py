# Written by `backprop-kit init`. The course's settings live in course.yaml beside this file;
# this file only wires backprop-kit into nbgrader, so plain `nbgrader autograde` grades with it.
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\nraise NotImplementedError("replace this line with your code")'
}
# Put back graded cells a student deleted, so they are graded (at zero) rather than lost.
c.OverwriteCells.add_missing_cells = True

# Grading: nbgrader's own pipeline with two changes. Graded cells are never run in the
# student's kernel, and a dead kernel costs only its cell (StudentKernelExecute); every
# graded cell is scored out of process, sandboxed, against the reference (TrustedChecks).
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput, SaveAutoGrades,
)

from nbgrader.preprocessors import (  # noqa: E402
    CheckCellMetadata as _Check, ClearOutput, DeduplicateIds, OverwriteCells, OverwriteKernelspec,
)

from autograder.grading.hidden_tests import RestoreHiddenTests  # noqa: E402
from autograder.grading.identity import RecordMadeFor  # noqa: E402
from autograder.grading.preprocessors import (  # noqa: E402
    ForgetUnknownCells, StudentKernelExecute, TrustedChecks,
)

# A student who changes a cell's grade_id loses that cell, not the whole notebook.
# RecordMadeFor notes whose numbers the notebook used before ClearOutput erases the setup
# cell's output; RestoreHiddenTests gives untouched test cells their hidden tests back, so
# OverwriteCells warns about (and restores) only the test cells a student really edited.
c.Autograde.sanitize_preprocessors = [
    RecordMadeFor, ClearOutput, DeduplicateIds, OverwriteKernelspec, ForgetUnknownCells, RestoreHiddenTests,
    OverwriteCells, _Check,
]

c.Autograde.autograde_preprocessors = [
    StudentKernelExecute, TrustedChecks, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
    SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]
c.TrustedChecks.course_root = c.CourseDirectory.root
c.StudentKernelExecute.course_root = c.CourseDirectory.root

# Feedback a student can read alone: one panel per exercise (title, points, what passed and
# failed, each mistake once with its hint), no grader code (autograder/grading/feedback.py).
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

from autograder.grading.feedback import TEMPLATE_FILE, FeedbackForStudents, template_basedirs  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, FeedbackForStudents, CSSHTMLHeaderPreprocessor]
c.HTMLExporter.template_file = TEMPLATE_FILE
c.HTMLExporter.extra_template_basedirs = template_basedirs()

# nbgrader's gradebook code predates SQLAlchemy 2's autoflush rules; its harmless
# "Object of type <...> not in session" warnings would print for every submission.
import warnings  # noqa: E402

from sqlalchemy.exc import SAWarning  # noqa: E402

warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session", category=SAWarning)

from autograder.grading.hooks import explain_unreadable  # noqa: E402

c.Autograde.pre_convert_hook = explain_unreadable
