"""Integrity signals: things a person should look at. They never change a grade.

- a notebook made for another student's id (the report's made_for / id_mismatch);
- hand answers equal to the correct answers for *another* student's numbers: with
  per-student values, copied answers are wrong for the copier and right for someone else;
- gate code identical across students once whitespace and comments are ignored, with how
  common that code is in the class (the short add gate is written the same way by many
  honest students; a long gate shared by two of eighty is worth a look)."""

import ast
import io
import json
import tokenize
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solutions.table import GRADED

from ..bpkit import problems
from ..exercises import BY_ID as HAND_EXERCISES
from ..exercises import FUNCTIONS_BY_ID


@dataclass(frozen=True)
class MadeFor:
    student: str
    notebook: str
    made_for: str  # "" when the report says mismatch but not for whom


@dataclass(frozen=True)
class CopiedAnswers:
    student: str
    exercise: str
    owners: tuple  # the students whose correct answers these are
    variables: int  # how many answers matched


@dataclass(frozen=True)
class SharedCode:
    grade_id: str
    students: tuple
    writers: int  # students who wrote this cell (not left as the release stub)
    lines: int

    @property
    def share(self):
        return len(self.students) / self.writers if self.writers else 0.0


@dataclass
class Signals:
    made_for: list
    copied_answers: list
    shared_code: list
    notes: list  # why a signal could not be looked for

    @property
    def count(self):
        return len(self.made_for) + len(self.copied_answers) + len(self.shared_code)


def find_signals(results, course):
    notes = []
    if course.randomization != problems.PER_STUDENT:
        notes.append(
            "Everyone has the same numbers and graphs (randomization: per-course), so copied hand "
            "answers cannot be told apart from correct ones."
        )
        copied = []
    else:
        copied = copied_answers(results, course)
    return Signals(made_for_other_ids(results), copied, shared_code(results), notes)


# ---------------------------------------------------------------- notebooks made for someone else


def made_for_other_ids(results):
    found = []
    for (student, notebook), report in sorted(results.reports.items()):
        if report.get("id_mismatch"):
            found.append(MadeFor(student, notebook, str(report.get("made_for") or "")))
    return found


# ---------------------------------------------------------------- hand answers for other numbers


def copied_answers(results, course):
    roster = sorted(set(results.students) | {s for s, _ in results.reports})
    given: dict = {}  # exercise -> {student: {variable: value}}
    for (student, _), report in results.reports.items():
        answers = report.get("answers")
        if isinstance(answers, dict):
            for exercise, values in answers.items():
                if exercise in HAND_EXERCISES and isinstance(values, dict):
                    given.setdefault(exercise, {})[student] = values
    from ..course import released_draw_rule

    # Each student's numbers and, with graphs: per-student, their graph: an answer right for a
    # classmate's graph is as telling as one right for a classmate's numbers.
    draws = (
        {
            s: problems.draw(
                course.seed,
                course.course_id,
                results.assignment,
                course.randomization,
                s,
                course.graphs,
                draw_rule=released_draw_rule(course.root, results.assignment),
            )
            for s in roster
        }
        if given
        else {}
    )
    found = []
    for exercise_id, by_student in sorted(given.items()):
        exercise = HAND_EXERCISES[exercise_id]
        table = CorrectAnswers(exercise, roster, draws, course.graphs)
        for student, values in sorted(by_student.items()):
            hit = table.owners(
                student, values, course.tolerances.hand_answer_abs, course.tolerances.hand_answer_rel
            )
            if hit:
                found.append(CopiedAnswers(student, exercise_id, *hit))
    return found


