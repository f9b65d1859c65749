"""Randomized problem values: the numbers (and, with graphs: per-student, the graph) each
student works by hand.

Values come from (course seed, assignment, student id, exercise) through SHA-256 and Python's
`random.Random.random()`, the one part of `random` whose sequence Python guarantees
across versions, so a student's laptop and the grader always agree.

What is drawn is said by each exercise's description (bpkit/graphs.py: its graph or family of
graphs, the stream and ranges of its values, its rules); a draw is kept when the one rule of
bpkit/acceptance.py accepts it (every catalogued mistake clearly changes an answer), so this
file holds no exercise of its own and no gradient code.

Shipped to students as bpkit/problems.py: standard library and numpy only.
"""

import copy
import functools
import hashlib
import json
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import acceptance
from . import graphs as described
from .i18n import N_, STUDENT_WORDS

_ = STUDENT_WORDS.gettext

PER_COURSE, PER_STUDENT = "per-course", "per-student"
STUDENT_ID_VARIABLES = ("BPKIT_STUDENT_ID", "JUPYTERHUB_USER")
MAX_TRIES = 10_000  # draws of one exercise before giving up: the description cannot be satisfied


class MissingStudentId(ValueError):
    """Per-student numbers asked for without a student id. IPython shows only the message
    (`_render_traceback_`): the frames would show bpkit's code, not the student's mistake."""

    MESSAGE = N_(
        'Your student id is missing: type it between the quotes of STUDENT_ID = "" in the cell '
        "above, then run that cell and this one again. (On JupyterHub it is read for you.)"
    )

    def __init__(self):
        super().__init__(_(self.MESSAGE))

    def _render_traceback_(self):
        return [_(self.MESSAGE)]


class Draw:
    """Small integers and one-decimal numbers from a stable stream."""

    def __init__(self, *key):
        digest = hashlib.sha256(json.dumps([str(k) for k in key]).encode()).digest()
        self._random = random.Random(int.from_bytes(digest[:16], "big"))

    def integer(self, lo, hi, exclude=()):
        while True:
            n = lo + int(self._random.random() * (hi - lo + 1))
            if n not in exclude:
                return n

    def tenths(self, lo, hi, exclude=()):
        """A number with one decimal in [lo, hi]."""
        return self.integer(round(lo * 10), round(hi * 10), {round(e * 10) for e in exclude}) / 10

    def choice(self, items):
        return items[self.integer(0, len(items) - 1)]


def _integers(d, values):
    """Each input a whole number in [lo, hi], in the order of the groups."""
    return {name: d.integer(values.ranges["lo"], values.ranges["hi"]) for name, _ in values.groups}


def _neuron(d, values):
    """A weighted sum w·x + w_last: the pre-activation s is drawn first, where σ is far from 0, 1/2
    and 1 and σ'(s) far from s(1 - s); x and w (nonzero) next, and the last weight closes the sum."""
    r = values.ranges
    (w, w_inputs), (x, x_inputs) = values.groups
    low, high = r["s"]
    s = d.tenths(*low) if d.integer(0, 1) else d.tenths(*high)
    xs = [d.integer(*r["x"], {0}) for _ in x_inputs]
    ws = [d.tenths(*r["w"], {0}) for _ in x_inputs]
    last = round(s - sum(wi * xi for wi, xi in zip(ws, xs)), 1)
    return {w: tuple(ws) + (last,), x: tuple(float(v) for v in xs)}


def _matrix(d, values):
    """W of the given shape (non-square, so a wrong transpose cannot fit) and x, nonzero tenths."""
    (H, D), lo, hi = values.ranges["shape"], values.ranges["lo"], values.ranges["hi"]
    (W, _), (x, _) = values.groups
    return {
        W: np.array([[d.tenths(lo, hi, {0}) for _ in range(D)] for _ in range(H)]),
        x: np.array([d.tenths(lo, hi, {0}) for _ in range(D)]),
    }


def _ranges(d, values):
    """Each input in its own range, lo + k * step up to hi (an instructor's exercise in course.yaml:
    `values: {w: [-3, 3], x: [-2, 2, 0.5]}`); whole numbers stay whole."""
    drawn = {}
    for name, _ in values.groups:
        lo, hi, step = values.ranges[name]
        value = lo + d.integer(0, round((hi - lo) / step)) * step
        drawn[name] = int(value) if float(value).is_integer() else float(value)
    return drawn


