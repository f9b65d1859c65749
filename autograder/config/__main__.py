"""python -m autograder.config: print the docs' table of course.yaml's keys."""

from .docs import keys_markdown

print(keys_markdown(), end="")
