"""backprop-kit's autograder: problem values, gradient checks, grading, nbgrader integration, CLI."""

__version__ = "0.1.0"