STREAMS = {"integers": _integers, "neuron": _neuron, "matrix": _matrix, "ranges": _ranges}


def drawn_graph(shape, *key):
    """The graph of one exercise for one student (its own stream, drawn before the values)."""
    return shape.graphs[0] if len(shape.graphs) == 1 else Draw(*key, "graph").choice(shape.graphs)


def draw_exercise(shape, *key, rule=acceptance.DRAW_RULE):
    """(graph, grouped values) of one exercise for one student: the graph first (its own stream),
    then values until the acceptance rule (numbered `rule`: acceptance.DRAW_RULES) takes them."""
    graph = drawn_graph(shape, *key)
    d = Draw(*key)
    for _ in range(MAX_TRIES):
        values = STREAMS[shape.values.stream](d, shape.values)
        if acceptance.accepted(
            graph,
            described.flatten_inputs(shape.values, values),
            shape.answers,
            shape.keep,
            shape.discriminate,
            rule,
        ):
            return graph, values
    raise ValueError(
        f"exercise {shape.id!r}: no draw of its values in {MAX_TRIES} tells every catalogued mistake "
        f"apart on {graph.title!r}; check its ranges and rules in the description"
    )


TRIES_PER_VARIANT = 300  # draws of one variant before it is called one no draw fits


def undrawable(shape, tries=TRIES_PER_VARIANT):
    """{graph: why} for the graphs of an exercise (a per-student family's variants) on which none
    of `tries` draws of its values is accepted: a student drawing it would wait for MAX_TRIES and
    get no numbers. Why: the mistake most often hidden and where, else the kink or the rules."""
    out = {}
    for graph in shape.graphs:
        d = Draw("undrawable", shape.id, graph.title)
        hidden: Counter = Counter()
        refused: Counter = Counter()
        for _try in range(tries):
            values = described.flatten_inputs(shape.values, STREAMS[shape.values.stream](d, shape.values))
            if acceptance.accepted(graph, values, shape.answers, shape.keep, shape.discriminate):
                break
            evaluation = acceptance.Evaluation(graph, values)
            if evaluation.at_kink():
                refused[_("sit on a kink (a max's tie, a ReLU at 0)")] += 1
            elif not acceptance.obeys(evaluation, shape.keep):
                refused[_("break the exercise's rules")] += 1
            elif acceptance.hidden_mistakes(evaluation, shape.answers):
                hidden.update(acceptance.hidden_mistakes(evaluation, shape.answers))
            else:
                refused[_("give two mistakes answers too close to tell apart")] += 1
        else:
            if hidden:
                (mistake, node), n = hidden.most_common(1)[0]
                out[graph] = _("{mistake} at {node} stays hidden on {n} of {tries} draws").format(
                    mistake=mistake, node=_(node) if node == acceptance.BRANCH else node, n=n, tries=tries
                )
            else:
                why, n = refused.most_common(1)[0]
                out[graph] = _("{n} of {tries} draws {why}").format(n=n, tries=tries, why=why)
    return out


@dataclass
class Problems:
    """The values of one student (or of the whole course, in per-course mode), and the graph of
    each exercise they are on (the lecture's, or their own with graphs: per-student)."""

    course_id: str
    assignment: str
    mode: str
    student_id: str  # "" in per-course mode
    values: dict = field(default_factory=dict)  # problem -> {group: value}
    graphs: dict = field(default_factory=dict)  # problem -> GraphDescription
    graph_mode: str = described.LECTURE

    def __getattr__(self, name):
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def describe(self):
        """Whose numbers these are; the grader reads the student id back from it (grading/identity.py)."""
        words = (
            _("These numbers belong to student id {id} ({course}, assignment {assignment}).")
            if self.mode == PER_STUDENT
            else _("These numbers belong to everyone in the course ({course}, assignment {assignment}).")
        )
        return words.format(id=repr(self.student_id), course=self.course_id, assignment=self.assignment)

    def inputs(self, problem):
        """{input: value} of one exercise's graph (a group such as w spread over w0, w1, w2)."""
        return described.flatten_inputs(shape_of(problem, self.graph_mode).values, self.values[problem])


def shape_of(problem, graph_mode=described.LECTURE):
    return described.shape(described.BY_PROBLEM[problem], graph_mode)


