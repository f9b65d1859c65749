"""What `backprop-kit demo` prints where nobody watches a terminal (CI logs, `| tee`)."""

import io

from rich.console import Console
from rich.progress import Progress

from autograder.demo import progress_columns

SPINNER_GLYPHS = set("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")


def render(console):
    with Progress(*progress_columns(console), console=console, transient=False) as progress:
        task = progress.add_task("nbgrader autograde backprop --student ada", total=None)
        progress.update(task, description="autograded ada")
        progress.stop_task(task)
    return console.file.getvalue()


def test_no_spinner_glyphs_off_a_terminal():
    text = render(Console(file=io.StringIO(), width=100))
    assert "autograded ada" in text and not SPINNER_GLYPHS & set(text)


def test_a_terminal_still_gets_its_spinner():
    text = render(Console(file=io.StringIO(), width=100, force_terminal=True))
    assert "autograded ada" in text and SPINNER_GLYPHS & set(text)
