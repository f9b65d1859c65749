"""course.yaml's schema: the pydantic models that validate the file and, through their Field
descriptions, document it."""

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from ..bpkit.forms import HAND_ANSWER_ABS, HAND_ANSWER_REL
from ..bpkit.i18n import LANGUAGES
from ..words import N_, _
from .errors import ConfigError, Problem, UnknownName, format_loc, parse_path, suggest

NAME_PATTERN = r"^[A-Za-z0-9_-]+$"
EXERCISE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_NAME_LENGTH = 64
MAX_SEED = 2**32 - 1  # every numpy seeding API (legacy RandomState included) accepts it


Name = Annotated[str, Field(pattern=NAME_PATTERN, min_length=1, max_length=MAX_NAME_LENGTH)]
# A package the grading environment installs: a PyPI name, with version bounds if wanted
# (scipy, scipy>=1.11,<2). Nothing else: it is written into Gradescope's setup.sh.
_VERSION_BOUND = r"(?:==|>=|<=|~=|!=|<|>)[A-Za-z0-9.*+!_-]+"
PACKAGE_PATTERN = rf"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:{_VERSION_BOUND}(?:,{_VERSION_BOUND})*)?$"
Package = Annotated[str, Field(pattern=PACKAGE_PATTERN, min_length=1, max_length=100)]
ExerciseId = Annotated[str, Field(pattern=EXERCISE_ID_PATTERN, min_length=1, max_length=MAX_NAME_LENGTH)]
Points = Annotated[
    float,
    Field(
        gt=0,
        le=1000,
        description="Points for the exercise with this id (the grade_id of its answer cell), "
        "replacing the notebook's default. At most 1000 per exercise.",
        json_schema_extra={"x-default": "the notebook's"},
    ),
]


class DuplicateNames(ValueError):
    """Raised by a validator for repeated names; the error converter turns each repeat
    into its own problem, located at the repeated item."""

    def __init__(self, what, repeats, item_key=None):
        # repeats: [(index, name, index of the first occurrence)]
        self.what, self.repeats, self.item_key = what, list(repeats), item_key
        super().__init__(
            "; ".join(
                f"{what} {name!r} is repeated (item {i}, first at item {first})"
                for i, name, first in self.repeats
            )
        )


def repeated_names(names):
    first: dict[str, int] = {}  # name -> the index it was first seen at
    out = []
    for i, name in enumerate(names):
        if name in first:
            out.append((i, name, first[name]))
        else:
            first[name] = i
    return out


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class OnSubmit(_Model):
    """Grading on submit, on the kit's JupyterHub course (`feedback: on-submit`)."""

    visibility: Literal["visible", "after_due_date"] = Field(
        "visible",
        description="What the feedback released on submit shows: visible, the whole feedback; "
        "after_due_date, each exercise's pass or fail only, the full feedback after the due date "
        "(the vocabulary of the Gradescope bundle's visibility).",
    )
    attempts: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="How many times a student may submit this assignment (each is graded); the "
        "attempt that counts is the last. Leave it out for no limit. 1 to 1000.",
        json_schema_extra={"x-default": "no limit"},
    )
    cooldown_minutes: float = Field(
        0,
        ge=0,
        le=10080,
        description="Minutes a student waits after a submission before the next one is taken: "
        "stops probing numeric answers one guess at a time. 0 (no wait) to 10080 (a week).",
    )


class Assignment(_Model):
    """One nbgrader assignment."""

    name: Name = Field(
        description="The nbgrader assignment id; also the name of its folder "
        "under source/ and release/. Unique within the course."
    )
    notebooks: list[Name] = Field(
        min_length=1,
        description="The assignment's notebooks: the names of their jupytext sources "
        "assignments/<name>.py, without the .py, read from the assignments/ folder beside "
        "course.yaml (the kit's own when there is none). At least one; no repeats.",
    )
    points: dict[ExerciseId, Points] = Field(
        default={},
        description="Points per exercise id, for the exercises whose points should differ from "
        "the notebooks' defaults; an id may name an exercise of any of the assignment's "
        "notebooks. Leave it out (or empty) to keep the defaults.",
    )

    feedback: Literal["after-release", "on-submit"] = Field(
        "after-release",
        description="When students get feedback on the kit's JupyterHub course: after-release, when "
        "the staff release it (nbgrader's flow); on-submit, seconds after each submission, graded "
        "by the hub's grading service (`backprop-kit hub`).",
    )
    on_submit: OnSubmit = Field(
        default_factory=OnSubmit,
        description="With feedback: on-submit, what is shown and how often a student may submit.",
    )

    gates: list[Name] = Field(
        default=[],
        description="Gate cells to add to the assignment's first notebook besides the kit's own, by "
        "operation: sub, div, square, tanh, log (gates: [tanh] adds a graded cell of tanh's gate class). A "
        "course.yaml exercise adds the gate cells its function needs by itself.",
    )

    @field_validator("points", mode="before")
    @classmethod
    def _empty_points(cls, value):
        return {} if value is None else value

    @field_validator("notebooks")
    @classmethod
    def _unique_notebooks(cls, value):
        if repeats := repeated_names(value):
            raise DuplicateNames("notebook", repeats)
        return value


