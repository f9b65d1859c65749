"""course.yaml: the one file an instructor edits — its schema, loading and validation.

The pydantic models (`schema.py`) are the single source of truth for the file: they
validate it, their Field descriptions document it (`docs.keys_markdown()` renders the table
in docs/configuration.md), and the error messages describe what a key expects from the same JSON schema
(`describe.py`).

`load_course(path)` never lets a traceback reach the instructor: every problem with the
file is reported as a `ConfigError` whose `str()` lists one problem a line, each naming the
file, the line, the key path and what is wrong:

    course.yaml:12: assignments[0].notebooks: expected a non-empty list of names, found an empty list

To know where a key is, the YAML is composed into a node tree (each node keeps its start
mark) and turned into plain data by hand, which also catches duplicate keys (PyYAML would
silently keep the last one): `loading.py`. `errors.py` holds the problems and the key
paths they name.

Import everything from here: `from autograder.config import load_course, ConfigError, ...`.
"""

from .docs import KEYS_END, KEYS_START, keys_markdown
from .errors import ConfigError, Problem, UnknownName
from .loading import dump_course, load_course, load_lenient, with_seed, write_seed
from .schema import MAX_SEED, Assignment, Course, Gradescope, Grading, OnSubmit, Tolerances

__all__ = [
    "KEYS_END",
    "KEYS_START",
    "MAX_SEED",
    "Assignment",
    "ConfigError",
    "Course",
    "Gradescope",
    "Grading",
    "OnSubmit",
    "Problem",
    "Tolerances",
    "UnknownName",
    "dump_course",
    "keys_markdown",
    "load_course",
    "load_lenient",
    "with_seed",
    "write_seed",
]
