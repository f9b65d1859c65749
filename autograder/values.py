"""What `backprop-kit show-values` prints: a student's graphs and numbers (the contract tests and
tools read, never an answer), an exercise's graph variants over a roster, and, for staff only,
a student's correct answers (office hours, regrade requests).

The contract (`--json`):

    {"exercises": {EXERCISE_ID: {"graph": {"inputs": [names], "gates": [[node, op, [parents]], ...],
                                           "output": node},
                                 "values": {input: number or nested list},
                                 "answers": {variable: ["value" | "grad", node]},
                                 "function": FUNCTION_ID or null}}}

for every hand exercise on a graph the assignment's notebooks grade, with the operations written
as the operation table's symbols (solutions/table.py; *c and +c with the number: *-1).
"""

from collections import Counter
from dataclasses import dataclass

import numpy as np

from solutions import graphs as described

from .bpkit import problems
from .config import Course
from .exercises import BY_ID as HAND_EXERCISES
from .words import _


def _plain(value):
    return np.asarray(value).tolist() if isinstance(value, (np.ndarray, np.generic)) else value


@dataclass
class StudentValues:
    """One student's exercises, as drawn for them."""

    course: Course  # the loaded course.yaml
    assignment: str
    student: str
    exercises: tuple  # ids of the hand exercises on a graph, in notebook order

    @classmethod
    def of(cls, course, assignment, student):
        from .course import build_sources

        built = dict((a.name, nbs) for a, nbs in build_sources(course))[assignment]
        from .notebooks import graded_exercises

        graded = [e for nb in built.values() for e in graded_exercises(nb) if e in HAND_EXERCISES]
        return cls(course, assignment, student, tuple(dict.fromkeys(graded)))

    def drawn(self):
        from .course import released_draw_rule

        return problems.draw(
            self.course.seed,
            self.course.course_id,
            self.assignment,
            self.course.randomization,
            self.student,
            self.course.graphs,
            self.exercises,
            draw_rule=released_draw_rule(self.course.root, self.assignment),
        )

    def contract(self):
        """The --json form: graphs, values, what is asked, the function on the same graph; no answers."""
        p, out = self.drawn(), {}
        for exercise_id in self.exercises:
            e = HAND_EXERCISES[exercise_id]
            shape = e.shape(self.course.graphs)
            out[exercise_id] = {
                "graph": p.graphs[e.problem].as_contract(),
                "values": {k: _plain(v) for k, v in p.inputs(e.problem).items()},
                "answers": {name: list(what) for name, what in shape.answers.items()},
                "function": e.description.function.id if e.description.function else None,
            }
        return {"exercises": out}

    def answers(self):
        """{exercise: {variable: correct value}}: staff only, never shipped."""
        p = self.drawn()
        return {
            exercise_id: {
                name: _plain(v)
                for name, v in HAND_EXERCISES[exercise_id]
                .correct(
                    p.values[HAND_EXERCISES[exercise_id].problem],
                    p.graphs[HAND_EXERCISES[exercise_id].problem],
                    self.course.graphs,
                )
                .items()
            }
            for exercise_id in self.exercises
        }


def variants(course, assignment, exercise_id, roster):
    """[(graph, how many of the roster draw it)] for one exercise, most drawn first; every graph
    of its family is listed, drawn or not."""
    from .course import released_draw_rule

    e = HAND_EXERCISES[exercise_id]
    counts: Counter = Counter()
    for student in roster:
        p = problems.draw(
            course.seed,
            course.course_id,
            assignment,
            course.randomization,
            student,
            course.graphs,
            (exercise_id,),
            draw_rule=released_draw_rule(course.root, assignment),
        )
        counts[p.graphs[e.problem]] += 1
    every = e.shape(course.graphs).graphs
    return sorted(((g, counts[g]) for g in every), key=lambda gc: -gc[1])


def family_sizes(course, built):
    """[(exercise id, its family's name, how many graphs)] for the hand exercises the course's
    notebooks grade (`built`: course.load_and_build's) whose graph each student draws from a
    family (graphs: per-student, or course.yaml's own exercises with per_student: true, whatever
    `graphs` says), in notebook order: an exercise drawing one graph has no family to count."""
    from .notebooks import graded_exercises

    graded = dict.fromkeys(e for _, nbs in built for nb in nbs.values() for e in graded_exercises(nb))
    sizes = []
    for e in graded:
        exercise = HAND_EXERCISES.get(e)
        if exercise is None or exercise.description.family is None:
            continue  # not on a graph, or the same graph for everyone
        count = len(exercise.shape(course.graphs).graphs)
        if count > 1:
            sizes.append((e, exercise.description.family.name, count))
    return sizes


def family_line(exercise_id, family, n):
    return _("{exercise}: {n} graphs in its per-student family ({family}); each student draws one.").format(
        exercise=exercise_id, n=n, family=family
    )


def graph_mode_note(course):
    if course.graphs == described.LECTURE:
        return "graphs: lecture — every student has the lecture's graphs."
    if course.randomization == problems.PER_COURSE:
        return "graphs: per-student with randomization: per-course — one graph, drawn from the course seed, for all."
    return "graphs: per-student — each student's graph is drawn from the course seed and their id."