Range = Annotated[
    list[float],
    Field(description="An input's values: [lo, hi] (whole numbers from lo to hi) or [lo, hi, step]."),
]


class AuthoredExercise(_Model):
    """A hand exercise the instructor writes here (autograder/authored.py reads it)."""

    id: ExerciseId = Field(
        description="The grade_id of its answer cell; test_<id> grades it. Letters, digits and _, "
        "not an id of the kit's own exercises."
    )
    notebook: Name = Field(
        description="The notebook of an assignment it goes into, after the kit's exercises there."
    )
    title: str = Field("", description="Its title, shown to students (default: its formula).")
    graph: str = Field(
        description="Python assignments in order, one node each (q = w * x + b); the free names "
        "are the inputs. Operations: + - * / ** 2, max, relu, sigmoid, tanh, exp, log, @, l2 and "
        "numbers; an expression of several operations makes nodes n1, n2, ..."
    )
    values: dict[str, Range] = Field(description="Each input's range, by the input's name.")
    answers: list[str] = Field(
        min_length=1,
        description="What the student gives: a node's name asks its value, dfdNODE (for output f) its gradient.",
    )
    function: ExerciseId | None = Field(
        None,
        description="The function exercise on the same graph, built from the gates, by its name "
        "(it returns f and the gradient of each input, in order). Leave it out for none.",
    )
    per_student: bool = Field(False, description="true: each student draws a variant of the graph.")
    vary: list[list[str]] | None = Field(
        None,
        description="With per_student: the classes of operations a variant may swap at a node, each "
        "a list of at least two operations of as many inputs, written as in the graph: "
        'vary: [[+, max], [sigmoid, tanh]] (quote "*" and "**2": YAML reads * as an alias). '
        "Leave it out for + and max.",
    )
    points: float = Field(3, gt=0, le=1000, description="Points of the hand exercise (its function gets 2).")


class Tolerances(_Model):
    """How close an answer must be to the reference to pass."""

    hand_answer_abs: float = Field(
        HAND_ANSWER_ABS,
        ge=0,
        le=1,
        description="Absolute part of the tolerance for hand-computed answers: an answer passes "
        "when |answer - correct| <= hand_answer_abs + hand_answer_rel * |correct|. "
        "0 to 1; it and hand_answer_rel cannot both be 0.",
    )
    hand_answer_rel: float = Field(
        HAND_ANSWER_REL,
        ge=0,
        le=0.5,
        description="Relative part of the tolerance for hand-computed answers (see "
        "hand_answer_abs). 0 to 0.5.",
    )
    gradient_rel_error: float = Field(
        1e-6,
        gt=0,
        le=1e-2,
        description="A gradient passes when its relative error (cs231n's, max |a - b| / max(1e-8, "
        "|a| + |b|)) is below this: in the grader against the reference, in the self-checks against "
        "the slope of the student's own forward (they print it per gradient). Above 0 and at most "
        "1e-2: beyond that, wrong gradients pass.",
    )
    value_rel: float = Field(
        1e-6,
        gt=0,
        le=1e-2,
        description="Relative tolerance for forward outputs (values the student's code computes). "
        "Above 0 and at most 1e-2.",
    )

    @model_validator(mode="after")
    def _some_tolerance(self):
        if self.hand_answer_abs == 0 and self.hand_answer_rel == 0:
            raise ValueError(
                _(
                    "hand_answer_abs and hand_answer_rel are both 0, so a hand answer "
                    "would have to match to the last bit; set at least one above 0"
                )
            )
        return self


