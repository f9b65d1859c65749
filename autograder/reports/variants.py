"""Pass rates per drawn graph (course.yaml graphs: per-student): for each exercise on a family of
graphs, how many students drew each graph and how many of them got full marks, so an
instructor sees whether one variant is harder than the rest."""

from dataclasses import dataclass

from solutions import graphs as described

from ..bpkit import problems
from ..exercises import BY_ID as HAND_EXERCISES
from ..exercises import FUNCTIONS_BY_ID


@dataclass(frozen=True)
class Variant:
    title: str  # the graph's formula
    n: int  # students graded on it
    full: int  # of them, with full marks

    @property
    def pass_rate(self):
        return self.full / self.n if self.n else 0.0


def exercise_of(grade_id):
    """The hand exercise whose graph a graded cell is on (a function's: its hand exercise's), or None."""
    name = grade_id.removeprefix("test_")
    if name in FUNCTIONS_BY_ID:
        name = FUNCTIONS_BY_ID[name].exercise.id
    return HAND_EXERCISES.get(name)


def pass_rates_by_graph(results, course):
    """{grade_id: [Variant, ...]} for the graded cells on a graph drawn per student; {} otherwise."""
    if course.graphs != described.PER_STUDENT:
        return {}
    drawn = {}
    out = {}
    for notebook, grade_id in results.cells:
        exercise = exercise_of(grade_id)
        if exercise is None or len(exercise.shape(course.graphs).graphs) < 2:
            continue
        counts = {g: [0, 0] for g in exercise.shape(course.graphs).graphs}
        for r in results.rows_of_cell(notebook, grade_id):
            if r.student_id not in drawn:
                drawn[r.student_id] = problems.draw(
                    course.seed,
                    course.course_id,
                    results.assignment,
                    course.randomization,
                    r.student_id,
                    course.graphs,
                )
            graph = drawn[r.student_id].graphs[exercise.problem]
            counts[graph][0] += 1
            counts[graph][1] += int(r.max_score > 0 and r.score >= r.max_score)
        out[grade_id] = [Variant(g.title, n, full) for g, (n, full) in counts.items()]
    return out
