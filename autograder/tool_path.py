"""This Python environment's own tools on PATH: nbgrader runs `alembic` by name (a new gradebook
is made by its migrations), and the kit is often run without its environment activated
(`sudo /opt/course/.venv/bin/backprop-kit lti roster`, JupyterHub starting the grading service
by its full path), where that name finds nothing or another environment's alembic."""

import os
import sys
from pathlib import Path


def with_tools(path: str) -> str:
    """`path` (a PATH value) with this environment's bin folder first, added once."""
    tools = str(Path(sys.executable).parent)
    parts = path.split(os.pathsep) if path else []
    return os.pathsep.join([tools, *(p for p in parts if p != tools)])


def put_tools_on_path() -> None:
    """This process's PATH with this environment's tools first: for nbgrader run in-process."""
    os.environ["PATH"] = with_tools(os.environ.get("PATH", ""))
