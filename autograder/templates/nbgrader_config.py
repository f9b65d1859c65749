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

from autograder.grading.preprocessors import (  # noqa: E402
    ForgetUnknownCells, StudentKernelExecute, TrustedChecks,
)

# A student who changes a cell's grade_id loses that cell, not the whole notebook.
c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, ForgetUnknownCells, OverwriteCells, _Check,
]

c.Autograde.autograde_preprocessors = [
    StudentKernelExecute, TrustedChecks, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
    SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]
c.TrustedChecks.course_root = c.CourseDirectory.root
c.StudentKernelExecute.course_root = c.CourseDirectory.root

from autograder.grading.hooks import explain_unreadable  # noqa: E402

c.Autograde.pre_convert_hook = explain_unreadable