class Grading(_Model):
    """Limits on running student code."""

    timeout_seconds: float = Field(
        10,
        gt=0,
        le=3600,
        description="Wall-clock limit per exercise, in seconds: what an infinite loop costs. Every check "
        "of this assignment takes well under a second. Above 0 and at most 3600 (an hour).",
    )
    memory_mb: int = Field(
        2048,
        ge=256,
        le=65536,
        description="Memory limit per exercise and for the notebook's kernel, in megabytes. "
        "256 (numpy and a kernel need that much) to 65536.",
    )
    output_kb: int = Field(
        64,
        ge=1,
        le=10240,
        description="Output captured per exercise and per cell, in kilobytes; the rest is cut. "
        "1 to 10240 (10 MB).",
    )
    require_sandbox: bool = Field(
        False,
        description="true: refuse to grade when bubblewrap (bwrap) is missing. false: grade "
        "without it when it is missing.",
    )
    require_cgroup: bool = Field(
        False,
        description="true: refuse to grade when no cgroup can be made for each submission (a container "
        "without a writable cgroup tree, a cgroup v2 host that does not delegate memory, pids and cpu). "
        "false: grade with per-process limits only there, saying so once.",
    )
    scratch_mb: int = Field(
        256,
        ge=16,
        le=16384,
        description="Size of each submission's scratch folder (a tmpfs, counted in its memory), in "
        "megabytes: what its code may write to disk. 16 to 16384.",
    )
    max_file_mb: float = Field(
        20,
        gt=0,
        le=1024,
        description="Largest file a submission folder may hold, in megabytes: a larger file (the "
        "notebook included) is not copied or read, and the student's feedback says so. "
        "A notebook of this assignment is about 0.2 MB. Above 0 and at most 1024.",
    )
    method_points: float = Field(
        0.5,
        ge=0,
        le=1,
        description="What a function exercise (a `*_with_gates` function) loses, as a share of the "
        "points its numbers earn, when its gradients do not come from the gates' backward: the "
        "grader runs it once more with every gate's backward scaled and sees whether its "
        "gradients follow. A formula or numeric differences lose this share; any use of the "
        "gates loses nothing. 0 (no such check) to 1.",
    )
    packages: list[Package] = Field(
        [],
        max_length=50,
        description="Packages the grading environment installs besides the kit (PyPI names, with "
        "version bounds if wanted: scipy, scipy>=1.11). A notebook may import the standard "
        "library, numpy and these; the release tells Validate so, which warns before submission "
        "about any other import, and Gradescope's setup.sh installs them. For a course graded "
        "with `backprop-kit autograde` or `nbgrader autograde`, install them where the kit "
        "runs.",
    )

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1_000_000)


class Gradescope(_Model):
    """The Gradescope autograder bundle (`backprop-kit gradescope`)."""

    student_id_field: str = Field(
        "sid",
        pattern=r"^[A-Za-z0-9_]+$",
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        description="The key of the submitter's entry (users[0]) in Gradescope's submission_metadata.json "
        "that holds the student id the notebook's numbers were drawn for: sid (the roster's "
        "student id), or e.g. email.",
    )
    visibility: Literal["visible", "hidden", "after_due_date", "after_published"] = Field(
        "visible", description="When students see each graded cell's result and feedback on Gradescope."
    )


# course.yaml's `language`: one of the languages the student catalog has, found when bpkit.i18n is
# imported (a language is added by its .po files). pydantic is given them as a Literal, which
# checks the value and lists them in the schema the docs are written from; to a type checker, which
# cannot run that discovery, it is a str.
if TYPE_CHECKING:
    Language = str
else:
    Language = Literal[LANGUAGES]