def draw(
    seed,
    course_id,
    assignment,
    mode=PER_STUDENT,
    student_id="",
    graph_mode=described.LECTURE,
    exercises=None,
    draw_rule=acceptance.DRAW_RULE,
):
    """This student's values: a fresh copy each call (the caller may change it), drawn once.
    `exercises`: the ids of the exercises to draw (default: every exercise described); `draw_rule`:
    the rule the course was released with (acceptance.DRAW_RULES)."""
    return copy.deepcopy(
        _drawn(
            seed,
            course_id,
            assignment,
            mode,
            student_id,
            graph_mode,
            tuple(exercises) if exercises is not None else None,
            int(draw_rule),
        )
    )


@functools.lru_cache(maxsize=64)
def _drawn(seed, course_id, assignment, mode, student_id, graph_mode, exercises, draw_rule):
    student_id = _whose(mode, student_id)
    # the kit's exercises and the course's own (described.AUTHORED: registered from its course.yaml)
    chosen = [
        e
        for e in described.EXERCISES + tuple(described.AUTHORED.values())
        if exercises is None or e.id in exercises
    ]
    values, drawn_graphs = {}, {}
    for e in chosen:
        drawn_graphs[e.problem], values[e.problem] = draw_exercise(
            described.shape(e, graph_mode), seed, course_id, assignment, student_id, e.problem, rule=draw_rule
        )
    return Problems(course_id, assignment, mode, student_id, values, drawn_graphs, graph_mode)


def _whose(mode, student_id):
    """The student id the draws are keyed on: "" for the whole course in per-course mode."""
    if mode not in (PER_COURSE, PER_STUDENT):
        raise ValueError(f"randomization must be {PER_COURSE!r} or {PER_STUDENT!r}, found {mode!r}")
    student_id = str(student_id or "").strip() if mode == PER_STUDENT else ""
    if mode == PER_STUDENT and not student_id:
        raise MissingStudentId()
    return student_id


def graph_of(seed, course_id, assignment, mode, student_id, graph_mode, exercise_id):
    """The graph one student draws for one exercise, without drawing its values (the class
    report's pass rates per graph: a class of hundreds, each student's graph only)."""
    e = described.BY_ID[exercise_id]
    whose = _whose(mode, student_id)
    return drawn_graph(described.shape(e, graph_mode), seed, course_id, assignment, whose, e.problem)


def student_id_from_environment(fallback=""):
    for variable in STUDENT_ID_VARIABLES:
        if os.environ.get(variable, "").strip():
            return os.environ[variable].strip()
    return fallback


def load(student_id="", course_file=None):
    """The values for this notebook: the course settings come from bpkit/course.json."""
    key = (_course_text(course_file), student_id_from_environment(student_id))
    spare = _take_spare(key)
    return spare if spare is not None else _draw_from(*key)


def _course_text(course_file=None):
    return Path(course_file or Path(__file__).with_name("course.json")).read_text()


def _draw_from(course_text, student_id):
    course = json.loads(course_text)
    for data in course.get("authored", ()):  # the course's own exercises (course.yaml), as data
        if data["id"] not in described.AUTHORED:
            described.register(*described.from_contract(data))
    return draw(
        course["seed"],
        course["course_id"],
        course["assignment"],
        course["randomization"],
        student_id,
        course.get("graphs", described.LECTURE),
        course.get("exercises"),
        released_rule(course),
    )


def released_rule(course):
    """The draw rule of a release's course.json: the one it records, else 1 (the rule of every kit
    before releases recorded theirs)."""
    return course.get("draw_rule", 1)


_spare = None  # ((what load() read, whose values), a copy of them), left by warm() for one load()


def _take_spare(key):
    """warm()'s copy, once, to a load() that reads the same course for the same student. In a
    fresh fork of the worker it is untouched (no student code ran where it was made), so it need
    not be copied again: a deep copy of every exercise's values in each of thirty-odd checks,
    with the copy-on-write faults it causes, is some 0.6 ms of each check."""
    global _spare
    spare, _spare = _spare, None
    return spare[1] if spare is not None and spare[0] == key else None


def warm(course_file=None):
    """Called by the grader's sandboxed worker once, before any student code runs: the
    sandbox's student (BPKIT_STUDENT_ID) gets their values drawn there, so that each check,
    a fresh fork of that worker running the setup cell, finds them drawn (about 0.7 ms less
    for each of a submission's thirty-odd checks) and one copy of them made."""
    global _spare
    key = (_course_text(course_file), student_id_from_environment())
    _spare = (key, _draw_from(*key))
