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