class Course(_Model):
    """The whole course.yaml."""

    course_id: Name = Field(description="Identifies the course (the nbgrader course id).")
    seed: int = Field(
        ge=0,
        le=MAX_SEED,
        description="The course seed: every problem value derives from it. 0 to 2^32 - 1, so "
        "any numpy seeding accepts it. `backprop-kit generate --seed N` rewrites it.",
    )
    randomization: Literal["per-course", "per-student"] = Field(
        "per-student",
        description="per-student: each student's numbers derive from the seed and their id; "
        "per-course: every student gets the same numbers.",
    )
    graphs: Literal["lecture", "per-student"] = Field(
        "lecture",
        description="lecture: every student works the lecture's graphs (with their own numbers). "
        "per-student: the graph of each hand exercise with a family of graphs (the simple "
        "graph and the branch) is drawn per student, as the numbers are: same shape, same "
        "operations, different wiring; with randomization: per-course one graph for all.",
    )
    language: Language = Field(  # English, and each language with a catalog (bpkit/locale/)
        "en",
        description="The language of every word students and TAs read (the notebook's prose, self-checks, "
        "Validate, feedback, reports, the CLI): en (English) or ko (Korean). It changes words "
        "only, never ids, points or scores.",
    )
    assignments: list[Assignment] = Field(
        min_length=1, description="The course's nbgrader assignments. At least one; names unique."
    )
    tolerances: Tolerances = Field(Tolerances(), description="How close answers must be to pass.")
    grading: Grading = Field(Grading(), description="Limits on running student code.")
    gradescope: Gradescope = Field(Gradescope(), description="The Gradescope autograder bundle.")
    exercises: list[AuthoredExercise] = Field(
        default=[],
        description="Hand exercises written here, each derived as the kit's own are (cells, "
        "picture, self-check, hidden test, mistakes, draws). See docs/exercises.md.",
    )

    _source: Path | None = PrivateAttr(None)
    _authored: tuple = PrivateAttr(())  # the exercises read (autograder/authored.py: Authored)
    _lines: dict = PrivateAttr(default_factory=dict)  # location tuple -> line (1-based)
    _spans: dict = PrivateAttr(default_factory=dict)  # location tuple -> (start, end) of a scalar

    @field_validator("tolerances", "grading", "gradescope", mode="before")
    @classmethod
    def _empty_section(cls, value):
        return {} if value is None else value

    @field_validator("assignments")
    @classmethod
    def _unique_assignments(cls, value):
        if repeats := repeated_names([a.name for a in value]):
            raise DuplicateNames("assignment name", repeats, item_key="name")
        return value

    def __eq__(self, other):
        """Equal when the settings are: where each was loaded from does not count."""
        if not isinstance(other, Course):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    # Unhashable (lists and mappings inside). _Model is frozen, so pydantic would hash the fields
    # and fail on the first list; None says so at once. None is how Python marks a class
    # unhashable, which typeshed's object.__hash__ (a method) cannot express.
    __hash__ = None  # type: ignore[assignment]

    # ---- accessors -------------------------------------------------------------------
    @property
    def source(self) -> Path | None:
        """The file this course was loaded from (None when built in memory)."""
        return self._source

    @property
    def root(self) -> Path:
        """The course directory: the folder of course.yaml (the current one if in memory)."""
        return self._source.parent if self._source is not None else Path(".")

    @property
    def authored(self) -> tuple:
        """course.yaml's own exercises, read (autograder/authored.py: Authored), in file order."""
        return self._authored

    @property
    def assignment_names(self) -> list[str]:
        return [a.name for a in self.assignments]

    def assignment(self, name: str) -> Assignment:
        """The assignment called `name`; UnknownName (a ConfigError and a KeyError) if none."""
        for a in self.assignments:
            if a.name == name:
                return a
        raise UnknownName(
            [
                Problem(
                    self._shown,
                    None,
                    "",
                    _("no assignment {name} in this course{suggestion}").format(
                        name=repr(name),
                        suggestion=suggest(name, self.assignment_names, N_(" (assignments: {names})")),
                    ),
                )
            ]
        )

    def line_of(self, key_path: str) -> int | None:
        """The line of a key in the file it was loaded from, e.g. line_of('grading.memory_mb')."""
        return self._lines.get(parse_path(key_path))

    def points_for(self, assignment: str, exercises: Iterable[str]) -> dict[str, float]:
        """course.yaml's points overrides of an assignment, {exercise id: points}, checked against
        `exercises`: the ids of the exercises graded in any of its notebooks (an override may
        name an exercise of any one of them). One naming none is a ConfigError naming its line
        and the closest exercise id."""
        index = self.assignment_names.index(self.assignment(assignment).name)
        points = self.assignments[index].points
        known = list(dict.fromkeys(exercises))
        problems = []
        for exercise in points:
            if exercise not in known:
                loc = ("assignments", index, "points", exercise)
                notebooks = ", ".join(self.assignments[index].notebooks)
                problems.append(
                    Problem(
                        self._shown,
                        self._lines.get(loc),
                        format_loc(loc),
                        _(
                            "no exercise {exercise} in assignment {assignment} (notebooks: {notebooks})"
                            "{suggestion}"
                        ).format(
                            exercise=repr(exercise),
                            assignment=repr(assignment),
                            notebooks=notebooks,
                            suggestion=suggest(exercise, known, N_(" (exercises: {names})")),
                        ),
                    )
                )
        if problems:
            raise ConfigError(problems, self._source)
        return dict(points)

    @property
    def _shown(self):
        return str(self._source) if self._source is not None else None
