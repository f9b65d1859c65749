"""`backprop-kit gradescope`: the assignment as a Gradescope autograder bundle.

bundle.py builds the zip (a wheel of the kit, the course's source notebooks and course.yaml,
setup.sh and run_autograder); run.py is what run_autograder starts on Gradescope: it grades
the submission with plain `nbgrader autograde` in a one-student course, so the hidden
checks, the sandbox and the student's own numbers are exactly those of the TA's course;
results.py turns the kit's report into Gradescope's results.json."""
