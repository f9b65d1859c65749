"""Make the class report of one assignment: cells.csv, canvas.csv, class.html, and a short
table of the most common misconceptions for the terminal."""

from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from ..words import _, speak
from .collect import ReportError, collect
from .exports import write_canvas_csv, write_cells_csv
from .integrity import find_signals
from .page import ranked_misconceptions, render
from .variants import difficulty_by_cell, pass_rates_by_graph


@dataclass
class Built:
    out_dir: Path
    results: object
    signals: object
    misconceptions: list
    difficulty: dict  # grade_id -> Difficulty: the per-variant pass rates' test (graphs: per-student)


def default_out_dir(course_dir, assignment):
    return Path(course_dir) / "backprop-kit" / "class-report" / assignment


def build(course_dir, assignment, out_dir=None, canvas_assignment_id="", student_id_column="sis-user-id"):
    from ..config import ConfigError, load_course

    results = collect(course_dir, assignment)
    try:
        course = load_course(results.course_dir / "course.yaml")
    except ConfigError as e:
        raise ReportError(str(e)) from None
    speak(course)
    out = Path(out_dir).resolve() if out_dir else default_out_dir(results.course_dir, assignment)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ReportError(f"cannot create the report folder {out}: {e.strerror or e}") from None
    signals = find_signals(results, course)
    write_cells_csv(results, out / "cells.csv")
    write_canvas_csv(results, out / "canvas.csv", canvas_assignment_id, student_id_column)
    variants = pass_rates_by_graph(results, course)
    difficulty = difficulty_by_cell(variants)
    (out / "class.html").write_text(
        render(results, signals, out, course.course_id, variants, difficulty), encoding="utf-8"
    )
    return Built(out, results, signals, ranked_misconceptions(results), difficulty)


def misconception_table(built, limit=8):
    """The most common misconceptions: how many students each hit, and in which cells."""
    table = Table(
        title=_("{assignment}: most common misconceptions ({n} students graded)").format(
            assignment=built.results.assignment, n=len(built.results.submitted)
        )
    )
    table.add_column(_("misconception"))
    table.add_column(_("students"), justify="right")
    table.add_column(_("where"))
    for m in built.misconceptions[:limit]:
        table.add_row(m["id"], str(len(m["students"])), ", ".join(f"{cell} ×{n}" for cell, n in m["where"]))
    if not built.misconceptions:
        table.add_row("[green]" + _("none named"), "0", "")
    return table
