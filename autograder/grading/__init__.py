"""Grading: the hidden checks, the subjects that run student code, and nbgrader preprocessors."""