class CorrectAnswers:
    """Every student's correct answers to one exercise as one row of a matrix, so a student's
    answers are compared with the whole class at once."""

    def __init__(self, exercise, roster, draws, graph_mode="lecture"):
        self.roster = list(roster)
        self.row = {s: i for i, s in enumerate(self.roster)}
        answers = [
            exercise.correct(draws[s].values[exercise.problem], draws[s].graphs[exercise.problem], graph_mode)
            for s in self.roster
        ]
        self.names = list(exercise.shape(graph_mode).answers)
        self.shapes = {n: np.shape(answers[0][n]) for n in self.names}
        self.columns, start = {}, 0
        for n in self.names:
            size = int(np.prod(self.shapes[n], dtype=int))
            self.columns[n] = slice(start, start + size)
            start += size
        self.matrix = np.array(
            [np.concatenate([np.ravel(np.asarray(a[n], float)) for n in self.names]) for a in answers]
        ).reshape(len(self.roster), start)

    def owners(self, student, values, tol_abs, tol_rel):
        """(the other students whose correct answers `values` are, how many answers matched), or
        None. Needs at least two usable answers, all equal to another student's correct ones
        and not all equal to the student's own."""
        if student not in self.row:
            return None
        picked, given = [], []
        for n in self.names:
            try:
                value = np.asarray(values[n], dtype=float)
            except (KeyError, TypeError, ValueError):
                continue
            if value.shape == self.shapes[n] and np.all(np.isfinite(value)):
                picked.append(np.arange(self.columns[n].start, self.columns[n].stop))
                given.append(np.ravel(value))
        if len(given) < 2:
            return None
        columns, answer = np.concatenate(picked), np.concatenate(given)
        correct = self.matrix[:, columns]
        match = np.all(np.abs(correct - answer) <= tol_abs + tol_rel * np.abs(correct), axis=1)
        if match[self.row[student]]:
            return None
        owners = tuple(s for s, m in zip(self.roster, match) if m)
        return (owners, len(given)) if owners else None


# ---------------------------------------------------------------- identical code

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024  # intake's cap per file
CODE_CELLS = tuple(g.grade_id for g in GRADED) + tuple(FUNCTIONS_BY_ID)


def normalised(source):
    """The code with whitespace, comments and layout removed: its syntax tree, or for code that
    does not parse, its tokens."""
    try:
        return ast.dump(ast.parse(source))
    except (SyntaxError, ValueError):
        pass
    try:
        tokens = tokenize.generate_tokens(io.StringIO(source).readline)
        return " ".join(
            t.string
            for t in tokens
            if t.type
            not in (
                tokenize.COMMENT,
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.INDENT,
                tokenize.DEDENT,
                tokenize.ENDMARKER,
            )
        )
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return " ".join(
            line.split("#", 1)[0].strip() for line in source.splitlines() if line.split("#", 1)[0].strip()
        )


def shared_code(results):
    course_dir, assignment = Path(results.course_dir), results.assignment
    notebooks = list(dict.fromkeys(nb for nb, _ in results.cells))
    groups = []
    for notebook in notebooks:
        stubs = _cells(course_dir / "release" / assignment / f"{notebook}.ipynb")
        by_cell: dict = {}  # grade_id -> {normalised code: [students]}
        for student in results.submitted:
            if (results.reports.get((student, notebook)) or {}).get("unreadable"):
                continue  # its cells are the assignment's, put back for grading: none is the student's
            cells = _cells(course_dir / "autograded" / student / assignment / f"{notebook}.ipynb") or _cells(
                course_dir / "submitted" / student / assignment / f"{notebook}.ipynb"
            )
            for grade_id in CODE_CELLS:
                source = cells.get(grade_id, "")
                code = normalised(source)
                if not _code_lines(source) or (grade_id in stubs and code == normalised(stubs[grade_id])):
                    continue  # no code, or the stub everyone who skipped the exercise shares
                by_cell.setdefault(grade_id, {}).setdefault(code, []).append((student, source))
        for grade_id, codes in by_cell.items():
            writers = sum(len(v) for v in codes.values())
            for entries in codes.values():
                if len(entries) > 1:
                    lines = max(_code_lines(src) for _, src in entries)
                    groups.append(SharedCode(grade_id, tuple(s for s, _ in entries), writers, lines))
    # The rarest and longest shared code first: that is where copying shows.
    return sorted(groups, key=lambda g: (g.share, -g.lines, g.grade_id))


def _code_lines(source):
    return sum(1 for line in source.splitlines() if line.strip() and not line.strip().startswith("#"))


def _cells(path):
    """{grade_id: source} of a notebook's code cells, or {} when it cannot be read. Read as plain
    JSON (nbformat's validation costs more than the comparison, class-wide) and defensively:
    a submitted notebook is the student's file."""
    try:
        if Path(path).stat().st_size > MAX_NOTEBOOK_BYTES:
            return {}
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing or broken: nothing to compare
        return {}
    cells: dict = {}
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
        grade_id = (
            meta.get("nbgrader", {}).get("grade_id") if isinstance(meta.get("nbgrader"), dict) else None
        )
        source = cell.get("source", "") if grade_id and cell.get("cell_type") == "code" else None
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if isinstance(grade_id, str) and isinstance(source, str):
            cells.setdefault(grade_id, source)
    return cells
