# Written by `backprop-kit init`. The course's settings live in course.yaml beside this file;
# this file only wires backprop-kit into nbgrader, so plain `nbgrader autograde` grades with it.
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\nraise NotImplementedError("replace this line with your code")'
}
# Deleted graded cells are put back by backprop-kit's SanitizeCells (below), which also
# handles the cases where nbgrader's own add_missing_cells fails the whole notebook.
c.OverwriteCells.add_missing_cells = False

# Submissions are hostile as files too (autograder/grading/submitted_files.py): only the
# student's own regular files are copied into autograded/ and feedback/, collected from the
# exchange, or read as the notebook; the rest is named in the log and in the feedback.
from autograder.grading import submitted_files  # noqa: E402

submitted_files.install()
c.Autograde.exporter_class = submitted_files.SubmittedNotebookExporter
c.ExchangeFactory.collect = submitted_files.SafeCollect

# One log line per student, plus what needs a look; --log-level=DEBUG shows every step.
from autograder.grading.log_lines import quiet_routine_lines  # noqa: E402

quiet_routine_lines()

# Grading: nbgrader's own pipeline with two changes, sharing one sandboxed worker per notebook
# (the one `backprop-kit autograde` uses too). StudentKernelExecute runs the notebook's cells
# there as a kernel would, IPython syntax included, never the graded cells, and a cell that
# kills its process costs only that cell; TrustedChecks scores every graded cell out of
# process, against the reference. No Jupyter kernel is started.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
)

from autograder.grading.hidden_tests import RestoreHiddenTests  # noqa: E402
from autograder.grading.identity import RecordMadeFor  # noqa: E402
from autograder.grading.preprocessors import StudentKernelExecute, TrustedChecks  # noqa: E402
from autograder.grading.sanitize import SanitizeCells, ShowNotes  # noqa: E402

# nbgrader's CheckCellMetadata and SaveAutoGrades with less work: the schema compiled once, the
# gradebook written in one transaction per notebook, each score TrustedChecks' own number.
from autograder.grading.steps import CheckCellMetadataOnce, SaveAutoGradesOnce  # noqa: E402

# Copied, moved, retyped, renamed or deleted cells cost only the cells they touch: SanitizeCells
# settles them before nbgrader's own steps, ShowNotes tells the student what it did.
# RecordMadeFor notes whose numbers the notebook used before ClearOutput erases the setup
# cell's output; RestoreHiddenTests gives untouched test cells their hidden tests back, so
# OverwriteCells warns about (and restores) only the test cells a student really edited.
c.Autograde.sanitize_preprocessors = [
    RecordMadeFor,
    ClearOutput,
    SanitizeCells,
    DeduplicateIds,
    OverwriteKernelspec,
    RestoreHiddenTests,
    OverwriteCells,
    CheckCellMetadataOnce,
    ShowNotes,
]

c.Autograde.autograde_preprocessors = [
    StudentKernelExecute,
    TrustedChecks,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGradesOnce,
    AssignLatePenalties,
    CheckCellMetadataOnce,
]
c.TrustedChecks.course_root = c.CourseDirectory.root
c.StudentKernelExecute.course_root = c.CourseDirectory.root

# An unreadable notebook is reported by SubmittedNotebookExporter (one plain line, a 0).

# Feedback a student can read alone: one panel per exercise (title, points, what passed and
# failed, each mistake once with its hint), no grader code (autograder/grading/feedback.py).
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

from autograder.grading.feedback import (  # noqa: E402
    TEMPLATE_FILE,
    FeedbackExporter,
    FeedbackForStudents,
    template_basedirs,
)

# One self-contained page: math as MathML, no MathJax or anything else from the network.
c.GenerateFeedback.exporter_class = FeedbackExporter
c.GenerateFeedback.preprocessors = [GetGrades, FeedbackForStudents, CSSHTMLHeaderPreprocessor]
# The feedback exporter's own template, set on it alone: formgrader renders submissions with
# nbconvert's HTMLExporter and its 'formgrade' template, which an HTMLExporter-wide template_file
# would replace (TemplateNotFound on Manual Grading's every submission).
c.FeedbackExporter.template_file = TEMPLATE_FILE
c.FeedbackExporter.extra_template_basedirs = template_basedirs()

# nbgrader's gradebook code predates SQLAlchemy 2's autoflush rules; its harmless
# "Object of type <...> not in session" warnings would print for every submission.
import warnings  # noqa: E402

from sqlalchemy.exc import SAWarning  # noqa: E402

warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session", category=SAWarning)
